"""Records that the stores read and write.

Records are frozen dataclasses. A store returns new records; callers change a
record only through the store's update methods. Times are aware UTC datetimes.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Any


def utcnow() -> datetime:
    """Return the current time as an aware UTC datetime with millisecond precision."""
    now = datetime.now(timezone.utc)
    return now.replace(microsecond=now.microsecond // 1000 * 1000)


@dataclass(frozen=True)
class User:
    id: int
    username: str
    email: str
    first_name: str
    last_name: str
    is_staff: bool
    password_hash: str
    date_joined: datetime


@dataclass(frozen=True)
class Course:
    id: int
    title: str
    description: str
    is_active: bool
    created_at: datetime


PACKAGE_PROCESSING = "processing"
PACKAGE_READY = "ready"
PACKAGE_FAILED = "failed"


@dataclass(frozen=True)
class Package:
    """An uploaded SCORM package and what its import found.

    `items` lists the launchable items of the default organization in
    organization order, as the REST API shows them. `manifest` holds the whole
    parsed manifest (organization tree, per-item run-time data, sequencing) as
    plain JSON data. `deleted_at` is set when the package was deleted: its
    files are gone, its attempts stay readable.
    """

    id: int
    course_id: int
    task_id: str
    status: str
    scorm_standard: str
    version: str
    title: str
    file: str
    manifest_path: str
    launch_path: str
    uploaded_at: datetime
    created_at: datetime
    items: list[dict[str, Any]] = field(default_factory=list)
    manifest: dict[str, Any] = field(default_factory=dict)
    errors: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    deleted_at: datetime | None = None


@dataclass(frozen=True)
class Registration:
    id: int
    user_id: int
    course_id: int
    registered_at: datetime


@dataclass(frozen=True)
class Attempt:
    """One attempt of a learner on a package, with its summary.

    The summary fields (`completion_status` to `items`) are what reports read;
    the run-time writes them in the same flush as the log entries that changed
    them. `items` maps each SCO identifier with state to its own summary.
    """

    id: int
    user_id: int
    package_id: int
    started_at: datetime
    last_accessed_at: datetime
    completion_status: str = ""
    success_status: str = ""
    score: float | None = None
    is_complete: bool = False
    total_time_seconds: float = 0.0
    items: dict[str, dict[str, Any]] = field(default_factory=dict)


# Fields of Attempt that the run-time and `update_progress` may change.
ATTEMPT_SUMMARY_FIELDS = frozenset(
    {
        "last_accessed_at",
        "completion_status",
        "success_status",
        "score",
        "is_complete",
        "total_time_seconds",
        "items",
    }
)


@dataclass(frozen=True)
class LogEntry:
    """One entry of an attempt's run-time log.

    `seq` counts from 1 per attempt with no gap; (attempt_id, seq) is unique in
    every store, so a stale or duplicate write fails instead of forking the
    log. `payload` is the msgpack encoding of the call and its effect; stores
    keep it as opaque bytes.
    """

    attempt_id: int
    seq: int
    epoch: int
    item: str
    session: str
    time: float
    kind: str
    payload: bytes


@dataclass(frozen=True)
class Snapshot:
    """The serialized actor state of an attempt as of log entry `seq`."""

    attempt_id: int
    seq: int
    data: bytes
    written_at: datetime


def replace(record: Any, **changes: Any) -> Any:
    """Return a copy of a record with some fields changed."""
    return dataclasses.replace(record, **changes)
