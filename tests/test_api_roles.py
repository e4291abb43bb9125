"""The role matrix: every LMS endpoint for an anonymous caller, the learner
whose records are addressed, another learner and an admin. A rejected request
changes nothing in the store."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pytest

from tests.api_support import (  # noqa: F401
    add_ready_package,
    api,
    app,
    ctx,
    people,
    settings,
)

ROLES = ("anonymous", "learner", "other", "admin")


@dataclass
class World:
    course_id: int
    spare_course_id: int
    package_id: int
    attempt_id: int
    learner_id: int


@dataclass(frozen=True)
class Case:
    method: str
    path: str
    body: Any
    expected: tuple[int, int, int, int]


def cases(w: World) -> list[Case]:
    learner = w.learner_id
    return [
        Case("GET", "/api/users/", None, (401, 403, 403, 200)),
        Case(
            "POST",
            "/api/users/",
            {"username": "made", "email": "m@example.com", "password": "long enough",
             "is_staff": True},
            (403, 403, 403, 201),
        ),
        Case("POST", "/api/users/validate_user/", {"username": "learner"},
             (401, 200, 200, 200)),
        Case("GET", f"/api/users/{learner}/", None, (401, 200, 403, 200)),
        Case("PUT", f"/api/users/{learner}/", {"first_name": "Zed"}, (401, 200, 403, 200)),
        Case("DELETE", f"/api/users/{learner}/", None, (401, 403, 403, 204)),
        Case("GET", "/api/courses/", None, (401, 200, 200, 200)),
        Case("POST", "/api/courses/", {"title": "New"}, (401, 403, 403, 201)),
        Case("GET", f"/api/courses/{w.course_id}/", None, (401, 200, 200, 200)),
        Case("PUT", f"/api/courses/{w.course_id}/", {"title": "X"}, (401, 403, 403, 200)),
        Case("DELETE", f"/api/courses/{w.spare_course_id}/", None, (401, 403, 403, 204)),
        Case(
            "POST",
            "/api/registrations/register_for_course/",
            {"user_id": learner, "course_id": w.spare_course_id},
            (401, 201, 403, 201),
        ),
        Case("GET", f"/api/registrations/?user_id={learner}", None, (401, 200, 403, 200)),
        Case(
            "POST",
            "/api/attempts/start_attempt/",
            {"user_id": learner, "package_id": w.package_id},
            (401, 201, 403, 201),
        ),
        Case("GET", f"/api/attempts/?user_id={learner}", None, (401, 200, 403, 200)),
        Case("GET", f"/api/attempts/{w.attempt_id}/", None, (401, 200, 403, 200)),
        Case("POST", f"/api/attempts/{w.attempt_id}/launch/", {}, (401, 200, 403, 200)),
        Case(
            "POST",
            f"/api/attempts/{w.attempt_id}/update_progress/",
            {"completion_status": "completed"},
            (401, 403, 403, 200),
        ),
        Case(
            "GET",
            f"/api/reports/user_course_report/?user_id={learner}&course_id={w.course_id}",
            None,
            (401, 200, 403, 200),
        ),
        Case(
            "GET",
            f"/api/reports/course_report/?course_id={w.course_id}",
            None,
            (401, 403, 403, 200),
        ),
        Case("GET", "/healthz", None, (200, 200, 200, 200)),
        Case("GET", "/api/schema/", None, (200, 200, 200, 200)),
    ]


# The placeholder World only serves to count and name the cases.
CASE_COUNT = len(cases(World(1, 2, 3, 4, 5)))


async def build_world(ctx, people) -> World:
    course = await ctx.store.create_course(title="Golf")
    spare = await ctx.store.create_course(title="Tennis")
    package = await add_ready_package(ctx, course.id)
    await ctx.store.get_or_create_registration(people.learner.id, course.id)
    attempt = await ctx.store.create_attempt(people.learner.id, package.id)
    return World(course.id, spare.id, package.id, attempt.id, people.learner.id)


async def store_state(ctx) -> tuple:
    store = ctx.store
    users, _ = await store.list_users(limit=1000, offset=0)
    courses, _ = await store.list_courses(limit=1000, offset=0)
    registrations, _ = await store.list_registrations(limit=1000, offset=0)
    attempts, _ = await store.list_attempts(limit=1000, offset=0)
    return users, courses, registrations, attempts


@pytest.mark.parametrize("role", ROLES)
@pytest.mark.parametrize("index", range(CASE_COUNT))
@pytest.mark.gen_test
async def test_role_matrix(api, ctx, people, index, role):
    world = await build_world(ctx, people)
    case = cases(world)[index]
    expected = case.expected[ROLES.index(role)]
    token = None if role == "anonymous" else getattr(people, role).token
    before = await store_state(ctx)

    response = await api.request(case.method, case.path, case.body, token=token)

    assert response.code == expected, (case.method, case.path, response.body)
    if response.code >= 400:
        assert await store_state(ctx) == before
