"""The Store interface that every backend implements.

Everything above `storage/` talks to the database only through a `Store`. All
methods are coroutines. Lists take `limit` and `offset` and return the page
together with the total count of matching records. A method that looks up one
record by id returns None when it does not exist; methods that change a record
raise `NotFound` for an unknown id.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, Protocol

from storage.models import (
    Attempt,
    Course,
    LogEntry,
    Package,
    Registration,
    Snapshot,
    User,
)

# A log entry as `Store.read_log_rows` returns it:
# (seq, epoch, item, session, kind, payload), the LogEntry fields that replay reads.
LogRow = tuple[int, int, str, str, str, bytes]


class Store(Protocol):
    """An async store of users, courses, packages, attempts and run-time logs."""

    # Lifecycle

    async def open(self) -> None:
        """Connect, apply schema migrations or create indexes."""

    async def close(self) -> None:
        """Flush and release connections; the store is unusable afterwards."""

    async def ping(self) -> None:
        """Raise `StoreUnavailable` unless the database answers."""

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
        """Insert a user; raise `DuplicateUsername` if the username is taken."""

    async def get_user(self, user_id: int) -> User | None: ...

    async def get_user_by_username(self, username: str) -> User | None: ...

    async def list_users(self, *, limit: int, offset: int) -> tuple[list[User], int]: ...

    async def update_user(self, user_id: int, fields: Mapping[str, Any]) -> User:
        """Change some fields of a user (never `id` or `date_joined`).

        Raise `NotFound` or `DuplicateUsername`.
        """

    async def delete_user(self, user_id: int) -> None:
        """Delete a user, its tokens and its registrations; keep its attempts.

        Raise `NotFound` for an unknown id.
        """

    async def create_token(self, user_id: int, key_hash: str) -> None:
        """Store the hash of an API token of a user."""

    async def get_user_by_token(self, key_hash: str) -> User | None:
        """Return the user whose token hashes to `key_hash`."""

    # Courses

    async def create_course(
        self, *, title: str, description: str = "", is_active: bool = True
    ) -> Course: ...

    async def get_course(self, course_id: int) -> Course | None: ...

    async def list_courses(
        self, *, limit: int, offset: int
    ) -> tuple[list[Course], int]: ...

    async def update_course(self, course_id: int, fields: Mapping[str, Any]) -> Course: ...

    async def delete_course(self, course_id: int) -> None:
        """Delete a course and its registrations; raise `NotFound`."""

    # Packages

    async def create_package(
        self, *, course_id: int, task_id: str, file: str, status: str
    ) -> Package:
        """Insert a package record; the other fields start empty."""

    async def get_package(self, package_id: int) -> Package | None:
        """Return a package, including a deleted one (check `deleted_at`)."""

    async def get_package_by_task(self, task_id: str) -> Package | None: ...

    async def list_packages(
        self,
        *,
        limit: int,
        offset: int,
        course_id: int | None = None,
        status: str | None = None,
    ) -> tuple[list[Package], int]:
        """List packages that are not deleted, oldest first."""

    async def update_package(self, package_id: int, fields: Mapping[str, Any]) -> Package: ...

    # Registrations

    async def get_or_create_registration(
        self, user_id: int, course_id: int
    ) -> tuple[Registration, bool]:
        """Return the registration and whether this call created it.

        Concurrent calls for the same pair create one registration.
        """

    async def list_registrations(
        self,
        *,
        limit: int,
        offset: int,
        user_id: int | None = None,
        course_id: int | None = None,
    ) -> tuple[list[Registration], int]: ...

    # Attempts

    async def create_attempt(self, user_id: int, package_id: int) -> Attempt: ...

    async def get_attempt(self, attempt_id: int) -> Attempt | None: ...

    async def list_attempts(
        self,
        *,
        limit: int,
        offset: int,
        user_id: int | None = None,
        package_id: int | None = None,
        course_id: int | None = None,
    ) -> tuple[list[Attempt], int]:
        """List attempts, oldest first; `course_id` matches the package's course."""

    async def update_attempt(self, attempt_id: int, fields: Mapping[str, Any]) -> Attempt:
        """Change summary fields (`ATTEMPT_SUMMARY_FIELDS`) of an attempt."""

    async def latest_attempts(self, course_id: int) -> dict[int, Attempt]:
        """Return each user's newest attempt on the course's packages, by user id."""

    # Run-time log, snapshots and summaries

    async def append_log(
        self,
        entries: Sequence[LogEntry],
        summaries: Mapping[int, Mapping[str, Any]] = {},
        snapshots: Sequence[Snapshot] = (),
    ) -> None:
        """Write log entries, attempt summaries and snapshots atomically: all or none.

        `summaries` maps attempt ids to summary fields, applied as
        `update_attempt` would. `snapshots` are stored as `put_snapshot`
        would, so a flush that ends an actor's life costs no extra round
        trip. Raise `LogConflict` when an (attempt_id, seq) pair already
        exists; nothing is written then.
        """

    async def read_log(self, attempt_id: int, after_seq: int = 0) -> list[LogEntry]:
        """Return the entries of an attempt with `seq > after_seq`, in order."""

    async def read_log_rows(self, attempt_id: int, after_seq: int = 0) -> list[LogRow]:
        """Return the entries of `read_log` as LogRow tuples, for activation.

        Activation reads thousands of entries at once. Building a frozen
        LogEntry for each of 10,000 entries took longer than reading them
        from SQLite did.
        """

    async def put_snapshot(self, snapshot: Snapshot) -> None:
        """Replace the attempt's snapshot, unless the stored one has a higher seq."""

    async def get_snapshot(self, attempt_id: int) -> Snapshot | None: ...
