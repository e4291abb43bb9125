"""Attempts and reports."""

from __future__ import annotations

import csv
import io
from urllib.parse import parse_qs, urlsplit

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

GUIDE_ATTEMPT_FIELDS = {
    "id",
    "user",
    "scorm_package",
    "started_at",
    "last_accessed_at",
    "completion_status",
    "success_status",
    "score",
    "is_complete",
}


@pytest.fixture
def course_package(io_loop, ctx, people):
    async def seed():
        course = await ctx.store.create_course(title="Golf")
        package = await add_ready_package(ctx, course.id)
        await ctx.store.get_or_create_registration(people.learner.id, course.id)
        return course, package

    return io_loop.run_sync(seed)


async def start(api, person, package_id, user_id=None):
    return await api.post(
        "/api/attempts/start_attempt/",
        {"user_id": user_id or person.id, "package_id": package_id},
        token=person.token,
    )


@pytest.mark.gen_test
async def test_start_attempt_answers_guide_fields_and_launch_url(
    api, people, ctx, course_package
):
    _, package = course_package

    response = await start(api, people.learner, package.id)

    assert response.code == 201
    attempt = body_of(response)
    assert GUIDE_ATTEMPT_FIELDS <= set(attempt)
    assert attempt["user"] == people.learner.id
    assert attempt["scorm_package"] == package.id
    assert attempt["completion_status"] == ""
    assert attempt["score"] is None
    assert attempt["is_complete"] is False
    url = urlsplit(attempt["launch_url"])
    assert url.path == f"/player/{attempt['id']}"
    token = parse_qs(url.query)["token"][0]
    assert ctx.services["launch_tokens"].verify(token) == attempt["id"]


@pytest.mark.gen_test
async def test_launch_url_uses_public_url(api, people, ctx, course_package):
    import dataclasses

    ctx.settings = dataclasses.replace(ctx.settings, public_url="https://lms.example/")
    _, package = course_package

    response = await start(api, people.learner, package.id)

    assert body_of(response)["launch_url"].startswith("https://lms.example/player/")


@pytest.mark.gen_test
async def test_start_attempt_needs_registration(api, people, course_package, ctx):
    _, package = course_package

    response = await start(api, people.admin, package.id, user_id=people.other.id)

    assert response.code == 400
    assert "not registered" in body_of(response)["error"]
    _, total = await ctx.store.list_attempts(limit=10, offset=0)
    assert total == 0


@pytest.mark.parametrize("status", ["processing", "failed"])
@pytest.mark.gen_test
async def test_start_attempt_needs_ready_package(api, people, ctx, course_package, status):
    _, package = course_package
    await ctx.store.update_package(package.id, {"status": status})

    response = await start(api, people.learner, package.id)

    assert response.code == 400
    assert body_of(response)["details"]["package_id"].startswith(f"package {package.id} is")


@pytest.mark.gen_test
async def test_start_attempt_rejects_deleted_package(api, people, ctx, course_package):
    from storage.models import utcnow

    _, package = course_package
    await ctx.store.update_package(package.id, {"deleted_at": utcnow()})

    response = await start(api, people.learner, package.id)

    assert response.code == 400


@pytest.mark.gen_test
async def test_learner_cannot_start_for_another(api, people, course_package, ctx):
    _, package = course_package

    response = await start(api, people.other, package.id, user_id=people.learner.id)

    assert response.code == 403
    _, total = await ctx.store.list_attempts(limit=10, offset=0)
    assert total == 0


@pytest.mark.gen_test
async def test_launch_issues_fresh_url(api, people, course_package, ctx):
    _, package = course_package
    attempt = body_of(await start(api, people.learner, package.id))

    own = await api.post(f"/api/attempts/{attempt['id']}/launch/", token=people.learner.token)
    other = await api.post(f"/api/attempts/{attempt['id']}/launch/", token=people.other.token)

    assert own.code == 200
    body = body_of(own)
    assert set(body) == {"launch_url", "expires_at"}
    assert body["expires_at"].endswith("Z")
    assert other.code == 403


