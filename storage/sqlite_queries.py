"""The SQL of the SQLite store, one function per operation.

Each function runs on a connection inside the transaction that
`SQLiteStore._write` or `SQLiteStore._read` opened. Table and column names
come from this module and `storage.sqlite_rows`, never from callers, so
formatting them into SQL is safe.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable, Mapping, Sequence
from typing import Any, TypeVar

from storage import sqlite_rows as rows
from storage.errors import DuplicateUsername, LogConflict, NotFound
from storage.models import LogEntry, User, utcnow

T = TypeVar("T")

# Largest number of `?` parameters in one IN list, below the 999 that SQLite
# builds older than 3.32 allow per statement.
MAX_IN_PARAMETERS = 500


def fetch_one(conn: sqlite3.Connection, sql: str, params: Sequence[Any]) -> Any:
    return conn.execute(sql, params).fetchone()


def fetch_all(conn: sqlite3.Connection, sql: str, params: Sequence[Any]) -> list[Any]:
    return conn.execute(sql, params).fetchall()


def fetch_by_id(conn: sqlite3.Connection, table: str, record_id: int) -> Any:
    return conn.execute(f"SELECT * FROM {table} WHERE id = ?", (record_id,)).fetchone()


def fetch_user(conn: sqlite3.Connection, user_id: int) -> User | None:
    row = fetch_by_id(conn, "users", user_id)
    return rows.user_from_row(row) if row else None


def where_clause(
    conditions: list[str], params: list[Any] | None = None, **equal: Any
) -> tuple[str, list[Any]]:
    """Return a WHERE clause of `conditions` and `column = ?` for each non-None value."""
    conditions = list(conditions)
    params = list(params or [])
    for column, value in equal.items():
        if value is not None:
            conditions.append(f"{column} = ?")
            params.append(value)
    where = " WHERE " + " AND ".join(conditions) if conditions else ""
    return where, params


def fetch_page(
    conn: sqlite3.Connection,
    table: str,
    where: str,
    params: Sequence[Any],
    limit: int,
    offset: int,
    convert: Callable[[sqlite3.Row], T],
) -> tuple[list[T], int]:
    if limit < 0 or offset < 0:
        raise ValueError(f"invalid page limit={limit} offset={offset}; use 0 or more")
    found = conn.execute(
        f"SELECT * FROM {table}{where} ORDER BY id LIMIT ? OFFSET ?",
        (*params, limit, offset),
    ).fetchall()
    total = conn.execute(f"SELECT COUNT(*) FROM {table}{where}", params).fetchone()[0]
    return [convert(row) for row in found], total


def insert_returning(
    conn: sqlite3.Connection, sql: str, values: Sequence[Any]
) -> sqlite3.Row:
    return conn.execute(sql, values).fetchone()


def require(conn: sqlite3.Connection, table: str, kind: str, record_id: int) -> None:
    found = conn.execute(f"SELECT 1 FROM {table} WHERE id = ?", (record_id,)).fetchone()
    if found is None:
        raise NotFound(kind, record_id)


def insert_user(conn: sqlite3.Connection, values: tuple[Any, ...]) -> User:
    try:
        row = conn.execute(
            "INSERT INTO users (username, email, first_name, last_name, is_staff,"
            " password_hash, date_joined) VALUES (?, ?, ?, ?, ?, ?, ?) RETURNING *",
            values,
        ).fetchone()
    except sqlite3.IntegrityError as error:
        raise DuplicateUsername(values[0]) from error
    return rows.user_from_row(row)


def update_user(
    conn: sqlite3.Connection, user_id: int, columns: dict[str, Any]
) -> User:
    try:
        row = update_row(conn, "users", "user", user_id, columns)
    except sqlite3.IntegrityError as error:
        raise DuplicateUsername(columns["username"]) from error
    return rows.user_from_row(row)


def update_row(
    conn: sqlite3.Connection,
    table: str,
    kind: str,
    record_id: int,
    columns: Mapping[str, Any],
) -> sqlite3.Row:
    if columns:
        assignments = ", ".join(f"{name} = ?" for name in columns)
        row = conn.execute(
            f"UPDATE {table} SET {assignments} WHERE id = ? RETURNING *",
            (*columns.values(), record_id),
        ).fetchone()
    else:
        row = fetch_by_id(conn, table, record_id)
    if row is None:
        raise NotFound(kind, record_id)
    return row


def delete_row(conn: sqlite3.Connection, table: str, kind: str, record_id: int) -> None:
    deleted = conn.execute(f"DELETE FROM {table} WHERE id = ?", (record_id,))
    if deleted.rowcount == 0:
        raise NotFound(kind, record_id)


def insert_token(conn: sqlite3.Connection, user_id: int, key_hash: str) -> None:
    require(conn, "users", "user", user_id)
    try:
        conn.execute(
            "INSERT INTO tokens (key_hash, user_id, created_at) VALUES (?, ?, ?)",
            (key_hash, user_id, rows.encode_time(utcnow())),
        )
    except sqlite3.IntegrityError as error:
        raise ValueError(
            f"a token with this hash exists already for user {user_id} or another; "
            "generate a new token"
        ) from error


def insert_package(conn: sqlite3.Connection, values: tuple[Any, ...]) -> sqlite3.Row:
    require(conn, "courses", "course", values[0])
    return conn.execute(
        "INSERT INTO packages (course_id, task_id, status, file, uploaded_at,"
        " created_at, scorm_standard, version, title, manifest_path, launch_path,"
        " items, manifest, errors, warnings)"
        " VALUES (?, ?, ?, ?, ?, ?, '', '', '', '', '', '[]', '{}', '[]', '[]')"
        " RETURNING *",
        values,
    ).fetchone()


def get_or_create_registration(
    conn: sqlite3.Connection, user_id: int, course_id: int, now: str
) -> tuple[sqlite3.Row, bool]:
    select = "SELECT * FROM registrations WHERE user_id = ? AND course_id = ?"
    row = conn.execute(select, (user_id, course_id)).fetchone()
    if row is not None:
        return row, False
    require(conn, "users", "user", user_id)
    require(conn, "courses", "course", course_id)
    row = conn.execute(
        "INSERT INTO registrations (user_id, course_id, registered_at)"
        " VALUES (?, ?, ?) RETURNING *",
        (user_id, course_id, now),
    ).fetchone()
    return row, True


def insert_attempt(
    conn: sqlite3.Connection, user_id: int, package_id: int, now: str
) -> sqlite3.Row:
    require(conn, "users", "user", user_id)
    require(conn, "packages", "package", package_id)
    return conn.execute(
        "INSERT INTO attempts (user_id, package_id, started_at, last_accessed_at,"
        " completion_status, success_status, score, is_complete,"
        " total_time_seconds, items)"
        " VALUES (?, ?, ?, ?, '', '', NULL, 0, 0.0, '{}') RETURNING *",
        (user_id, package_id, now, now),
    ).fetchone()


def append_log(
    conn: sqlite3.Connection,
    entries: Sequence[LogEntry],
    log_rows: list[tuple[Any, ...]],
    summaries: Mapping[int, Mapping[str, Any]],
    snapshot_rows: Sequence[tuple[Any, ...]] = (),
) -> None:
    attempt_ids = {entry.attempt_id for entry in entries} | set(summaries)
    attempt_ids.update(row[0] for row in snapshot_rows)
    require_attempts(conn, attempt_ids)
    try:
        insert_log_rows(conn, log_rows)
    except sqlite3.IntegrityError as error:
        # Roll back first, so the search below sees only rows of earlier batches.
        conn.execute("ROLLBACK")
        raise find_log_conflict(conn, entries) from error
    update_summaries(conn, summaries)
    for values in snapshot_rows:
        upsert_snapshot(conn, values)


# Rows per multi-row statement. A log row has 8 parameters and a summary row
# at most 10, so a statement stays well below SQLite's limit of 32,766
# parameters (SQLITE_MAX_VARIABLE_NUMBER since SQLite 3.32).
LOG_ROWS_PER_INSERT = 256


def insert_log_rows(conn: sqlite3.Connection, log_rows: list[tuple[Any, ...]]) -> None:
    """Insert log rows with one multi-row INSERT per chunk.

    `executemany` steps the statement once per row and releases and takes
    back the GIL each time. While the event loop thread is busy, each take
    can wait for the interpreter's switch interval (5 ms by default), so a
    flush of a few hundred rows took hundreds of milliseconds under load.
    """
    for chunk in _chunks(log_rows):
        conn.execute(_log_insert_sql(len(chunk)), [v for row in chunk for v in row])


# Chunk sizes of multi-row statements. With few sizes, the connection's
# statement cache keeps a few prepared statements instead of one per size.
CHUNK_SIZES = (LOG_ROWS_PER_INSERT, 64, 16, 4, 1)


def _chunks(items: Sequence[T]) -> list[Sequence[T]]:
    """Split `items` into slices whose lengths are all in CHUNK_SIZES, largest first."""
    chunks = []
    start = 0
    for size in CHUNK_SIZES:
        while len(items) - start >= size:
            chunks.append(items[start : start + size])
            start += size
    return chunks


_LOG_INSERT_SQL: dict[int, str] = {}


def _log_insert_sql(count: int) -> str:
    sql = _LOG_INSERT_SQL.get(count)
    if sql is None:
        values = ", ".join(["(?, ?, ?, ?, ?, ?, ?, ?)"] * count)
        sql = _LOG_INSERT_SQL[count] = f"INSERT INTO log ({rows.LOG_COLUMNS}) VALUES {values}"
    return sql


def update_summaries(
    conn: sqlite3.Connection, summaries: Mapping[int, Mapping[str, Any]]
) -> None:
    """Apply summaries that change the same columns with one executemany each.

    The attempts exist: `append_log` checked them in this transaction.
    """
    by_columns: dict[tuple[str, ...], list[tuple[Any, ...]]] = {}
    for attempt_id, columns in summaries.items():
        if columns:
            by_columns.setdefault(tuple(columns), []).append(
                (*columns.values(), attempt_id)
            )
    # One UPDATE ... FROM (VALUES ...) per column set and chunk, for the same
    # reason as `insert_log_rows`. VALUES names its columns column1, column2...
    for names, params in by_columns.items():
        assignments = ", ".join(
            f"{name} = v.column{index}" for index, name in enumerate(names, start=1)
        )
        row_marks = "(" + ", ".join("?" * (len(names) + 1)) + ")"
        id_column = f"column{len(names) + 1}"
        for chunk in _chunks(params):
            conn.execute(
                f"UPDATE attempts SET {assignments}"
                f" FROM (VALUES {', '.join([row_marks] * len(chunk))}) AS v"
                f" WHERE attempts.id = v.{id_column}",
                [value for row in chunk for value in row],
            )


def require_attempts(conn: sqlite3.Connection, attempt_ids: set[int]) -> None:
    wanted = sorted(attempt_ids)
    for start in range(0, len(wanted), MAX_IN_PARAMETERS):
        chunk = wanted[start : start + MAX_IN_PARAMETERS]
        marks = ", ".join("?" * len(chunk))
        found = {
            row[0]
            for row in conn.execute(
                f"SELECT id FROM attempts WHERE id IN ({marks})", chunk
            )
        }
        for attempt_id in chunk:
            if attempt_id not in found:
                raise NotFound("attempt", attempt_id)


def find_log_conflict(
    conn: sqlite3.Connection, entries: Sequence[LogEntry]
) -> LogConflict:
    """Return the LogConflict of the first entry that repeats a stored or earlier one."""
    seen = set()
    for entry in entries:
        key = (entry.attempt_id, entry.seq)
        stored = conn.execute(
            "SELECT 1 FROM log WHERE attempt_id = ? AND seq = ?", key
        ).fetchone()
        if key in seen or stored is not None:
            return LogConflict(*key)
        seen.add(key)
    # Unreachable unless the table has another constraint; report the first entry.
    return LogConflict(entries[0].attempt_id, entries[0].seq)


def upsert_snapshot(conn: sqlite3.Connection, values: tuple[Any, ...]) -> None:
    # An equal seq replaces the stored snapshot; only a higher one is kept.
    conn.execute(
        "INSERT INTO snapshots (attempt_id, seq, data, written_at) VALUES (?, ?, ?, ?)"
        " ON CONFLICT (attempt_id) DO UPDATE SET seq = excluded.seq,"
        " data = excluded.data, written_at = excluded.written_at"
        " WHERE excluded.seq >= snapshots.seq",
        values,
    )
