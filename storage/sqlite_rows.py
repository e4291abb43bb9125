"""Conversion between SQLite rows and the records of `storage.models`.

Times are stored as ISO 8601 text in UTC with microseconds, so they sort as
text and read back equal to what was written.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Mapping
from datetime import datetime, timezone
from typing import Any

from storage.base import LogRow
from storage.models import (
    ATTEMPT_SUMMARY_FIELDS,
    Attempt,
    Course,
    LogEntry,
    Package,
    Registration,
    Snapshot,
    User,
)

# Fields that update_* may change, by record, each with its column encoding.
USER_FIELDS = {
    "username": "text",
    "email": "text",
    "first_name": "text",
    "last_name": "text",
    "is_staff": "bool",
    "password_hash": "text",
}
COURSE_FIELDS = {"title": "text", "description": "text", "is_active": "bool"}
PACKAGE_FIELDS = {
    "course_id": "int",
    "task_id": "text",
    "status": "text",
    "scorm_standard": "text",
    "version": "text",
    "title": "text",
    "file": "text",
    "manifest_path": "text",
    "launch_path": "text",
    "uploaded_at": "time",
    "items": "json",
    "manifest": "json",
    "errors": "json",
    "warnings": "json",
    "deleted_at": "time",
}
ATTEMPT_FIELDS = {
    "last_accessed_at": "time",
    "completion_status": "text",
    "success_status": "text",
    "score": "float",
    "is_complete": "bool",
    "total_time_seconds": "float",
    "items": "json",
}
assert set(ATTEMPT_FIELDS) == ATTEMPT_SUMMARY_FIELDS

LOG_COLUMNS = "attempt_id, seq, epoch, item, session, time, kind, payload"


def encode_time(value: datetime | None) -> str | None:
    """Return the stored text of an aware datetime; reject a naive one."""
    if value is None:
        return None
    if value.tzinfo is None:
        raise ValueError(
            f"naive datetime {value.isoformat()} given; pass an aware UTC datetime"
        )
    return value.astimezone(timezone.utc).isoformat()


def decode_time(text: str | None) -> datetime | None:
    if text is None:
        return None
    return datetime.fromisoformat(text)


def encode_json(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"))


def encode_fields(
    kind: str, fields: Mapping[str, Any], allowed: Mapping[str, str]
) -> dict[str, Any]:
    """Return the column values of an update, or raise ValueError on an unknown field."""
    unknown = sorted(set(fields) - set(allowed))
    if unknown:
        raise ValueError(
            f"cannot update field(s) {', '.join(unknown)} of a {kind}; "
            f"allowed: {', '.join(sorted(allowed))}"
        )
    columns = {}
    for name, value in fields.items():
        encoding = allowed[name]
        if encoding == "time":
            columns[name] = encode_time(value)
        elif encoding == "json":
            columns[name] = encode_json(value)
        elif encoding == "bool":
            columns[name] = int(bool(value))
        elif encoding == "float" and value is not None:
            columns[name] = float(value)
        else:
            columns[name] = value
    return columns


def user_from_row(row: sqlite3.Row) -> User:
    return User(
        id=row["id"],
        username=row["username"],
        email=row["email"],
        first_name=row["first_name"],
        last_name=row["last_name"],
        is_staff=bool(row["is_staff"]),
        password_hash=row["password_hash"],
        date_joined=decode_time(row["date_joined"]),
    )


def course_from_row(row: sqlite3.Row) -> Course:
    return Course(
        id=row["id"],
        title=row["title"],
        description=row["description"],
        is_active=bool(row["is_active"]),
        created_at=decode_time(row["created_at"]),
    )


def package_from_row(row: sqlite3.Row) -> Package:
    return Package(
        id=row["id"],
        course_id=row["course_id"],
        task_id=row["task_id"],
        status=row["status"],
        scorm_standard=row["scorm_standard"],
        version=row["version"],
        title=row["title"],
        file=row["file"],
        manifest_path=row["manifest_path"],
        launch_path=row["launch_path"],
        uploaded_at=decode_time(row["uploaded_at"]),
        created_at=decode_time(row["created_at"]),
        items=json.loads(row["items"]),
        manifest=json.loads(row["manifest"]),
        errors=json.loads(row["errors"]),
        warnings=json.loads(row["warnings"]),
        deleted_at=decode_time(row["deleted_at"]),
    )


def registration_from_row(row: sqlite3.Row) -> Registration:
    return Registration(
        id=row["id"],
        user_id=row["user_id"],
        course_id=row["course_id"],
        registered_at=decode_time(row["registered_at"]),
    )


def attempt_from_row(row: sqlite3.Row) -> Attempt:
    return Attempt(
        id=row["id"],
        user_id=row["user_id"],
        package_id=row["package_id"],
        started_at=decode_time(row["started_at"]),
        last_accessed_at=decode_time(row["last_accessed_at"]),
        completion_status=row["completion_status"],
        success_status=row["success_status"],
        score=row["score"],
        is_complete=bool(row["is_complete"]),
        total_time_seconds=row["total_time_seconds"],
        items=json.loads(row["items"]),
    )


def log_row(entry: LogEntry) -> tuple[Any, ...]:
    return (
        entry.attempt_id,
        entry.seq,
        entry.epoch,
        entry.item,
        entry.session,
        entry.time,
        entry.kind,
        bytes(entry.payload),
    )


LOG_ENTRY_SELECT = (
    "SELECT seq, epoch, item, session, time, kind, payload FROM log"
    " WHERE attempt_id = ? AND seq > ? ORDER BY seq"
)
LOG_ROW_SELECT = (
    "SELECT seq, epoch, item, session, kind, payload FROM log"
    " WHERE attempt_id = ? AND seq > ? ORDER BY seq"
)


def fetch_log_entries(
    conn: sqlite3.Connection, attempt_id: int, after_seq: int
) -> list[LogEntry]:
    """Read the log entries of an attempt with `seq > after_seq`, in seq order."""
    cursor = conn.cursor()
    # Plain tuples and positional arguments: a sqlite3.Row per entry and
    # keyword arguments took about a third longer for 10,000 entries.
    cursor.row_factory = None
    cursor.execute(LOG_ENTRY_SELECT, (attempt_id, after_seq))
    return [LogEntry(attempt_id, *row) for row in cursor]


def fetch_log_rows(conn: sqlite3.Connection, attempt_id: int, after_seq: int) -> list[LogRow]:
    """Read the log of an attempt after `after_seq` as `Store.read_log_rows` returns it."""
    cursor = conn.cursor()
    cursor.row_factory = None
    return cursor.execute(LOG_ROW_SELECT, (attempt_id, after_seq)).fetchall()


def snapshot_from_row(row: sqlite3.Row) -> Snapshot:
    return Snapshot(
        attempt_id=row["attempt_id"],
        seq=row["seq"],
        data=row["data"],
        written_at=decode_time(row["written_at"]),
    )
