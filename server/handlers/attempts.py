"""Attempts: start, launch, read and the LMS's `update_progress`.

The run-time endpoints under `/api/attempts/{id}/` (sessions, runtime, cmi,
start_session, end_session) belong to server/handlers/runtime.py.
"""

from __future__ import annotations

import logging
from typing import Any

from server.context import AppContext
from server.errors import ApiError
from server.handlers.base import BaseHandler
from server.handlers.fields import (
    body_int,
    body_number,
    body_str,
    invalid,
    page_params,
    path_id,
    query_int,
    reject_unknown,
)
from server.launch import LaunchTokens
from server.serializers import attempt_json, iso_time
from storage.models import PACKAGE_READY, Attempt, Package, User, utcnow

log = logging.getLogger(__name__)

SCORM_12 = "SCORM 1.2"
# cmi.core.lesson_status, SCORM 1.2 RTE 3.4.4.
LESSON_STATUS_VOCABULARY = frozenset(
    {"passed", "completed", "failed", "incomplete", "browsed", "not attempted"}
)
# The lesson_status values that end an attempt of a SCORM 1.2 SCO.
LESSON_STATUS_COMPLETE = frozenset({"passed", "completed", "failed"})
# cmi.completion_status and cmi.success_status, SCORM 2004 RTE 4.2.4 and 4.2.22.
COMPLETION_STATUS_VOCABULARY = frozenset(
    {"completed", "incomplete", "not attempted", "unknown"}
)
SUCCESS_STATUS_VOCABULARY = frozenset({"passed", "failed", "unknown"})
PROGRESS_FIELDS = {"completion_status", "success_status", "score"}


def launch_url(handler: BaseHandler, attempt_id: int) -> tuple[str, str | None]:
    """Return a player URL with a fresh launch token, and when it expires."""
    tokens: LaunchTokens = handler.ctx.services["launch_tokens"]
    token, expires_at = tokens.issue(attempt_id)
    base = handler.ctx.settings.public_url.rstrip("/")
    if not base:
        base = f"{handler.request.protocol}://{handler.request.host}"
    return f"{base}/player/{attempt_id}?token={token}", iso_time(expires_at)


async def load_attempt(handler: BaseHandler, attempt_id: int) -> tuple[User, Attempt]:
    """Return the caller and an attempt it may see (its own, or any for an admin)."""
    caller = await handler.require_user()
    attempt = await handler.ctx.store.get_attempt(attempt_id)
    if attempt is None:
        raise ApiError(404, f"Attempt {attempt_id} not found.")
    if attempt.user_id != caller.id and not caller.is_staff:
        raise ApiError(403, f"Attempt {attempt_id} belongs to another learner.")
    return caller, attempt


class StartAttemptHandler(BaseHandler):
    """POST /api/attempts/start_attempt/: a new attempt of a learner on a package."""

    async def post(self) -> None:
        caller = await self.require_user()
        body = self.json_body()
        user_id = body_int(body, "user_id")
        package_id = body_int(body, "package_id")
        if user_id != caller.id and not caller.is_staff:
            raise ApiError(403, "A learner may start attempts only for itself.")

        store = self.ctx.store
        if await store.get_user(user_id) is None:
            raise invalid("user_id", f"user {user_id} does not exist.")
        package = await store.get_package(package_id)
        self._check_package(package_id, package)
        assert package is not None
        _, registered = await store.list_registrations(
            limit=1, offset=0, user_id=user_id, course_id=package.course_id
        )
        if not registered:
            raise ApiError(
                400,
                f"User {user_id} is not registered for course {package.course_id}; "
                "register the user with /api/registrations/register_for_course/ first.",
            )

        attempt = await store.create_attempt(user_id, package_id)
        url, _ = launch_url(self, attempt.id)
        log.info("started attempt %d of user %d on package %d", attempt.id, user_id, package_id)
        self.write_json({**attempt_json(attempt), "launch_url": url}, status=201)

    @staticmethod
    def _check_package(package_id: int, package: Package | None) -> None:
        if package is None or package.deleted_at is not None:
            raise invalid("package_id", f"package {package_id} does not exist.")
        if package.status != PACKAGE_READY:
            raise invalid(
                "package_id",
                f"package {package_id} is {package.status}, not ready; "
                "wait until check_status reports ready.",
            )


