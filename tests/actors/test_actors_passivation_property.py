"""Passivation and re-activation give the same state as staying in memory."""

from __future__ import annotations

import asyncio
import tempfile
from pathlib import Path
from typing import Any

from hypothesis import HealthCheck, given, settings, strategies as st

from actors.registry import ActorRegistry
from storage.sqlite import SQLiteStore
from tests.actors.conftest import load_engine, make_settings, seed_attempt

ELEMENTS = ["cmi.location", "cmi.suspend_data", "cmi.score.raw", "cmi.exit",
            "cmi.completion_status", "cmi.interactions.0.id"]
VALUES = st.sampled_from(["", "a", "50", "suspend", "completed", "q1", "x" * 300, "-1"])
CALL = st.one_of(
    st.tuples(st.just("SetValue"), st.sampled_from(ELEMENTS), VALUES),
    st.tuples(st.just("GetValue"), st.sampled_from(ELEMENTS), st.just("")),
    st.tuples(st.sampled_from(["Commit", "Terminate", "Initialize"]), st.just(""),
              st.just("")),
)
# A step is a batch of calls, a new session, or (for the second run) a passivation.
STEP = st.one_of(
    st.lists(CALL, min_size=1, max_size=5),
    st.just("open"),
    st.just("passivate"),
)


def as_call(method: str, element: str, value: str) -> dict[str, Any]:
    if method == "SetValue":
        return {"method": method, "args": [element, value]}
    return {"method": method, "args": [element] if method == "GetValue" else [""]}


async def play(path: Path, steps: list[Any], passivate: bool) -> dict[str, Any]:
    store = SQLiteStore(path / "store.sqlite3")
    await store.open()
    attempt_id = await seed_attempt(store)
    registry = ActorRegistry(store, make_settings(path), engine=load_engine())
    await registry.start()

    session_id, batch_seq, answers = None, 0, []
    for step in [["open"], *steps]:
        actor = await registry.get(attempt_id)
        if step == "passivate":
            if passivate:
                await registry.passivate(attempt_id)
            continue
        if step == "open" or step == ["open"]:
            session_id, batch_seq = actor.open_session(None).id, 0
            continue
        batch_seq += 1
        outcome = actor.run_batch(session_id, batch_seq, [as_call(*c) for c in step])
        answers.append(outcome.results)

    actor = await registry.get(attempt_id)
    state = {
        "items": actor.items,
        "answers": answers,
        "seq": actor.seq,
        "sessions": {sid: (r.state, r.batch_seq, r.superseded)
                     for sid, r in actor.sessions.items()},
    }
    await registry.stop()
    entries = await store.read_log(attempt_id)
    state["log"] = [e.seq for e in entries]
    await store.close()
    return state


@settings(max_examples=60, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(steps=st.lists(STEP, max_size=12))
def test_passivation_keeps_state(steps: list[Any]) -> None:
    with tempfile.TemporaryDirectory() as first, tempfile.TemporaryDirectory() as second:
        in_memory = asyncio.run(play(Path(first), steps, passivate=False))
        passivated = asyncio.run(play(Path(second), steps, passivate=True))

    assert passivated["items"] == in_memory["items"]
    assert passivated["answers"] == in_memory["answers"]
    assert sorted(passivated["sessions"].values()) == sorted(in_memory["sessions"].values())
    assert passivated["seq"] == in_memory["seq"]
    assert passivated["log"] == list(range(1, passivated["seq"] + 1))
