"""Courses: `/api/courses/`. Any authenticated user reads; admins write."""

from __future__ import annotations

import logging
from typing import Any

from server.context import AppContext
from server.errors import ApiError
from server.handlers.base import BaseHandler
from server.handlers.fields import body_bool, body_str, page_params, path_id, reject_unknown
from server.serializers import course_json

log = logging.getLogger(__name__)

COURSE_FIELDS = {"title", "description", "is_active"}
# Fields of the course JSON that a client may send back in a PUT; ignored.
READ_ONLY_FIELDS = {"id", "created_at"}
MAX_DESCRIPTION_LENGTH = 10_000


def read_course(body: dict[str, Any], *, creating: bool) -> dict[str, Any]:
    """Read and check the course fields of a create or update body."""
    reject_unknown(body, COURSE_FIELDS | READ_ONLY_FIELDS)
    fields: dict[str, Any] = {
        "title": body_str(body, "title", required=creating, allow_empty=False),
        "description": body_str(
            body, "description", max_length=MAX_DESCRIPTION_LENGTH
        ),
        "is_active": body_bool(body, "is_active"),
    }
    return {name: value for name, value in fields.items() if value is not None}


class CoursesHandler(BaseHandler):
    """GET /api/courses/ lists courses; POST (admin) creates one."""

    async def get(self) -> None:
        await self.require_user()
        limit, offset = page_params(self)
        courses, total = await self.ctx.store.list_courses(limit=limit, offset=offset)
        self.write_page([course_json(course) for course in courses], total)

    async def post(self) -> None:
        await self.require_admin()
        fields = read_course(self.json_body(), creating=True)
        course = await self.ctx.store.create_course(**fields)
        log.info("created course %d", course.id)
        self.write_json(course_json(course), status=201)


class CourseHandler(BaseHandler):
    """GET, PUT (admin) and DELETE (admin) /api/courses/{id}/."""

    async def get(self, course_id: str) -> None:
        record_id = path_id(course_id, "Course")
        await self.require_user()
        course = await self.ctx.store.get_course(record_id)
        if course is None:
            raise ApiError(404, f"Course {course_id} not found.")
        self.write_json(course_json(course))

    async def put(self, course_id: str) -> None:
        record_id = path_id(course_id, "Course")
        await self.require_admin()
        fields = read_course(self.json_body(), creating=False)
        if fields:
            course = await self.ctx.store.update_course(record_id, fields)
            log.info("updated course %d: %s", course.id, ", ".join(sorted(fields)))
        else:
            found = await self.ctx.store.get_course(record_id)
            if found is None:
                raise ApiError(404, f"Course {course_id} not found.")
            course = found
        self.write_json(course_json(course))

    async def delete(self, course_id: str) -> None:
        record_id = path_id(course_id, "Course")
        await self.require_admin()
        # Learners' attempts hang off the course's packages, so a course goes
        # only once its packages are deleted and nothing can launch them.
        _, packages = await self.ctx.store.list_packages(limit=1, offset=0, course_id=record_id)
        if packages:
            raise ApiError(
                409,
                f"Course {record_id} still has {packages} package(s); delete them "
                "with DELETE /api/scorm-packages/{id}/ first.",
            )
        await self.ctx.store.delete_course(record_id)
        log.info("deleted course %s", course_id)
        self.set_status(204)
        self.finish()


def routes(ctx: AppContext) -> list[Any]:
    args = {"ctx": ctx}
    return [
        (r"/api/courses/?$", CoursesHandler, args),
        (r"/api/courses/(\d+)/?$", CourseHandler, args),
    ]
