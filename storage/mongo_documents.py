"""Field rules and conversions of the MongoDB store's documents."""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping, Sequence
from typing import Any, TypeVar

from pymongo.errors import BulkWriteError

from storage.errors import LogConflict, StoreError, StoreUnavailable
from storage.models import LogEntry, Package

T = TypeVar("T")

DUPLICATE_KEY = 11000
USER_FIELDS = frozenset(
    {"username", "email", "first_name", "last_name", "is_staff", "password_hash"}
)
COURSE_FIELDS = frozenset({"title", "description", "is_active"})
PACKAGE_FIELDS = frozenset(
    field.name for field in dataclasses.fields(Package)
) - {"id", "created_at"}
TIME_FIELDS = frozenset({"uploaded_at", "deleted_at", "last_accessed_at"})
FLOAT_FIELDS = frozenset({"score", "total_time_seconds"})


def to_record(record: type[T], document: Mapping[str, Any] | None) -> Any:
    """Build a record from a document, ignoring fields the record lacks."""
    if document is None:
        return None
    names = {field.name for field in dataclasses.fields(record)}
    values = {name: document[name] for name in names - {"id"} if name in document}
    return record(id=document["_id"], **values)


def equal_query(**equal: Any) -> dict[str, Any]:
    return {name: value for name, value in equal.items() if value is not None}


def check_fields(
    kind: str, fields: Mapping[str, Any], allowed: frozenset[str]
) -> dict[str, Any]:
    """Return the fields of an update, or raise ValueError on an unknown field or naive time."""
    unknown = sorted(set(fields) - allowed)
    if unknown:
        raise ValueError(
            f"cannot update field(s) {', '.join(unknown)} of a {kind}; "
            f"allowed: {', '.join(sorted(allowed))}"
        )
    for name in TIME_FIELDS & set(fields):
        value = fields[name]
        if value is not None and value.tzinfo is None:
            raise ValueError(
                f"naive datetime {value.isoformat()} given for {name}; "
                "pass an aware UTC datetime"
            )
    changes = dict(fields)
    # SQLite returns REAL columns as floats; store the same type here.
    for name in FLOAT_FIELDS & set(changes):
        if changes[name] is not None:
            changes[name] = float(changes[name])
    return changes


def raise_repeated_seq(entries: Sequence[LogEntry]) -> None:
    """Raise LogConflict if the batch names one (attempt_id, seq) twice."""
    seen = set()
    for entry in entries:
        key = (entry.attempt_id, entry.seq)
        if key in seen:
            raise LogConflict(*key)
        seen.add(key)


def conflict_from_bulk_error(
    error: BulkWriteError, entries: Sequence[LogEntry]
) -> StoreError:
    """Return the LogConflict of the entry that a duplicate key stopped."""
    for write_error in error.details.get("writeErrors", []):
        if write_error.get("code") == DUPLICATE_KEY:
            entry = entries[write_error["index"]]
            return LogConflict(entry.attempt_id, entry.seq)
    return StoreUnavailable(f"MongoDB insert of log entries failed: {error}; retry")
