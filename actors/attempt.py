"""AttemptActor: the in-memory run-time state of one attempt.

The actor applies SCORM API calls to its sessions through the engine in
`scorm.runtime`, records what changed as log entries and hands them to the
flusher. Applying a call is synchronous: the actor never awaits, so two calls
of one attempt never interleave.

State per attempt: the flat CMI dict of each item, the sessions (open ones
and a few recently ended ones, so a retried batch still gets its results),
the last log seq and the last durable seq. The log replays into exactly this
state (`replay`), and `snapshot_state` serializes it.

Log entry kinds: `open` (a session opened), `batch` (a batch of calls that
changed CMI data or the session state), `call` (one call of the scorm-api
endpoints or of start/end_session). A batch of only GetValue-like calls writes
no entry: its `batch_seq` and results stay in memory (and in the next
snapshot). After an activation from the log, the first batch of each session
may therefore skip `batch_seq` numbers, which the actor accepts once, because
the skipped batches were read-only.
"""

from __future__ import annotations

import asyncio
import logging
import secrets
import sys
import time
from collections.abc import Iterable, Mapping
from typing import Any

from actors import codec, metrics
from actors.errors import (
    BatchSeqGap,
    InvalidBatch,
    NoOpenSession,
    SessionNotFound,
    SessionSuperseded,
)
from storage.base import LogRow
from storage.models import LogEntry

log = logging.getLogger(__name__)

METHODS = {
    "1.2": frozenset({
        "LMSInitialize", "LMSFinish", "LMSGetValue", "LMSSetValue", "LMSCommit",
        "LMSGetLastError", "LMSGetErrorString", "LMSGetDiagnostic",
    }),
    "2004": frozenset({
        "Initialize", "Terminate", "GetValue", "SetValue", "Commit",
        "GetLastError", "GetErrorString", "GetDiagnostic",
    }),
}
# Calls whose response waits until the batch's log entries are durable.
DURABLE_METHODS = frozenset({"Commit", "Terminate", "LMSCommit", "LMSFinish"})
# Error code of a Commit whose data could not be stored: SCORM 2004 391 "Commit
# Failed", SCORM 1.2 101 "General exception".
COMMIT_FAILED_CODE = {"1.2": 101, "2004": 391}
# Error codes of a call with no initialized session: SCORM 1.2 301; SCORM 2004
# 122 (GetValue), 132 (SetValue) and 112 (Terminate) before Initialize.
NOT_INITIALIZED_CODE = {
    ("1.2", "get"): 301, ("1.2", "set"): 301, ("1.2", "end"): 301,
    ("2004", "get"): 122, ("2004", "set"): 132, ("2004", "end"): 112,
}
NAMES = {
    "1.2": {"init": "LMSInitialize", "end": "LMSFinish", "get": "LMSGetValue",
            "set": "LMSSetValue", "string": "LMSGetErrorString",
            "diagnostic": "LMSGetDiagnostic"},
    "2004": {"init": "Initialize", "end": "Terminate", "get": "GetValue",
             "set": "SetValue", "string": "GetErrorString",
             "diagnostic": "GetDiagnostic"},
}
MAX_ARGS = 2
# Ended sessions kept per attempt so that a retried batch gets its results.
KEPT_ENDED_SESSIONS = 4


class SessionRecord:
    """One launch of a SCO: its API state, last batch and engine session."""

    __slots__ = (
        "id", "sco_id", "mode", "credit", "state", "batch_seq", "results",
        "entry_seq", "superseded", "lenient", "runtime",
    )

    def __init__(self, session_id: str, sco_id: str, mode: str, credit: str) -> None:
        self.id = session_id
        self.sco_id = sco_id
        self.mode = mode
        self.credit = credit
        self.state = "not_initialized"
        self.batch_seq = 0
        self.results: list[list[Any]] = []
        # The log seq that the response to the last batch depends on.
        self.entry_seq = 0
        self.superseded = False
        self.lenient = False
        self.runtime: Any = None

    def to_list(self) -> list[Any]:
        return [self.id, self.sco_id, self.mode, self.credit, self.state,
                self.batch_seq, self.results, self.entry_seq, self.superseded]

    @classmethod
    def from_list(cls, values: list[Any]) -> SessionRecord:
        record = cls(values[0], values[1], values[2], values[3])
        (record.state, record.batch_seq, record.results,
         record.entry_seq, record.superseded) = values[4:9]
        return record


