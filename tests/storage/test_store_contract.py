"""The Store contract, run against every backend (see conftest.py)."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone

import pytest

from storage.base import Store
from storage.errors import DuplicateUsername, LogConflict, NotFound
from storage.models import (
    PACKAGE_PROCESSING,
    PACKAGE_READY,
    Attempt,
    Course,
    LogEntry,
    Package,
    Snapshot,
    User,
    utcnow,
)


@dataclass
class Seed:
    user: User
    course: Course
    package: Package
    attempt: Attempt


async def add_user(store: Store, username: str = "ada") -> User:
    return await store.create_user(
        username=username, email=f"{username}@example.org", password_hash="hash"
    )


async def add_package(store: Store, course_id: int, task_id: str = "task-1") -> Package:
    return await store.create_package(
        course_id=course_id, task_id=task_id, file="upload.zip", status=PACKAGE_PROCESSING
    )


async def seed(store: Store) -> Seed:
    user = await add_user(store)
    course = await store.create_course(title="Safety")
    package = await add_package(store, course.id)
    attempt = await store.create_attempt(user.id, package.id)
    return Seed(user, course, package, attempt)


def entry(attempt_id: int, seq: int, payload: bytes = b"\x92\xa3set\x01") -> LogEntry:
    return LogEntry(
        attempt_id=attempt_id,
        seq=seq,
        epoch=1,
        item="sco-1",
        session="session-1",
        time=1_700_000_000.0 + seq,
        kind="SetValue",
        payload=payload,
    )


def aware_utc(value: datetime) -> bool:
    return value.tzinfo is not None and value.utcoffset() == timedelta(0)


# Lifecycle


def test_ping_on_open_store(run_store):
    async def scenario(store: Store) -> None:
        await store.ping()

    run_store(scenario)


# Users and tokens


def test_create_user_round_trip(run_store):
    async def scenario(store: Store) -> None:
        created = await store.create_user(
            username="ada",
            email="ada@example.org",
            password_hash="pbkdf2$1",
            first_name="Ada",
            last_name="Lovelace",
            is_staff=True,
        )

        fetched = await store.get_user(created.id)
        by_name = await store.get_user_by_username("ada")

        assert fetched == created
        assert by_name == created
        assert created.first_name == "Ada"
        assert created.last_name == "Lovelace"
        assert created.is_staff is True
        assert created.password_hash == "pbkdf2$1"
        assert aware_utc(created.date_joined)
        assert isinstance(created.id, int)

    run_store(scenario)


def test_create_user_defaults(run_store):
    async def scenario(store: Store) -> None:
        user = await add_user(store)

        assert user.first_name == ""
        assert user.last_name == ""
        assert user.is_staff is False

    run_store(scenario)


def test_get_unknown_user_returns_none(run_store):
    async def scenario(store: Store) -> None:
        assert await store.get_user(999) is None
        assert await store.get_user_by_username("nobody") is None

    run_store(scenario)


def test_duplicate_username_rejected(run_store):
    async def scenario(store: Store) -> None:
        await add_user(store, "ada")

        with pytest.raises(DuplicateUsername) as caught:
            await add_user(store, "ada")

        assert caught.value.username == "ada"
        _, total = await store.list_users(limit=10, offset=0)
        assert total == 1

    run_store(scenario)


def test_list_users_pages_and_total(run_store):
    async def scenario(store: Store) -> None:
        created = [await add_user(store, f"user{i}") for i in range(5)]

        first, total = await store.list_users(limit=2, offset=0)
        last, total_again = await store.list_users(limit=2, offset=4)
        beyond, _ = await store.list_users(limit=2, offset=10)

        assert [u.id for u in first] == [created[0].id, created[1].id]
        assert [u.id for u in last] == [created[4].id]
        assert total == 5
        assert total_again == 5
        assert beyond == []

    run_store(scenario)


def test_update_user_changes_fields(run_store):
    async def scenario(store: Store) -> None:
        user = await add_user(store, "ada")

        updated = await store.update_user(
            user.id, {"email": "new@example.org", "is_staff": True, "username": "ada2"}
        )

        assert updated.email == "new@example.org"
        assert updated.is_staff is True
        assert updated.username == "ada2"
        assert updated.date_joined == user.date_joined
        assert await store.get_user(user.id) == updated
        assert await store.get_user_by_username("ada") is None

    run_store(scenario)


def test_update_user_errors(run_store):
    async def scenario(store: Store) -> None:
        await add_user(store, "ada")
        bob = await add_user(store, "bob")

        with pytest.raises(NotFound):
            await store.update_user(999, {"email": "x@example.org"})
        with pytest.raises(DuplicateUsername):
            await store.update_user(bob.id, {"username": "ada"})
        with pytest.raises(ValueError):
            await store.update_user(bob.id, {"date_joined": utcnow()})

        assert (await store.get_user(bob.id)).username == "bob"

    run_store(scenario)


def test_delete_user_keeps_attempts(run_store):
    async def scenario(store: Store) -> None:
        data = await seed(store)
        await store.create_token(data.user.id, "token-hash")
        await store.get_or_create_registration(data.user.id, data.course.id)

        await store.delete_user(data.user.id)

        assert await store.get_user(data.user.id) is None
        assert await store.get_user_by_token("token-hash") is None
        _, registrations = await store.list_registrations(limit=10, offset=0)
        assert registrations == 0
        assert await store.get_attempt(data.attempt.id) == data.attempt
        with pytest.raises(NotFound):
            await store.delete_user(data.user.id)

    run_store(scenario)


def test_deleted_user_id_not_reused(run_store):
    async def scenario(store: Store) -> None:
        first = await add_user(store, "ada")
        await store.delete_user(first.id)

        second = await add_user(store, "bob")

        assert second.id != first.id

    run_store(scenario)


def test_token_finds_user(run_store):
    async def scenario(store: Store) -> None:
        ada = await add_user(store, "ada")
        bob = await add_user(store, "bob")
        await store.create_token(ada.id, "hash-a1")
        await store.create_token(ada.id, "hash-a2")
        await store.create_token(bob.id, "hash-b")

        assert await store.get_user_by_token("hash-a1") == ada
        assert await store.get_user_by_token("hash-a2") == ada
        assert await store.get_user_by_token("hash-b") == bob
        assert await store.get_user_by_token("unknown") is None

    run_store(scenario)


def test_token_for_unknown_user_rejected(run_store):
    async def scenario(store: Store) -> None:
        with pytest.raises(NotFound):
            await store.create_token(999, "hash")

    run_store(scenario)


# Courses


def test_course_crud(run_store):
    async def scenario(store: Store) -> None:
        course = await store.create_course(title="Safety", description="Basics")

        assert course.is_active is True
        assert aware_utc(course.created_at)
        assert await store.get_course(course.id) == course

        updated = await store.update_course(course.id, {"is_active": False, "title": "T"})
        assert updated.is_active is False
        assert updated.title == "T"
        assert updated.description == "Basics"
        assert await store.get_course(course.id) == updated

        await store.delete_course(course.id)
        assert await store.get_course(course.id) is None

    run_store(scenario)


def test_course_errors(run_store):
    async def scenario(store: Store) -> None:
        assert await store.get_course(999) is None
        with pytest.raises(NotFound):
            await store.update_course(999, {"title": "x"})
        with pytest.raises(NotFound):
            await store.delete_course(999)
        course = await store.create_course(title="Safety")
        with pytest.raises(ValueError):
            await store.update_course(course.id, {"id": 5})

    run_store(scenario)


def test_list_courses_pages_and_total(run_store):
    async def scenario(store: Store) -> None:
        created = [await store.create_course(title=f"c{i}") for i in range(3)]

        page, total = await store.list_courses(limit=2, offset=1)

        assert [c.id for c in page] == [created[1].id, created[2].id]
        assert total == 3

    run_store(scenario)


def test_delete_course_removes_registrations(run_store):
    async def scenario(store: Store) -> None:
        user = await add_user(store)
        kept = await store.create_course(title="kept")
        gone = await store.create_course(title="gone")
        await store.get_or_create_registration(user.id, kept.id)
        await store.get_or_create_registration(user.id, gone.id)

        await store.delete_course(gone.id)

        page, total = await store.list_registrations(limit=10, offset=0)
        assert total == 1
        assert page[0].course_id == kept.id

    run_store(scenario)


# Packages


def test_package_create_and_update(run_store):
    async def scenario(store: Store) -> None:
        course = await store.create_course(title="Safety")
        package = await add_package(store, course.id, "task-42")

        assert package.status == PACKAGE_PROCESSING
        assert package.items == []
        assert package.manifest == {}
        assert package.errors == []
        assert package.warnings == []
        assert package.deleted_at is None
        assert aware_utc(package.uploaded_at)

        items = [{"identifier": "i1", "title": "Intro", "launch": "index.html"}]
        manifest = {"organizations": [{"identifier": "o1", "items": items}]}
        updated = await store.update_package(
            package.id,
            {
                "status": PACKAGE_READY,
                "scorm_standard": "scorm_2004",
                "title": "Golf",
                "items": items,
                "manifest": manifest,
                "warnings": ["odd"],
            },
        )

        assert updated.status == PACKAGE_READY
        assert updated.items == items
        assert updated.manifest == manifest
        assert updated.warnings == ["odd"]
        assert await store.get_package(package.id) == updated
        assert await store.get_package_by_task("task-42") == updated
        assert await store.get_package_by_task("task-0") is None

    run_store(scenario)


def test_package_errors(run_store):
    async def scenario(store: Store) -> None:
        assert await store.get_package(999) is None
        with pytest.raises(NotFound):
            await store.update_package(999, {"status": PACKAGE_READY})
        with pytest.raises(NotFound):
            await add_package(store, 999)

    run_store(scenario)


def test_list_packages_filters(run_store):
    async def scenario(store: Store) -> None:
        first = await store.create_course(title="first")
        second = await store.create_course(title="second")
        a = await add_package(store, first.id, "a")
        b = await add_package(store, first.id, "b")
        c = await add_package(store, second.id, "c")
        await store.update_package(b.id, {"status": PACKAGE_READY})

        all_page, all_total = await store.list_packages(limit=10, offset=0)
        by_course, course_total = await store.list_packages(
            limit=10, offset=0, course_id=first.id
        )
        ready, ready_total = await store.list_packages(
            limit=10, offset=0, course_id=first.id, status=PACKAGE_READY
        )
        paged, paged_total = await store.list_packages(limit=1, offset=1)

        assert [p.id for p in all_page] == [a.id, b.id, c.id]
        assert all_total == 3
        assert [p.id for p in by_course] == [a.id, b.id]
        assert course_total == 2
        assert [p.id for p in ready] == [b.id]
        assert ready_total == 1
        assert [p.id for p in paged] == [b.id]
        assert paged_total == 3

    run_store(scenario)


def test_deleted_package_hidden_from_list(run_store):
    async def scenario(store: Store) -> None:
        data = await seed(store)
        deleted_at = utcnow()

        await store.update_package(data.package.id, {"deleted_at": deleted_at})

        page, total = await store.list_packages(limit=10, offset=0)
        assert page == []
        assert total == 0
        fetched = await store.get_package(data.package.id)
        assert fetched.deleted_at == deleted_at
        assert await store.get_attempt(data.attempt.id) == data.attempt

    run_store(scenario)


# Registrations


def test_registration_created_once(run_store):
    async def scenario(store: Store) -> None:
        user = await add_user(store)
        course = await store.create_course(title="Safety")

        first, first_created = await store.get_or_create_registration(user.id, course.id)
        again, again_created = await store.get_or_create_registration(user.id, course.id)

        assert first_created is True
        assert again_created is False
        assert again == first
        assert aware_utc(first.registered_at)

    run_store(scenario)


def test_concurrent_registrations_create_one(run_store):
    async def scenario(store: Store) -> None:
        user = await add_user(store)
        course = await store.create_course(title="Safety")

        results = await asyncio.gather(
            *(store.get_or_create_registration(user.id, course.id) for _ in range(20))
        )

        created = [flag for _, flag in results if flag]
        assert len(created) == 1
        assert len({registration.id for registration, _ in results}) == 1
        _, total = await store.list_registrations(limit=10, offset=0)
        assert total == 1

    run_store(scenario)


def test_registration_unknown_ids_rejected(run_store):
    async def scenario(store: Store) -> None:
        user = await add_user(store)
        course = await store.create_course(title="Safety")

        with pytest.raises(NotFound):
            await store.get_or_create_registration(999, course.id)
        with pytest.raises(NotFound):
            await store.get_or_create_registration(user.id, 999)

    run_store(scenario)


def test_list_registrations_filters(run_store):
    async def scenario(store: Store) -> None:
        ada = await add_user(store, "ada")
        bob = await add_user(store, "bob")
        one = await store.create_course(title="one")
        two = await store.create_course(title="two")
        r1, _ = await store.get_or_create_registration(ada.id, one.id)
        r2, _ = await store.get_or_create_registration(ada.id, two.id)
        r3, _ = await store.get_or_create_registration(bob.id, one.id)

        by_user, user_total = await store.list_registrations(
            limit=10, offset=0, user_id=ada.id
        )
        by_course, course_total = await store.list_registrations(
            limit=10, offset=0, course_id=one.id
        )
        both, both_total = await store.list_registrations(
            limit=10, offset=0, user_id=bob.id, course_id=one.id
        )
        paged, paged_total = await store.list_registrations(limit=1, offset=2)

        assert [r.id for r in by_user] == [r1.id, r2.id]
        assert user_total == 2
        assert [r.id for r in by_course] == [r1.id, r3.id]
        assert course_total == 2
        assert [r.id for r in both] == [r3.id]
        assert both_total == 1
        assert [r.id for r in paged] == [r3.id]
        assert paged_total == 3

    run_store(scenario)


# Attempts


def test_attempt_starts_empty(run_store):
    async def scenario(store: Store) -> None:
        data = await seed(store)
        attempt = data.attempt

        assert attempt.user_id == data.user.id
        assert attempt.package_id == data.package.id
        assert attempt.completion_status == ""
        assert attempt.success_status == ""
        assert attempt.score is None
        assert attempt.is_complete is False
        assert attempt.total_time_seconds == 0.0
        assert attempt.items == {}
        assert aware_utc(attempt.started_at)
        assert await store.get_attempt(attempt.id) == attempt
        assert await store.get_attempt(999) is None

    run_store(scenario)


def test_attempt_unknown_ids_rejected(run_store):
    async def scenario(store: Store) -> None:
        data = await seed(store)

        with pytest.raises(NotFound):
            await store.create_attempt(999, data.package.id)
        with pytest.raises(NotFound):
            await store.create_attempt(data.user.id, 999)

    run_store(scenario)


def test_update_attempt_summary(run_store):
    async def scenario(store: Store) -> None:
        data = await seed(store)
        accessed = datetime(2026, 12, 4, 10, 30, 0, 123000, tzinfo=timezone.utc)

        updated = await store.update_attempt(
            data.attempt.id,
            {
                "completion_status": "completed",
                "success_status": "passed",
                "score": 0.875,
                "is_complete": True,
                "total_time_seconds": 61.5,
                "last_accessed_at": accessed,
                "items": {"sco-1": {"completion_status": "completed"}},
            },
        )

        assert updated.completion_status == "completed"
        assert updated.success_status == "passed"
        assert updated.score == 0.875
        assert updated.is_complete is True
        assert updated.total_time_seconds == 61.5
        assert updated.last_accessed_at == accessed
        assert updated.items == {"sco-1": {"completion_status": "completed"}}
        assert updated.started_at == data.attempt.started_at
        assert await store.get_attempt(data.attempt.id) == updated

    run_store(scenario)


def test_update_attempt_errors(run_store):
    async def scenario(store: Store) -> None:
        data = await seed(store)

        with pytest.raises(NotFound):
            await store.update_attempt(999, {"score": 1.0})
        with pytest.raises(ValueError):
            await store.update_attempt(data.attempt.id, {"user_id": 5})

    run_store(scenario)


def test_list_attempts_filters(run_store):
    async def scenario(store: Store) -> None:
        ada = await add_user(store, "ada")
        bob = await add_user(store, "bob")
        one = await store.create_course(title="one")
        two = await store.create_course(title="two")
        p1 = await add_package(store, one.id, "p1")
        p2 = await add_package(store, one.id, "p2")
        p3 = await add_package(store, two.id, "p3")
        a1 = await store.create_attempt(ada.id, p1.id)
        a2 = await store.create_attempt(ada.id, p3.id)
        a3 = await store.create_attempt(bob.id, p2.id)
        a4 = await store.create_attempt(bob.id, p1.id)

        by_user, user_total = await store.list_attempts(limit=10, offset=0, user_id=ada.id)
        by_package, package_total = await store.list_attempts(
            limit=10, offset=0, package_id=p1.id
        )
        by_course, course_total = await store.list_attempts(
            limit=10, offset=0, course_id=one.id
        )
        combined, combined_total = await store.list_attempts(
            limit=10, offset=0, course_id=one.id, user_id=bob.id, package_id=p2.id
        )
        paged, paged_total = await store.list_attempts(limit=2, offset=1)

        assert [a.id for a in by_user] == [a1.id, a2.id]
        assert user_total == 2
        assert [a.id for a in by_package] == [a1.id, a4.id]
        assert package_total == 2
        assert [a.id for a in by_course] == [a1.id, a3.id, a4.id]
        assert course_total == 3
        assert [a.id for a in combined] == [a3.id]
        assert combined_total == 1
        assert [a.id for a in paged] == [a2.id, a3.id]
        assert paged_total == 4

    run_store(scenario)


def test_latest_attempts_per_user(run_store):
    async def scenario(store: Store) -> None:
        ada = await add_user(store, "ada")
        bob = await add_user(store, "bob")
        one = await store.create_course(title="one")
        two = await store.create_course(title="two")
        p1 = await add_package(store, one.id, "p1")
        p2 = await add_package(store, one.id, "p2")
        other = await add_package(store, two.id, "other")
        await store.create_attempt(ada.id, p1.id)
        ada_newest = await store.create_attempt(ada.id, p2.id)
        bob_newest = await store.create_attempt(bob.id, p1.id)
        await store.create_attempt(ada.id, other.id)

        latest = await store.latest_attempts(one.id)

        assert latest == {ada.id: ada_newest, bob.id: bob_newest}
        assert await store.latest_attempts(999) == {}

    run_store(scenario)


# Run-time log, snapshots and summaries


def test_append_and_read_log(run_store):
    async def scenario(store: Store) -> None:
        data = await seed(store)
        attempt_id = data.attempt.id
        entries = [entry(attempt_id, seq, bytes([seq]) * 200) for seq in range(1, 6)]

        await store.append_log(entries[:2])
        await store.append_log(entries[2:])

        assert await store.read_log(attempt_id) == entries
        assert await store.read_log(attempt_id, after_seq=3) == entries[3:]
        assert await store.read_log(attempt_id, after_seq=5) == []
        assert await store.read_log(999) == []

    run_store(scenario)


def test_read_log_orders_by_seq(run_store):
    async def scenario(store: Store) -> None:
        data = await seed(store)
        attempt_id = data.attempt.id

        await store.append_log([entry(attempt_id, 3), entry(attempt_id, 1)])
        await store.append_log([entry(attempt_id, 2)])

        seqs = [e.seq for e in await store.read_log(attempt_id)]
        assert seqs == [1, 2, 3]

    run_store(scenario)


def test_log_separate_per_attempt(run_store):
    async def scenario(store: Store) -> None:
        data = await seed(store)
        other = await store.create_attempt(data.user.id, data.package.id)

        await store.append_log([entry(data.attempt.id, 1), entry(other.id, 1)])

        assert [e.attempt_id for e in await store.read_log(data.attempt.id)] == [
            data.attempt.id
        ]
        assert [e.attempt_id for e in await store.read_log(other.id)] == [other.id]

    run_store(scenario)


def test_append_log_writes_summaries(run_store):
    async def scenario(store: Store) -> None:
        data = await seed(store)
        summary = {
            "completion_status": "incomplete",
            "score": 0.5,
            "items": {"sco-1": {"location": "page-3"}},
        }

        await store.append_log([entry(data.attempt.id, 1)], {data.attempt.id: summary})

        attempt = await store.get_attempt(data.attempt.id)
        assert attempt.completion_status == "incomplete"
        assert attempt.score == 0.5
        assert attempt.items == {"sco-1": {"location": "page-3"}}
        assert len(await store.read_log(data.attempt.id)) == 1

    run_store(scenario)


def test_append_log_summaries_only(run_store):
    async def scenario(store: Store) -> None:
        data = await seed(store)

        await store.append_log([], {data.attempt.id: {"is_complete": True}})

        assert (await store.get_attempt(data.attempt.id)).is_complete is True
        assert await store.read_log(data.attempt.id) == []

    run_store(scenario)


def test_duplicate_seq_writes_nothing(run_store):
    async def scenario(store: Store) -> None:
        data = await seed(store)
        attempt_id = data.attempt.id
        await store.append_log([entry(attempt_id, 1), entry(attempt_id, 2)])
        batch = [entry(attempt_id, 3), entry(attempt_id, 4), entry(attempt_id, 2)]

        with pytest.raises(LogConflict) as caught:
            await store.append_log(batch, {attempt_id: {"score": 1.0}})

        assert caught.value.attempt_id == attempt_id
        assert caught.value.seq == 2
        assert [e.seq for e in await store.read_log(attempt_id)] == [1, 2]
        assert (await store.get_attempt(attempt_id)).score is None

    run_store(scenario)


def test_duplicate_within_batch_writes_nothing(run_store):
    async def scenario(store: Store) -> None:
        data = await seed(store)
        attempt_id = data.attempt.id
        batch = [entry(attempt_id, 1), entry(attempt_id, 2), entry(attempt_id, 1)]

        with pytest.raises(LogConflict) as caught:
            await store.append_log(batch)

        assert caught.value.seq == 1
        assert await store.read_log(attempt_id) == []

    run_store(scenario)


def test_append_log_unknown_attempt_writes_nothing(run_store):
    async def scenario(store: Store) -> None:
        data = await seed(store)

        with pytest.raises(NotFound):
            await store.append_log([entry(data.attempt.id, 1), entry(999, 1)])
        with pytest.raises(NotFound):
            await store.append_log([entry(data.attempt.id, 1)], {999: {"score": 1.0}})

        assert await store.read_log(data.attempt.id) == []

    run_store(scenario)


def test_append_log_invalid_summary_field_rejected(run_store):
    async def scenario(store: Store) -> None:
        data = await seed(store)

        with pytest.raises(ValueError):
            await store.append_log(
                [entry(data.attempt.id, 1)], {data.attempt.id: {"package_id": 2}}
            )

        assert await store.read_log(data.attempt.id) == []

    run_store(scenario)


def test_snapshot_round_trip(run_store):
    async def scenario(store: Store) -> None:
        data = await seed(store)
        snapshot = Snapshot(data.attempt.id, 10, b"\x00state\xff", utcnow())

        assert await store.get_snapshot(data.attempt.id) is None
        await store.put_snapshot(snapshot)

        assert await store.get_snapshot(data.attempt.id) == snapshot

    run_store(scenario)


def test_snapshot_lower_seq_ignored(run_store):
    async def scenario(store: Store) -> None:
        data = await seed(store)
        attempt_id = data.attempt.id
        newer = Snapshot(attempt_id, 20, b"newer", utcnow())
        older = Snapshot(attempt_id, 10, b"older", utcnow())
        newest = Snapshot(attempt_id, 30, b"newest", utcnow())

        await store.put_snapshot(newer)
        await store.put_snapshot(older)
        kept = await store.get_snapshot(attempt_id)
        await store.put_snapshot(newest)

        assert kept == newer
        assert await store.get_snapshot(attempt_id) == newest

    run_store(scenario)


def test_snapshot_equal_seq_replaces(run_store):
    async def scenario(store: Store) -> None:
        data = await seed(store)
        first = Snapshot(data.attempt.id, 5, b"first", utcnow())
        second = Snapshot(data.attempt.id, 5, b"second", utcnow())

        await store.put_snapshot(first)
        await store.put_snapshot(second)

        assert (await store.get_snapshot(data.attempt.id)).data == b"second"

    run_store(scenario)


def test_append_log_writes_snapshots_with_entries(run_store):
    async def scenario(store: Store) -> None:
        data = await seed(store)
        attempt_id = data.attempt.id
        snapshot = Snapshot(attempt_id, 2, b"state at 2", utcnow())

        await store.append_log(
            [entry(attempt_id, 1), entry(attempt_id, 2)],
            {attempt_id: {"score": 0.5}},
            [snapshot],
        )

        assert [e.seq for e in await store.read_log(attempt_id)] == [1, 2]
        assert await store.get_snapshot(attempt_id) == snapshot
        assert (await store.get_attempt(attempt_id)).score == 0.5

    run_store(scenario)


def test_append_log_keeps_newer_stored_snapshot(run_store):
    async def scenario(store: Store) -> None:
        data = await seed(store)
        attempt_id = data.attempt.id
        newer = Snapshot(attempt_id, 9, b"newer", utcnow())
        await store.put_snapshot(newer)

        await store.append_log([], {}, [Snapshot(attempt_id, 4, b"older", utcnow())])

        assert await store.get_snapshot(attempt_id) == newer

    run_store(scenario)


def test_conflicting_append_log_writes_no_snapshot(run_store):
    async def scenario(store: Store) -> None:
        data = await seed(store)
        attempt_id = data.attempt.id
        await store.append_log([entry(attempt_id, 1)])

        with pytest.raises(LogConflict):
            await store.append_log(
                [entry(attempt_id, 1)], {}, [Snapshot(attempt_id, 1, b"lost", utcnow())]
            )

        assert await store.get_snapshot(attempt_id) is None

    run_store(scenario)


def test_snapshot_of_unknown_attempt_writes_nothing(run_store):
    async def scenario(store: Store) -> None:
        data = await seed(store)

        with pytest.raises(NotFound):
            await store.append_log(
                [entry(data.attempt.id, 1)], {}, [Snapshot(999, 1, b"x", utcnow())]
            )

        assert await store.read_log(data.attempt.id) == []

    run_store(scenario)


def test_naive_datetime_rejected(run_store):
    async def scenario(store: Store) -> None:
        data = await seed(store)

        with pytest.raises(ValueError):
            await store.update_attempt(
                data.attempt.id, {"last_accessed_at": datetime(2026, 1, 1)}
            )

    run_store(scenario)
