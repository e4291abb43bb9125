"""Behaviour of the SQLite store beyond the shared contract."""

from __future__ import annotations

import asyncio
import os
import signal
import sqlite3
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from storage import open_store
from storage.errors import StoreError, StoreUnavailable
from storage.models import LogEntry, Snapshot, utcnow
from storage.sqlite import SQLiteStore
from storage.sqlite_schema import MIGRATIONS

PROJECT_ROOT = Path(__file__).resolve().parents[2]


def entry(attempt_id: int, seq: int) -> LogEntry:
    return LogEntry(attempt_id, seq, 1, "sco-1", "session-1", float(seq), "Commit", b"x")


async def seed(store: SQLiteStore) -> dict[str, int]:
    user = await store.create_user(username="ada", email="a@example.org", password_hash="h")
    course = await store.create_course(title="Safety")
    package = await store.create_package(
        course_id=course.id, task_id="task", file="f.zip", status="ready"
    )
    attempt = await store.create_attempt(user.id, package.id)
    await store.create_token(user.id, "token-hash")
    await store.get_or_create_registration(user.id, course.id)
    await store.append_log([entry(attempt.id, 1), entry(attempt.id, 2)], {attempt.id: {"score": 0.25}})
    await store.put_snapshot(Snapshot(attempt.id, 2, b"state", utcnow()))
    return {"user": user.id, "course": course.id, "package": package.id, "attempt": attempt.id}


def schema_versions(path: Path) -> list[int]:
    with sqlite3.connect(path) as conn:
        return [row[0] for row in conn.execute("SELECT version FROM schema_version ORDER BY version")]


def test_reopen_finds_everything(tmp_path):
    path = tmp_path / "store.sqlite3"

    async def scenario() -> None:
        store = SQLiteStore(path)
        await store.open()
        ids = await seed(store)
        attempt_before = await store.get_attempt(ids["attempt"])
        await store.close()

        reopened = SQLiteStore(path)
        await reopened.open()
        try:
            assert (await reopened.get_user(ids["user"])).username == "ada"
            assert (await reopened.get_user_by_token("token-hash")).id == ids["user"]
            assert (await reopened.get_course(ids["course"])).title == "Safety"
            assert (await reopened.get_package(ids["package"])).task_id == "task"
            assert await reopened.get_attempt(ids["attempt"]) == attempt_before
            assert [e.seq for e in await reopened.read_log(ids["attempt"])] == [1, 2]
            assert (await reopened.get_snapshot(ids["attempt"])).data == b"state"
            _, registrations = await reopened.list_registrations(limit=1, offset=0)
            assert registrations == 1
        finally:
            await reopened.close()

    asyncio.run(scenario())


def test_migrations_run_once(tmp_path):
    path = tmp_path / "store.sqlite3"

    async def scenario() -> None:
        for _ in range(3):
            store = SQLiteStore(path)
            await store.open()
            await store.close()

    asyncio.run(scenario())

    assert schema_versions(path) == list(range(1, len(MIGRATIONS) + 1))


def test_appended_migration_applied_once(tmp_path):
    path = tmp_path / "store.sqlite3"
    extra = ("ALTER TABLE courses ADD COLUMN code TEXT NOT NULL DEFAULT ''",)

    async def open_with(migrations: list[tuple[str, ...]]) -> None:
        store = SQLiteStore(path)
        store._migrations = migrations
        await store.open()
        await store.create_course(title="kept")
        await store.close()

    asyncio.run(open_with(MIGRATIONS))
    asyncio.run(open_with([*MIGRATIONS, extra]))
    asyncio.run(open_with([*MIGRATIONS, extra]))

    assert schema_versions(path) == list(range(1, len(MIGRATIONS) + 2))
    with sqlite3.connect(path) as conn:
        assert conn.execute("SELECT COUNT(*) FROM courses").fetchone()[0] == 3


def test_newer_schema_rejected(tmp_path):
    path = tmp_path / "store.sqlite3"
    extra = ("CREATE TABLE later (id INTEGER PRIMARY KEY)",)

    async def open_with(migrations: list[tuple[str, ...]]) -> None:
        store = SQLiteStore(path)
        store._migrations = migrations
        await store.open()
        await store.close()

    asyncio.run(open_with([*MIGRATIONS, extra]))

    with pytest.raises(StoreUnavailable, match="newer"):
        asyncio.run(open_with(MIGRATIONS))


