"""Reports: one learner on one course, and every learner of a course."""

from __future__ import annotations

import csv
import io
from typing import Any

from server.context import AppContext
from server.errors import ApiError
from server.handlers.base import BaseHandler
from server.handlers.fields import invalid, query_int
from server.serializers import attempt_json, course_json, iso_time, user_json
from storage.base import Store
from storage.models import Course, Registration

# Page size for reading every record of a report from the store.
READ_PAGE = 1000
COURSE_REPORT_COLUMNS = (
    "user_id",
    "username",
    "email",
    "first_name",
    "last_name",
    "registered_at",
    "attempt_id",
    "completion_status",
    "success_status",
    "score",
    "is_complete",
    "total_time_seconds",
    "last_accessed_at",
)


async def all_registrations(store: Store, course_id: int) -> list[Registration]:
    registrations: list[Registration] = []
    while True:
        page, total = await store.list_registrations(
            limit=READ_PAGE, offset=len(registrations), course_id=course_id
        )
        registrations.extend(page)
        if not page or len(registrations) >= total:
            return registrations


async def require_course(store: Store, course_id: int) -> Course:
    course = await store.get_course(course_id)
    if course is None:
        raise ApiError(404, f"Course {course_id} not found.")
    return course


class UserCourseReportHandler(BaseHandler):
    """GET /api/reports/user_course_report/?user_id=&course_id=.

    Every attempt of the user on the course's packages, oldest first; the
    admin or the learner itself.
    """

    async def get(self) -> None:
        caller = await self.require_user()
        user_id = query_int(self, "user_id", required=True)
        course_id = query_int(self, "course_id", required=True)
        assert user_id is not None and course_id is not None
        if user_id != caller.id and not caller.is_staff:
            raise ApiError(403, "A learner may read only its own reports.")

        user = await self.ctx.store.get_user(user_id)
        if user is None:
            raise ApiError(404, f"User {user_id} not found.")
        course = await require_course(self.ctx.store, course_id)
        attempts = []
        while True:
            page, total = await self.ctx.store.list_attempts(
                limit=READ_PAGE, offset=len(attempts), user_id=user_id, course_id=course_id
            )
            attempts.extend(page)
            if not page or len(attempts) >= total:
                break
        self.write_json(
            {
                "user": user_json(user),
                "course": course_json(course),
                "attempts": [attempt_json(attempt) for attempt in attempts],
            }
        )


class CourseReportHandler(BaseHandler):
    """GET /api/reports/course_report/?course_id=[&format=csv] (admin).

    One row per registered learner with its latest attempt's summary; the
    attempt fields are null (empty in CSV) for a learner with no attempt.
    """

    async def get(self) -> None:
        await self.require_admin()
        course_id = query_int(self, "course_id", required=True)
        assert course_id is not None
        output = self.get_query_argument("format", "json")
        if output not in ("json", "csv"):
            raise invalid("format", f"expected json or csv, got {output!r}.")

        store = self.ctx.store
        course = await require_course(store, course_id)
        rows = await self._rows(store, course_id)
        if output == "csv":
            self._write_csv(course, rows)
        else:
            self.write_json({"course": course_json(course), "rows": rows})

    async def _rows(self, store: Store, course_id: int) -> list[dict[str, Any]]:
        latest = await store.latest_attempts(course_id)
        rows = []
        # NOTE: one user lookup per learner; a course of many thousands of
        # learners makes this report slow.
        for registration in await all_registrations(store, course_id):
            user = await store.get_user(registration.user_id)
            if user is None:
                continue
            attempt = latest.get(user.id)
            rows.append(
                {
                    "user_id": user.id,
                    "username": user.username,
                    "email": user.email,
                    "first_name": user.first_name,
                    "last_name": user.last_name,
                    "registered_at": iso_time(registration.registered_at),
                    "attempt_id": attempt.id if attempt else None,
                    "completion_status": attempt.completion_status if attempt else None,
                    "success_status": attempt.success_status if attempt else None,
                    "score": attempt.score if attempt else None,
                    "is_complete": attempt.is_complete if attempt else None,
                    "total_time_seconds": (
                        attempt.total_time_seconds if attempt else None
                    ),
                    "last_accessed_at": (
                        iso_time(attempt.last_accessed_at) if attempt else None
                    ),
                }
            )
        return rows

    def _write_csv(self, course: Course, rows: list[dict[str, Any]]) -> None:
        buffer = io.StringIO()
        writer = csv.DictWriter(buffer, COURSE_REPORT_COLUMNS, lineterminator="\r\n")
        writer.writeheader()
        for row in rows:
            writer.writerow({name: _csv_cell(value) for name, value in row.items()})
        self.set_header("Content-Type", "text/csv; charset=utf-8")
        self.set_header(
            "Content-Disposition",
            f'attachment; filename="course-{course.id}-report.csv"',
        )
        self.finish(buffer.getvalue())


def _csv_cell(value: Any) -> Any:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    # Spreadsheets run cells that start with these characters as formulas.
    # OWASP ASVS 5.0 (requirement 1.2.10) lists = + - @, tab and NUL, and a
    # carriage return is escaped as well.
    if isinstance(value, str) and value[:1] in ("=", "+", "-", "@", "\t", "\r", "\x00"):
        return "'" + value
    return value


def routes(ctx: AppContext) -> list[Any]:
    args = {"ctx": ctx}
    return [
        (r"/api/reports/user_course_report/?$", UserCourseReportHandler, args),
        (r"/api/reports/course_report/?$", CourseReportHandler, args),
    ]
