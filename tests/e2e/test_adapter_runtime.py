"""The adapter in the player page against the server's real run-time.

One-SCO package records are written straight to the store before the server
starts, so these tests need the run-time endpoints but not package import.
The SCO frame stays empty and each test calls the API on the player window.
"""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest

from tests.e2e.live_server import Launch, Lms, ServerProcess, seed_packages, start_server
from tests.e2e.vectors import RUN_CALLS_JS, mismatches, split_sessions

pytestmark = pytest.mark.e2e

SERVER_POLL_SECONDS = 15.0
WAIT_SESSION_JS = """() => {
  const current = window.scormPlayer && window.scormPlayer.current();
  return Boolean(current && current.session);
}"""
# After a navigation request the player may have closed the session itself,
# and then it has already waited for the last batch. An urgent flush sends at
# once instead of after the adapter's minimum interval between requests.
FLUSH_JS = """() => {
  const current = window.scormPlayer.current();
  return current ? current.sender.flush(true).then(() => true) : true;
}"""
RETRYING_JS = "() => document.getElementById('save-status').dataset.state === 'retrying'"
UNSENT_KEYS_JS = "() => Object.keys(sessionStorage).filter((k) => k.startsWith('scorm-unsent:'))"


def one_sco(standard: str) -> dict[str, Any]:
    label = "SCORM 1.2" if standard == "1.2" else "SCORM 2004 4th Edition"
    return {
        "title": f"Vectors {standard}",
        "scorm_standard": label,
        "launch_path": "sco.html",
        "items": [{"identifier": "item_1", "title": "SCO", "scorm_type": "sco",
                   "launch_path": "sco.html"}],
        "manifest": {"standard": standard, "items": {"item_1": {}}},
    }


@pytest.fixture(scope="module")
def lms(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Lms]:
    data_dir = tmp_path_factory.mktemp("adapter-runtime")
    # Playwright's sync API runs an event loop in this thread, so the store is
    # seeded from another one.
    with ThreadPoolExecutor(max_workers=1) as executor:
        ids = executor.submit(
            asyncio.run, seed_packages(data_dir, {s: one_sco(s) for s in ("1.2", "2004")})
        ).result()
    server: ServerProcess = start_server(data_dir)
    lms = Lms(server)
    lms.packages.update(ids)
    yield lms
    server.stop()


@pytest.fixture
def page(browser: Any) -> Iterator[Any]:
    context = browser.new_context()
    page = context.new_page()
    yield page
    context.close()


def open_player(page: Any, launch: Launch) -> None:
    page.goto(launch.launch_url)
    page.wait_for_function(WAIT_SESSION_JS)


def disagreements(page: Any) -> list[str]:
    """Collect the adapter's console reports of results that differ from the server's."""
    messages: list[str] = []
    page.on("console", lambda message: messages.append(message.text)
            if "the server returned" in message.text else None)
    return messages


def wait_for_cmi(lms: Lms, attempt_id: int, expected: dict[str, str]) -> dict[str, str]:
    """Poll the attempt's CMI until it contains the expected values; return it.

    Batches sent with keepalive at page close reach the server after the page
    is gone, so nothing in the test can wait for them directly.
    """
    deadline = time.monotonic() + SERVER_POLL_SECONDS
    while True:
        state = lms.cmi(attempt_id).get("item_1", {})
        if all(state.get(key) == value for key, value in expected.items()):
            return state
        if time.monotonic() > deadline:
            return state
        time.sleep(0.1)


def test_vectors_match_server_results(page: Any, lms: Lms, vectors: dict[str, Any]) -> None:
    reported = disagreements(page)
    failures = {}
    replayed = 0
    for vector in vectors["vectors"]:
        # NOTE: vectors with launch data need manifest values per vector and
        # are not replayed here.
        if vector["level"] == "informative" or vector.get("launch"):
            continue
        launch = lms.launch(vector["standard"], b"", username="learner-001")
        start = len(reported)
        problems = []
        for calls in split_sessions(vector):
            open_player(page, launch)
            outcomes = page.evaluate(RUN_CALLS_JS, {"standard": vector["standard"], "calls": calls})
            page.evaluate(FLUSH_JS)
            problems.extend(mismatches(calls, outcomes))
        if problems or reported[start:]:
            failures[vector["id"]] = problems + reported[start:]
        replayed += 1

    assert replayed > 180
    assert failures == {}


def test_commit_reaches_server(page: Any, lms: Lms) -> None:
    launch = lms.launch("1.2", b"")
    open_player(page, launch)

    page.evaluate("""() => {
      window.API.LMSInitialize('');
      window.API.LMSSetValue('cmi.core.lesson_location', 'page-3');
      window.API.LMSSetValue('cmi.core.score.raw', '85');
      return window.API.LMSCommit('');
    }""")
    page.evaluate(FLUSH_JS)
    state = lms.cmi(launch.attempt_id)["item_1"]

    assert state["cmi.core.lesson_location"] == "page-3"
    assert state["cmi.core.score.raw"] == "85"