class LaunchHandler(BaseHandler):
    """POST /api/attempts/{id}/launch/: a fresh launch URL for an attempt."""

    async def post(self, attempt_id: str) -> None:
        _, attempt = await load_attempt(self, path_id(attempt_id, "Attempt"))
        package = await self.ctx.store.get_package(attempt.package_id)
        if package is None or package.deleted_at is not None:
            raise ApiError(
                400,
                f"Package {attempt.package_id} of attempt {attempt.id} was deleted; "
                "its content cannot be launched.",
            )
        url, expires_at = launch_url(self, attempt.id)
        self.write_json({"launch_url": url, "expires_at": expires_at})


class AttemptsHandler(BaseHandler):
    """GET /api/attempts/?user_id=&package_id=; learners see their own."""

    async def get(self) -> None:
        caller = await self.require_user()
        user_id = query_int(self, "user_id")
        package_id = query_int(self, "package_id")
        limit, offset = page_params(self)
        if not caller.is_staff:
            if user_id not in (None, caller.id):
                raise ApiError(403, "A learner may list only its own attempts.")
            user_id = caller.id

        attempts, total = await self.ctx.store.list_attempts(
            limit=limit, offset=offset, user_id=user_id, package_id=package_id
        )
        self.write_page([attempt_json(attempt) for attempt in attempts], total)


class AttemptHandler(BaseHandler):
    """GET /api/attempts/{id}/: the attempt's summary."""

    async def get(self, attempt_id: str) -> None:
        _, attempt = await load_attempt(self, path_id(attempt_id, "Attempt"))
        self.write_json(attempt_json(attempt))


class UpdateProgressHandler(BaseHandler):
    """POST /api/attempts/{id}/update_progress/ (admin): set the summary directly.

    Values are checked against the vocabularies of the package's standard.
    SCORM 1.2 has one status, `cmi.core.lesson_status`, so there
    `completion_status` takes its vocabulary.
    """

    async def post(self, attempt_id: str) -> None:
        record_id = path_id(attempt_id, "Attempt")
        await self.require_admin()
        body = self.json_body()
        reject_unknown(body, PROGRESS_FIELDS)
        attempt = await self.ctx.store.get_attempt(record_id)
        if attempt is None:
            raise ApiError(404, f"Attempt {attempt_id} not found.")
        package = await self.ctx.store.get_package(attempt.package_id)
        standard = package.scorm_standard if package else ""

        fields = read_progress(body, standard)
        # NOTE: the run-time may later write its own summary of this attempt,
        # which then replaces these values.
        fields["last_accessed_at"] = utcnow()
        attempt = await self.ctx.store.update_attempt(attempt.id, fields)
        log.info("updated the progress of attempt %d: %s", attempt.id, sorted(fields))
        self.write_json(attempt_json(attempt))


def read_progress(body: dict[str, Any], standard: str) -> dict[str, Any]:
    """Check an update_progress body; return the summary fields to write."""
    if not set(body) & PROGRESS_FIELDS:
        raise ApiError(
            400,
            "Nothing to update; send completion_status, success_status or score.",
        )
    if standard == SCORM_12:
        completion_vocabulary = LESSON_STATUS_VOCABULARY
    else:
        completion_vocabulary = COMPLETION_STATUS_VOCABULARY

    fields: dict[str, Any] = {}
    completion = body_str(body, "completion_status")
    if completion is not None:
        _check_vocabulary("completion_status", completion, completion_vocabulary)
        fields["completion_status"] = completion
        if standard == SCORM_12:
            fields["is_complete"] = completion in LESSON_STATUS_COMPLETE
        else:
            fields["is_complete"] = completion == "completed"
    success = body_str(body, "success_status")
    if success is not None:
        _check_vocabulary("success_status", success, SUCCESS_STATUS_VOCABULARY)
        fields["success_status"] = success
    if "score" in body:
        fields["score"] = body_number(body, "score")
    return fields


def _check_vocabulary(name: str, value: str, vocabulary: frozenset[str]) -> None:
    if value not in vocabulary:
        raise invalid(
            name, f"{value!r} is not one of {', '.join(sorted(vocabulary))}."
        )


def routes(ctx: AppContext) -> list[Any]:
    args = {"ctx": ctx}
    return [
        (r"/api/attempts/?$", AttemptsHandler, args),
        (r"/api/attempts/start_attempt/?$", StartAttemptHandler, args),
        (r"/api/attempts/(\d+)/?$", AttemptHandler, args),
        (r"/api/attempts/(\d+)/launch/?$", LaunchHandler, args),
        (r"/api/attempts/(\d+)/update_progress/?$", UpdateProgressHandler, args),
    ]