class BatchOutcome:
    """The results of a batch and whether its response must wait for durability."""

    __slots__ = ("results", "wait", "standard")

    def __init__(self, results: list[list[Any]], wait: bool, standard: str) -> None:
        self.results = results
        self.wait = wait
        self.standard = standard


class PackageInfo:
    """Launch facts of an attempt's package and learner that sessions need."""

    def __init__(
        self,
        standard: str,
        sco_ids: list[str],
        default_sco: str | None,
        runtime_data: Mapping[str, Mapping[str, Any]],
        learner_id: str,
        learner_name: str,
    ) -> None:
        self.standard = standard
        self.sco_ids = sco_ids
        self.default_sco = default_sco
        self.runtime_data = runtime_data
        self.learner_id = learner_id
        self.learner_name = learner_name


class AttemptActor:
    """The run-time state of one attempt; see the module docstring."""

    def __init__(
        self,
        attempt_id: int,
        user_id: int,
        package: PackageInfo,
        flusher: Any,
        engine: Any,
        options: Any,
        *,
        epoch: int = 1,
    ) -> None:
        self.attempt_id = attempt_id
        self.user_id = user_id
        self.package = package
        self.standard = package.standard
        self.flusher = flusher
        self.engine = engine
        self.options = options
        self.epoch = epoch
        self.items: dict[str, dict[str, str]] = {}
        self.sessions: dict[str, SessionRecord] = {}
        self.open_sessions: dict[str, str] = {}
        self.item_summaries: dict[str, dict[str, Any]] = {}
        self.seq = 0
        self.durable_seq = 0
        self.snapshot_seq = 0
        # The seq of the snapshot handed to the flusher and not yet written.
        self.snapshot_queued_seq = 0
        self.stopped = False
        self.last_used = 0.0
        # Set by read-only batches, whose batch_seq only a snapshot keeps.
        self.snapshot_stale = False
        # Futures of requests waiting for an earlier batch, by session id.
        self._batch_waiters: dict[str, list[Any]] | None = None

    # Sessions

    def open_session(
        self, sco_id: str | None, mode: str = "normal", credit: str = "credit"
    ) -> SessionRecord:
        """Open a session of a SCO, superseding the SCO's open session if any."""
        sco_id = self.resolve_sco(sco_id)
        record = SessionRecord(secrets.token_urlsafe(16), sco_id, mode, credit)
        stored = self.items.get(sco_id, {})
        record.runtime = self.engine.open_session(
            self._launch(record), dict(stored), self.options
        )
        changes = record.runtime.pop_changes()
        record.state = record.runtime.state
        payload = {"o": {"sco": sco_id, "mode": mode, "credit": credit},
                   "d": changes, "s": record.state}
        self._supersede(sco_id)
        self._add_session(record)
        self._apply_changes(sco_id, changes)
        self._log(record, "open", payload)
        record.entry_seq = self.seq
        return record

    def resolve_sco(self, sco_id: str | None) -> str:
        if sco_id is None or sco_id == "":
            if self.package.default_sco is None:
                raise InvalidBatch(
                    f"attempt {self.attempt_id}'s package has no launchable item"
                )
            return self.package.default_sco
        if sco_id not in self.package.runtime_data and sco_id not in self.package.sco_ids:
            raise InvalidBatch(
                f"unknown sco_id {sco_id!r} for attempt {self.attempt_id}; "
                f"use one of {', '.join(self.package.sco_ids) or '(none)'}"
            )
        return sco_id

    def open_record(self, sco_id: str | None, kind: str) -> SessionRecord:
        """Return the open session of a SCO or raise NoOpenSession."""
        sco_id = self.resolve_sco(sco_id)
        session_id = self.open_sessions.get(sco_id)
        if session_id is None:
            code = NOT_INITIALIZED_CODE[(self.standard, kind)]
            raise NoOpenSession(self.attempt_id, sco_id, code)
        return self.sessions[session_id]

    # Calls

    def run_batch(
        self, session_id: str, batch_seq: int, calls: list[Any]
    ) -> BatchOutcome:
        """Apply a batch of API calls of one session, once per `batch_seq`.

        Raise SessionNotFound, SessionSuperseded, BatchSeqGap or InvalidBatch
        before anything is applied.
        """
        record = self.sessions.get(session_id)
        if record is None:
            raise SessionNotFound(self.attempt_id, session_id)
        if batch_seq == record.batch_seq:
            wait = record.entry_seq > self.durable_seq and _has_durable_call(calls)
            return BatchOutcome(record.results, wait, self.standard)
        if record.superseded:
            raise SessionSuperseded(self.attempt_id, session_id)
        if batch_seq < record.batch_seq or (
            batch_seq != record.batch_seq + 1 and not record.lenient
        ):
            raise BatchSeqGap(session_id, batch_seq, record.batch_seq + 1)
        parsed = self.parse_calls(calls)

        results, changes, durable = self._apply(record, parsed)
        record.lenient = False
        record.batch_seq = batch_seq
        record.results = results
        if changes or record.runtime.state != record.state:
            record.state = record.runtime.state
            payload = {"b": batch_seq, "x": codec.encode_calls(parsed, results),
                       "d": changes, "s": record.state}
            self._log(record, "batch", payload, summary=durable)
        else:
            self.snapshot_stale = True
            if durable:
                self._queue_summary(record)
        record.entry_seq = self.seq
        self._after_state_change(record)
        if self._batch_waiters and session_id in self._batch_waiters:
            for future in self._batch_waiters.pop(session_id):
                if not future.done():
                    future.set_result(None)
        return BatchOutcome(results, durable and self.seq > self.durable_seq, self.standard)

    async def wait_for_batch(self, session_id: str, batch_seq: int, timeout: float) -> bool:
        """Wait until the session has applied `batch_seq`; return whether it did in time.

        Requests sent together (a page that closes sends every unsent batch
        at once) can arrive out of order, so a batch that skips one waits
        briefly for the missing one instead of failing at once.
        """
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while True:
            record = self.sessions.get(session_id)
            if record is None or record.superseded or self.stopped:
                return False
            if record.batch_seq >= batch_seq:
                return True
            left = deadline - loop.time()
            if left <= 0:
                return False
            if self._batch_waiters is None:
                self._batch_waiters = {}
            future = loop.create_future()
            self._batch_waiters.setdefault(session_id, []).append(future)
            try:
                await asyncio.wait_for(future, left)
            except TimeoutError:
                return False
            finally:
                waiting = self._batch_waiters.get(session_id)
                if waiting and future in waiting:
                    waiting.remove(future)
                if not waiting:
                    self._batch_waiters.pop(session_id, None)

    def call(self, record: SessionRecord, method: str, args: list[str]) -> list[Any]:
        """Apply one call outside a batch (scorm-api endpoints, start/end_session)."""
        results, changes, durable = self._apply(record, [[method, args]])
        if changes or record.runtime.state != record.state:
            record.state = record.runtime.state
            payload = {"x": codec.encode_calls([[method, args]], results),
                       "d": changes, "s": record.state}
            self._log(record, "call", payload, summary=durable)
        elif durable:
            self._queue_summary(record)
        self._after_state_change(record)
        return results[0]

    def describe_error(self, record: SessionRecord, code: int) -> str:
        """Return "<error string>: <diagnostic>" of an error code, as the API states it."""
        runtime = self._runtime(record)
        names = NAMES[self.standard]
        text, _ = runtime.call(names["string"], [str(code)])
        diagnostic, _ = runtime.call(names["diagnostic"], [str(code)])
        if not diagnostic or diagnostic.startswith(text):
            return diagnostic or text
        return f"{text}: {diagnostic}"

    def parse_calls(self, calls: Any) -> list[list[Any]]:
        """Return calls as [method, args] pairs or raise InvalidBatch."""
        if not isinstance(calls, list):
            raise InvalidBatch("invalid batch: 'calls' must be a list of calls")
        methods = METHODS[self.standard]
        parsed = []
        for index, call in enumerate(calls):
            method = call.get("method") if isinstance(call, dict) else None
            if method not in methods:
                raise InvalidBatch(
                    f"invalid call {index}: method {method!r} is not a SCORM "
                    f"{self.standard} API function; use one of {', '.join(sorted(methods))}"
                )
            args = call.get("args", [])
            if not isinstance(args, list) or len(args) > MAX_ARGS:
                raise InvalidBatch(
                    f"invalid call {index} ({method}): 'args' must be a list of at "
                    f"most {MAX_ARGS} strings"
                )
            parsed.append([method, [_arg_string(index, method, arg) for arg in args]])
        return parsed

    def _apply(
        self, record: SessionRecord, parsed: list[list[Any]]
    ) -> tuple[list[list[Any]], dict[str, Any], bool]:
        runtime = self._runtime(record)
        results = []
        durable = False
        for method, args in parsed:
            value, code = runtime.call(method, args)
            results.append([value, code])
            if method in DURABLE_METHODS:
                durable = True
        metrics.RUNTIME_CALLS.inc(len(parsed))
        changes = runtime.pop_changes()
        if changes:
            self._apply_changes(record.sco_id, changes)
        return results, changes, durable

    def _runtime(self, record: SessionRecord) -> Any:
        if record.runtime is None:
            record.runtime = self.engine.RuntimeSession.resume(
                self._launch(record),
                dict(self.items.get(record.sco_id, {})),
                record.state,
                self.options,
            )
        return record.runtime

    def _launch(self, record: SessionRecord) -> Any:
        package = self.package
        data = dict(package.runtime_data.get(record.sco_id, {}))
        if "objective_ids" in data:
            data["objective_ids"] = tuple(data["objective_ids"] or ())
        return self.engine.LaunchData(
            standard=self.standard,
            learner_id=package.learner_id,
            learner_name=package.learner_name,
            credit=record.credit,
            mode=record.mode,
            **data,
        )

    # Log entries and summaries

    def _log(
        self,
        record: SessionRecord,
        kind: str,
        payload: dict[str, Any],
        *,
        summary: bool = False,
    ) -> None:
        self.seq += 1
        entry = LogEntry(
            attempt_id=self.attempt_id,
            seq=self.seq,
            epoch=self.epoch,
            item=record.sco_id,
            session=record.id,
            time=time.time(),
            kind=kind,
            payload=codec.encode_payload(payload),
        )
        fields = self._summary_fields(record) if summary else None
        self.flusher.append(self, [entry], fields)

    def _queue_summary(self, record: SessionRecord) -> None:
        self.flusher.append(self, [], self._summary_fields(record))

    def _summary_fields(self, record: SessionRecord) -> dict[str, Any]:
        """Return the attempt summary fields after a Commit or Terminate of `record`."""
        from storage.models import utcnow

        self.item_summaries[record.sco_id] = dict(record.runtime.summary())
        return attempt_summary(self.item_summaries, self.package.sco_ids, utcnow())

    def _after_state_change(self, record: SessionRecord) -> None:
        if record.state != "terminated":
            return
        # A terminated session accepts only the error calls, and an engine
        # session resumed in the "terminated" state returns the same results.
        # So the engine session and its copy of the CMI data are released.
        record.runtime = None
        if self.open_sessions.get(record.sco_id) == record.id:
            del self.open_sessions[record.sco_id]

    def _supersede(self, sco_id: str) -> None:
        old_id = self.open_sessions.get(sco_id)
        if old_id is not None and old_id in self.sessions:
            old = self.sessions[old_id]
            old.superseded = True
            old.runtime = None

    def _add_session(self, record: SessionRecord) -> None:
        self.sessions[record.id] = record
        self.open_sessions[record.sco_id] = record.id
        ended = [s for s in self.sessions.values()
                 if s.superseded or s.state == "terminated"]
        for old in ended[: max(0, len(ended) - KEPT_ENDED_SESSIONS)]:
            del self.sessions[old.id]

    def _apply_changes(self, sco_id: str, changes: Mapping[str, Any]) -> None:
        cmi = self.items.get(sco_id)
        if cmi is None:
            cmi = self.items[sco_id] = {}
        for element, value in changes.items():
            if value is None:
                cmi.pop(element, None)
            else:
                cmi[sys.intern(element)] = value

    # Replay and snapshots

    def replay(self, entries: Iterable[LogRow]) -> None:
        """Apply stored log entries in order, as the calls that made them did.

        `entries` are LogRow tuples, as `Store.read_log_rows` returns them.
        """
        # Activation replays up to 10,000 entries, so the loop keeps its
        # lookups in local variables and applies the CMI changes inline, as
        # `_apply_changes` does.
        decode = codec.decode_payload
        intern = sys.intern
        items = self.items
        sessions = self.sessions
        epoch = self.epoch
        seq = self.seq
        for seq, entry_epoch, item, session, kind, data in entries:
            payload = decode(data)
            if kind == "open":
                opening = payload["o"]
                record = SessionRecord(session, item, opening["mode"], opening["credit"])
                self._supersede(item)
                self._add_session(record)
            else:
                record = sessions.get(session)
                if record is None:
                    # An ended session that was pruned: only its CMI changes matter.
                    record = SessionRecord(session, item, "normal", "credit")
            state = record.state = payload["s"]
            if "b" in payload:
                record.batch_seq = payload["b"]
                # Decoded below, once per session: only the last batch's results matter.
                record.results = payload["x"]
            record.entry_seq = seq
            cmi = items.get(item)
            if cmi is None:
                cmi = items[item] = {}
            changes = payload.get("d")
            if changes:
                for element, value in changes.items():
                    if value is None:
                        cmi.pop(element, None)
                    else:
                        cmi[intern(element)] = value
            if state == "terminated":
                self._after_state_change(record)
            if entry_epoch > epoch:
                epoch = entry_epoch
        self.seq = seq
        self.epoch = epoch
        for record in sessions.values():
            if isinstance(record.results, bytes):
                record.results = codec.decode_calls(record.results)[1]
        self.durable_seq = self.seq

    def snapshot_state(self) -> dict[str, Any]:
        """Return the state as of `self.seq` as plain msgpack-able data."""
        return {
            "seq": self.seq,
            "epoch": self.epoch,
            "items": self.items,
            "sessions": [record.to_list() for record in self.sessions.values()],
            "open": self.open_sessions,
        }

    def restore(self, state: Mapping[str, Any], seq: int) -> None:
        """Load a snapshot's state; `seq` is the log position it reflects."""
        self.items = {
            sco: {sys.intern(k): v for k, v in cmi.items()}
            for sco, cmi in state["items"].items()
        }
        self.sessions = {}
        for values in state["sessions"]:
            record = SessionRecord.from_list(values)
            self.sessions[record.id] = record
        self.open_sessions = dict(state["open"])
        self.epoch = max(self.epoch, state.get("epoch", 1))
        self.seq = self.durable_seq = self.snapshot_seq = seq

    def after_activation(self) -> None:
        """Allow one `batch_seq` jump per session: skipped batches were read-only."""
        for record in self.sessions.values():
            record.lenient = True


