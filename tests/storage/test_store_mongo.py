"""Parts of the MongoDB store that need no server: URLs, errors, documents."""

from __future__ import annotations

import asyncio
import socket
from datetime import datetime, timezone

import pytest
from pymongo.errors import BulkWriteError

from storage.errors import LogConflict, StoreUnavailable
from storage.models import ATTEMPT_SUMMARY_FIELDS, Attempt, LogEntry
from storage.mongo import MongoStore, database_from_url
from storage.mongo_documents import (
    check_fields,
    conflict_from_bulk_error,
    raise_repeated_seq,
    to_record,
)


def closed_port() -> int:
    """Return a port on 127.0.0.1 that nothing listens on."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@pytest.mark.parametrize(
    ("url", "database"),
    [
        ("mongodb://127.0.0.1:27017/lms", "lms"),
        ("mongodb://a:1,b:2/lms?replicaSet=rs0", "lms"),
        ("mongodb+srv://user:secret@cluster.example.org/reports?retryWrites=true", "reports"),
        ("mongodb://127.0.0.1:27017", "scorm"),
        ("mongodb://127.0.0.1:27017/", "scorm"),
    ],
)
def test_database_from_url(url, database):
    assert database_from_url(url) == database


def test_database_argument_overrides_url():
    store = MongoStore("mongodb://127.0.0.1:27017/lms", database="other")

    assert store.database_name == "other"


def test_unreachable_server_raises_unavailable():
    url = f"mongodb://127.0.0.1:{closed_port()}/scorm?serverSelectionTimeoutMS=300"

    async def scenario() -> None:
        store = MongoStore(url)
        with pytest.raises(StoreUnavailable):
            await store.open()
        with pytest.raises(StoreUnavailable):
            await store.get_user(1)

    asyncio.run(scenario())


def log_entry(attempt_id: int, seq: int) -> LogEntry:
    return LogEntry(attempt_id, seq, 1, "sco-1", "s-1", 0.0, "SetValue", b"x")


def test_check_fields_rejects_unknown_field():
    with pytest.raises(ValueError, match="user_id"):
        check_fields("attempt", {"user_id": 2}, ATTEMPT_SUMMARY_FIELDS)


def test_check_fields_rejects_naive_time():
    with pytest.raises(ValueError, match="naive"):
        check_fields(
            "attempt", {"last_accessed_at": datetime(2026, 1, 1)}, ATTEMPT_SUMMARY_FIELDS
        )


def test_check_fields_makes_scores_float():
    changes = check_fields(
        "attempt", {"score": 1, "total_time_seconds": 30}, ATTEMPT_SUMMARY_FIELDS
    )

    assert changes == {"score": 1.0, "total_time_seconds": 30.0}
    assert isinstance(changes["score"], float)
    assert isinstance(changes["total_time_seconds"], float)


def test_repeated_seq_in_batch_conflicts():
    with pytest.raises(LogConflict) as caught:
        raise_repeated_seq([log_entry(1, 1), log_entry(2, 1), log_entry(1, 1)])

    assert caught.value.attempt_id == 1
    assert caught.value.seq == 1
    raise_repeated_seq([log_entry(1, 1), log_entry(2, 1), log_entry(1, 2)])


def test_to_record_ignores_extra_fields():
    now = datetime(2026, 12, 4, tzinfo=timezone.utc)
    document = {
        "_id": 7,
        "user_id": 1,
        "package_id": 2,
        "course_id": 3,
        "started_at": now,
        "last_accessed_at": now,
    }

    attempt = to_record(Attempt, document)

    assert attempt.id == 7
    assert attempt.package_id == 2
    assert attempt.started_at == now
    assert to_record(Attempt, None) is None


def test_bulk_duplicate_key_becomes_conflict():
    entries = [log_entry(4, 1), log_entry(4, 2), log_entry(4, 3)]
    error = BulkWriteError(
        {"writeErrors": [{"index": 1, "code": 11000, "errmsg": "E11000"}], "nInserted": 1}
    )

    conflict = conflict_from_bulk_error(error, entries)

    assert isinstance(conflict, LogConflict)
    assert conflict.attempt_id == 4
    assert conflict.seq == 2


def test_other_bulk_error_becomes_unavailable():
    error = BulkWriteError(
        {"writeErrors": [{"index": 0, "code": 2, "errmsg": "bad value"}], "nInserted": 0}
    )

    conflict = conflict_from_bulk_error(error, [log_entry(4, 1)])

    assert isinstance(conflict, StoreUnavailable)
