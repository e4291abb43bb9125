"""The flusher: group commit of every actor's pending log entries.

Actors hand their new log entries (and the attempt summary that changed with
them) to the flusher without waiting. Snapshots are handed over the same way.
The flusher writes everything pending in one `Store.append_log` call, so a
snapshot costs no round trip of its own. It writes:

- every `flush_interval_ms`, or at once when `flush_max_entries` are pending;
- at once when a caller waits for durability (`wait_durable`, used by Commit,
  Terminate and session openings) and no write is running; a caller that
  arrives while a write runs joins the next write, which starts as soon as
  the running one ends (group commit);
- with `flush_interval_ms == 0` (write-through) only on demand, because every
  call that produced entries then waits for durability before it is answered.

A failed write fails the callers that waited on it with `NotDurable`, puts
the entries back in front of the pending ones and retries with exponential
backoff until the store recovers. A `LogConflict` means that another writer
owns the attempt's log: that attempt's entries are dropped, its waiters get
`ActorStopped`, `on_conflict` stops the actor, and the rest is written again
at once.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable, Mapping
from typing import Any, Protocol

from actors import metrics
from actors.errors import ActorStopped, NotDurable
from storage.base import Store
from storage.errors import LogConflict
from storage.models import LogEntry, Snapshot

log = logging.getLogger(__name__)


class LogOwner(Protocol):
    """The part of an actor that the flusher uses: its id and its durable positions."""

    attempt_id: int
    durable_seq: int
    snapshot_seq: int


Waiter = tuple[int, "asyncio.Future[None]"]


class Flusher:
    """Writes pending log entries of all actors in batched `append_log` calls."""

    def __init__(
        self,
        store: Store,
        *,
        interval_ms: int = 200,
        max_entries: int = 5000,
        on_conflict: Callable[[int], None] = lambda attempt_id: None,
        backoff_initial: float = 0.05,
        backoff_max: float = 2.0,
        sleep: Callable[[float], Awaitable[Any]] = asyncio.sleep,
    ) -> None:
        self.store = store
        self.interval = interval_ms / 1000
        self.max_entries = max(1, max_entries)
        self.on_conflict = on_conflict
        self.backoff_initial = backoff_initial
        self.backoff_max = backoff_max
        self._sleep = sleep
        self._entries: list[LogEntry] = []
        self._owners: list[LogOwner] = []
        self._summaries: dict[int, dict[str, Any]] = {}
        self._snapshots: dict[int, tuple[LogOwner, Snapshot]] = {}
        self._waiters: list[Waiter] = []
        self._wake = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        self._stopping = False
        self.writing = False
        self.failures = 0

    @property
    def pending_count(self) -> int:
        return len(self._entries)

    def start(self) -> None:
        if self._task is None:
            self._stopping = False
            self._task = asyncio.get_running_loop().create_task(self._run())

    async def stop(self, timeout: float = 10.0) -> None:
        """Write everything pending, then end the write loop.

        Entries still pending after `timeout` seconds (the store is down) are
        lost from this process. Entries reported durable to a caller are in the store.
        """
        if self._task is None:
            return
        self._stopping = True
        self._wake.set()
        try:
            await asyncio.wait_for(asyncio.shield(self._task), timeout)
        except TimeoutError:
            log.error(
                "flusher stopped with %d log entries unwritten after %.1fs",
                len(self._entries),
                timeout,
            )
            self._task.cancel()
        self._task = None
        self._fail_waiters(self._waiters, NotDurable(0, RuntimeError("shutdown")))
        self._waiters = []

    # Producer side, called by actors on the hot path: no awaits here.

    def append(
        self,
        owner: LogOwner,
        entries: list[LogEntry],
        summary: Mapping[str, Any] | None = None,
    ) -> None:
        """Queue an actor's new entries and, if given, its new attempt summary."""
        self._entries.extend(entries)
        self._owners.extend([owner] * len(entries))
        if summary is not None:
            self._summaries[owner.attempt_id] = dict(summary)
        if len(self._entries) >= self.max_entries or self.interval == 0:
            self._wake.set()

    def add_snapshot(self, owner: LogOwner, snapshot: Snapshot) -> None:
        """Queue a snapshot for the next write; a newer one replaces a queued one."""
        self._snapshots[owner.attempt_id] = (owner, snapshot)

    def wait_durable(self, attempt_id: int) -> asyncio.Future[None]:
        """Return a future that resolves when everything queued so far is written.

        It fails with `NotDurable` when the write fails, or with
        `ActorStopped` when another writer owns the attempt's log.
        """
        future: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._waiters.append((attempt_id, future))
        self._wake.set()
        return future

    def drop(self, attempt_id: int) -> None:
        """Forget the pending entries and summary of a stopped actor."""
        kept = [
            (entry, owner)
            for entry, owner in zip(self._entries, self._owners)
            if entry.attempt_id != attempt_id
        ]
        self._entries = [entry for entry, _ in kept]
        self._owners = [owner for _, owner in kept]
        self._summaries.pop(attempt_id, None)
        self._snapshots.pop(attempt_id, None)

    # The write loop

    async def _run(self) -> None:
        backoff = self.backoff_initial
        while True:
            await self._wait_for_work()
            self._wake.clear()
            if not (self._entries or self._waiters or self._summaries or self._snapshots):
                if self._stopping:
                    return
                continue
            if await self.flush_once():
                backoff = self.backoff_initial
                continue
            if self._stopping and self.failures > 3:
                return
            await self._sleep(backoff)
            backoff = min(backoff * 2, self.backoff_max)

    async def _wait_for_work(self) -> None:
        if self._wake.is_set() or self._stopping:
            return
        if len(self._entries) >= self.max_entries:
            return
        if self.interval == 0 or not self._entries:
            await self._wake.wait()
            return
        try:
            await asyncio.wait_for(self._wake.wait(), self.interval)
        except TimeoutError:
            pass

    async def flush_once(self) -> bool:
        """Write what is pending now in one `append_log`; return whether it succeeded."""
        entries, owners = self._entries, self._owners
        summaries, waiters, snapshots = self._summaries, self._waiters, self._snapshots
        self._entries, self._owners, self._summaries, self._waiters = [], [], {}, []
        self._snapshots = {}
        self.writing = True
        started = time.perf_counter()
        try:
            await self.store.append_log(
                entries, summaries, [snapshot for _, snapshot in snapshots.values()]
            )
        except LogConflict as exc:
            snapshots.pop(exc.attempt_id, None)
            self._snapshots = {**snapshots, **self._snapshots}
            self._requeue_without(exc.attempt_id, entries, owners, summaries, waiters)
            self.on_conflict(exc.attempt_id)
            log.warning("log conflict on attempt %d, seq %d: actor stopped", exc.attempt_id, exc.seq)
            return True
        except Exception as exc:  # noqa: BLE001 - any store failure is retried
            self.failures += 1
            self._requeue(entries, owners, summaries)
            self._snapshots = {**snapshots, **self._snapshots}
            self._fail_waiters(waiters, None, exc)
            log.warning(
                "append_log of %d log entries failed (failure %d), retrying: %s",
                len(entries),
                self.failures,
                exc,
            )
            return False
        finally:
            self.writing = False
            metrics.APPEND_LOG_WRITES.inc()
            metrics.FLUSH_SECONDS.observe(time.perf_counter() - started)

        self._mark_durable(entries, owners)
        for owner, snapshot in snapshots.values():
            owner.snapshot_seq = max(owner.snapshot_seq, snapshot.seq)
        metrics.SNAPSHOTS_WRITTEN.inc(len(snapshots))
        for _, future in waiters:
            if not future.done():
                future.set_result(None)
        if self.failures:
            log.info("append_log succeeded again after %d failures", self.failures)
            self.failures = 0
        return True

    def _mark_durable(self, entries: list[LogEntry], owners: list[LogOwner]) -> None:
        for entry, owner in zip(entries, owners):
            if entry.seq > owner.durable_seq:
                owner.durable_seq = entry.seq
        metrics.LOG_ENTRIES_WRITTEN.inc(len(entries))
        metrics.FLUSH_BATCH_SIZE.observe(len(entries))

    def _requeue(
        self,
        entries: list[LogEntry],
        owners: list[LogOwner],
        summaries: dict[int, dict[str, Any]],
    ) -> None:
        # Older entries go first, and newer summaries win over older ones.
        self._entries = entries + self._entries
        self._owners = owners + self._owners
        self._summaries = {**summaries, **self._summaries}

    def _requeue_without(
        self,
        attempt_id: int,
        entries: list[LogEntry],
        owners: list[LogOwner],
        summaries: dict[int, dict[str, Any]],
        waiters: list[Waiter],
    ) -> None:
        kept = [(e, o) for e, o in zip(entries, owners) if e.attempt_id != attempt_id]
        summaries.pop(attempt_id, None)
        self._requeue([e for e, _ in kept], [o for _, o in kept], summaries)
        self.drop(attempt_id)
        stopped = [w for w in waiters if w[0] == attempt_id]
        self._fail_waiters(stopped, ActorStopped(attempt_id))
        self._waiters = [w for w in waiters if w[0] != attempt_id] + self._waiters
        self._wake.set()

    @staticmethod
    def _fail_waiters(
        waiters: list[Waiter],
        error: Exception | None,
        cause: BaseException | None = None,
    ) -> None:
        for attempt_id, future in waiters:
            if future.done():
                continue
            future.set_exception(error or NotDurable(attempt_id, cause or error))
            # A caller that gave up must not leave "exception never retrieved" noise.
            future.add_done_callback(_consume_exception)


def _consume_exception(future: asyncio.Future[None]) -> None:
    if not future.cancelled():
        future.exception()