def test_open_sets_wal_mode(tmp_path):
    path = tmp_path / "store.sqlite3"

    async def scenario() -> None:
        store = SQLiteStore(path)
        await store.open()
        await store.close()

    asyncio.run(scenario())

    with sqlite3.connect(path) as conn:
        assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"


def test_write_failure_raises_unavailable(tmp_path):
    path = tmp_path / "store.sqlite3"

    async def scenario() -> None:
        store = SQLiteStore(path)
        await store.open()
        try:
            ids = await seed(store)
            # Another connection breaks the schema under the store.
            with sqlite3.connect(path) as conn:
                conn.execute("DROP TABLE log")

            with pytest.raises(StoreUnavailable):
                await store.append_log([entry(ids["attempt"], 3)], {ids["attempt"]: {"score": 1.0}})

            assert (await store.get_attempt(ids["attempt"])).score == 0.25
            await store.create_course(title="still writable")
        finally:
            await store.close()

    asyncio.run(scenario())


def test_closed_store_raises_unavailable(tmp_path):
    async def scenario() -> None:
        store = SQLiteStore(tmp_path / "store.sqlite3")
        await store.open()
        await store.close()

        with pytest.raises(StoreUnavailable):
            await store.get_user(1)
        with pytest.raises(StoreUnavailable):
            await store.create_course(title="x")

    asyncio.run(scenario())


def test_commit_survives_sigkill(tmp_path):
    path = tmp_path / "store.sqlite3"
    # The child commits a batch, then kills itself without closing the store.
    child = textwrap.dedent(
        f"""
        import asyncio, os, signal
        from storage.sqlite import SQLiteStore
        from storage.models import LogEntry

        async def main():
            store = SQLiteStore({str(path)!r})
            await store.open()
            user = await store.create_user(username="ada", email="a@x", password_hash="h")
            course = await store.create_course(title="c")
            package = await store.create_package(course_id=course.id, task_id="t", file="f", status="ready")
            attempt = await store.create_attempt(user.id, package.id)
            entries = [LogEntry(attempt.id, seq, 1, "sco", "s", 0.0, "Commit", b"p") for seq in range(1, 101)]
            await store.append_log(entries, {{attempt.id: {{"completion_status": "completed"}}}})
            os.kill(os.getpid(), signal.SIGKILL)

        asyncio.run(main())
        """
    )

    result = subprocess.run(
        [sys.executable, "-c", child], cwd=PROJECT_ROOT, capture_output=True, timeout=60
    )

    assert result.returncode == -signal.SIGKILL, result.stderr.decode()

    async def scenario() -> None:
        store = SQLiteStore(path)
        await store.open()
        try:
            assert len(await store.read_log(1)) == 100
            assert (await store.get_attempt(1)).completion_status == "completed"
        finally:
            await store.close()

    asyncio.run(scenario())


def test_open_creates_missing_folder(tmp_path):
    path = tmp_path / "a" / "b" / "store.sqlite3"

    async def scenario() -> None:
        store = SQLiteStore(path)
        await store.open()
        await store.close()

    asyncio.run(scenario())

    assert path.is_file()


# open_store


def test_open_store_sqlite_url(tmp_path):
    store = open_store(f"sqlite:///{tmp_path}/x.sqlite3?synchronous=full&readers=2")

    assert isinstance(store, SQLiteStore)
    assert store.path == tmp_path / "x.sqlite3"
    assert store.synchronous == "FULL"


def test_open_store_relative_sqlite_path():
    store = open_store("sqlite:///data/scorm.sqlite3")

    assert isinstance(store, SQLiteStore)
    assert store.path == Path("data/scorm.sqlite3")


@pytest.mark.parametrize(
    "url",
    [
        "postgres://localhost/db",
        "sqlite://relative.db",
        "sqlite:///:memory:",
        "sqlite:///x.db?journal=off",
        "sqlite:///x.db?readers=many",
        "sqlite:///x.db?synchronous=sometimes",
        "",
    ],
)
def test_open_store_invalid_url_rejected(url):
    with pytest.raises(ValueError):
        open_store(url)


