"""`Store.read_log_rows`, the log read of activation, against every backend."""

from __future__ import annotations

from storage.base import Store
from storage.models import PACKAGE_PROCESSING, LogEntry


async def new_attempt(store: Store) -> tuple[int, int]:
    """Create a user, a course, a package and two attempts, and return the attempt ids."""
    user = await store.create_user(username="ada", email="ada@example.org", password_hash="h")
    course = await store.create_course(title="Safety")
    package = await store.create_package(
        course_id=course.id, task_id="task-1", file="upload.zip", status=PACKAGE_PROCESSING
    )
    first = await store.create_attempt(user.id, package.id)
    second = await store.create_attempt(user.id, package.id)
    return first.id, second.id


def log_entries(attempt_id: int, count: int) -> list[LogEntry]:
    return [
        LogEntry(
            attempt_id=attempt_id,
            seq=seq,
            epoch=1 + seq // 3,
            item=f"sco-{seq % 2}",
            session=f"session-{seq // 2}",
            time=1_700_000_000.5 + seq,
            kind="open" if seq == 1 else "batch",
            payload=bytes([seq]) * 40,
        )
        for seq in range(1, count + 1)
    ]


def as_rows(entries: list[LogEntry]) -> list[tuple]:
    return [(e.seq, e.epoch, e.item, e.session, e.kind, e.payload) for e in entries]


def test_read_log_rows_match_read_log(run_store):
    async def scenario(store: Store) -> None:
        attempt_id, other_id = await new_attempt(store)
        entries = log_entries(attempt_id, 6)
        # Written out of order, with another attempt's entries in between.
        await store.append_log(entries[3:])
        await store.append_log(log_entries(other_id, 2))
        await store.append_log(entries[:3])

        rows = await store.read_log_rows(attempt_id)

        assert rows == as_rows(entries)
        assert rows == as_rows(await store.read_log(attempt_id))
        assert all(type(row) is tuple for row in rows)
        assert all(type(row[5]) is bytes for row in rows)

    run_store(scenario)


def test_read_log_rows_after_seq(run_store):
    async def scenario(store: Store) -> None:
        attempt_id, _ = await new_attempt(store)
        entries = log_entries(attempt_id, 5)
        await store.append_log(entries)

        assert await store.read_log_rows(attempt_id, after_seq=3) == as_rows(entries[3:])
        assert await store.read_log_rows(attempt_id, after_seq=5) == []
        assert await store.read_log_rows(attempt_id + 1000) == []

    run_store(scenario)
