"""FaultyStore: injected failures and stalls of append_log on a real SQLite store."""

from __future__ import annotations

import asyncio

import pytest

from storage.errors import LogConflict, StoreUnavailable
from storage.faults import FaultyStore
from storage.models import LogEntry, Snapshot, utcnow
from storage.sqlite import SQLiteStore


def entry(attempt_id: int, seq: int) -> LogEntry:
    return LogEntry(attempt_id, seq, 1, "sco-1", "session-1", float(seq), "SetValue", b"x")


async def open_faulty(tmp_path) -> tuple[FaultyStore, int]:
    store = FaultyStore(SQLiteStore(tmp_path / "store.sqlite3"))
    await store.open()
    user = await store.create_user(username="ada", email="a@example.org", password_hash="h")
    course = await store.create_course(title="Safety")
    package = await store.create_package(
        course_id=course.id, task_id="task", file="f.zip", status="ready"
    )
    attempt = await store.create_attempt(user.id, package.id)
    return store, attempt.id


def test_failed_append_writes_nothing(tmp_path):
    async def scenario() -> None:
        store, attempt_id = await open_faulty(tmp_path)
        try:
            store.fail_next_appends(2)

            for _ in range(2):
                with pytest.raises(StoreUnavailable):
                    await store.append_log([entry(attempt_id, 1)])
            assert await store.read_log(attempt_id) == []

            await store.append_log([entry(attempt_id, 1)])
            assert [e.seq for e in await store.read_log(attempt_id)] == [1]
            assert store.append_calls == 3
        finally:
            await store.close()

    asyncio.run(scenario())


def test_failure_after_write_then_retry_conflicts(tmp_path):
    async def scenario() -> None:
        store, attempt_id = await open_faulty(tmp_path)
        try:
            store.fail_next_appends(1, after_write=True)

            with pytest.raises(StoreUnavailable):
                await store.append_log([entry(attempt_id, 1)], {attempt_id: {"score": 1.0}})
            with pytest.raises(LogConflict):
                await store.append_log([entry(attempt_id, 1)])

            assert [e.seq for e in await store.read_log(attempt_id)] == [1]
            assert (await store.get_attempt(attempt_id)).score == 1.0
        finally:
            await store.close()

    asyncio.run(scenario())


def test_custom_error_raised(tmp_path):
    async def scenario() -> None:
        store, attempt_id = await open_faulty(tmp_path)
        try:
            store.fail_next_appends(1, error=LogConflict(attempt_id, 1))

            with pytest.raises(LogConflict):
                await store.append_log([entry(attempt_id, 1)])
        finally:
            await store.close()

    asyncio.run(scenario())


def test_stalled_append_waits_for_release(tmp_path):
    async def scenario() -> None:
        store, attempt_id = await open_faulty(tmp_path)
        try:
            release = asyncio.Event()
            store.stall_appends(release)

            pending = asyncio.create_task(store.append_log([entry(attempt_id, 1)]))
            await store.append_stalled.wait()
            assert not pending.done()
            assert await store.read_log(attempt_id) == []

            release.set()
            await pending
            assert [e.seq for e in await store.read_log(attempt_id)] == [1]

            store.stall_appends(None)
            await store.append_log([entry(attempt_id, 2)])
            assert len(await store.read_log(attempt_id)) == 2
        finally:
            await store.close()

    asyncio.run(scenario())


def test_fail_next_other_method(tmp_path):
    async def scenario() -> None:
        store, attempt_id = await open_faulty(tmp_path)
        try:
            snapshot = Snapshot(attempt_id, 1, b"state", utcnow())
            store.fail_next("put_snapshot", 1)

            with pytest.raises(StoreUnavailable):
                await store.put_snapshot(snapshot)
            assert await store.get_snapshot(attempt_id) is None

            await store.put_snapshot(snapshot)
            assert await store.get_snapshot(attempt_id) == snapshot
        finally:
            await store.close()

    asyncio.run(scenario())


def test_fail_next_unknown_method_rejected(tmp_path):
    store = FaultyStore(SQLiteStore(tmp_path / "store.sqlite3"))

    with pytest.raises(ValueError):
        store.fail_next("no_such_method")
    with pytest.raises(ValueError):
        store.fail_next("append_log")