def test_open_store_mongodb_url():
    from storage.mongo import MongoStore

    store = open_store("mongodb://127.0.0.1:27017/lms")

    assert isinstance(store, MongoStore)
    assert store.database_name == "lms"


def test_read_failure_raises_unavailable(tmp_path):
    path = tmp_path / "store.sqlite3"

    async def scenario() -> None:
        store = SQLiteStore(path)
        await store.open()
        try:
            ids = await seed(store)
            with sqlite3.connect(path) as conn:
                conn.execute("DROP TABLE snapshots")

            with pytest.raises(StoreUnavailable):
                await store.get_snapshot(ids["attempt"])

            assert len(await store.read_log(ids["attempt"])) == 2
        finally:
            await store.close()

    asyncio.run(scenario())


def test_concurrent_appends_and_reads(tmp_path):
    async def scenario() -> None:
        store = SQLiteStore(tmp_path / "store.sqlite3", readers=2)
        await store.open()
        try:
            ids = await seed(store)
            attempts = [
                await store.create_attempt(ids["user"], ids["package"]) for _ in range(10)
            ]

            writes = [
                store.append_log([entry(attempt.id, seq)], {attempt.id: {"score": float(seq)}})
                for seq in range(1, 21)
                for attempt in attempts
            ]
            reads = [store.read_log(attempt.id) for attempt in attempts for _ in range(5)]
            await asyncio.gather(*writes, *reads)

            for attempt in attempts:
                assert [e.seq for e in await store.read_log(attempt.id)] == list(range(1, 21))
                assert (await store.get_attempt(attempt.id)).score == 20.0
        finally:
            await store.close()

    asyncio.run(scenario())


def test_cancelled_append_still_commits(tmp_path):
    async def scenario() -> None:
        store = SQLiteStore(tmp_path / "store.sqlite3")
        await store.open()
        try:
            ids = await seed(store)
            pending = asyncio.create_task(store.append_log([entry(ids["attempt"], 3)]))
            # One loop pass lets the task hand its transaction to the writer thread.
            await asyncio.sleep(0)

            pending.cancel()
            await asyncio.gather(pending, return_exceptions=True)
            # Writes run in order, so this one ends after the cancelled one.
            await store.create_course(title="after")

            assert pending.cancelled()
            assert [e.seq for e in await store.read_log(ids["attempt"])] == [1, 2, 3]
        finally:
            await store.close()

    asyncio.run(scenario())


def test_large_flush_spans_several_statements(tmp_path: Path) -> None:
    async def scenario() -> None:
        store = SQLiteStore(tmp_path / "store.sqlite3")
        await store.open()
        try:
            ids = await seed(store)
            user, package = ids["user"], ids["package"]
            attempts = [ids["attempt"]]
            for _ in range(299):
                attempts.append((await store.create_attempt(user, package)).id)
            entries = [entry(attempt_id, seq) for attempt_id in attempts for seq in (3, 4)]
            summaries = {
                attempt_id: {"score": float(index)} if index % 2 else {"completion_status": "completed"}
                for index, attempt_id in enumerate(attempts)
            }

            await store.append_log(entries[2:] + [entry(attempts[0], 3)], summaries)

            first = await store.get_attempt(attempts[0])
            second = await store.get_attempt(attempts[1])
            last = await store.get_attempt(attempts[-1])
            logs = [await store.read_log(attempt_id) for attempt_id in attempts[1:]]
        finally:
            await store.close()

        assert first.completion_status == "completed"
        assert second.score == 1.0
        assert last.score == 299.0
        assert all([e.seq for e in log] == [3, 4] for log in logs)

    asyncio.run(scenario())


def test_too_old_sqlite_rejected(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(sqlite3, "sqlite_version_info", (3, 31, 1))
    monkeypatch.setattr(sqlite3, "sqlite_version", "3.31.1")
    store = SQLiteStore(tmp_path / "store.sqlite3")

    with pytest.raises(StoreError) as raised:
        asyncio.run(store.open())

    assert "3.31.1 is too old" in str(raised.value)
