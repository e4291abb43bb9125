"""The SQLite store: the embedded default backend.

Threads: every write runs on one connection owned by one dedicated thread, so
writes are serialized without lock contention and a transaction never waits
for another writer of this process. Reads run on a small pool of other
connections in their own threads; WAL mode lets them read while the writer
writes. No call blocks the event loop. Cancelling a write (for example by a
timeout) does not stop it: once submitted, it runs to its end on the writer
thread, and later writes run after it. A retry of a cancelled `append_log`
therefore gets LogConflict if the first call committed.

Durability: WAL with `synchronous=NORMAL` (the default here). A transaction
is appended to the WAL file before COMMIT returns, and the WAL is synced to
disk only at checkpoints. A committed transaction therefore survives a crash
of this process (even SIGKILL), because the written pages are in the
operating system's cache. It may be lost on power loss or an operating system
crash, which leaves the database consistent but without the last
transactions (SQLite's documentation of PRAGMA synchronous says so:
https://www.sqlite.org/pragma.html#pragma_synchronous).
Open `sqlite:///PATH?synchronous=full` to sync the WAL at every commit and
survive power loss too, at the cost of one fsync per write.
"""

from __future__ import annotations

import asyncio
import logging
import queue
import sqlite3
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any, TypeVar

from storage import sqlite_queries as queries
from storage import sqlite_rows as rows
from storage.base import LogRow
from storage.errors import StoreError, StoreUnavailable
from storage.models import (
    Attempt,
    Course,
    LogEntry,
    Package,
    Registration,
    Snapshot,
    User,
    utcnow,
)
from storage.sqlite_schema import MIGRATIONS, migrate

log = logging.getLogger(__name__)

MIN_SQLITE_VERSION = (3, 33, 0)

T = TypeVar("T")

SYNCHRONOUS_MODES = ("OFF", "NORMAL", "FULL", "EXTRA")