@pytest.mark.gen_test
async def test_attempt_reads_are_scoped(api, people, course_package):
    _, package = course_package
    attempt = body_of(await start(api, people.learner, package.id))

    own = await api.get(f"/api/attempts/{attempt['id']}/", token=people.learner.token)
    other = await api.get(f"/api/attempts/{attempt['id']}/", token=people.other.token)
    admin = await api.get(f"/api/attempts/{attempt['id']}", token=people.admin.token)
    missing = await api.get("/api/attempts/999/", token=people.admin.token)
    other_list = await api.get("/api/attempts/", token=people.other.token)
    filtered = await api.get(
        f"/api/attempts/?user_id={people.learner.id}&package_id={package.id}",
        token=people.admin.token,
    )

    assert own.code == 200
    assert body_of(own)["id"] == attempt["id"]
    assert other.code == 403
    assert admin.code == 200
    assert missing.code == 404
    assert body_of(other_list) == []
    assert other_list.headers["X-Total-Count"] == "0"
    assert [a["id"] for a in body_of(filtered)] == [attempt["id"]]


@pytest.mark.gen_test
async def test_update_progress_sets_summary(api, people, course_package, ctx):
    _, package = course_package
    attempt = body_of(await start(api, people.learner, package.id))

    response = await api.post(
        f"/api/attempts/{attempt['id']}/update_progress/",
        {"completion_status": "completed", "success_status": "passed", "score": 85.5},
        token=people.admin.token,
    )

    assert response.code == 200
    body = body_of(response)
    assert body["completion_status"] == "completed"
    assert body["success_status"] == "passed"
    assert body["score"] == 85.5
    assert body["is_complete"] is True
    stored = await ctx.store.get_attempt(attempt["id"])
    assert stored.score == 85.5


@pytest.mark.parametrize(
    ("standard", "body", "status"),
    [
        ("SCORM 1.2", {"completion_status": "passed"}, 200),
        ("SCORM 1.2", {"completion_status": "not attempted"}, 200),
        ("SCORM 1.2", {"completion_status": "unknown"}, 400),
        ("SCORM 2004 4th Edition", {"completion_status": "passed"}, 400),
        ("SCORM 2004 4th Edition", {"completion_status": "unknown"}, 200),
        ("SCORM 2004 4th Edition", {"success_status": "completed"}, 400),
        ("SCORM 2004 4th Edition", {"score": "high"}, 400),
        ("SCORM 2004 4th Edition", {"score": True}, 400),
        ("SCORM 2004 4th Edition", {"score": None}, 200),
        ("SCORM 2004 4th Edition", {}, 400),
        ("SCORM 2004 4th Edition", {"lesson_status": "passed"}, 400),
    ],
)
@pytest.mark.gen_test
async def test_update_progress_checks_vocabulary(
    api, people, ctx, io_loop, standard, body, status
):
    course = await ctx.store.create_course(title="Golf")
    package = await add_ready_package(ctx, course.id, standard)
    attempt = await ctx.store.create_attempt(people.learner.id, package.id)

    response = await api.post(
        f"/api/attempts/{attempt.id}/update_progress/", body, token=people.admin.token
    )

    assert response.code == status
    if status == 400:
        stored = await ctx.store.get_attempt(attempt.id)
        assert stored == attempt


@pytest.mark.gen_test
async def test_update_progress_is_admin_only(api, people, course_package, ctx):
    _, package = course_package
    attempt = body_of(await start(api, people.learner, package.id))

    response = await api.post(
        f"/api/attempts/{attempt['id']}/update_progress/",
        {"completion_status": "completed"},
        token=people.learner.token,
    )

    assert response.code == 403
    assert (await ctx.store.get_attempt(attempt["id"])).completion_status == ""


