"""Conformance vectors of the SCORM 1.2 and 2004 run-time API, run on the engine.

Vectors of level "required" and "recommended" must pass; "informative" ones
run too and are reported as expected failures when the engine differs.
SCORM 1.2 runs with the standard's 4096-character cmi.suspend_data maximum.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from scorm.runtime import RuntimeOptions
from tests.conftest import find_shared_dir
from tests.runtime_harness import Player, build_launch, matches

STRICT_12 = RuntimeOptions(scorm12_suspend_data_max=4096)


def _load(shared: Path) -> dict:
    return json.loads(
        (shared / "conformance" / "vectors.json").read_text(encoding="utf-8")
    )


def _vector_ids() -> list[str]:
    path = find_shared_dir() / "conformance" / "vectors.json"
    if not path.is_file():
        return []
    return [vector["id"] for vector in _load(find_shared_dir())["vectors"]]


@pytest.fixture(scope="module")
def vectors(shared_dir: Path) -> dict:
    document = _load(shared_dir)
    return {
        "defaults": document["defaults"],
        "by_id": {v["id"]: v for v in document["vectors"]},
    }


def _run(vector: dict, defaults: dict) -> list[str]:
    """Run one vector; return one message per call whose outcome differs."""
    standard = vector["standard"]
    launch_values = {**defaults["launch"][standard], **vector.get("launch", {})}
    launch, stored = build_launch(standard, launch_values)
    player = Player(launch, stored, STRICT_12)
    failures = []
    for step, call in enumerate(vector["calls"]):
        if call["fn"] == "#relaunch":
            override = call.get("launch")
            relaunch = (
                build_launch(standard, {**launch_values, **override})[0]
                if override
                else None
            )
            player.relaunch(relaunch)
            continue
        returned, error = player.call(call["fn"], call.get("args", []))
        expect = call["expect"]
        mode = expect.get("match", "exact")
        if (
            not matches(mode, expect["return"], returned)
            or str(error) != expect["error"]
        ):
            failures.append(
                f"step {step} {call['fn']}{tuple(call.get('args', []))!r:.120}: got "
                f"({returned[:80]!r}, {error}), expected ({expect['return'][:80]!r}, "
                f"{expect['error']}) match={mode}"
            )
    return failures


@pytest.mark.parametrize("vector_id", _vector_ids())
def test_vector(vector_id: str, vectors: dict) -> None:
    vector = vectors["by_id"][vector_id]

    failures = _run(vector, vectors["defaults"])

    if failures and vector["level"] == "informative":
        pytest.xfail("informative vector differs: " + "; ".join(failures))
    assert not failures, "\n".join(failures)


def test_vector_file_has_vectors(vectors: dict) -> None:
    assert len(vectors["by_id"]) >= 200
