"""The adapter's local results match the conformance vectors, in Chromium.

These tests load datamodel.js and adapter.js into a blank page and replay
every required and recommended vector that needs one session. Vectors that
relaunch the SCO need the server, so they run in test_player_server.py.
"""

from __future__ import annotations

from typing import Any

import pytest

from tests.e2e.conftest import STATIC_DIR
from tests.e2e.vectors import RUN_CALLS_JS, mismatches, split_sessions

pytestmark = pytest.mark.e2e

# What the server presents at Initialize besides the vector's launch data.
SERVER_DEFAULTS = {
    "1.2": {"cmi.core.entry": "ab-initio", "cmi.core.lesson_status": "not attempted"},
    "2004": {},
}

START_SESSION_JS = """
({standard, cmi, suspendDataMax}) => {
  window.currentSession = new ScormAdapter.ScoSession(
    {standard, cmi, modelOptions: {suspendDataMax}});
  ScormAdapter.install(window, standard, () => window.currentSession);
}
"""


def launch_cmi(vectors: dict[str, Any], vector: dict[str, Any]) -> dict[str, str]:
    """Build the CMI values a server presents for the vector's launch data."""
    standard = vector["standard"]
    cmi = dict(SERVER_DEFAULTS[standard])
    cmi.update(vectors["defaults"]["launch"][standard])
    for key, value in vector.get("launch", {}).items():
        if key == "manifest.objectives":
            for index, objective_id in enumerate(value):
                cmi[f"cmi.objectives.{index}.id"] = objective_id
                cmi[f"cmi.objectives.{index}.success_status"] = "unknown"
                cmi[f"cmi.objectives.{index}.completion_status"] = "unknown"
        else:
            cmi[key] = value
    return cmi


@pytest.fixture(scope="module")
def page(browser: Any) -> Any:
    page = browser.new_page()
    page.set_content("<!doctype html><title>adapter</title>")
    page.add_script_tag(path=str(STATIC_DIR / "datamodel.js"))
    page.add_script_tag(path=str(STATIC_DIR / "adapter.js"))
    yield page
    page.close()


def test_vectors_match_in_page(page: Any, vectors: dict[str, Any]) -> None:
    failures = {}
    replayed = 0
    for vector in vectors["vectors"]:
        sessions = split_sessions(vector)
        if vector["level"] == "informative" or len(sessions) > 1:
            continue
        standard = vector["standard"]
        page.evaluate(START_SESSION_JS, {
            "standard": standard,
            "cmi": launch_cmi(vectors, vector),
            "suspendDataMax": 4096 if standard == "1.2" else 64000,
        })
        outcomes = page.evaluate(RUN_CALLS_JS, {"standard": standard, "calls": sessions[0]})
        problems = mismatches(sessions[0], outcomes)
        if problems:
            failures[vector["id"]] = problems
        replayed += 1

    assert replayed > 150
    assert failures == {}


def test_only_matching_api_installed(browser: Any) -> None:
    page = browser.new_page()
    page.set_content("<!doctype html><title>adapter</title>")
    page.add_script_tag(path=str(STATIC_DIR / "datamodel.js"))
    page.add_script_tag(path=str(STATIC_DIR / "adapter.js"))
    page.evaluate(START_SESSION_JS, {"standard": "1.2", "cmi": {}, "suspendDataMax": 4096})
    has_2004 = page.evaluate("() => 'API_1484_11' in window && window.API_1484_11 !== undefined")
    has_12 = page.evaluate("() => typeof window.API.LMSInitialize === 'function'")
    page.close()

    assert has_12
    assert not has_2004
