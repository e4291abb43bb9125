"""The MongoDB store, on PyMongo's asyncio client (`pymongo.AsyncMongoClient`).

Documents keep integer ids in `_id`, taken from the `counters` collection.
Attempts carry their package's `course_id` as well, so filters by course are
one query. JSON fields (package items and manifest, attempt items) are
embedded documents. BSON dates keep milliseconds, so a time reads back
truncated to the millisecond (`storage.models.utcnow()` is already).

Atomic `append_log`: on a replica set or a sharded cluster the entries and the
summaries are written in one multi-document transaction. A standalone server
has no transactions. There the entries are inserted first with one ordered
`insert_many`, the summaries after them. A duplicate (attempt_id, seq) stops
the insert, and the entries this call had already inserted are deleted again
before LogConflict is raised. A crash of this process or of the server in
between can leave part of a batch, or a batch without its summaries. The log
is the record the run-time replays, so a summary lags until the next flush,
but a partial batch makes the next write of those seqs fail with LogConflict.
Use a replica set (a one-node replica set is enough) in production, or pass
`require_transactions=True` to refuse a standalone server.

Cancelling `append_log` (for example by a timeout) leaves its outcome
unknown, as a lost connection does: a retry gets LogConflict if it committed.

Durability follows the write concern of the URL (`w=majority&journal=true`
makes a write survive a crash of the primary).
"""

from __future__ import annotations

import dataclasses
import functools
import logging
from collections.abc import Awaitable, Callable, Mapping, Sequence
from datetime import timezone
from typing import Any, ParamSpec, TypeVar
from urllib.parse import unquote, urlsplit

from pymongo import ASCENDING, AsyncMongoClient, ReturnDocument
from pymongo.asynchronous.client_session import AsyncClientSession
from pymongo.errors import BulkWriteError, DuplicateKeyError, PyMongoError

from storage.base import LogRow
from storage.errors import DuplicateUsername, NotFound, StoreUnavailable
from storage.models import (
    ATTEMPT_SUMMARY_FIELDS,
    Attempt,
    Course,
    LogEntry,
    Package,
    Registration,
    Snapshot,
    User,
    utcnow,
)
from storage.mongo_documents import (
    COURSE_FIELDS,
    PACKAGE_FIELDS,
    USER_FIELDS,
    check_fields,
    conflict_from_bulk_error,
    equal_query,
    raise_repeated_seq,
    to_record,
)

log = logging.getLogger(__name__)

P = ParamSpec("P")
T = TypeVar("T")

DEFAULT_DATABASE = "scorm"


def translate_errors(method: Callable[P, Awaitable[T]]) -> Callable[P, Awaitable[T]]:
    """Turn PyMongo errors that a method does not handle itself into StoreUnavailable."""

    @functools.wraps(method)
    async def wrapper(*args: P.args, **kwargs: P.kwargs) -> T:
        try:
            return await method(*args, **kwargs)
        except PyMongoError as error:
            raise StoreUnavailable(
                f"MongoDB {method.__name__} failed: {error}; check the server and retry"
            ) from error

    return wrapper


def database_from_url(url: str) -> str:
    """Return the database that a MongoDB URL's path names, or `scorm`."""
    path = urlsplit(url).path.strip("/")
    return unquote(path) if path else DEFAULT_DATABASE


