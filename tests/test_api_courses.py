"""Courses and registrations."""

from __future__ import annotations

import pytest

from tests.api_support import (  # noqa: F401
    add_ready_package,
    api,
    app,
    body_of,
    ctx,
    people,
    settings,
)

COURSE = {
    "title": "Introduction to SCORM",
    "description": "Learn the basics of SCORM packaging and implementation",
    "is_active": True,
}


@pytest.mark.gen_test
async def test_admin_creates_course_in_guide_shape(api, people):
    response = await api.post("/api/courses/", COURSE, token=people.admin.token)

    assert response.code == 201
    course = body_of(response)
    assert course["title"] == COURSE["title"]
    assert course["description"] == COURSE["description"]
    assert course["is_active"] is True
    assert course["created_at"].endswith("Z")
    assert isinstance(course["id"], int)


@pytest.mark.gen_test
async def test_learner_reads_but_cannot_write_courses(api, people, ctx):
    course = await ctx.store.create_course(title="Golf")

    listed = await api.get("/api/courses", token=people.learner.token)
    one = await api.get(f"/api/courses/{course.id}", token=people.learner.token)
    created = await api.post("/api/courses/", COURSE, token=people.learner.token)
    changed = await api.put(
        f"/api/courses/{course.id}/", {"title": "X"}, token=people.learner.token
    )
    deleted = await api.delete(f"/api/courses/{course.id}/", token=people.learner.token)

    assert listed.code == 200
    assert [c["title"] for c in body_of(listed)] == ["Golf"]
    assert one.code == 200
    assert created.code == 403
    assert changed.code == 403
    assert deleted.code == 403
    assert (await ctx.store.get_course(course.id)).title == "Golf"


@pytest.mark.gen_test
async def test_anonymous_cannot_list_courses(api):
    response = await api.get("/api/courses/")

    assert response.code == 401
    assert response.headers["WWW-Authenticate"] == "Token"


@pytest.mark.gen_test
async def test_admin_updates_and_deletes_course(api, people, ctx):
    course = await ctx.store.create_course(title="Golf")

    updated = await api.put(
        f"/api/courses/{course.id}/",
        {"title": "Golf 2", "is_active": False},
        token=people.admin.token,
    )
    deleted = await api.delete(f"/api/courses/{course.id}/", token=people.admin.token)
    missing = await api.get(f"/api/courses/{course.id}/", token=people.admin.token)

    assert updated.code == 200
    assert body_of(updated)["title"] == "Golf 2"
    assert body_of(updated)["is_active"] is False
    assert deleted.code == 204
    assert missing.code == 404


@pytest.mark.parametrize(
    "body",
    [
        {"description": "no title"},
        {"title": ""},
        {"title": 7},
        {"title": "x", "is_active": "true"},
        {"title": "x", "colour": "red"},
    ],
)
@pytest.mark.gen_test
async def test_create_course_rejects_invalid_body(api, people, ctx, body):
    response = await api.post("/api/courses/", body, token=people.admin.token)

    assert response.code == 400
    assert body_of(response)["error"]
    _, total = await ctx.store.list_courses(limit=10, offset=0)
    assert total == 0


@pytest.mark.gen_test
async def test_register_is_idempotent(api, people, ctx):
    course = await ctx.store.create_course(title="Golf")
    body = {"user_id": people.learner.id, "course_id": course.id}

    first = await api.post(
        "/api/registrations/register_for_course/", body, token=people.learner.token
    )
    second = await api.post(
        "/api/registrations/register_for_course", body, token=people.admin.token
    )

    assert first.code == 201
    assert second.code == 200
    registration = body_of(first)
    assert registration["user"] == people.learner.id
    assert registration["course"] == course.id
    assert registration["registered_at"].endswith("Z")
    assert body_of(second) == registration


@pytest.mark.gen_test
async def test_learner_cannot_register_another(api, people, ctx):
    course = await ctx.store.create_course(title="Golf")

    response = await api.post(
        "/api/registrations/register_for_course/",
        {"user_id": people.other.id, "course_id": course.id},
        token=people.learner.token,
    )

    assert response.code == 403
    _, total = await ctx.store.list_registrations(limit=10, offset=0)
    assert total == 0


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"course_id": 1}, "user_id"),
        ({"user_id": "abc", "course_id": 1}, "user_id"),
        ({"user_id": True, "course_id": 1}, "user_id"),
        ({"user_id": 2, "course_id": 999}, "course_id"),
        ({"user_id": 999, "course_id": 1}, "user_id"),
    ],
)
@pytest.mark.gen_test
async def test_register_rejects_invalid_ids(api, people, ctx, body, field):
    await ctx.store.create_course(title="Golf")

    response = await api.post(
        "/api/registrations/register_for_course/", body, token=people.admin.token
    )

    assert response.code == 400
    assert field in body_of(response)["details"]


@pytest.mark.gen_test
async def test_registrations_list_filters_and_scopes(api, people, ctx):
    golf = await ctx.store.create_course(title="Golf")
    tennis = await ctx.store.create_course(title="Tennis")
    for person in (people.learner, people.other):
        for course in (golf, tennis):
            await ctx.store.get_or_create_registration(person.id, course.id)

    admin_all = await api.get("/api/registrations/", token=people.admin.token)
    admin_golf = await api.get(
        f"/api/registrations/?course_id={golf.id}", token=people.admin.token
    )
    learner_own = await api.get("/api/registrations/", token=people.learner.token)
    learner_other = await api.get(
        f"/api/registrations/?user_id={people.other.id}", token=people.learner.token
    )

    assert admin_all.headers["X-Total-Count"] == "4"
    assert {r["user"] for r in body_of(admin_golf)} == {people.learner.id, people.other.id}
    assert {r["course"] for r in body_of(admin_golf)} == {golf.id}
    assert {r["user"] for r in body_of(learner_own)} == {people.learner.id}
    assert learner_own.headers["X-Total-Count"] == "2"
    assert learner_other.code == 403


@pytest.mark.parametrize(
    "query", ["limit=0", "limit=1001", "limit=abc", "offset=-1", "offset=x", "limit=1.5"]
)
@pytest.mark.gen_test
async def test_list_rejects_invalid_paging(api, people, query):
    response = await api.get(f"/api/courses/?{query}", token=people.admin.token)

    assert response.code == 400
    assert "details" in body_of(response)


@pytest.mark.gen_test
async def test_list_pages_with_limit_and_offset(api, people, ctx):
    for number in range(5):
        await ctx.store.create_course(title=f"Course {number}")

    response = await api.get("/api/courses/?limit=2&offset=2", token=people.admin.token)

    assert response.headers["X-Total-Count"] == "5"
    assert [c["title"] for c in body_of(response)] == ["Course 2", "Course 3"]


@pytest.mark.gen_test
async def test_course_with_packages_not_deleted(api, people, ctx):
    course = await ctx.store.create_course(title="Safety")
    package = await add_ready_package(ctx, course.id)

    refused = await api.delete(f"/api/courses/{course.id}/", token=people.admin.token)
    await api.delete(f"/api/scorm-packages/{package.id}/", token=people.admin.token)
    deleted = await api.delete(f"/api/courses/{course.id}/", token=people.admin.token)

    assert refused.code == 409
    assert "package" in body_of(refused)["error"]
    assert deleted.code == 204
    assert await ctx.store.get_course(course.id) is None