class SQLiteStore:
    """A `Store` in one SQLite file.

    `readers` is the number of read connections and threads.
    `busy_timeout_ms` is how long a statement waits for a lock held by another
    process before it fails with StoreUnavailable.
    """

    def __init__(
        self,
        path: str | Path,
        *,
        readers: int = 4,
        synchronous: str = "NORMAL",
        busy_timeout_ms: int = 5000,
    ) -> None:
        if synchronous.upper() not in SYNCHRONOUS_MODES:
            raise ValueError(
                f"invalid SQLite synchronous mode {synchronous!r}; "
                f"use one of {', '.join(SYNCHRONOUS_MODES)}"
            )
        if readers < 1:
            raise ValueError(f"invalid reader count {readers}; use 1 or more")
        self.path = Path(path)
        self.synchronous = synchronous.upper()
        self.busy_timeout_ms = busy_timeout_ms
        self._reader_count = readers
        self._writer: ThreadPoolExecutor | None = None
        self._readers: ThreadPoolExecutor | None = None
        self._write_conn: sqlite3.Connection | None = None
        self._read_conns: queue.SimpleQueue[sqlite3.Connection] = queue.SimpleQueue()
        self._all_conns: list[sqlite3.Connection] = []
        self._migrations = MIGRATIONS

    # Lifecycle

    async def open(self) -> None:
        if self._writer is not None:
            return
        if sqlite3.sqlite_version_info < MIN_SQLITE_VERSION:
            # Flushes use UPDATE ... FROM, which SQLite 3.33 introduced.
            raise StoreError(
                f"SQLite {sqlite3.sqlite_version} is too old; the store needs "
                f"{'.'.join(map(str, MIN_SQLITE_VERSION))} or newer"
            )
        self._writer = ThreadPoolExecutor(1, thread_name_prefix="sqlite-writer")
        self._readers = ThreadPoolExecutor(
            self._reader_count, thread_name_prefix="sqlite-reader"
        )
        try:
            await self._in_thread(self._writer, self._open_connections)
        except BaseException:
            await self.close()
            raise
        log.info("opened SQLite store %s", self.path)

    def _open_connections(self) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._write_conn = self._connect()
        mode = self._write_conn.execute("PRAGMA journal_mode=WAL").fetchone()[0]
        if mode.lower() != "wal":
            # SQLite keeps the old mode where WAL is impossible, as on some
            # network file systems; reads then wait for writes.
            log.warning(
                "SQLite store %s runs in journal mode %s, not WAL; put it on a local disk",
                self.path,
                mode,
            )
        migrate(self._write_conn, self._migrations)
        for _ in range(self._reader_count):
            self._read_conns.put(self._connect())

    def _connect(self) -> sqlite3.Connection:
        # isolation_level=None: the code issues BEGIN and COMMIT itself.
        conn = sqlite3.connect(
            self.path, isolation_level=None, check_same_thread=False
        )
        self._all_conns.append(conn)
        conn.row_factory = sqlite3.Row
        conn.execute(f"PRAGMA busy_timeout={int(self.busy_timeout_ms)}")
        conn.execute(f"PRAGMA synchronous={self.synchronous}")
        conn.execute("PRAGMA foreign_keys=ON")
        return conn

    async def close(self) -> None:
        writer, readers = self._writer, self._readers
        if writer is None or readers is None:
            return
        self._writer = self._readers = None
        # Shutting down waits for the calls already queued on each thread.
        await asyncio.to_thread(writer.shutdown, wait=True)
        await asyncio.to_thread(readers.shutdown, wait=True)
        for conn in self._all_conns:
            conn.close()
        self._all_conns.clear()
        self._write_conn = None
        self._read_conns = queue.SimpleQueue()
        log.info("closed SQLite store %s", self.path)

    async def ping(self) -> None:
        await self._read(lambda conn: conn.execute("SELECT 1").fetchone())

    # Running work on the writer and reader threads

    async def _in_thread(
        self, executor: ThreadPoolExecutor, fn: Callable[..., T], *args: Any
    ) -> T:
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(executor, fn, *args)

    async def _write(self, fn: Callable[..., T], *args: Any) -> T:
        """Run `fn(conn, *args)` in one IMMEDIATE transaction on the writer thread."""
        if self._writer is None:
            raise StoreUnavailable(f"SQLite store {self.path} is closed; open it first")
        loop = asyncio.get_running_loop()
        future = loop.run_in_executor(self._writer, self._run_write, fn, args)
        try:
            return await asyncio.shield(future)
        except asyncio.CancelledError:
            future.add_done_callback(self._log_abandoned_write)
            raise

    def _log_abandoned_write(self, future: asyncio.Future[Any]) -> None:
        error = None if future.cancelled() else future.exception()
        if error is not None:
            log.warning(
                "SQLite write to %s failed after its caller was cancelled: %s",
                self.path,
                error,
            )

    def _run_write(self, fn: Callable[..., T], args: tuple[Any, ...]) -> T:
        conn = self._write_conn
        assert conn is not None
        try:
            conn.execute("BEGIN IMMEDIATE")
            result = fn(conn, *args)
            conn.execute("COMMIT")
            return result
        except (StoreError, ValueError):
            self._rollback(conn)
            raise
        except sqlite3.Error as error:
            self._rollback(conn)
            raise StoreUnavailable(
                f"SQLite write to {self.path} failed: {error}; check the disk and retry"
            ) from error
        except BaseException:
            self._rollback(conn)
            raise

    def _rollback(self, conn: sqlite3.Connection) -> None:
        if conn.in_transaction:
            try:
                conn.execute("ROLLBACK")
            except sqlite3.Error:
                log.exception("rollback failed on SQLite store %s", self.path)

    async def _read(self, fn: Callable[..., T], *args: Any) -> T:
        """Run `fn(conn, *args)` in one read transaction on a reader thread."""
        if self._readers is None:
            raise StoreUnavailable(f"SQLite store {self.path} is closed; open it first")
        return await self._in_thread(self._readers, self._run_read, fn, args)

    def _run_read(self, fn: Callable[..., T], args: tuple[Any, ...]) -> T:
        conn = self._read_conns.get()
        try:
            # One transaction, so a page and its total see the same snapshot.
            conn.execute("BEGIN")
            try:
                return fn(conn, *args)
            finally:
                conn.execute("COMMIT")
        except sqlite3.Error as error:
            raise StoreUnavailable(
                f"SQLite read from {self.path} failed: {error}; check the disk and retry"
            ) from error
        finally:
            self._read_conns.put(conn)

    # Users and tokens

    async def create_user(
        self,
        *,
        username: str,
        email: str,
        password_hash: str,
        first_name: str = "",
        last_name: str = "",
        is_staff: bool = False,
    ) -> User:
        values = (
            username,
            email,
            first_name,
            last_name,
            int(is_staff),
            password_hash,
            rows.encode_time(utcnow()),
        )
        return await self._write(queries.insert_user, values)

    async def get_user(self, user_id: int) -> User | None:
        return await self._read(queries.fetch_user, user_id)

    async def get_user_by_username(self, username: str) -> User | None:
        row = await self._read(
            queries.fetch_one, "SELECT * FROM users WHERE username = ?", (username,)
        )
        return rows.user_from_row(row) if row else None

    async def list_users(self, *, limit: int, offset: int) -> tuple[list[User], int]:
        return await self._read(
            queries.fetch_page, "users", "", (), limit, offset, rows.user_from_row
        )

    async def update_user(self, user_id: int, fields: Mapping[str, Any]) -> User:
        columns = rows.encode_fields("user", fields, rows.USER_FIELDS)
        return await self._write(queries.update_user, user_id, columns)

    async def delete_user(self, user_id: int) -> None:
        # Foreign keys delete the user's tokens and registrations with it.
        await self._write(queries.delete_row, "users", "user", user_id)

    async def create_token(self, user_id: int, key_hash: str) -> None:
        await self._write(queries.insert_token, user_id, key_hash)

    async def get_user_by_token(self, key_hash: str) -> User | None:
        row = await self._read(
            queries.fetch_one,
            "SELECT users.* FROM tokens JOIN users ON users.id = tokens.user_id"
            " WHERE tokens.key_hash = ?",
            (key_hash,),
        )
        return rows.user_from_row(row) if row else None

    # Courses

    async def create_course(
        self, *, title: str, description: str = "", is_active: bool = True
    ) -> Course:
        values = (title, description, int(is_active), rows.encode_time(utcnow()))
        row = await self._write(
            queries.insert_returning,
            "INSERT INTO courses (title, description, is_active, created_at)"
            " VALUES (?, ?, ?, ?) RETURNING *",
            values,
        )
        return rows.course_from_row(row)

    async def get_course(self, course_id: int) -> Course | None:
        row = await self._read(queries.fetch_by_id, "courses", course_id)
        return rows.course_from_row(row) if row else None

    async def list_courses(
        self, *, limit: int, offset: int
    ) -> tuple[list[Course], int]:
        return await self._read(
            queries.fetch_page, "courses", "", (), limit, offset, rows.course_from_row
        )

    async def update_course(self, course_id: int, fields: Mapping[str, Any]) -> Course:
        columns = rows.encode_fields("course", fields, rows.COURSE_FIELDS)
        row = await self._write(queries.update_row, "courses", "course", course_id, columns)
        return rows.course_from_row(row)

    async def delete_course(self, course_id: int) -> None:
        # Foreign keys delete the course's registrations; packages stay.
        await self._write(queries.delete_row, "courses", "course", course_id)

    # Packages

    async def create_package(
        self, *, course_id: int, task_id: str, file: str, status: str
    ) -> Package:
        now = rows.encode_time(utcnow())
        values = (course_id, task_id, status, file, now, now)
        row = await self._write(queries.insert_package, values)
        return rows.package_from_row(row)

    async def get_package(self, package_id: int) -> Package | None:
        row = await self._read(queries.fetch_by_id, "packages", package_id)
        return rows.package_from_row(row) if row else None

    async def get_package_by_task(self, task_id: str) -> Package | None:
        row = await self._read(
            queries.fetch_one,
            "SELECT * FROM packages WHERE task_id = ? ORDER BY id LIMIT 1",
            (task_id,),
        )
        return rows.package_from_row(row) if row else None

    async def list_packages(
        self,
        *,
        limit: int,
        offset: int,
        course_id: int | None = None,
        status: str | None = None,
    ) -> tuple[list[Package], int]:
        where, params = queries.where_clause(
            ["deleted_at IS NULL"], course_id=course_id, status=status
        )
        return await self._read(
            queries.fetch_page, "packages", where, params, limit, offset, rows.package_from_row
        )

    async def update_package(self, package_id: int, fields: Mapping[str, Any]) -> Package:
        columns = rows.encode_fields("package", fields, rows.PACKAGE_FIELDS)
        row = await self._write(queries.update_row, "packages", "package", package_id, columns)
        return rows.package_from_row(row)

    # Registrations

    async def get_or_create_registration(
        self, user_id: int, course_id: int
    ) -> tuple[Registration, bool]:
        # BEGIN IMMEDIATE takes the database's write lock before the check, so
        # no other writer, in this process or another, can insert in between.
        row, created = await self._write(
            queries.get_or_create_registration, user_id, course_id, rows.encode_time(utcnow())
        )
        return rows.registration_from_row(row), created

    async def list_registrations(
        self,
        *,
        limit: int,
        offset: int,
        user_id: int | None = None,
        course_id: int | None = None,
    ) -> tuple[list[Registration], int]:
        where, params = queries.where_clause([], user_id=user_id, course_id=course_id)
        return await self._read(
            queries.fetch_page,
            "registrations",
            where,
            params,
            limit,
            offset,
            rows.registration_from_row,
        )

    # Attempts

    async def create_attempt(self, user_id: int, package_id: int) -> Attempt:
        now = rows.encode_time(utcnow())
        row = await self._write(queries.insert_attempt, user_id, package_id, now)
        return rows.attempt_from_row(row)

    async def get_attempt(self, attempt_id: int) -> Attempt | None:
        row = await self._read(queries.fetch_by_id, "attempts", attempt_id)
        return rows.attempt_from_row(row) if row else None

    async def list_attempts(
        self,
        *,
        limit: int,
        offset: int,
        user_id: int | None = None,
        package_id: int | None = None,
        course_id: int | None = None,
    ) -> tuple[list[Attempt], int]:
        conditions = []
        params: list[Any] = []
        if course_id is not None:
            conditions.append(
                "package_id IN (SELECT id FROM packages WHERE course_id = ?)"
            )
            params.append(course_id)
        where, params = queries.where_clause(
            conditions, params, user_id=user_id, package_id=package_id
        )
        return await self._read(
            queries.fetch_page, "attempts", where, params, limit, offset, rows.attempt_from_row
        )

    async def update_attempt(self, attempt_id: int, fields: Mapping[str, Any]) -> Attempt:
        columns = rows.encode_fields("attempt", fields, rows.ATTEMPT_FIELDS)
        row = await self._write(queries.update_row, "attempts", "attempt", attempt_id, columns)
        return rows.attempt_from_row(row)

    async def latest_attempts(self, course_id: int) -> dict[int, Attempt]:
        # Ids grow with creation time, so each user's highest id is the newest.
        found = await self._read(
            queries.fetch_all,
            "SELECT * FROM attempts WHERE id IN ("
            " SELECT MAX(id) FROM attempts WHERE package_id IN"
            "  (SELECT id FROM packages WHERE course_id = ?)"
            " GROUP BY user_id)",
            (course_id,),
        )
        return {row["user_id"]: rows.attempt_from_row(row) for row in found}

    # Run-time log, snapshots and summaries

    async def append_log(
        self,
        entries: Sequence[LogEntry],
        summaries: Mapping[int, Mapping[str, Any]] = {},
        snapshots: Sequence[Snapshot] = (),
    ) -> None:
        if not entries and not summaries and not snapshots:
            return
        log_rows = [rows.log_row(entry) for entry in entries]
        columns = {
            attempt_id: rows.encode_fields("attempt", fields, rows.ATTEMPT_FIELDS)
            for attempt_id, fields in summaries.items()
        }
        snapshot_rows = [_snapshot_row(snapshot) for snapshot in snapshots]
        await self._write(queries.append_log, entries, log_rows, columns, snapshot_rows)

    async def read_log(self, attempt_id: int, after_seq: int = 0) -> list[LogEntry]:
        return await self._read(rows.fetch_log_entries, attempt_id, after_seq)

    async def read_log_rows(self, attempt_id: int, after_seq: int = 0) -> list[LogRow]:
        return await self._read(rows.fetch_log_rows, attempt_id, after_seq)

    async def put_snapshot(self, snapshot: Snapshot) -> None:
        await self._write(queries.upsert_snapshot, _snapshot_row(snapshot))

    async def get_snapshot(self, attempt_id: int) -> Snapshot | None:
        row = await self._read(
            queries.fetch_one, "SELECT * FROM snapshots WHERE attempt_id = ?", (attempt_id,)
        )
        return rows.snapshot_from_row(row) if row else None


def _snapshot_row(snapshot: Snapshot) -> tuple[Any, ...]:
    return (
        snapshot.attempt_id,
        snapshot.seq,
        bytes(snapshot.data),
        rows.encode_time(snapshot.written_at),
    )