@pytest.mark.gen_test
async def test_user_course_report_matches_guide(api, people, course_package, ctx):
    course, package = course_package
    attempt = body_of(await start(api, people.learner, package.id))
    await ctx.store.update_attempt(
        attempt["id"], {"completion_status": "completed", "score": 85.5}
    )
    query = f"user_id={people.learner.id}&course_id={course.id}"

    own = await api.get(f"/api/reports/user_course_report/?{query}", token=people.learner.token)
    other = await api.get(f"/api/reports/user_course_report/?{query}", token=people.other.token)
    missing = await api.get(
        f"/api/reports/user_course_report/?user_id={people.learner.id}",
        token=people.learner.token,
    )

    assert own.code == 200
    report = body_of(own)
    assert report["user"]["username"] == "learner"
    assert report["course"]["title"] == "Golf"
    assert len(report["attempts"]) == 1
    assert report["attempts"][0]["score"] == 85.5
    assert report["attempts"][0]["completion_status"] == "completed"
    assert other.code == 403
    assert missing.code == 400


@pytest.mark.gen_test
async def test_course_report_has_row_per_learner(api, people, course_package, ctx):
    course, package = course_package
    await ctx.store.get_or_create_registration(people.other.id, course.id)
    first = body_of(await start(api, people.learner, package.id))
    second = body_of(await start(api, people.learner, package.id))
    await ctx.store.update_attempt(
        second["id"], {"completion_status": "completed", "total_time_seconds": 90.0}
    )

    response = await api.get(
        f"/api/reports/course_report/?course_id={course.id}", token=people.admin.token
    )

    assert response.code == 200
    rows = {row["username"]: row for row in body_of(response)["rows"]}
    assert set(rows) == {"learner", "other"}
    assert rows["learner"]["attempt_id"] == second["id"] != first["id"]
    assert rows["learner"]["completion_status"] == "completed"
    assert rows["learner"]["total_time_seconds"] == 90.0
    assert rows["other"]["attempt_id"] is None


@pytest.mark.gen_test
async def test_course_report_as_csv(api, people, course_package, ctx):
    course, package = course_package
    await start(api, people.learner, package.id)

    response = await api.get(
        f"/api/reports/course_report/?course_id={course.id}&format=csv",
        token=people.admin.token,
    )

    assert response.code == 200
    assert response.headers["Content-Type"].startswith("text/csv")
    rows = list(csv.DictReader(io.StringIO(response.body.decode())))
    assert len(rows) == 1
    assert rows[0]["username"] == "learner"
    assert rows[0]["is_complete"] == "false"


@pytest.mark.gen_test
async def test_course_report_csv_escapes_formulas(api, people, course_package, ctx):
    course, _ = course_package
    names = ["=1+1", "+SUM(A1)", "-2+3", "@cmd", "\t=1", "\r=1", "\x00=1"]
    for index, name in enumerate(names):
        user = await ctx.store.create_user(
            username=f"csv{index}", email=f"csv{index}@example.com", password_hash="x",
            first_name=name, last_name="Plain",
        )
        await ctx.store.get_or_create_registration(user.id, course.id)

    response = await api.get(
        f"/api/reports/course_report/?course_id={course.id}&format=csv",
        token=people.admin.token,
    )

    rows = list(csv.DictReader(io.StringIO(response.body.decode(), newline="")))
    first_names = [row["first_name"] for row in rows if row["username"].startswith("csv")]
    assert response.code == 200
    assert first_names == ["'" + name for name in names]
    assert {row["last_name"] for row in rows if row["username"].startswith("csv")} == {"Plain"}


@pytest.mark.gen_test
async def test_course_report_rejects_learner_and_bad_format(api, people, course_package):
    course, _ = course_package

    learner = await api.get(
        f"/api/reports/course_report/?course_id={course.id}", token=people.learner.token
    )
    bad_format = await api.get(
        f"/api/reports/course_report/?course_id={course.id}&format=xml",
        token=people.admin.token,
    )
    unknown = await api.get(
        "/api/reports/course_report/?course_id=999", token=people.admin.token
    )

    assert learner.code == 403
    assert bad_format.code == 400
    assert unknown.code == 404
