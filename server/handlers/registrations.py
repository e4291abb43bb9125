"""Registrations of users for courses: `/api/registrations/`."""

from __future__ import annotations

import logging
from typing import Any

from server.context import AppContext
from server.errors import ApiError
from server.handlers.base import BaseHandler
from server.handlers.fields import body_int, invalid, page_params, query_int
from server.serializers import registration_json

log = logging.getLogger(__name__)


class RegisterForCourseHandler(BaseHandler):
    """POST /api/registrations/register_for_course/: admin or the learner itself.

    Idempotent: 201 with a new registration, 200 with the existing one.
    """

    async def post(self) -> None:
        caller = await self.require_user()
        body = self.json_body()
        user_id = body_int(body, "user_id")
        course_id = body_int(body, "course_id")
        if user_id != caller.id and not caller.is_staff:
            raise ApiError(403, "A learner may register only itself for a course.")

        if await self.ctx.store.get_user(user_id) is None:
            raise invalid("user_id", f"user {user_id} does not exist.")
        if await self.ctx.store.get_course(course_id) is None:
            raise invalid("course_id", f"course {course_id} does not exist.")
        registration, created = await self.ctx.store.get_or_create_registration(
            user_id, course_id
        )
        if created:
            log.info("registered user %d for course %d", user_id, course_id)
        self.write_json(registration_json(registration), status=201 if created else 200)


class RegistrationsHandler(BaseHandler):
    """GET /api/registrations/?user_id=&course_id=; learners see their own."""

    async def get(self) -> None:
        caller = await self.require_user()
        user_id = query_int(self, "user_id")
        course_id = query_int(self, "course_id")
        limit, offset = page_params(self)
        if not caller.is_staff:
            if user_id not in (None, caller.id):
                raise ApiError(403, "A learner may list only its own registrations.")
            user_id = caller.id

        registrations, total = await self.ctx.store.list_registrations(
            limit=limit, offset=offset, user_id=user_id, course_id=course_id
        )
        self.write_page([registration_json(r) for r in registrations], total)


def routes(ctx: AppContext) -> list[Any]:
    args = {"ctx": ctx}
    return [
        (r"/api/registrations/?$", RegistrationsHandler, args),
        (r"/api/registrations/register_for_course/?$", RegisterForCourseHandler, args),
    ]
