"""The player in Chromium against a real `python -m server`, with real packages.

Each test uploads packages over HTTP, starts an attempt for a new learner,
opens its launch URL and checks what reached the server through the REST API.
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.e2e.live_server import Launch, Lms, ServerProcess, one_sco_package, start_server
from tests.e2e.vectors import RUN_CALLS_JS, mismatches, split_sessions

pytestmark = pytest.mark.e2e

GOLF_12 = "scorm12_golf_RuntimeBasicCalls.zip"
GOLF_2004 = "scorm2004-3rd_golf_RuntimeBasicCalls_moodle.zip"
GOLF_2004_MULTI = "scorm2004-3rd_golf_SequencingForcedSequential.zip"
GOLF_PAGES = 15
SERVER_POLL_SECONDS = 15.0

WAIT_RUNNING_JS = """() => {
  const current = window.scormPlayer && window.scormPlayer.current();
  return Boolean(current && current.session && current.session.state === "running");
}"""
# After a navigation request the player may have closed the session itself,
# and then it has already waited for the last batch. An urgent flush sends at
# once instead of after the adapter's minimum interval between requests.
FLUSH_JS = """() => {
  const current = window.scormPlayer.current();
  return current ? current.sender.flush(true).then(() => true) : true;
}"""


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerProcess]:
    process = start_server(tmp_path_factory.mktemp("player-server"))
    yield process
    process.stop()


@pytest.fixture(scope="module")
def lms(server: ServerProcess) -> Lms:
    return Lms(server)


@pytest.fixture
def page(browser: Any) -> Iterator[Any]:
    context = browser.new_context(viewport={"width": 1280, "height": 800})
    page = context.new_page()
    page.on("dialog", lambda dialog: dialog.accept())
    yield page
    context.close()


def package_bytes(shared_dir: Path, name: str) -> bytes:
    return (shared_dir / "packages" / name).read_bytes()


def wait_for_cmi(lms: Lms, attempt_id: int, item: str | None, expected: dict[str, str]) -> dict[str, str]:
    """Poll the attempt's CMI until it contains the expected values; return it.

    Batches sent with keepalive at page close reach the server after the page
    is gone, so nothing in the test can wait for them directly.
    """
    deadline = time.monotonic() + SERVER_POLL_SECONDS
    while True:
        items = lms.cmi(attempt_id)
        state = items.get(item, {}) if item else next(iter(items.values()), {})
        if all(state.get(key) == value for key, value in expected.items()):
            return state
        if time.monotonic() > deadline:
            return state
        time.sleep(0.1)


def open_player(page: Any, launch: Launch) -> None:
    page.goto(launch.launch_url)
    page.wait_for_function(WAIT_RUNNING_JS)


def console_warnings(page: Any) -> list[str]:
    messages: list[str] = []
    page.on("console", lambda message: messages.append(message.text)
            if message.type in ("warning", "error") else None)
    return messages


def test_golf12_click_through_and_close(page: Any, lms: Lms, shared_dir: Path) -> None:
    launch = lms.launch(GOLF_12, package_bytes(shared_dir, GOLF_12))
    open_player(page, launch)
    sco = page.frame_locator("#sco-frame")

    for _ in range(GOLF_PAGES - 1):
        sco.locator("#butNext").click()
    page.evaluate("() => window.API.LMSSetValue('cmi.suspend_data', 'set-before-close')")
    page.close(run_before_unload=True)
    state = wait_for_cmi(lms, launch.attempt_id, None, {
        "cmi.core.lesson_status": "completed",
        "cmi.suspend_data": "set-before-close",
    })
    report = lms.report(launch.user_id, launch.course_id)

    assert state.get("cmi.core.lesson_status") == "completed"
    assert state.get("cmi.core.lesson_location") == str(GOLF_PAGES - 1)
    assert state.get("cmi.suspend_data") == "set-before-close"
    assert state.get("cmi.core.session_time", "").count(":") == 2
    attempts = [a for a in report["attempts"] if a["id"] == launch.attempt_id]
    assert attempts[0]["completion_status"] == "completed"


def test_golf12_resume_sees_bookmark(page: Any, lms: Lms, shared_dir: Path) -> None:
    launch = lms.launch(GOLF_12, package_bytes(shared_dir, GOLF_12))
    open_player(page, launch)
    sco = page.frame_locator("#sco-frame")
    for _ in range(3):
        sco.locator("#butNext").click()
    page.click("#exit-button")
    page.wait_for_selector("#summary:not([hidden])")

    page.goto(launch.launch_url)
    page.wait_for_function(WAIT_RUNNING_JS)
    entry = page.evaluate("() => window.API.LMSGetValue('cmi.core.entry')")
    location = page.evaluate("() => window.API.LMSGetValue('cmi.core.lesson_location')")

    assert entry == "resume"
    assert location == "3"


def test_golf2004_click_through_and_close(page: Any, lms: Lms, shared_dir: Path) -> None:
    launch = lms.launch(GOLF_2004, package_bytes(shared_dir, GOLF_2004))
    open_player(page, launch)
    sco = page.frame_locator("#sco-frame")

    for _ in range(GOLF_PAGES - 1):
        sco.locator("#butNext").click()
    page.evaluate("() => window.API_1484_11.SetValue('cmi.suspend_data', 'set-before-close')")
    page.close(run_before_unload=True)
    state = wait_for_cmi(lms, launch.attempt_id, None, {
        "cmi.completion_status": "completed",
        "cmi.suspend_data": "set-before-close",
    })

    assert state.get("cmi.completion_status") == "completed"
    assert state.get("cmi.location") == str(GOLF_PAGES - 1)
    assert state.get("cmi.suspend_data") == "set-before-close"


def test_only_matching_api_on_window(page: Any, lms: Lms, shared_dir: Path) -> None:
    launch = lms.launch(GOLF_2004, package_bytes(shared_dir, GOLF_2004))
    open_player(page, launch)

    has_12 = page.evaluate("() => typeof window.API")
    has_2004 = page.evaluate("() => typeof window.API_1484_11.Initialize")

    assert has_12 == "undefined"
    assert has_2004 == "function"


def test_multi_sco_player_and_summary(
    page: Any, lms: Lms, shared_dir: Path, artifacts_dir: Path
) -> None:
    launch = lms.launch(GOLF_2004_MULTI, package_bytes(shared_dir, GOLF_2004_MULTI))
    open_player(page, launch)
    page.frame_locator("#sco-frame").locator("body").wait_for()
    page.screenshot(path=str(artifacts_dir / "player-multi-sco.png"))
    titles = page.locator(".toc-item").all_inner_texts()

    page.click("#next-button")
    page.wait_for_function(
        "() => window.scormPlayer.current() && window.scormPlayer.current().index === 1 "
        "&& window.scormPlayer.current().session.state === 'running'"
    )
    page.evaluate("() => window.API_1484_11.SetValue('cmi.location', 'second-sco')")
    page.click("#exit-button")
    page.wait_for_selector("#summary:not([hidden])")
    page.screenshot(path=str(artifacts_dir / "player-summary.png"))
    rows = page.locator("#summary-rows tr").count()
    state = wait_for_cmi(lms, launch.attempt_id, "etuqiette_item", {"cmi.location": "second-sco"})

    assert titles[:2] == ["Playing the Game", "Etiquette"]
    assert len(titles) == 5
    assert rows == 5
    assert state.get("cmi.location") == "second-sco"


def test_network_drop_loses_nothing(page: Any, lms: Lms, shared_dir: Path) -> None:
    launch = lms.launch(GOLF_12, package_bytes(shared_dir, GOLF_12))
    open_player(page, launch)
    page.route("**/runtime/**", lambda route: route.abort("internetdisconnected"))

    page.evaluate("""() => {
      window.API.LMSSetValue('cmi.core.lesson_location', 'offline-1');
      window.API.LMSSetValue('cmi.suspend_data', 'offline-data');
      return window.API.LMSCommit('');
    }""")
    page.wait_for_function("() => document.getElementById('save-status').dataset.state === 'retrying'")
    page.unroute("**/runtime/**")
    page.evaluate(FLUSH_JS)
    state = wait_for_cmi(lms, launch.attempt_id, None, {"cmi.suspend_data": "offline-data"})

    assert state.get("cmi.core.lesson_location") == "offline-1"
    assert state.get("cmi.suspend_data") == "offline-data"


def test_reload_resends_unsent_batches_once(page: Any, lms: Lms, shared_dir: Path) -> None:
    launch = lms.launch(GOLF_12, package_bytes(shared_dir, GOLF_12))
    open_player(page, launch)
    session_id = page.evaluate("() => window.scormPlayer.current().sender.sessionId")
    page.route("**/runtime/**", lambda route: route.abort("internetdisconnected"))
    page.evaluate("""() => {
      window.API.LMSSetValue('cmi.suspend_data', 'kept-across-reload');
      return window.API.LMSCommit('');
    }""")
    page.wait_for_function("() => document.getElementById('save-status').dataset.state === 'retrying'")
    stored = page.evaluate("() => Object.keys(sessionStorage).filter(k => k.startsWith('scorm-unsent:'))")
    # Nothing leaves the page while it unloads either, so only sessionStorage keeps the calls.
    page.evaluate("() => { window.scormPlayer.current().sender.flushOnHide = () => {}; }")
    resent: list[dict[str, Any]] = []

    def record(request: Any) -> None:
        if request.method == "POST" and "/runtime/" in request.url:
            body = json.loads(request.post_data or "{}")
            if body.get("session_id") == session_id:
                resent.append(body)

    page.unroute("**/runtime/**")
    page.reload()
    page.on("request", record)
    page.wait_for_function(WAIT_RUNNING_JS)
    page.evaluate(FLUSH_JS)
    state = wait_for_cmi(lms, launch.attempt_id, None, {"cmi.suspend_data": "kept-across-reload"})
    left = page.evaluate("() => Object.keys(sessionStorage).filter(k => k.startsWith('scorm-unsent:'))")

    assert len(stored) == 1
    assert state.get("cmi.suspend_data") == "kept-across-reload"
    assert len({body["batch_seq"] for body in resent}) == len(resent)
    assert left == []


def test_superseded_session_shows_notice(browser: Any, lms: Lms, shared_dir: Path) -> None:
    launch = lms.launch(GOLF_12, package_bytes(shared_dir, GOLF_12))
    context = browser.new_context()
    first = context.new_page()
    second = context.new_page()
    open_player(first, launch)

    open_player(second, launch)
    first.evaluate("() => { window.API.LMSSetValue('cmi.core.lesson_location', 'old-tab'); "
                   "return window.API.LMSCommit(''); }")
    first.wait_for_selector("#notice:not([hidden])")
    notice = first.inner_text("#notice")
    context.close()

    assert "open in another window" in notice


def run_vector_sessions(page: Any, lms: Lms, vector: dict[str, Any], zip_bytes: bytes) -> list[str]:
    """Replay a vector through the player of a fresh attempt; return the mismatches."""
    name = f"vectors-{vector['standard']}.zip"
    # The vectors expect the learner id and name of their default launch data.
    launch = lms.launch(name, zip_bytes, username="learner-001")
    problems: list[str] = []
    for calls in split_sessions(vector):
        page.goto(launch.launch_url)
        page.wait_for_function("() => window.scormPlayer && window.scormPlayer.current() "
                               "&& window.scormPlayer.current().session")
        outcomes = page.evaluate(RUN_CALLS_JS, {"standard": vector["standard"], "calls": calls})
        page.evaluate(FLUSH_JS)
        problems.extend(mismatches(calls, outcomes))
    return problems


def test_vectors_match_server(page: Any, lms: Lms, vectors: dict[str, Any]) -> None:
    warnings = console_warnings(page)
    packages = {standard: one_sco_package(standard) for standard in ("1.2", "2004")}
    failures = {}
    replayed = 0
    for vector in vectors["vectors"]:
        # NOTE: vectors with launch data need a package per manifest value and
        # are left to the server's own vector run (tools/run_vectors.py).
        if vector["level"] == "informative" or vector.get("launch"):
            continue
        start = len(warnings)
        problems = run_vector_sessions(page, lms, vector, packages[vector["standard"]])
        disagreements = [w for w in warnings[start:] if "the server returned" in w]
        if problems or disagreements:
            failures[vector["id"]] = problems + disagreements
        replayed += 1

    assert replayed > 180
    assert failures == {}
