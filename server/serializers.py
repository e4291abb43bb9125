"""Records as the JSON objects of the REST API.

Field names follow the LMS API guide: a registration's `user` and `course`
and an attempt's `user` and `scorm_package` are ids. Times are ISO 8601 in
UTC with a `Z`. A user's password hash never leaves the server.
"""

from __future__ import annotations

from datetime import datetime, timezone
from typing import Any

from storage.models import Attempt, Course, Registration, User


def iso_time(value: datetime | None) -> str | None:
    """Format an aware datetime as ISO 8601 UTC with milliseconds and a `Z`."""
    if value is None:
        return None
    utc = value.astimezone(timezone.utc)
    return utc.strftime("%Y-%m-%dT%H:%M:%S.") + f"{utc.microsecond // 1000:03d}Z"


def user_json(user: User) -> dict[str, Any]:
    return {
        "id": user.id,
        "username": user.username,
        "email": user.email,
        "first_name": user.first_name,
        "last_name": user.last_name,
        "is_staff": user.is_staff,
        "date_joined": iso_time(user.date_joined),
    }


def course_json(course: Course) -> dict[str, Any]:
    return {
        "id": course.id,
        "title": course.title,
        "description": course.description,
        "is_active": course.is_active,
        "created_at": iso_time(course.created_at),
    }


def registration_json(registration: Registration) -> dict[str, Any]:
    return {
        "id": registration.id,
        "user": registration.user_id,
        "course": registration.course_id,
        "registered_at": iso_time(registration.registered_at),
    }


def attempt_json(attempt: Attempt) -> dict[str, Any]:
    """Return an attempt's summary; `total_time_seconds` is a number of seconds."""
    return {
        "id": attempt.id,
        "user": attempt.user_id,
        "scorm_package": attempt.package_id,
        "started_at": iso_time(attempt.started_at),
        "last_accessed_at": iso_time(attempt.last_accessed_at),
        "completion_status": attempt.completion_status,
        "success_status": attempt.success_status,
        "score": attempt.score,
        "is_complete": attempt.is_complete,
        "total_time_seconds": attempt.total_time_seconds,
    }
