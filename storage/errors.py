"""Exceptions that stores raise.

StoreError
├── NotFound            an update or delete named an id that does not exist
├── DuplicateUsername   a user with that username exists already
├── LogConflict         a log entry's (attempt, seq) exists already
└── StoreUnavailable    the database did not answer or failed
"""

from __future__ import annotations


class StoreError(Exception):
    """Base class of every error a store raises."""


class NotFound(StoreError):
    def __init__(self, kind: str, record_id: int | str) -> None:
        super().__init__(f"{kind} {record_id} not found")
        self.kind = kind
        self.record_id = record_id


class DuplicateUsername(StoreError):
    def __init__(self, username: str) -> None:
        super().__init__(f"username {username!r} is taken")
        self.username = username


class LogConflict(StoreError):
    def __init__(self, attempt_id: int, seq: int) -> None:
        super().__init__(f"log entry {seq} of attempt {attempt_id} exists already")
        self.attempt_id = attempt_id
        self.seq = seq


class StoreUnavailable(StoreError):
    """The database did not answer, timed out or failed a write."""
