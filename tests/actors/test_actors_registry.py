"""The actor registry on a real SQLite store: durability, restart, retries, faults."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import pytest

from actors.errors import BatchSeqGap, NotDurable, SessionSuperseded
from actors.registry import ActorRegistry
from storage.faults import FaultyStore
from storage.sqlite import SQLiteStore
from tests.actors.conftest import load_engine, make_settings, seed_attempt


def call(method: str, *args: str) -> dict[str, Any]:
    return {"method": method, "args": list(args)}


COMMIT_BATCH = [
    call("Initialize", ""),
    call("SetValue", "cmi.location", "page-3"),
    call("SetValue", "cmi.suspend_data", "abc"),
    call("Commit", ""),
]


async def open_registry(store: Any, tmp_path: Path, **settings: Any) -> ActorRegistry:
    registry = ActorRegistry(store, make_settings(tmp_path, **settings), engine=load_engine())
    await registry.start()
    return registry


def run(tmp_path: Path, scenario: Callable[[Any, int], Awaitable[None]],
        *, faulty: bool = False) -> None:
    async def main() -> None:
        store: Any = SQLiteStore(tmp_path / "store.sqlite3")
        if faulty:
            store = FaultyStore(store)
        await store.open()
        try:
            await scenario(store, await seed_attempt(store))
        finally:
            await store.close()

    asyncio.run(main())


def test_commit_survives_restart(tmp_path: Path) -> None:
    async def scenario(store: Any, attempt_id: int) -> None:
        registry = await open_registry(store, tmp_path)
        actor = await registry.get(attempt_id)
        record = actor.open_session(None)
        outcome = actor.run_batch(record.id, 1, COMMIT_BATCH)
        await registry.wait_durable(actor)
        # No stop(): the process "dies" with its actor in memory.
        await registry.flusher.stop()

        restarted = await open_registry(store, tmp_path)
        again = await restarted.get(attempt_id)
        await restarted.stop()

        assert outcome.wait
        assert again is not actor
        assert again.items["sco-1"]["cmi.location"] == "page-3"
        assert again.items["sco-1"]["cmi.suspend_data"] == "abc"
        assert again.sessions[record.id].state == "running"

    run(tmp_path, scenario)


def test_batch_retry_after_restart_applies_once(tmp_path: Path) -> None:
    async def scenario(store: Any, attempt_id: int) -> None:
        registry = await open_registry(store, tmp_path)
        actor = await registry.get(attempt_id)
        record = actor.open_session(None)
        first = actor.run_batch(record.id, 1, COMMIT_BATCH)
        await registry.wait_durable(actor)
        await registry.flusher.stop()
        entries_before = await store.read_log(attempt_id)

        restarted = await open_registry(store, tmp_path)
        again = await restarted.get(attempt_id)
        retry = again.run_batch(record.id, 1, COMMIT_BATCH)
        await restarted.stop()
        entries_after = await store.read_log(attempt_id)

        assert retry.results == first.results
        assert not retry.wait
        assert [e.seq for e in entries_after] == [e.seq for e in entries_before]
        assert [e.seq for e in entries_after] == [1, 2]

    run(tmp_path, scenario)


def test_read_only_batch_writes_no_entry(tmp_path: Path) -> None:
    async def scenario(store: Any, attempt_id: int) -> None:
        registry = await open_registry(store, tmp_path)
        actor = await registry.get(attempt_id)
        record = actor.open_session(None)
        actor.run_batch(record.id, 1, COMMIT_BATCH)
        seq_after_commit = actor.seq
        read = actor.run_batch(record.id, 2, [call("GetValue", "cmi.location"),
                                              call("GetLastError")])
        await registry.stop()

        assert read.results == [["page-3", 0], ["0", 0]]
        assert actor.seq == seq_after_commit

    run(tmp_path, scenario)


def test_batch_seq_gap_after_restart_allowed_once(tmp_path: Path) -> None:
    async def scenario(store: Any, attempt_id: int) -> None:
        registry = await open_registry(store, tmp_path)
        actor = await registry.get(attempt_id)
        record = actor.open_session(None)
        actor.run_batch(record.id, 1, COMMIT_BATCH)
        actor.run_batch(record.id, 2, [call("GetValue", "cmi.location")])
        await registry.wait_durable(actor)
        await registry.flusher.stop()

        restarted = await open_registry(store, tmp_path)
        again = await restarted.get(attempt_id)
        jumped = again.run_batch(record.id, 3, [call("SetValue", "cmi.location", "p4")])
        with pytest.raises(BatchSeqGap) as gap:
            again.run_batch(record.id, 5, [call("GetValue", "cmi.location")])
        await restarted.stop()

        assert jumped.results == [["true", 0]]
        assert gap.value.expected == 4

    run(tmp_path, scenario)


def test_batch_seq_gap_rejected(tmp_path: Path) -> None:
    async def scenario(store: Any, attempt_id: int) -> None:
        registry = await open_registry(store, tmp_path)
        actor = await registry.get(attempt_id)
        record = actor.open_session(None)
        seq_before = actor.seq

        with pytest.raises(BatchSeqGap) as gap:
            actor.run_batch(record.id, 2, COMMIT_BATCH)
        await registry.stop()

        assert gap.value.expected == 1
        assert actor.seq == seq_before
        assert record.state == "not_initialized"

    run(tmp_path, scenario)


def test_new_session_supersedes_old(tmp_path: Path) -> None:
    async def scenario(store: Any, attempt_id: int) -> None:
        registry = await open_registry(store, tmp_path)
        actor = await registry.get(attempt_id)
        old = actor.open_session(None)
        actor.run_batch(old.id, 1, COMMIT_BATCH)
        new = actor.open_session(None)

        with pytest.raises(SessionSuperseded):
            actor.run_batch(old.id, 2, [call("GetValue", "cmi.location")])
        retried = actor.run_batch(old.id, 1, COMMIT_BATCH)
        await registry.stop()

        assert actor.open_sessions["sco-1"] == new.id
        assert retried.results[0] == ["true", 0]

    run(tmp_path, scenario)


def test_failed_flush_fails_commit_then_recovers(tmp_path: Path) -> None:
    async def scenario(store: Any, attempt_id: int) -> None:
        registry = await open_registry(store, tmp_path)
        actor = await registry.get(attempt_id)
        record = actor.open_session(None)
        await registry.wait_durable(actor)
        store.fail_next_appends(1)

        actor.run_batch(record.id, 1, COMMIT_BATCH)
        with pytest.raises(NotDurable):
            await registry.wait_durable(actor)
        durable_after_failure = actor.durable_seq
        logged_after_failure = len(await store.read_log(attempt_id))
        await registry.wait_durable(actor)
        entries = await store.read_log(attempt_id)
        await registry.stop()

        assert durable_after_failure == 1
        assert logged_after_failure == 1
        assert [e.seq for e in entries] == [1, 2]
        assert actor.durable_seq == 2

    run(tmp_path, scenario, faulty=True)


def test_stalled_flush_holds_commit(tmp_path: Path) -> None:
    async def scenario(store: Any, attempt_id: int) -> None:
        registry = await open_registry(store, tmp_path)
        actor = await registry.get(attempt_id)
        record = actor.open_session(None)
        release = asyncio.Event()
        store.stall_appends(release)

        actor.run_batch(record.id, 1, COMMIT_BATCH)
        waiting = asyncio.ensure_future(registry.wait_durable(actor))
        await store.append_stalled.wait()
        done_while_stalled = waiting.done()
        durable_while_stalled = actor.durable_seq
        store.stall_appends(None)
        release.set()
        await waiting
        await registry.stop()

        assert not done_while_stalled
        assert durable_while_stalled == 0
        assert actor.durable_seq == actor.seq == 2

    run(tmp_path, scenario, faulty=True)


def test_log_conflict_reactivates_from_store(tmp_path: Path) -> None:
    async def scenario(store: Any, attempt_id: int) -> None:
        registry = await open_registry(store, tmp_path)
        actor = await registry.get(attempt_id)
        record = actor.open_session(None)
        await registry.wait_durable(actor)
        # The write lands, the call still fails, and the retry then conflicts.
        store.fail_next_appends(1, after_write=True)

        actor.run_batch(record.id, 1, COMMIT_BATCH)
        with pytest.raises(NotDurable):
            await registry.wait_durable(actor)
        with pytest.raises(Exception) as stopped:
            await registry.wait_durable(actor)
        again = await registry.get(attempt_id)
        await registry.stop()

        assert type(stopped.value).__name__ == "ActorStopped"
        assert again is not actor
        assert again.items["sco-1"]["cmi.location"] == "page-3"
        assert again.seq == 2

    run(tmp_path, scenario, faulty=True)


def test_lru_limit_passivates_oldest(tmp_path: Path) -> None:
    async def scenario(store: Any, attempt_id: int) -> None:
        attempts = [attempt_id]
        attempt = await store.get_attempt(attempt_id)
        for _ in range(2):
            attempts.append((await store.create_attempt(attempt.user_id, attempt.package_id)).id)
        registry = await open_registry(store, tmp_path, max_active_actors=2)
        for each in attempts:
            actor = await registry.get(each)
            actor.run_batch(actor.open_session(None).id, 1, COMMIT_BATCH)
        await asyncio.gather(*registry._tasks)
        first_active = registry.lookup(attempts[0]) is not None
        snapshot = await store.get_snapshot(attempts[0])
        await registry.stop()

        assert not first_active
        assert snapshot is not None
        assert snapshot.seq == 2

    run(tmp_path, scenario)


def test_idle_actor_passivated(tmp_path: Path) -> None:
    now = [100.0]

    async def scenario(store: Any, attempt_id: int) -> None:
        registry = ActorRegistry(store, make_settings(tmp_path, actor_idle_timeout=60),
                                 engine=load_engine(), clock=lambda: now[0])
        registry.flusher.start()
        actor = await registry.get(attempt_id)
        actor.run_batch(actor.open_session(None).id, 1, COMMIT_BATCH)
        now[0] += 30
        early = await registry.passivate_idle()
        now[0] += 31
        late = await registry.passivate_idle()
        await registry.stop()

        assert early == 0
        assert late == 1
        assert len(registry) == 0

    run(tmp_path, scenario)


def test_ended_actor_passivated_before_idle_timeout(tmp_path: Path) -> None:
    now = [100.0]

    async def scenario(store: Any, attempt_id: int) -> None:
        registry = ActorRegistry(
            store,
            make_settings(tmp_path, actor_idle_timeout=600, ended_actor_timeout=30),
            engine=load_engine(), clock=lambda: now[0],
        )
        registry.flusher.start()
        ended = await registry.get(attempt_id)
        ended.run_batch(ended.open_session(None).id, 1,
                        [*COMMIT_BATCH, call("Terminate", "")])
        attempt = await store.get_attempt(attempt_id)
        other_id = (await store.create_attempt(attempt.user_id, attempt.package_id)).id
        open_actor = await registry.get(other_id)
        open_actor.run_batch(open_actor.open_session(None).id, 1, COMMIT_BATCH)
        now[0] += 31
        passivated = await registry.passivate_idle()
        snapshot = await store.get_snapshot(attempt_id)
        still_active = registry.lookup(other_id) is not None
        await registry.stop()

        assert passivated == 1
        assert still_active
        assert snapshot is not None
        assert snapshot.seq == ended.seq

    run(tmp_path, scenario)


def test_commit_writes_no_snapshot(tmp_path: Path) -> None:
    async def scenario(store: Any, attempt_id: int) -> None:
        registry = await open_registry(store, tmp_path)
        actor = await registry.get(attempt_id)
        actor.run_batch(actor.open_session(None).id, 1, COMMIT_BATCH)
        await registry.wait_durable(actor)
        registry.snapshot_if_long(actor)
        await registry.wait_durable(actor)
        snapshot = await store.get_snapshot(attempt_id)
        await registry.stop()

        assert snapshot is None
        assert [e.seq for e in await store.read_log(attempt_id)] == [1, 2]

    run(tmp_path, scenario)


def test_long_log_snapshot_rides_with_a_flush(tmp_path: Path, monkeypatch: Any) -> None:
    monkeypatch.setattr("actors.registry.SNAPSHOT_EVERY_ENTRIES", 3)

    async def scenario(store: Any, attempt_id: int) -> None:
        registry = await open_registry(store, tmp_path)
        actor = await registry.get(attempt_id)
        record = actor.open_session(None)
        actor.run_batch(record.id, 1, COMMIT_BATCH)
        for batch_seq in (2, 3):
            actor.run_batch(record.id, batch_seq,
                            [call("SetValue", "cmi.location", f"page-{batch_seq}")])
            registry.snapshot_if_long(actor)
        appends_before = store.append_calls
        await registry.wait_durable(actor)
        appends = store.append_calls - appends_before
        snapshot = await store.get_snapshot(attempt_id)
        snapshot_seq = actor.snapshot_seq
        await registry.stop()

        # Seq 3 (the open, the Commit batch, batch 2) reached the threshold;
        # batch 3 alone did not.
        assert appends == 1
        assert actor.seq == 4
        assert snapshot is not None
        assert snapshot.seq == snapshot_seq == 3

    run(tmp_path, scenario, faulty=True)