def test_value_set_before_close_arrives(page: Any, lms: Lms) -> None:
    launch = lms.launch("2004", b"")
    open_player(page, launch)
    page.evaluate("""() => {
      window.API_1484_11.Initialize('');
      window.API_1484_11.SetValue('cmi.location', 'early');
      window.API_1484_11.Commit('');
    }""")
    page.evaluate(FLUSH_JS)

    page.evaluate("() => window.API_1484_11.SetValue('cmi.suspend_data', 'set-before-close')")
    page.close(run_before_unload=True)
    state = wait_for_cmi(lms, launch.attempt_id, {"cmi.suspend_data": "set-before-close"})

    assert state.get("cmi.location") == "early"
    assert state.get("cmi.suspend_data") == "set-before-close"


def test_network_drop_loses_nothing(page: Any, lms: Lms) -> None:
    launch = lms.launch("1.2", b"")
    open_player(page, launch)
    page.route("**/runtime/**", lambda route: route.abort("internetdisconnected"))

    page.evaluate("""() => {
      window.API.LMSInitialize('');
      window.API.LMSSetValue('cmi.core.lesson_location', 'offline-1');
      window.API.LMSSetValue('cmi.suspend_data', 'offline-data');
      return window.API.LMSCommit('');
    }""")
    page.wait_for_function(RETRYING_JS)
    page.unroute("**/runtime/**")
    page.evaluate(FLUSH_JS)
    state = lms.cmi(launch.attempt_id)["item_1"]
    status = page.evaluate("() => document.getElementById('save-status').dataset.state")

    assert state["cmi.core.lesson_location"] == "offline-1"
    assert state["cmi.suspend_data"] == "offline-data"
    assert status == "saved"


def test_reload_resends_unsent_batch_once(page: Any, lms: Lms) -> None:
    launch = lms.launch("1.2", b"")
    open_player(page, launch)
    session_id = page.evaluate("() => window.scormPlayer.current().sender.sessionId")
    page.route("**/runtime/**", lambda route: route.abort("internetdisconnected"))
    page.evaluate("""() => {
      window.API.LMSInitialize('');
      window.API.LMSSetValue('cmi.suspend_data', 'kept-across-reload');
      return window.API.LMSCommit('');
    }""")
    page.wait_for_function(RETRYING_JS)
    stored = page.evaluate(UNSENT_KEYS_JS)
    # The unload path stays blocked too, so only sessionStorage keeps the calls.
    page.evaluate("() => { window.scormPlayer.current().sender.flushOnHide = () => {}; }")
    page.unroute("**/runtime/**")
    resent: list[dict[str, Any]] = []

    def record(request: Any) -> None:
        if request.method == "POST" and "/runtime/" in request.url:
            body = json.loads(request.post_data or "{}")
            if body.get("session_id") == session_id:
                resent.append(body)

    page.on("request", record)
    page.reload()
    page.wait_for_function(WAIT_SESSION_JS)
    page.evaluate(FLUSH_JS)
    state = lms.cmi(launch.attempt_id)["item_1"]
    left = page.evaluate(UNSENT_KEYS_JS)

    assert len(stored) == 1
    assert state.get("cmi.suspend_data") == "kept-across-reload"
    assert [body["batch_seq"] for body in resent] == [1]
    assert left == []


def test_second_tab_supersedes_first(browser: Any, lms: Lms) -> None:
    launch = lms.launch("1.2", b"")
    context = browser.new_context()
    first = context.new_page()
    second = context.new_page()
    open_player(first, launch)
    first.evaluate("() => window.API.LMSInitialize('')")

    open_player(second, launch)
    first.evaluate("""() => {
      window.API.LMSSetValue('cmi.core.lesson_location', 'old-tab');
      return window.API.LMSCommit('');
    }""")
    first.wait_for_selector("#notice:not([hidden])")
    notice = first.inner_text("#notice")
    state = lms.cmi(launch.attempt_id).get("item_1", {})
    context.close()

    assert "open in another window" in notice
    assert state.get("cmi.core.lesson_location") != "old-tab"


def test_exit_terminates_and_shows_summary(page: Any, lms: Lms) -> None:
    launch = lms.launch("2004", b"")
    open_player(page, launch)
    page.evaluate("""() => {
      window.API_1484_11.Initialize('');
      window.API_1484_11.SetValue('cmi.completion_status', 'completed');
      window.API_1484_11.SetValue('cmi.score.raw', '75');
    }""")

    page.click("#exit-button")
    page.wait_for_selector("#summary:not([hidden])")
    row = page.locator("#summary-rows tr").first.inner_text()
    state = lms.cmi(launch.attempt_id)["item_1"]

    assert state["cmi.completion_status"] == "completed"
    assert state["cmi.score.raw"] == "75"
    assert "completed" in row