class MongoStore:
    """A `Store` in one MongoDB database.

    `database` overrides the database named in the URL.
    """

    def __init__(
        self,
        url: str,
        *,
        database: str | None = None,
        require_transactions: bool = False,
    ) -> None:
        self.url = url
        self.database_name = database or database_from_url(url)
        self.require_transactions = require_transactions
        self.supports_transactions = False
        self._client: AsyncMongoClient | None = None
        self._db: Any = None

    # Lifecycle

    @translate_errors
    async def open(self) -> None:
        if self._client is not None:
            return
        options: dict[str, Any] = {"tz_aware": True, "tzinfo": timezone.utc}
        # Without this, a missing server stalls every call for PyMongo's
        # default of 30 seconds; the URL can still set its own value.
        if "serverselectiontimeoutms" not in self.url.lower():
            options["serverSelectionTimeoutMS"] = 5000
        self._client = AsyncMongoClient(self.url, **options)
        self._db = self._client[self.database_name]
        try:
            hello = await self._db.command("hello")
            # A replica set member reports setName; a mongos reports isdbgrid.
            self.supports_transactions = "setName" in hello or hello.get("msg") == "isdbgrid"
            if self.require_transactions and not self.supports_transactions:
                raise StoreUnavailable(
                    f"MongoDB server of store {self.database_name} is standalone and has "
                    "no transactions; use a replica set or drop require_transactions"
                )
            await self._create_indexes()
        except BaseException:
            await self.close()
            raise
        log.info(
            "opened MongoDB store %s (transactions: %s)",
            self.database_name,
            self.supports_transactions,
        )

    async def _create_indexes(self) -> None:
        db = self._db
        await db.users.create_index("username", unique=True)
        await db.tokens.create_index("user_id")
        await db.packages.create_index("task_id")
        await db.packages.create_index([("course_id", ASCENDING), ("status", ASCENDING)])
        await db.registrations.create_index(
            [("user_id", ASCENDING), ("course_id", ASCENDING)], unique=True
        )
        await db.registrations.create_index("course_id")
        await db.attempts.create_index([("user_id", ASCENDING), ("package_id", ASCENDING)])
        await db.attempts.create_index([("package_id", ASCENDING), ("user_id", ASCENDING)])
        await db.attempts.create_index([("course_id", ASCENDING), ("user_id", ASCENDING)])
        await db.log.create_index(
            [("attempt_id", ASCENDING), ("seq", ASCENDING)], unique=True
        )

    async def close(self) -> None:
        client, self._client = self._client, None
        if client is not None:
            await client.close()
            log.info("closed MongoDB store %s", self.database_name)

    @translate_errors
    async def ping(self) -> None:
        await self._database().command("ping")

    async def drop_database(self) -> None:
        """Delete the whole database; tests use this to clean up."""
        await self._database().client.drop_database(self.database_name)

    def _database(self) -> Any:
        if self._client is None:
            raise StoreUnavailable(
                f"MongoDB store {self.database_name} is closed; open it first"
            )
        return self._db

    async def _next_id(self, collection: str) -> int:
        counter = await self._database().counters.find_one_and_update(
            {"_id": collection},
            {"$inc": {"value": 1}},
            upsert=True,
            return_document=ReturnDocument.AFTER,
        )
        return counter["value"]

    async def _insert(self, collection: str, document: dict[str, Any]) -> dict[str, Any]:
        document = {"_id": await self._next_id(collection), **document}
        await self._database()[collection].insert_one(document)
        return document

    async def _require(self, collection: str, kind: str, record_id: int) -> dict[str, Any]:
        found = await self._database()[collection].find_one({"_id": record_id})
        if found is None:
            raise NotFound(kind, record_id)
        return found

    async def _update(
        self,
        collection: str,
        kind: str,
        record_id: int,
        fields: Mapping[str, Any],
        allowed: frozenset[str],
        session: AsyncClientSession | None = None,
    ) -> dict[str, Any]:
        changes = check_fields(kind, fields, allowed)
        if not changes:
            return await self._require(collection, kind, record_id)
        updated = await self._database()[collection].find_one_and_update(
            {"_id": record_id},
            {"$set": changes},
            return_document=ReturnDocument.AFTER,
            session=session,
        )
        if updated is None:
            raise NotFound(kind, record_id)
        return updated

    async def _page(
        self,
        collection: str,
        query: dict[str, Any],
        limit: int,
        offset: int,
        record: type[T],
    ) -> tuple[list[T], int]:
        if limit < 0 or offset < 0:
            raise ValueError(f"invalid page limit={limit} offset={offset}; use 0 or more")
        table = self._database()[collection]
        found = []
        if limit > 0:
            cursor = table.find(query).sort("_id", ASCENDING).skip(offset).limit(limit)
            found = await cursor.to_list()
        total = await table.count_documents(query)
        return [to_record(record, doc) for doc in found], total

    # Users and tokens

    @translate_errors
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
        document = {
            "username": username,
            "email": email,
            "first_name": first_name,
            "last_name": last_name,
            "is_staff": bool(is_staff),
            "password_hash": password_hash,
            "date_joined": utcnow(),
        }
        try:
            return to_record(User, await self._insert("users", document))
        except DuplicateKeyError as error:
            raise DuplicateUsername(username) from error

    @translate_errors
    async def get_user(self, user_id: int) -> User | None:
        return to_record(User, await self._database().users.find_one({"_id": user_id}))

    @translate_errors
    async def get_user_by_username(self, username: str) -> User | None:
        found = await self._database().users.find_one({"username": username})
        return to_record(User, found)

    @translate_errors
    async def list_users(self, *, limit: int, offset: int) -> tuple[list[User], int]:
        return await self._page("users", {}, limit, offset, User)

    @translate_errors
    async def update_user(self, user_id: int, fields: Mapping[str, Any]) -> User:
        try:
            updated = await self._update("users", "user", user_id, fields, USER_FIELDS)
        except DuplicateKeyError as error:
            raise DuplicateUsername(fields["username"]) from error
        return to_record(User, updated)

    @translate_errors
    async def delete_user(self, user_id: int) -> None:
        db = self._database()
        await self._require("users", "user", user_id)
        # NOTE: three writes, not one transaction. Deleting the dependents
        # first means a crash in between leaves a user without tokens or
        # registrations rather than registrations of a deleted user. A
        # registration created concurrently can still outlive the user.
        await db.tokens.delete_many({"user_id": user_id})
        await db.registrations.delete_many({"user_id": user_id})
        deleted = await db.users.delete_one({"_id": user_id})
        if deleted.deleted_count == 0:
            raise NotFound("user", user_id)

    @translate_errors
    async def create_token(self, user_id: int, key_hash: str) -> None:
        await self._require("users", "user", user_id)
        try:
            await self._database().tokens.insert_one(
                {"_id": key_hash, "user_id": user_id, "created_at": utcnow()}
            )
        except DuplicateKeyError as error:
            raise ValueError(
                f"a token with this hash exists already for user {user_id} or another; "
                "generate a new token"
            ) from error

    @translate_errors
    async def get_user_by_token(self, key_hash: str) -> User | None:
        token = await self._database().tokens.find_one({"_id": key_hash})
        if token is None:
            return None
        return await self.get_user(token["user_id"])

    # Courses

    @translate_errors
    async def create_course(
        self, *, title: str, description: str = "", is_active: bool = True
    ) -> Course:
        document = {
            "title": title,
            "description": description,
            "is_active": bool(is_active),
            "created_at": utcnow(),
        }
        return to_record(Course, await self._insert("courses", document))

    @translate_errors
    async def get_course(self, course_id: int) -> Course | None:
        return to_record(Course, await self._database().courses.find_one({"_id": course_id}))

    @translate_errors
    async def list_courses(self, *, limit: int, offset: int) -> tuple[list[Course], int]:
        return await self._page("courses", {}, limit, offset, Course)

    @translate_errors
    async def update_course(self, course_id: int, fields: Mapping[str, Any]) -> Course:
        updated = await self._update("courses", "course", course_id, fields, COURSE_FIELDS)
        return to_record(Course, updated)

    @translate_errors
    async def delete_course(self, course_id: int) -> None:
        db = self._database()
        await self._require("courses", "course", course_id)
        # Registrations first, for the reason given in delete_user.
        await db.registrations.delete_many({"course_id": course_id})
        deleted = await db.courses.delete_one({"_id": course_id})
        if deleted.deleted_count == 0:
            raise NotFound("course", course_id)

    # Packages

    @translate_errors
    async def create_package(
        self, *, course_id: int, task_id: str, file: str, status: str
    ) -> Package:
        await self._require("courses", "course", course_id)
        now = utcnow()
        document = {
            "course_id": course_id,
            "task_id": task_id,
            "status": status,
            "scorm_standard": "",
            "version": "",
            "title": "",
            "file": file,
            "manifest_path": "",
            "launch_path": "",
            "uploaded_at": now,
            "created_at": now,
            "items": [],
            "manifest": {},
            "errors": [],
            "warnings": [],
            "deleted_at": None,
        }
        return to_record(Package, await self._insert("packages", document))

    @translate_errors
    async def get_package(self, package_id: int) -> Package | None:
        found = await self._database().packages.find_one({"_id": package_id})
        return to_record(Package, found)

    @translate_errors
    async def get_package_by_task(self, task_id: str) -> Package | None:
        found = await self._database().packages.find_one(
            {"task_id": task_id}, sort=[("_id", ASCENDING)]
        )
        return to_record(Package, found)

    @translate_errors
    async def list_packages(
        self,
        *,
        limit: int,
        offset: int,
        course_id: int | None = None,
        status: str | None = None,
    ) -> tuple[list[Package], int]:
        query = equal_query(course_id=course_id, status=status)
        # Matches documents whose deleted_at is null.
        query["deleted_at"] = None
        return await self._page("packages", query, limit, offset, Package)

    @translate_errors
    async def update_package(self, package_id: int, fields: Mapping[str, Any]) -> Package:
        updated = await self._update(
            "packages", "package", package_id, fields, PACKAGE_FIELDS
        )
        if "course_id" in fields:
            # Attempts copy their package's course for course filters.
            await self._database().attempts.update_many(
                {"package_id": package_id}, {"$set": {"course_id": fields["course_id"]}}
            )
        return to_record(Package, updated)

    # Registrations

    @translate_errors
    async def get_or_create_registration(
        self, user_id: int, course_id: int
    ) -> tuple[Registration, bool]:
        db = self._database()
        pair = {"user_id": user_id, "course_id": course_id}
        found = await db.registrations.find_one(pair)
        if found is not None:
            return to_record(Registration, found), False

        await self._require("users", "user", user_id)
        await self._require("courses", "course", course_id)
        try:
            created = await self._insert("registrations", {**pair, "registered_at": utcnow()})
        except DuplicateKeyError:
            # A concurrent call inserted the pair first; the unique index kept one.
            found = await db.registrations.find_one(pair)
            return to_record(Registration, found), False
        return to_record(Registration, created), True

    @translate_errors
    async def list_registrations(
        self,
        *,
        limit: int,
        offset: int,
        user_id: int | None = None,
        course_id: int | None = None,
    ) -> tuple[list[Registration], int]:
        query = equal_query(user_id=user_id, course_id=course_id)
        return await self._page("registrations", query, limit, offset, Registration)

    # Attempts

    @translate_errors
    async def create_attempt(self, user_id: int, package_id: int) -> Attempt:
        await self._require("users", "user", user_id)
        package = await self._require("packages", "package", package_id)
        now = utcnow()
        document = {
            "user_id": user_id,
            "package_id": package_id,
            "course_id": package["course_id"],
            "started_at": now,
            "last_accessed_at": now,
            "completion_status": "",
            "success_status": "",
            "score": None,
            "is_complete": False,
            "total_time_seconds": 0.0,
            "items": {},
        }
        return to_record(Attempt, await self._insert("attempts", document))

    @translate_errors
    async def get_attempt(self, attempt_id: int) -> Attempt | None:
        found = await self._database().attempts.find_one({"_id": attempt_id})
        return to_record(Attempt, found)

    @translate_errors
    async def list_attempts(
        self,
        *,
        limit: int,
        offset: int,
        user_id: int | None = None,
        package_id: int | None = None,
        course_id: int | None = None,
    ) -> tuple[list[Attempt], int]:
        query = equal_query(user_id=user_id, package_id=package_id, course_id=course_id)
        return await self._page("attempts", query, limit, offset, Attempt)

    @translate_errors
    async def update_attempt(self, attempt_id: int, fields: Mapping[str, Any]) -> Attempt:
        updated = await self._update(
            "attempts", "attempt", attempt_id, fields, ATTEMPT_SUMMARY_FIELDS
        )
        return to_record(Attempt, updated)

    @translate_errors
    async def latest_attempts(self, course_id: int) -> dict[int, Attempt]:
        # Ids grow with creation time, so each user's highest id is the newest.
        pipeline = [
            {"$match": {"course_id": course_id}},
            {"$sort": {"_id": -1}},
            {"$group": {"_id": "$user_id", "attempt": {"$first": "$$ROOT"}}},
        ]
        cursor = await self._database().attempts.aggregate(pipeline)
        groups = await cursor.to_list()
        return {group["_id"]: to_record(Attempt, group["attempt"]) for group in groups}

    # Run-time log, snapshots and summaries

    @translate_errors
    async def append_log(
        self,
        entries: Sequence[LogEntry],
        summaries: Mapping[int, Mapping[str, Any]] = {},
        snapshots: Sequence[Snapshot] = (),
    ) -> None:
        if not entries and not summaries and not snapshots:
            return
        for fields in summaries.values():
            check_fields("attempt", fields, ATTEMPT_SUMMARY_FIELDS)
        for snapshot in snapshots:
            if snapshot.written_at.tzinfo is None:
                raise ValueError("naive written_at given; pass an aware UTC datetime")
        raise_repeated_seq(entries)
        await self._require_attempts(
            {entry.attempt_id for entry in entries}
            | set(summaries)
            | {snapshot.attempt_id for snapshot in snapshots}
        )

        documents = [dataclasses.asdict(entry) for entry in entries]
        if self.supports_transactions:
            await self._append_in_transaction(entries, documents, summaries, snapshots)
        else:
            await self._append_without_transaction(entries, documents, summaries)
            for snapshot in snapshots:
                await self.put_snapshot(snapshot)

    async def _require_attempts(self, attempt_ids: set[int]) -> None:
        found = await self._database().attempts.distinct(
            "_id", {"_id": {"$in": sorted(attempt_ids)}}
        )
        missing = sorted(attempt_ids - set(found))
        if missing:
            raise NotFound("attempt", missing[0])

    async def _append_in_transaction(
        self,
        entries: Sequence[LogEntry],
        documents: list[dict[str, Any]],
        summaries: Mapping[int, Mapping[str, Any]],
        snapshots: Sequence[Snapshot],
    ) -> None:
        async def write(session: AsyncClientSession) -> None:
            if documents:
                await self._db.log.insert_many(documents, ordered=True, session=session)
            for attempt_id, fields in summaries.items():
                await self._update(
                    "attempts", "attempt", attempt_id, fields, ATTEMPT_SUMMARY_FIELDS, session
                )
            if snapshots:
                await self._replace_older_snapshots(snapshots, session)

        try:
            async with self._database().client.start_session() as session:
                await session.with_transaction(write)
        except BulkWriteError as error:
            raise conflict_from_bulk_error(error, entries) from error

    async def _append_without_transaction(
        self,
        entries: Sequence[LogEntry],
        documents: list[dict[str, Any]],
        summaries: Mapping[int, Mapping[str, Any]],
    ) -> None:
        db = self._database()
        if documents:
            try:
                await db.log.insert_many(documents, ordered=True)
            except BulkWriteError as error:
                conflict = conflict_from_bulk_error(error, entries)
                inserted = error.details.get("nInserted", 0)
                await self._delete_entries(entries[:inserted])
                raise conflict from error
        for attempt_id, fields in summaries.items():
            await self._update("attempts", "attempt", attempt_id, fields, ATTEMPT_SUMMARY_FIELDS)

    async def _replace_older_snapshots(
        self, snapshots: Sequence[Snapshot], session: AsyncClientSession
    ) -> None:
        # A duplicate key error aborts the whole transaction, so the stored
        # seqs are read first. A concurrent writer makes the transaction
        # conflict, and `with_transaction` then runs it again.
        ids = [snapshot.attempt_id for snapshot in snapshots]
        stored = {
            document["_id"]: document["seq"]
            async for document in self._db.snapshots.find(
                {"_id": {"$in": ids}}, {"seq": True}, session=session
            )
        }
        for snapshot in snapshots:
            if stored.get(snapshot.attempt_id, -1) > snapshot.seq:
                continue
            await self._db.snapshots.replace_one(
                {"_id": snapshot.attempt_id},
                {
                    "seq": snapshot.seq,
                    "data": bytes(snapshot.data),
                    "written_at": snapshot.written_at,
                },
                upsert=True,
                session=session,
            )

    async def _delete_entries(self, entries: Sequence[LogEntry]) -> None:
        if not entries:
            return
        keys = [{"attempt_id": e.attempt_id, "seq": e.seq} for e in entries]
        await self._database().log.delete_many({"$or": keys})
        log.warning(
            "deleted %d log entries of a batch that hit LogConflict on a server "
            "without transactions",
            len(entries),
        )

    @translate_errors
    async def read_log(self, attempt_id: int, after_seq: int = 0) -> list[LogEntry]:
        cursor = self._database().log.find(
            {"attempt_id": attempt_id, "seq": {"$gt": after_seq}}, {"_id": False}
        ).sort("seq", ASCENDING)
        return [LogEntry(**doc) for doc in await cursor.to_list()]

    @translate_errors
    async def read_log_rows(self, attempt_id: int, after_seq: int = 0) -> list[LogRow]:
        fields = ("seq", "epoch", "item", "session", "kind", "payload")
        cursor = self._database().log.find(
            {"attempt_id": attempt_id, "seq": {"$gt": after_seq}},
            {"_id": False, **dict.fromkeys(fields, True)},
        ).sort("seq", ASCENDING)
        return [
            (doc["seq"], doc["epoch"], doc["item"], doc["session"], doc["kind"], doc["payload"])
            for doc in await cursor.to_list()
        ]

    @translate_errors
    async def put_snapshot(self, snapshot: Snapshot) -> None:
        if snapshot.written_at.tzinfo is None:
            raise ValueError("naive written_at given; pass an aware UTC datetime")
        # The filter matches only a stored snapshot with a seq no higher than
        # this one. If a higher one is stored, the upsert's insert collides
        # with its _id, and that DuplicateKeyError means "keep the stored one".
        try:
            await self._database().snapshots.update_one(
                {"_id": snapshot.attempt_id, "seq": {"$lte": snapshot.seq}},
                {
                    "$set": {
                        "seq": snapshot.seq,
                        "data": bytes(snapshot.data),
                        "written_at": snapshot.written_at,
                    }
                },
                upsert=True,
            )
        except DuplicateKeyError:
            pass

    @translate_errors
    async def get_snapshot(self, attempt_id: int) -> Snapshot | None:
        found = await self._database().snapshots.find_one({"_id": attempt_id})
        if found is None:
            return None
        return Snapshot(
            attempt_id=found["_id"],
            seq=found["seq"],
            data=found["data"],
            written_at=found["written_at"],
        )
