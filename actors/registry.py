"""ActorRegistry: activation, lookup and passivation of attempt actors.

One actor per attempt lives in the process. `lookup` returns an active
actor without awaiting (the hot path). `activate` builds one from the last
snapshot plus the log entries after it. Callers that arrive during an
activation wait on it and resume in arrival order, so the activation is the
mailbox of an actor that is not ready yet. Passivation (idle timeout, more
than `max_active_actors`, shutdown) first removes the actor, so no call can
reach it. It then waits until the actor's entries are durable and writes a
snapshot. A call arriving meanwhile waits for that and activates the attempt
again.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections import OrderedDict
from collections.abc import Callable
from typing import Any

from actors import codec, metrics
from actors.attempt import AttemptActor, PackageInfo
from actors.errors import ActorStopped, AttemptNotFound, NotDurable
from actors.flusher import Flusher
from server.config import Settings
from storage.base import Store
from storage.models import Package, Snapshot, utcnow

log = logging.getLogger(__name__)

STANDARDS = {"SCORM 1.2": "1.2"}
# Log entries after the last snapshot that make the next flush carry a new one.
SNAPSHOT_EVERY_ENTRIES = 1000


class ActorRegistry:
    """The attempt actors of this process, and the flusher they share."""

    def __init__(
        self,
        store: Store,
        settings: Settings,
        *,
        engine: Any = None,
        clock: Callable[[], float] = time.monotonic,
        flusher: Flusher | None = None,
    ) -> None:
        self.store = store
        self.settings = settings
        self.clock = clock
        if engine is None:
            from scorm import runtime as engine
        self.engine = engine
        self.options = engine.RuntimeOptions(
            scorm12_suspend_data_max=settings.scorm12_suspend_data_max
        )
        self.flusher = flusher or Flusher(
            store,
            interval_ms=settings.flush_interval_ms,
            max_entries=settings.flush_max_entries,
            on_conflict=self._on_conflict,
        )
        self.flusher.on_conflict = self._on_conflict
        self.write_through = settings.flush_interval_ms == 0
        self._actors: OrderedDict[int, AttemptActor] = OrderedDict()
        self._activating: dict[int, asyncio.Future[AttemptActor]] = {}
        self._passivating: dict[int, asyncio.Future[None]] = {}
        self._tasks: set[asyncio.Task[Any]] = set()
        self._idle_task: asyncio.Task[None] | None = None

    def __len__(self) -> int:
        return len(self._actors)

    async def start(self) -> None:
        self.flusher.start()
        if self.settings.actor_idle_timeout > 0 and self._idle_task is None:
            self._idle_task = asyncio.get_running_loop().create_task(self._idle_loop())
        log.info("actor registry started")

    async def stop(self, timeout: float = 10.0) -> None:
        """Passivate every actor (flush and snapshot), then stop the flusher."""
        if self._idle_task is not None:
            self._idle_task.cancel()
            self._idle_task = None
        count = len(self._actors)
        await asyncio.gather(
            *(self.passivate(attempt_id, timeout=timeout) for attempt_id in list(self._actors)),
            return_exceptions=True,
        )
        await asyncio.gather(*self._tasks, return_exceptions=True)
        await self.flusher.stop(timeout)
        log.info("actor registry stopped after passivating %d actors", count)

    # Lookup and activation

    def lookup(self, attempt_id: int) -> AttemptActor | None:
        """Return the active actor of an attempt, marking it recently used."""
        actor = self._actors.get(attempt_id)
        if actor is not None:
            self._actors.move_to_end(attempt_id)
            actor.last_used = self.clock()
        return actor

    async def get(self, attempt_id: int) -> AttemptActor:
        """Return the attempt's actor, activating it when it is not in memory."""
        return self.lookup(attempt_id) or await self.activate(attempt_id)

    async def activate(self, attempt_id: int) -> AttemptActor:
        """Build the attempt's actor from its snapshot and log; raise AttemptNotFound."""
        while True:
            passivating = self._passivating.get(attempt_id)
            if passivating is not None:
                await asyncio.shield(passivating)
                continue
            actor = self.lookup(attempt_id)
            if actor is not None:
                return actor
            pending = self._activating.get(attempt_id)
            if pending is not None:
                return await asyncio.shield(pending)
            break

        future: asyncio.Future[AttemptActor] = asyncio.get_running_loop().create_future()
        self._activating[attempt_id] = future
        try:
            actor = await self._load(attempt_id)
        except BaseException as exc:
            future.set_exception(exc)
            future.add_done_callback(lambda f: f.exception())
            raise
        finally:
            del self._activating[attempt_id]
        actor.last_used = self.clock()
        self._actors[attempt_id] = actor
        future.set_result(actor)
        metrics.ACTIVATIONS.inc()
        metrics.ACTORS_ACTIVE.set(len(self._actors))
        self._evict_over_limit()
        return actor

    async def _load(self, attempt_id: int) -> AttemptActor:
        store = self.store
        attempt = await store.get_attempt(attempt_id)
        if attempt is None:
            raise AttemptNotFound(attempt_id)
        package = await store.get_package(attempt.package_id)
        if package is None:
            raise AttemptNotFound(
                attempt_id, f"package {attempt.package_id} of attempt {attempt_id} not found"
            )
        user = await store.get_user(attempt.user_id)
        info = package_info(package, user)
        actor = AttemptActor(
            attempt_id, attempt.user_id, info, self.flusher, self.engine, self.options
        )
        actor.item_summaries = {sco: dict(s) for sco, s in (attempt.items or {}).items()}

        snapshot = await store.get_snapshot(attempt_id)
        if snapshot is not None:
            actor.restore(codec.decode_snapshot(snapshot.data), snapshot.seq)
        entries = await store.read_log_rows(attempt_id, actor.seq)
        expected = actor.seq + 1
        for seq, _, _, _, _, _ in entries:
            if seq != expected:
                log.error(
                    "log of attempt %d has a gap: seq %d follows %d",
                    attempt_id, seq, expected - 1,
                )
            expected = seq + 1
        actor.replay(entries)
        # A new epoch fences the entries of this activation from a stale owner's.
        actor.epoch += 1
        actor.after_activation()
        log.debug(
            "activated attempt %d from snapshot seq %d and %d log entries",
            attempt_id, snapshot.seq if snapshot else 0, len(entries),
        )
        return actor

    # Durability

    async def wait_durable(self, actor: AttemptActor) -> None:
        """Wait until the actor's log entries are written; raise NotDurable or ActorStopped."""
        if actor.stopped:
            raise ActorStopped(actor.attempt_id)
        if actor.seq <= actor.durable_seq:
            return
        await self.flusher.wait_durable(actor.attempt_id)

    def snapshot_if_long(self, actor: AttemptActor) -> None:
        """Queue a snapshot once the log since the last one is long.

        Snapshots ride along with the next log flush, so this costs an
        encoding and no store round trip. It bounds the log that an
        activation after a crash replays.
        """
        since = actor.seq - max(actor.snapshot_seq, actor.snapshot_queued_seq)
        if since >= SNAPSHOT_EVERY_ENTRIES and not actor.stopped:
            self._queue_snapshot(actor)

    def _queue_snapshot(self, actor: AttemptActor) -> None:
        # The state is taken now, after the entries it reflects were queued, so
        # the snapshot is written with them or after them, never before.
        data = codec.encode_snapshot(actor.snapshot_state())
        actor.snapshot_stale = False
        actor.snapshot_queued_seq = actor.seq
        self.flusher.add_snapshot(actor, Snapshot(actor.attempt_id, actor.seq, data, utcnow()))

    async def _write_snapshot(self, actor: AttemptActor) -> None:
        seq = actor.seq
        self._queue_snapshot(actor)
        try:
            await self.flusher.wait_durable(actor.attempt_id)
        except (NotDurable, ActorStopped) as exc:
            # The log contains every change, so activation still works from an
            # older snapshot. The failed snapshot stays queued for the next flush.
            log.warning("snapshot of attempt %d at seq %d failed: %s", actor.attempt_id, seq, exc)
            actor.snapshot_stale = True

    # Passivation

    async def passivate(self, attempt_id: int, *, timeout: float | None = None) -> None:
        """Remove the attempt's actor, make its entries durable and snapshot it."""
        actor = self._detach(attempt_id)
        if actor is not None:
            await self._finish_passivation(actor, timeout)

    def _detach(self, attempt_id: int) -> AttemptActor | None:
        # Synchronous, so no call can reach the actor once passivation began.
        actor = self._actors.pop(attempt_id, None)
        if actor is None:
            return None
        metrics.ACTORS_ACTIVE.set(len(self._actors))
        self._passivating[attempt_id] = asyncio.get_running_loop().create_future()
        return actor

    async def _finish_passivation(self, actor: AttemptActor, timeout: float | None) -> None:
        try:
            await self._write_out(actor, timeout)
        finally:
            self._passivating.pop(actor.attempt_id).set_result(None)
            metrics.PASSIVATIONS.inc()

    async def _write_out(self, actor: AttemptActor, timeout: float | None) -> None:
        deadline = None if timeout is None else self.clock() + timeout
        while not actor.stopped and actor.seq > actor.durable_seq:
            try:
                await self.flusher.wait_durable(actor.attempt_id)
            except NotDurable:
                if deadline is not None and self.clock() >= deadline:
                    log.error(
                        "passivating attempt %d: log entries after seq %d not written",
                        actor.attempt_id, actor.durable_seq,
                    )
                    return
            except ActorStopped:
                return
        if not actor.stopped and (actor.seq > actor.snapshot_seq or actor.snapshot_stale):
            await self._write_snapshot(actor)

    async def passivate_idle(self) -> int:
        """Passivate idle actors and return how many.

        An actor is passivated after `actor_idle_timeout` seconds unused. It
        goes sooner, after `ended_actor_timeout` seconds, when none of its
        sessions is open. Its SCOs have then terminated, so a returning
        learner opens a new session, which an activation serves as well as
        memory does.
        """
        now = self.clock()
        idle_limit = now - self.settings.actor_idle_timeout
        ended_limit = now - self._ended_timeout()
        idle = [
            actor.attempt_id
            for actor in self._actors.values()
            if actor.last_used <= idle_limit
            or (not actor.open_sessions and actor.last_used <= ended_limit)
        ]
        if idle:
            await asyncio.gather(*(self.passivate(attempt_id) for attempt_id in idle))
        return len(idle)

    def _ended_timeout(self) -> float:
        return min(self.settings.ended_actor_timeout, self.settings.actor_idle_timeout)

    async def _idle_loop(self) -> None:
        period = max(1.0, min(self._ended_timeout() / 4, 30.0))
        while True:
            await asyncio.sleep(period)
            try:
                await self.passivate_idle()
            except Exception:
                log.exception("passivating idle actors failed")

    def _evict_over_limit(self) -> None:
        while len(self._actors) > max(1, self.settings.max_active_actors):
            actor = self._detach(next(iter(self._actors)))
            if actor is not None:
                self._spawn(self._finish_passivation(actor, None))

    def _on_conflict(self, attempt_id: int) -> None:
        actor = self._actors.pop(attempt_id, None)
        if actor is not None:
            actor.stopped = True
            metrics.ACTORS_ACTIVE.set(len(self._actors))
        log.warning("stopped the actor of attempt %d after a log conflict", attempt_id)

    def _spawn(self, coroutine: Any) -> None:
        task = asyncio.get_running_loop().create_task(coroutine)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)


def package_info(package: Package, user: Any) -> PackageInfo:
    """Return the launch facts of a package and learner that sessions need."""
    manifest = package.manifest or {}
    standard = manifest.get("standard") or STANDARDS.get(package.scorm_standard, "2004")
    items = package.items or []
    sco_ids = [item["identifier"] for item in items if item.get("scorm_type") == "sco"]
    default = None
    if sco_ids:
        default = sco_ids[0]
    elif items:
        default = items[0]["identifier"]
    runtime_data = {
        sco: dict(item.get("runtime") or {})
        for sco, item in (manifest.get("items") or {}).items()
    }
    for item in items:
        runtime_data.setdefault(item["identifier"], {})
    if user is None:
        learner_id, learner_name = "", ""
    else:
        learner_id = user.username
        learner_name = f"{user.last_name}, {user.first_name}"
    return PackageInfo(str(standard), sco_ids, default, runtime_data, learner_id, learner_name)