def attempt_summary(
    item_summaries: Mapping[str, Mapping[str, Any]],
    sco_ids: list[str],
    now: Any,
) -> dict[str, Any]:
    """Return the Attempt summary fields from the per-SCO summaries.

    `is_complete` needs every SCO complete; `score` is the one SCO's raw score,
    or the mean over SCOs that have one.
    """
    summaries = list(item_summaries.values())
    scos = sco_ids or list(item_summaries)
    is_complete = bool(scos) and all(
        item_summaries.get(sco, {}).get("is_complete") for sco in scos
    )
    scores = [s["score"] for s in summaries if s.get("score") is not None]
    if len(summaries) == 1:
        completion = summaries[0].get("completion_status", "")
        success = summaries[0].get("success_status", "")
    else:
        completion = "completed" if is_complete else "incomplete"
        successes = {s.get("success_status") for s in summaries}
        success = "failed" if "failed" in successes else (
            "passed" if successes == {"passed"} else "unknown")
    return {
        "completion_status": completion or "",
        "success_status": success or "",
        "score": sum(scores) / len(scores) if scores else None,
        "is_complete": is_complete,
        "total_time_seconds": float(
            sum(s.get("total_time_seconds") or 0 for s in summaries)
        ),
        "last_accessed_at": now,
        "items": {sco: dict(s) for sco, s in item_summaries.items()},
    }


def _has_durable_call(calls: Any) -> bool:
    return isinstance(calls, list) and any(
        isinstance(call, dict) and call.get("method") in DURABLE_METHODS for call in calls
    )


def _arg_string(index: int, method: str, arg: Any) -> str:
    if isinstance(arg, str):
        return arg
    # JavaScript content often passes numbers; String(80) is "80" there.
    if isinstance(arg, bool):
        return "true" if arg else "false"
    if isinstance(arg, int):
        return str(arg)
    if isinstance(arg, float):
        return str(int(arg)) if arg.is_integer() else repr(arg)
    raise InvalidBatch(
        f"invalid call {index} ({method}): argument {arg!r} must be a string"
    )
