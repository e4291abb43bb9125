"""The SQLite schema as a list of versioned migrations.

`MIGRATIONS[n - 1]` brings a database from version n - 1 to version n. The
`schema_version` table has one row per applied migration. Append new
migrations to the list; never edit one that has shipped, because databases in
the field have applied it already.

Times are ISO 8601 text in UTC, JSON columns are text, ids are
`INTEGER PRIMARY KEY AUTOINCREMENT` so that a deleted user's id is never given
to a new user (attempts keep the user id of a deleted user).
"""

from __future__ import annotations

import logging
import sqlite3
from datetime import datetime, timezone

from storage.errors import StoreUnavailable

log = logging.getLogger(__name__)

MIGRATION_1 = (
    """
    CREATE TABLE users (
        id INTEGER PRIMARY KEY AUTOINCREMENT,
        username TEXT NOT NULL UNIQUE,
        email TEXT NOT NULL,
        first_name TEXT NOT NULL,
        last_name TEXT NOT NULL,
        is_staff INTEGER NOT NULL,
        password_hash TEXT NOT NULL,
        date_joined TEXT NOT NULL
    )
    """,
    """
    CREATE TABLE tokens (
        key_hash TEXT PRIMARY KEY,
        user_id INTEGER NOT NULL REFERENCES users (id) ON DELETE CASCADE,
        created_at TEXT NOT NULL
    )
    """,
    "CREATE INDEX tokens_user ON tokens (user_id)",
    """
    CREATE TABLE courses (
        id INTEGER PRIMARY KEY AUTOINCREMENT,
        title TEXT NOT NULL,
        description TEXT NOT NULL,
        is_active INTEGER NOT NULL,
        created_at TEXT NOT NULL
    )
    """,
    # No foreign key on course_id: deleting a course keeps its packages, and
    # their attempts stay readable.
    """
    CREATE TABLE packages (
        id INTEGER PRIMARY KEY AUTOINCREMENT,
        course_id INTEGER NOT NULL,
        task_id TEXT NOT NULL,
        status TEXT NOT NULL,
        scorm_standard TEXT NOT NULL,
        version TEXT NOT NULL,
        title TEXT NOT NULL,
        file TEXT NOT NULL,
        manifest_path TEXT NOT NULL,
        launch_path TEXT NOT NULL,
        uploaded_at TEXT NOT NULL,
        created_at TEXT NOT NULL,
        items TEXT NOT NULL,
        manifest TEXT NOT NULL,
        errors TEXT NOT NULL,
        warnings TEXT NOT NULL,
        deleted_at TEXT
    )
    """,
    "CREATE INDEX packages_task ON packages (task_id)",
    "CREATE INDEX packages_course ON packages (course_id, status)",
    """
    CREATE TABLE registrations (
        id INTEGER PRIMARY KEY AUTOINCREMENT,
        user_id INTEGER NOT NULL REFERENCES users (id) ON DELETE CASCADE,
        course_id INTEGER NOT NULL REFERENCES courses (id) ON DELETE CASCADE,
        registered_at TEXT NOT NULL,
        UNIQUE (user_id, course_id)
    )
    """,
    "CREATE INDEX registrations_course ON registrations (course_id)",
    # No foreign key on user_id: deleting a user keeps its attempts.
    """
    CREATE TABLE attempts (
        id INTEGER PRIMARY KEY AUTOINCREMENT,
        user_id INTEGER NOT NULL,
        package_id INTEGER NOT NULL REFERENCES packages (id),
        started_at TEXT NOT NULL,
        last_accessed_at TEXT NOT NULL,
        completion_status TEXT NOT NULL,
        success_status TEXT NOT NULL,
        score REAL,
        is_complete INTEGER NOT NULL,
        total_time_seconds REAL NOT NULL,
        items TEXT NOT NULL
    )
    """,
    "CREATE INDEX attempts_user ON attempts (user_id, package_id)",
    "CREATE INDEX attempts_package ON attempts (package_id, user_id)",
    # The primary key is the (attempt_id, seq) uniqueness that turns a stale
    # or duplicate write into LogConflict; WITHOUT ROWID stores the entries
    # in that order, so read_log is one range scan.
    """
    CREATE TABLE log (
        attempt_id INTEGER NOT NULL,
        seq INTEGER NOT NULL,
        epoch INTEGER NOT NULL,
        item TEXT NOT NULL,
        session TEXT NOT NULL,
        time REAL NOT NULL,
        kind TEXT NOT NULL,
        payload BLOB NOT NULL,
        PRIMARY KEY (attempt_id, seq)
    ) WITHOUT ROWID
    """,
    """
    CREATE TABLE snapshots (
        attempt_id INTEGER PRIMARY KEY,
        seq INTEGER NOT NULL,
        data BLOB NOT NULL,
        written_at TEXT NOT NULL
    )
    """,
)

MIGRATIONS: list[tuple[str, ...]] = [MIGRATION_1]


def migrate(conn: sqlite3.Connection, migrations: list[tuple[str, ...]]) -> int:
    """Apply the migrations that the database lacks and return its version.

    Each migration runs in its own IMMEDIATE transaction, which also keeps two
    processes that open the same file at once from applying one twice.
    """
    conn.execute(
        "CREATE TABLE IF NOT EXISTS schema_version ("
        " version INTEGER PRIMARY KEY, applied_at TEXT NOT NULL)"
    )
    target = len(migrations)
    while True:
        conn.execute("BEGIN IMMEDIATE")
        try:
            current = current_version(conn)
            if current >= target:
                conn.execute("COMMIT")
                break
            for statement in migrations[current]:
                conn.execute(statement)
            conn.execute(
                "INSERT INTO schema_version (version, applied_at) VALUES (?, ?)",
                (current + 1, datetime.now(timezone.utc).isoformat()),
            )
            conn.execute("COMMIT")
        except BaseException:
            conn.execute("ROLLBACK")
            raise
        log.info("applied SQLite schema migration %d", current + 1)

    if current > target:
        raise StoreUnavailable(
            f"database schema version {current} is newer than this server's "
            f"version {target}; upgrade the server"
        )
    return current


def current_version(conn: sqlite3.Connection) -> int:
    row = conn.execute("SELECT MAX(version) FROM schema_version").fetchone()
    return row[0] or 0
