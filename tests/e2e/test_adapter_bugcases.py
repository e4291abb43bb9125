"""Failures reported against other SCORM players, replayed on this player in Chromium.

The recorded bug cases whose layer names the adapter, the browser or the
player run step by step through the player page. Their steps are API calls
from the SCO frame, launches, page unloads, history navigation, request
counts and checks of the state that reached the server. What the cases describe in prose (frame
topologies, other origins, unload handlers) is tested by hand, one test per
kind of failure and for both standards where both apply.

One server, one Chromium and one small HTTP server for pages of another
origin (another port of 127.0.0.1) serve the whole module.
"""

from __future__ import annotations

import html
import http.server
import io
import json
import re
import threading
import time
import urllib.parse
import zipfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from scorm.types import duration_centiseconds, timespan_centiseconds
from tests.conftest import find_shared_dir
from tests.e2e.live_server import Launch, Lms, ServerProcess, free_port, start_server

pytestmark = pytest.mark.e2e

SERVER_POLL_SECONDS = 15.0
ITEM = "item_1"
PACKAGES = {"1.2": "bugcases-1.2.zip", "2004": "bugcases-2004.zip"}
TWO_SCOS = "bugcases-two-scos.zip"
# One learner takes every attempt, because creating a user hashes a password slowly.
LEARNER = "bugcase-learner"
LAYER_WORDS = ("adapter", "browser", "player")
# Actions of cases that this module does not replay: "load" drives hundreds of
# sessions against the server alone, which the load tests under loadtests/ do.
SERVER_ONLY_ACTIONS = {"load"}

# SCORM 1.2 returns 201 (invalid argument) for an unknown element inside
# cmi.core and 401 for an unknown category, as the conformance vectors
# require. A case that expects 401 for both is checked against 201 here.
CORE_CHILDREN_12 = frozenset((
    "student_id", "student_name", "lesson_location", "credit", "lesson_status", "entry",
    "score", "total_time", "lesson_mode", "exit", "session_time",
))
# Disagreements between the adapter and the server that a replay accepts, by
# the end of the adapter's console report. The two check access before the
# index alike, so none is accepted.
TOLERATED_DISAGREEMENTS: tuple[str, ...] = ()
# Metrics of a measure step that are durations on the test machine.
TIMING_METRICS = frozenset({"main_thread_block_per_call_ms_max", "commit_call_returns_ms_max"})

# ------------------------------------------------------------ pages in the package

# API discovery as SCORM content does it: the window and its parents up to 7
# levels, then the top window's opener and its parents. A window of another
# origin ends the search as "blocked".
DISCOVERY_JS = """
function discoverApi() {
  function search(start, via) {
    let win = start;
    for (let level = 0; level <= 7; level++) {
      let api12;
      let api2004;
      try {
        api12 = win.API;
        api2004 = win.API_1484_11;
      } catch (error) {
        return { via, level, blocked: error.name };
      }
      if (api12 || api2004) {
        return { via, level, api12: Boolean(api12), api2004: Boolean(api2004),
                 api: api2004 || api12, is2004: Boolean(api2004) };
      }
      if (!win.parent || win.parent === win) return null;
      win = win.parent;
    }
    return null;
  }
  let found = search(window, "parent");
  if (!found && window.top.opener) found = search(window.top.opener, "opener");
  return found;
}
"""

PROBE_PAGE = f"""<!doctype html><title>probe</title><p>API discovery probe</p>
<script>
{DISCOVERY_JS}
const found = discoverApi();
const result = {{ found: Boolean(found && found.api) }};
if (found) {{
  Object.assign(result, {{ via: found.via, level: found.level, blocked: found.blocked || null,
                          api12: Boolean(found.api12), api2004: Boolean(found.api2004) }});
}}
if (found && found.api) {{
  result.learnerId = found.is2004
    ? found.api.GetValue("cmi.learner_id") : found.api.LMSGetValue("cmi.core.student_id");
}}
window.probeResult = result;
</script>"""

# A wrapper page that nests `depth` frames around the probe.
FRAMES_PAGE = """<!doctype html><title>frames</title>
<script>
const query = new URLSearchParams(location.search);
const depth = Number(query.get("depth"));
const inner = document.createElement("iframe");
inner.src = depth > 1 ? `frames.html?depth=${depth - 1}&n=${query.get("n")}`
                      : `probe.html?n=${query.get("n")}`;
document.documentElement.append(inner);
</script>"""

# A SCO that sets its data without Commit and finishes from the page
# dismissal handler named in ?event=, storing what LMSFinish/Terminate returned.
UNLOAD_SCO_PAGE = """<!doctype html><title>unload SCO</title><p>SCO that finishes at unload</p>
<script>
const eventName = new URLSearchParams(location.search).get("event");
let host = window;
while (!host.API && !host.API_1484_11 && host.parent !== host) host = host.parent;
const is2004 = Boolean(host.API_1484_11);
const api = host.API_1484_11 || host.API;
const call = (name12, name2004, ...args) => api[is2004 ? name2004 : name12](...args);
// A copy that the browser restores into the frame before the player opens a
// session gets "false" here and records nothing.
const initialized = call("LMSInitialize", "Initialize", "") === "true";
call("LMSSetValue", "SetValue", is2004 ? "cmi.location" : "cmi.core.lesson_location", "p12");
call("LMSSetValue", "SetValue", is2004 ? "cmi.session_time" : "cmi.core.session_time",
     is2004 ? "PT42S" : "00:00:42");
call("LMSSetValue", "SetValue", is2004 ? "cmi.exit" : "cmi.core.exit", "suspend");
window.addEventListener(eventName, () => {
  if (!initialized) return;
  const returned = call("LMSFinish", "Terminate", "");
  const error = call("LMSGetLastError", "GetLastError");
  localStorage.setItem("unload-result",
    JSON.stringify({ type: typeof returned, returned: String(returned), error }));
});
document.body.dataset.ready = "true";
</script>"""

SCO_PAGE = "<!doctype html><title>SCO</title><p id='sco'>A SCO driven by the test.</p>"

MANIFEST_12 = """<?xml version="1.0" encoding="UTF-8"?>
<manifest identifier="bugcases12" version="1.0"
  xmlns="http://www.imsproject.org/xsd/imscp_rootv1p1p2"
  xmlns:adlcp="http://www.adlnet.org/xsd/adlcp_rootv1p2">
  <metadata><schema>ADL SCORM</schema><schemaversion>1.2</schemaversion></metadata>
  <organizations default="org"><organization identifier="org"><title>Bug cases 1.2</title>
    <item identifier="item_1" identifierref="res_1"><title>SCO</title></item>
  </organization></organizations>
  <resources><resource identifier="res_1" type="webcontent" adlcp:scormtype="sco"
    href="sco.html"><file href="sco.html"/></resource></resources>
</manifest>"""

MANIFEST_2004 = """<?xml version="1.0" encoding="UTF-8"?>
<manifest identifier="bugcases2004" version="1.0"
  xmlns="http://www.imsglobal.org/xsd/imscp_v1p1"
  xmlns:adlcp="http://www.adlnet.org/xsd/adlcp_v1p3">
  <metadata><schema>ADL SCORM</schema><schemaversion>2004 4th Edition</schemaversion></metadata>
  <organizations default="org"><organization identifier="org"><title>Bug cases 2004</title>
    <item identifier="item_1" identifierref="res_1"><title>SCO</title></item>
  </organization></organizations>
  <resources><resource identifier="res_1" type="webcontent" adlcp:scormType="sco"
    href="sco.html"><file href="sco.html"/></resource></resources>
</manifest>"""


MANIFEST_TWO_SCOS = """<?xml version="1.0" encoding="UTF-8"?>
<manifest identifier="bugcasestwo" version="1.0"
  xmlns="http://www.imsproject.org/xsd/imscp_rootv1p1p2"
  xmlns:adlcp="http://www.adlnet.org/xsd/adlcp_rootv1p2">
  <metadata><schema>ADL SCORM</schema><schemaversion>1.2</schemaversion></metadata>
  <organizations default="org"><organization identifier="org"><title>Two SCOs</title>
    <item identifier="item_1" identifierref="res_1"><title>First</title></item>
    <item identifier="item_2" identifierref="res_2"><title>Second</title></item>
  </organization></organizations>
  <resources>
    <resource identifier="res_1" type="webcontent" adlcp:scormtype="sco" href="sco.html">
      <file href="sco.html"/></resource>
    <resource identifier="res_2" type="webcontent" adlcp:scormtype="sco" href="second.html">
      <file href="second.html"/></resource>
  </resources>
</manifest>"""


def zip_package(files: dict[str, str]) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for name, text in files.items():
            archive.writestr(name, text)
    return buffer.getvalue()


def probe_package(standard: str) -> bytes:
    """Build a one-SCO package whose files include the probe and wrapper pages."""
    return zip_package({
        "imsmanifest.xml": MANIFEST_12 if standard == "1.2" else MANIFEST_2004,
        "sco.html": SCO_PAGE,
        "probe.html": PROBE_PAGE,
        "frames.html": FRAMES_PAGE,
        "unload.html": UNLOAD_SCO_PAGE,
    })


# ------------------------------------------------------------ page instrumentation

# Runs in every frame before its scripts: records each run-time request (fetch,
# keep-alive fetch, beacon) and every synchronous XMLHttpRequest, tagged with
# the API call that was running. The kinds of all but plain fetches also go to
# localStorage, so a test can read them after the page is gone.
NETWORK_LOG_JS = """
(() => {
  const log = [];
  window.__e2eNet = log;
  window.__e2eCall = -1;
  const record = (entry) => {
    let call = -1;
    try { call = window.top.__e2eCall; } catch (error) { call = -1; }
    log.push({ ...entry, call });
    if (entry.kind === "fetch") return;
    try {
      const kinds = JSON.parse(localStorage.getItem("e2e-transport") || "[]");
      kinds.push(entry.kind);
      localStorage.setItem("e2e-transport", JSON.stringify(kinds));
    } catch (error) {
      // Opaque origins have no localStorage.
    }
  };
  const originalFetch = window.fetch;
  window.fetch = function (input, init) {
    const url = typeof input === "string" ? input : input.url;
    if (url.includes("/runtime/")) {
      const body = init && typeof init.body === "string" ? init.body : null;
      record({ kind: init && init.keepalive ? "keepalive" : "fetch", body });
    }
    return originalFetch.apply(this, arguments);
  };
  const originalBeacon = navigator.sendBeacon.bind(navigator);
  navigator.sendBeacon = (url, data) => {
    if (String(url).includes("/runtime/")) record({ kind: "beacon", body: null });
    return originalBeacon(url, data);
  };
  const originalOpen = XMLHttpRequest.prototype.open;
  XMLHttpRequest.prototype.open = function (method, url, async) {
    if (async === false) record({ kind: "sync-xhr", body: null });
    return originalOpen.apply(this, arguments);
  };
})();
"""

WAIT_SESSION_JS = """() => {
  const current = window.scormPlayer && window.scormPlayer.current();
  return Boolean(current && current.session);
}"""
WAIT_SCO_JS = """() => {
  const current = window.scormPlayer && window.scormPlayer.current();
  const frame = document.getElementById("sco-frame");
  if (!current || !current.session || !frame.contentDocument) return false;
  return frame.contentWindow.location.pathname.endsWith("/sco.html")
    && frame.contentDocument.readyState === "complete";
}"""
# An urgent flush sends at once instead of after the adapter's minimum
# interval between requests.
FLUSH_JS = """() => {
  const current = window.scormPlayer && window.scormPlayer.current();
  return current && current.sender ? current.sender.flush(true).then(() => true) : true;
}"""
# Calls one API function from the frame it runs in, after finding the API
# through the parents as a SCO does. Returns the outcome and the call's duration.
CALL_JS = """({fn, args, call}) => {
  let host = window;
  while (!host.API && !host.API_1484_11 && host.parent !== host) host = host.parent;
  const api = host.API_1484_11 || host.API;
  const lastError = host.API_1484_11 ? "GetLastError" : "LMSGetLastError";
  window.top.__e2eCall = call;
  const started = performance.now();
  const returned = api[fn](...args);
  const elapsed = performance.now() - started;
  return { type: typeof returned, value: String(returned), error: api[lastError](), elapsed };
}"""
# Calls the given API functions from the SCO frame's handler of `event` and
# stores their outcomes in localStorage under `key`.
CALLS_AT_EVENT_JS = """({event, calls, key}) => {
  window.addEventListener(event, () => {
    let host = window;
    while (!host.API && !host.API_1484_11 && host.parent !== host) host = host.parent;
    const api = host.API_1484_11 || host.API;
    const lastError = host.API_1484_11 ? "GetLastError" : "LMSGetLastError";
    const outcomes = calls.map((call) => {
      const returned = api[call.fn](...call.args);
      return { type: typeof returned, value: String(returned), error: api[lastError]() };
    });
    localStorage.setItem(key, JSON.stringify(outcomes));
  });
}"""
# The value the current session's data model presents for each element, or
# null for an element that the SCO cannot read (write-only).
PRESENTED_VALUES_JS = """(elements) => {
  const model = window.scormPlayer.current().session.model;
  const values = {};
  for (const element of elements) {
    try {
      values[element] = model.getValue(element);
    } catch (error) {
      values[element] = null;
    }
  }
  return values;
}"""
LOAD_IN_SCO_FRAME_JS = "(url) => { document.getElementById('sco-frame').src = url; }"

# Functions that only read the error state; the adapter does not send them.
ERROR_FUNCTIONS = {
    "LMSGetLastError", "LMSGetErrorString", "LMSGetDiagnostic",
    "GetLastError", "GetErrorString", "GetDiagnostic",
}
COMMIT_FUNCTIONS = {"LMSCommit", "Commit"}
VALUE_FUNCTIONS = {"LMSGetValue", "LMSSetValue", "GetValue", "SetValue"}
SET_FUNCTIONS = {"LMSSetValue", "SetValue"}


# ------------------------------------------------------------------ fixtures


class ForeignSiteHandler(http.server.BaseHTTPRequestHandler):
    """Pages of another site: any path returns a page, and ?frame=URL embeds URL."""

    def do_GET(self) -> None:
        query = urllib.parse.parse_qs(urllib.parse.urlsplit(self.path).query)
        frame = ""
        if "frame" in query:
            source = html.escape(query["frame"][0], quote=True)
            frame = f"<iframe id='lms-frame' width='900' height='700' src='{source}'></iframe>"
        body = f"<!doctype html><title>other site</title>{frame}".encode()
        self.send_response(200)
        self.send_header("Content-Type", "text/html; charset=utf-8")
        self.send_header("Cache-Control", "no-store")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: Any) -> None:
        return


@pytest.fixture(scope="module")
def foreign_origin() -> Iterator[str]:
    """Serve pages of another origin (another port of 127.0.0.1) and return its URL.

    A real server is needed, because Chromium blocks requests to 127.0.0.1
    from pages that a Playwright route fulfills, as they count as public.
    """
    site = http.server.ThreadingHTTPServer(("127.0.0.1", free_port()), ForeignSiteHandler)
    thread = threading.Thread(target=site.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{site.server_address[1]}"
    site.shutdown()
    site.server_close()
    thread.join()


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerProcess]:
    process = start_server(tmp_path_factory.mktemp("adapter-bugcases"))
    yield process
    process.stop()


@pytest.fixture(scope="module")
def lms(server: ServerProcess) -> Lms:
    lms = Lms(server)
    for standard, name in PACKAGES.items():
        lms.package(name, probe_package(standard))
    lms.package(TWO_SCOS, zip_package({
        "imsmanifest.xml": MANIFEST_TWO_SCOS, "sco.html": SCO_PAGE, "second.html": SCO_PAGE,
    }))
    return lms


@pytest.fixture
def context(browser: Any) -> Iterator[Any]:
    context = browser.new_context()
    context.add_init_script(NETWORK_LOG_JS)
    yield context
    context.close()


@pytest.fixture(scope="module")
def cases(shared_dir: Path) -> dict[str, dict[str, Any]]:
    return {case["id"]: case for case in browser_cases(shared_dir)}


def browser_cases(shared: Path) -> list[dict[str, Any]]:
    document = json.loads((shared / "bugcases" / "cases.json").read_text(encoding="utf-8"))
    return [case for case in document["cases"]
            if any(word in case.get("layer", "") for word in LAYER_WORDS)]


def stepped_case_ids() -> list[str]:
    path = find_shared_dir() / "bugcases" / "cases.json"
    if not path.is_file():
        return []
    return [case["id"] for case in browser_cases(find_shared_dir()) if case.get("steps")]


# ------------------------------------------------------------------- helpers


def open_player(page: Any, launch: Launch) -> None:
    page.goto(launch.launch_url)
    page.wait_for_function(WAIT_SCO_JS)


def sco_frame(page: Any) -> Any:
    frame = page.frame(name="sco")
    assert frame is not None, "the player page has no SCO frame"
    return frame


def api_call(page: Any, fn: str, *args: str) -> tuple[str, str]:
    """Call an API function from the SCO frame; return (value, GetLastError)."""
    outcome = sco_frame(page).evaluate(CALL_JS, {"fn": fn, "args": list(args), "call": -1})
    assert outcome["type"] == "string", f"{fn} returned a {outcome['type']}"
    return outcome["value"], outcome["error"]


def flush(page: Any) -> None:
    page.evaluate(FLUSH_JS)


def collect_disagreements(page: Any) -> list[str]:
    """Collect the adapter's console reports of results that differ from the server's."""
    messages: list[str] = []

    def record(message: Any) -> None:
        text = message.text
        if "the server returned" in text and not text.endswith(TOLERATED_DISAGREEMENTS):
            messages.append(text)

    page.on("console", record)
    return messages


def collect_page_errors(page: Any) -> list[str]:
    errors: list[str] = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    return errors


def seconds(standard: str, value: str) -> float:
    if standard == "1.2":
        return timespan_centiseconds(value) / 100
    return duration_centiseconds(value) / 100


def wait_for_state(lms: Lms, attempt_id: int, done: Any) -> dict[str, str]:
    """Poll the attempt's CMI of the item until `done(state)` is true; return it.

    Batches sent with keepalive while a page unloads reach the server after
    the page is gone, so nothing in the test can wait for them directly.
    """
    deadline = time.monotonic() + SERVER_POLL_SECONDS
    while True:
        state = lms.cmi(attempt_id).get(ITEM, {})
        if done(state) or time.monotonic() > deadline:
            return state
        time.sleep(0.1)


def probe_url(page: Any, server: ServerProcess, path: str) -> str:
    content_base = page.evaluate("() => window.scormPlayer.config.contentBase")
    return f"{server.base_url}{content_base}{path}"


def probe_result(page: Any, nonce: str) -> dict[str, Any]:
    """Wait for the probe page loaded with ?n=nonce in any frame of `page`; return its result."""
    deadline = time.monotonic() + SERVER_POLL_SECONDS
    while True:
        for frame in page.frames:
            address = urllib.parse.urlsplit(frame.url)
            nonces = urllib.parse.parse_qs(address.query).get("n")
            if address.path.endswith("/probe.html") and nonces == [nonce]:
                frame.wait_for_function("() => window.probeResult !== undefined")
                return frame.evaluate("() => window.probeResult")
        assert time.monotonic() < deadline, f"no probe page with n={nonce} loaded"
        page.wait_for_timeout(50)


def launch_for(lms: Lms, standard: str, username: str = LEARNER) -> Launch:
    """Start a new attempt of the standard's package; each attempt has its own state."""
    return lms.launch(PACKAGES[standard], b"", username=username)


# -------------------------------------------------------- the cases, step by step


def expand_argument(value: Any, index: int | None = None) -> str:
    if isinstance(value, dict) and value.get("gen") == "repeat":
        return str(value["unit"]) * int(value["count"])
    text = str(value)
    return text.replace("{i}", str(index)) if index is not None else text


def standard_of(function: str) -> str:
    return "1.2" if function.startswith("LMS") else "2004"


def outcome_problems(standard: str, expect: dict[str, Any], outcome: dict[str, Any]) -> list[str]:
    """Compare one call's outcome with the case's `expect` object."""
    value, error = outcome["value"], outcome["error"]
    problems = []
    if outcome["type"] != "string":
        problems.append(f"returned a {outcome['type']}, not a string")
    if "return" in expect and value != expect["return"]:
        problems.append(f"returned {value[:60]!r}, expected {expect['return'][:60]!r}")
    if "return_one_of" in expect and value not in expect["return_one_of"]:
        problems.append(f"returned {value[:60]!r}, expected one of {expect['return_one_of']}")
    if "return_regex" in expect and not re.search(expect["return_regex"], value):
        problems.append(f"returned {value[:60]!r}, expected a match of {expect['return_regex']!r}")
    if "return_length" in expect and len(value) != expect["return_length"]:
        problems.append(f"returned {len(value)} characters, expected {expect['return_length']}")
    if "return_not" in expect and value == expect["return_not"]:
        problems.append(f"returned {value!r}, which the case excludes")
    if "return_duration_seconds" in expect:
        actual = seconds(standard, value)
        if actual != expect["return_duration_seconds"]:
            problems.append(f"returned {value!r} ({actual} s), "
                            f"expected {expect['return_duration_seconds']} s")
    if "error" in expect and error != expect["error"]:
        problems.append(f"left error {error}, expected {expect['error']}")
    return problems


class CaseRun:
    """Replays the steps of one case in one browser context.

    Calls run in the SCO frame. "launch" opens the launch URL again, and
    "switch_package" starts an attempt of the other standard's package for
    the same learner. "unload" and "browser_history" leave the player page.
    "check_server" reads the CMI state over the REST API, and "measure"
    checks requests and call durations since the previous "measure".
    """

    def __init__(self, case: dict[str, Any], lms: Lms, context: Any, foreign: str) -> None:
        self.case = case
        self.lms = lms
        self.context = context
        self.foreign = foreign
        self.page = context.new_page()
        self.disagreements = collect_disagreements(self.page)
        self.page_errors = collect_page_errors(self.page)
        self.standard: str | None = None
        self.launch: Launch | None = None
        self.player_open = False
        self.failures: list[str] = []
        # One entry per API call: (function, args, outcome).
        self.calls: list[tuple[str, list[str], dict[str, Any]]] = []
        self.phase_start = 0
        self.pending_event_calls: list[tuple[int, str, list[dict[str, Any]]]] = []
        self.replaced_error: str | None = None

    def run(self) -> list[str]:
        for number, step in enumerate(self.case["steps"]):
            if "call" in step:
                self.call(number, step, None)
            elif step["do"] in SERVER_ONLY_ACTIONS:
                continue
            else:
                handler = getattr(self, "do_" + step["do"], None)
                if handler is None:
                    self.failures.append(f"step {number}: action {step['do']!r} is not replayed")
                    continue
                handler(number, step)
        if self.player_open:
            flush(self.page)
        self.failures.extend(f"server and adapter disagree: {text}" for text in self.disagreements)
        self.failures.extend(f"page error: {text}" for text in self.page_errors)
        return self.failures

    # -- launching

    def open(self, launch: Launch) -> None:
        open_player(self.page, launch)
        self.player_open = True
        self.check_event_calls()

    def start_attempt(self, standard: str) -> None:
        self.standard = standard
        self.launch = launch_for(self.lms, standard)
        self.open(self.launch)
        state = self.case.get("setup", {}).get("server_state", {}).get(standard)
        if state:
            self.seed(state)

    def seed(self, state: dict[str, str]) -> None:
        """Make the server present `state`: a first session sets what a fresh attempt lacks.

        Read-only values come from the server's own rules; cmi.entry "resume"
        comes from ending the first session with exit "suspend".
        """
        presented = self.page.evaluate(PRESENTED_VALUES_JS, list(state))
        if all(presented[key] in (None, value) for key, value in state.items()):
            return
        is2004 = self.standard == "2004"
        prefix = "" if is2004 else "LMS"
        api_call(self.page, f"{prefix}Initialize", "")
        for key, value in state.items():
            api_call(self.page, f"{prefix}SetValue", key, value)
        if state.get("cmi.entry" if is2004 else "cmi.core.entry") == "resume":
            api_call(self.page, f"{prefix}SetValue", "cmi.exit" if is2004 else "cmi.core.exit",
                     "suspend")
        api_call(self.page, "Terminate" if is2004 else "LMSFinish", "")
        flush(self.page)
        assert self.launch is not None
        self.open(self.launch)

    def do_launch(self, number: int, step: dict[str, Any]) -> None:
        if self.player_open:
            flush(self.page)
        standard = step.get("package", self.standard) or self.first_standard()
        if step.get("new_attempt") or self.launch is None or standard != self.standard:
            self.start_attempt(standard)
        else:
            self.open(self.launch)

    def first_standard(self) -> str:
        return standard_of(next(step["call"] for step in self.case["steps"] if "call" in step))

    def do_switch_package(self, number: int, step: dict[str, Any]) -> None:
        if self.player_open:
            flush(self.page)
        self.start_attempt(step["package"])

    # -- calls

    def call(self, number: int, step: dict[str, Any], index: int | None) -> None:
        function = step["call"]
        if not self.player_open or standard_of(function) != self.standard:
            self.start_attempt(standard_of(function))
        args = [expand_argument(arg, index) for arg in step.get("args", [])]
        expect = self.vector_expectation(function, args, step.get("expect", {}))
        if function not in ERROR_FUNCTIONS:
            # The error code the next GetLastError must return, where it differs from the case's.
            replaced = expect.get("error") != step.get("expect", {}).get("error")
            self.replaced_error = expect["error"] if replaced else None
        outcome = sco_frame(self.page).evaluate(
            CALL_JS, {"fn": function, "args": args, "call": len(self.calls)})
        self.calls.append((function, args, outcome))
        assert self.standard is not None
        for problem in outcome_problems(self.standard, expect, outcome):
            self.failures.append(f"step {number} {function}{tuple(args)!r:.80}: {problem}")

    def vector_expectation(
        self, function: str, args: list[str], expect: dict[str, Any]
    ) -> dict[str, Any]:
        """Return `expect`, or what the conformance vectors require where the case differs."""
        if function in ("LMSGetValue", "LMSSetValue") and expect.get("error") == "401":
            category, _, child = args[0].rpartition(".")
            if category == "cmi.core" and child not in CORE_CHILDREN_12:
                return {**expect, "error": "201"}
        if function == "LMSGetLastError" and self.replaced_error is not None:
            return {**expect, "return": self.replaced_error}
        return expect

    def do_loop(self, number: int, step: dict[str, Any]) -> None:
        # A step's "within_seconds" is not asserted, for the same reason as
        # TIMING_METRICS.
        for index in range(int(step["times"])):
            for body_step in step["body"]:
                self.call(number, body_step, index)

    # -- page life

    def do_unload(self, number: int, step: dict[str, Any]) -> None:
        """Leave the player page; calls listed in `during` run in the SCO's handler."""
        event = step.get("via", "pagehide")
        during = step.get("during", [])
        if during:
            calls = [{"fn": call["call"], "args": [expand_argument(a) for a in call["args"]]}
                     for call in during]
            sco_frame(self.page).evaluate(
                CALLS_AT_EVENT_JS, {"event": event, "calls": calls, "key": f"e2e-during-{number}"})
            self.pending_event_calls.append((number, event, during))
        self.page.goto(f"{self.foreign}/elsewhere.html")
        self.player_open = False

    def check_event_calls(self) -> None:
        """Check the outcomes that handlers of an earlier page stored in localStorage."""
        for number, event, during in self.pending_event_calls:
            key = f"e2e-during-{number}"
            stored = self.page.evaluate("(key) => localStorage.getItem(key)", key)
            if stored is None:
                self.failures.append(f"step {number}: the calls in the {event} handler did not run")
                continue
            for call, outcome in zip(during, json.loads(stored)):
                assert self.standard is not None
                for problem in outcome_problems(self.standard, call.get("expect", {}), outcome):
                    self.failures.append(f"step {number} {call['call']} at {event}: {problem}")
        self.pending_event_calls = []

    def do_browser_history(self, number: int, step: dict[str, Any]) -> None:
        """Navigate to another site and back; the player page must load its state afresh."""
        if self.player_open:
            flush(self.page)
        self.page.goto(f"{self.foreign}/elsewhere.html")
        self.page.go_back()
        self.page.wait_for_function(WAIT_SCO_JS)
        self.player_open = True

    # -- the server

    def do_check_server(self, number: int, step: dict[str, Any]) -> None:
        if self.player_open:
            flush(self.page)
        expected = step.get("expect_state", {})
        assert self.launch is not None and self.standard is not None
        standard = self.standard

        def matches(key: str, want: Any, state: dict[str, str]) -> bool:
            actual = state.get(key)
            if actual is None:
                return False
            if isinstance(want, dict) and "seconds" in want:
                return seconds(standard, actual) == want["seconds"]
            if isinstance(want, dict) and "length" in want:
                return len(actual) == want["length"]
            return actual == want

        state = wait_for_state(self.lms, self.launch.attempt_id,
                               lambda s: all(matches(k, v, s) for k, v in expected.items()))
        for key, want in expected.items():
            if not matches(key, want, state):
                self.failures.append(f"step {number}: server has {key}={state.get(key)!r}, "
                                     f"expected {want}")

    def do_measure(self, number: int, step: dict[str, Any]) -> None:
        """Check request counts, call durations and batch contents since the last measure."""
        flush(self.page)
        log = self.page.evaluate("() => window.__e2eNet")
        start, end = self.phase_start, len(self.calls)
        self.phase_start = end
        phase_calls = self.calls[start:end]
        requests = [entry for entry in log if start <= entry["call"] < end]
        runtime = [entry for entry in requests if entry["kind"] != "sync-xhr"]

        def function_of(entry: dict[str, Any]) -> str:
            return self.calls[entry["call"]][0]

        measured: dict[str, Any] = {
            "http_requests_during_set_get":
                sum(function_of(entry) in VALUE_FUNCTIONS for entry in runtime),
            "http_requests_for_commit":
                sum(function_of(entry) in COMMIT_FUNCTIONS for entry in runtime),
            # Every request from the phase's first call until the flush, which
            # includes any 2 s window of a phase that lasts at most 2 s.
            "http_commit_requests_in_2s_max": len(runtime),
            "sync_xhr": sum(entry["kind"] == "sync-xhr" for entry in log),
        }
        for name, expected in step.get("expect", {}).items():
            if name in measured and name.endswith("_max"):
                ok = measured[name] <= expected
            elif name in measured:
                ok = measured[name] == expected
            elif name in TIMING_METRICS:
                # Timings are not asserted: the test machines are shared and
                # noisy. The request counts above check the coalescing.
                continue
            elif name == "commit_payload":
                ok, measured[name] = self.payload_sent_once(phase_calls, runtime)
            elif name == "final_state_complete":
                ok, measured[name] = self.last_values_stored(phase_calls)
            else:
                self.failures.append(f"step {number}: metric {name!r} is not measured")
                continue
            if not ok:
                self.failures.append(f"step {number}: {name} is {measured[name]}, "
                                     f"expected {expected}")

    def payload_sent_once(
        self, phase_calls: list[Any], runtime: list[dict[str, Any]]
    ) -> tuple[bool, str]:
        """Check that the batches of a phase carry its calls once each, in order.

        The player sends the SCO's calls, not a diff of the data model (the
        server replays them and returns each call's result), so "only changed
        elements" means: no call of an earlier batch is sent again.
        """
        sent = []
        for entry in runtime:
            body = json.loads(entry["body"] or "{}")
            sent.extend((call["method"], call["args"]) for call in body.get("calls", []))
        expected = [(fn, args) for fn, args, _ in phase_calls if fn not in ERROR_FUNCTIONS]
        if sent == expected:
            return True, "each call once"
        return False, f"{len(sent)} calls sent for {len(expected)} calls made"

    def last_values_stored(self, phase_calls: list[Any]) -> tuple[bool, str]:
        last = {args[0]: args[1] for fn, args, outcome in phase_calls
                if fn in SET_FUNCTIONS and outcome["value"] == "true"}
        assert self.launch is not None
        state = self.lms.cmi(self.launch.attempt_id).get(ITEM, {})
        wrong = {key: state.get(key) for key, value in last.items() if state.get(key) != value}
        return not wrong, f"server differs in {wrong}" if wrong else "complete"


@pytest.mark.parametrize("case_id", stepped_case_ids())
def test_bugcase_in_browser(
    case_id: str, cases: dict[str, dict[str, Any]], lms: Lms, context: Any, foreign_origin: str
) -> None:
    run = CaseRun(cases[case_id], lms, context, foreign_origin)

    failures = run.run()

    assert not failures, "\n".join(failures)


# ------------------------------------------------ API discovery and exposure


@pytest.mark.parametrize("standard", ["1.2", "2004"])
def test_api_found_through_frames(
    standard: str, lms: Lms, context: Any, server: ServerProcess
) -> None:
    launch = launch_for(lms, standard)
    page = context.new_page()
    errors = collect_page_errors(page)
    open_player(page, launch)
    prefix = "" if standard == "2004" else "LMS"
    api_call(page, f"{prefix}Initialize", "")
    learner = api_call(page, f"{prefix}GetValue",
                       "cmi.learner_id" if standard == "2004" else "cmi.core.student_id")[0]
    own_window = page.evaluate(f"() => {{ {DISCOVERY_JS}; const f = discoverApi(); "
                               "return { via: f.via, level: f.level }; }")
    results = {}
    # The SCO frame is level 1; wrapper frames (toolbars, launchers) add levels
    # up to the 7 that the discovery algorithm searches.
    for depth in (1, 3, 7):
        nonce = f"depth{depth}"
        if depth == 1:
            path = f"probe.html?n={nonce}"
        else:
            path = f"frames.html?depth={depth - 1}&n={nonce}"
        page.evaluate(LOAD_IN_SCO_FRAME_JS, probe_url(page, server, path))
        results[depth] = probe_result(page, nonce)

    assert own_window == {"via": "parent", "level": 0}
    for depth, result in results.items():
        assert result["found"], f"no API found {depth} levels down: {result}"
        assert (result["via"], result["level"]) == ("parent", depth)
        assert result["api12"] == (standard == "1.2")
        assert result["api2004"] == (standard == "2004")
        assert result["learnerId"] == learner
    assert errors == []


@pytest.mark.parametrize("standard", ["1.2", "2004"])
def test_api_found_from_popups(
    standard: str, lms: Lms, context: Any, server: ServerProcess
) -> None:
    launch = launch_for(lms, standard)
    page = context.new_page()
    errors = collect_page_errors(page)
    open_player(page, launch)
    api_call(page, "Initialize" if standard == "2004" else "LMSInitialize", "")
    openers = {
        # The player window opens the SCO, so the API is on its opener.
        "player": (page.main_frame, "probe.html?n=player", 0),
        # The SCO in the frame opens a page: the API is on the opener's parent.
        "sco": (sco_frame(page), "probe.html?n=sco", 1),
        # The popup is a wrapper page with the SCO in a frame.
        "sco-wrapper": (sco_frame(page), "frames.html?depth=1&n=sco-wrapper", 1),
    }
    results = {}
    for name, (opener, path, _) in openers.items():
        with context.expect_page() as popup_info:
            opener.evaluate("(url) => { window.open(url, '_blank'); }",
                            probe_url(page, server, path))
        popup = popup_info.value
        results[name] = probe_result(popup, name)
        popup.close()

    for name, (_, _, level) in openers.items():
        result = results[name]
        assert result["found"], f"no API found from the popup opened by {name}: {result}"
        assert (result["via"], result["level"]) == ("opener", level)
        assert result["api2004"] == (standard == "2004")
        assert result["learnerId"] == LEARNER
    assert errors == []


# ------------------------------------------------------ pages of other origins


def player_frame(page: Any) -> Any:
    """Wait for the player page inside a frame of `page` and return that frame."""
    deadline = time.monotonic() + SERVER_POLL_SECONDS
    while True:
        for frame in page.frames:
            if urllib.parse.urlsplit(frame.url).path.startswith("/player/"):
                frame.wait_for_function(WAIT_SCO_JS)
                return frame
        assert time.monotonic() < deadline, "the player page did not load in a frame"
        page.wait_for_timeout(50)


def test_player_framed_by_other_origin(
    lms: Lms, context: Any, server: ServerProcess, foreign_origin: str
) -> None:
    launch = launch_for(lms, "2004")
    page = context.new_page()
    errors = collect_page_errors(page)

    page.goto(f"{foreign_origin}/lms.html?frame={urllib.parse.quote(launch.launch_url)}")
    player = player_frame(page)
    player.evaluate("() => window.API_1484_11.Initialize('')")
    player.evaluate(LOAD_IN_SCO_FRAME_JS, probe_url(player, server, "probe.html?n=framed"))
    result = probe_result(page, "framed")
    player.evaluate("() => window.API_1484_11.SetValue('cmi.location', 'framed')")
    player.evaluate("() => window.API_1484_11.Commit('')")
    player.evaluate(FLUSH_JS)
    state = lms.cmi(launch.attempt_id).get(ITEM, {})

    assert result["found"]
    assert (result["via"], result["level"]) == ("parent", 1)
    assert state.get("cmi.location") == "framed"
    assert errors == []


def test_player_opened_by_other_origin(
    lms: Lms, context: Any, server: ServerProcess, foreign_origin: str
) -> None:
    launch = launch_for(lms, "1.2")
    opener = context.new_page()
    opener.goto(f"{foreign_origin}/lms.html")

    with context.expect_page() as player_info:
        opener.evaluate("(url) => { window.open(url, '_blank'); }", launch.launch_url)
    page = player_info.value
    errors = collect_page_errors(page)
    page.wait_for_function(WAIT_SCO_JS)
    api_call(page, "LMSInitialize", "")
    page.evaluate(LOAD_IN_SCO_FRAME_JS, probe_url(page, server, "probe.html?n=opened"))
    result = probe_result(page, "opened")

    assert result["found"]
    assert (result["via"], result["level"]) == ("parent", 1)
    assert errors == []


def test_sco_opened_from_other_origin(
    lms: Lms, context: Any, browser: Any, server: ServerProcess, foreign_origin: str
) -> None:
    launch = launch_for(lms, "1.2")
    page = context.new_page()
    open_player(page, launch)
    url = probe_url(page, server, "probe.html?n=foreign")
    foreign = context.new_page()
    foreign.goto(f"{foreign_origin}/lms.html")

    with context.expect_page() as sco_info:
        foreign.evaluate("(url) => { window.open(url, '_blank'); }", url)
    sco = sco_info.value
    errors = collect_page_errors(sco)
    result = probe_result(sco, "foreign")
    without_launch = browser.new_context()
    rejected_status = without_launch.request.get(url).status
    without_launch.close()

    # The SCO renders and finds no API, because the opener's API is out of reach.
    assert not result["found"]
    assert (result["via"], result["blocked"]) == ("opener", "SecurityError")
    assert errors == []
    assert rejected_status in (401, 403)


def test_responses_keep_opener_usable(lms: Lms, context: Any, server: ServerProcess) -> None:
    launch = launch_for(lms, "2004")
    page = context.new_page()

    player_response = page.goto(launch.launch_url)
    page.wait_for_function(WAIT_SCO_JS)
    content_response = page.request.get(probe_url(page, server, "sco.html"))
    headers = {"player": player_response.headers, "content": content_response.headers}

    for name, response_headers in headers.items():
        # COOP same-origin would cut window.opener for popups, and
        # frame-blocking headers would stop an LMS from embedding the player.
        coop = response_headers.get("cross-origin-opener-policy", "unsafe-none")
        assert coop in ("unsafe-none", "same-origin-allow-popups"), name
        assert "x-frame-options" not in response_headers, name
        assert "frame-ancestors" not in response_headers.get("content-security-policy", ""), name


# ------------------------------------------------- saving while the page unloads

# (standard, event in which the SCO calls LMSFinish/Terminate, how the page goes).
UNLOAD_CASES = [
    ("1.2", "pagehide", "close"),
    ("2004", "pagehide", "navigate"),
    ("1.2", "unload", "reload"),
    ("2004", "unload", "close"),
    ("1.2", "beforeunload", "navigate"),
    ("2004", "beforeunload", "close"),
]


@pytest.mark.parametrize(("standard", "event", "dismissal"), UNLOAD_CASES)
def test_finish_at_unload_persists(
    standard: str, event: str, dismissal: str, lms: Lms, context: Any, server: ServerProcess,
    foreign_origin: str,
) -> None:
    launch = launch_for(lms, standard)
    page = context.new_page()
    open_player(page, launch)
    page.evaluate(LOAD_IN_SCO_FRAME_JS, probe_url(page, server, f"unload.html?event={event}"))
    page.frame_locator("#sco-frame").locator("body[data-ready=true]").wait_for()

    if dismissal == "close":
        page.close(run_before_unload=True)
    elif dismissal == "navigate":
        page.goto(f"{foreign_origin}/elsewhere.html")
    else:
        page.reload()
        page.wait_for_function(WAIT_SCO_JS)
    keys = {
        "1.2": ("cmi.core.lesson_location", "cmi.core.exit", "cmi.core.entry",
                "cmi.core.total_time"),
        "2004": ("cmi.location", "cmi.exit", "cmi.entry", "cmi.total_time"),
    }[standard]
    location, exit_key, entry_key, total_key = keys

    def session_closed(state: dict[str, str]) -> bool:
        total = state.get(total_key)
        return state.get(location) == "p12" and total is not None and seconds(standard, total) == 42

    state = wait_for_state(lms, launch.attempt_id, session_closed)
    reader = context.new_page()
    reader.goto(f"{server.base_url}/healthz")
    finished = json.loads(reader.evaluate("() => localStorage.getItem('unload-result') || 'null'"))
    transport = json.loads(reader.evaluate("() => localStorage.getItem('e2e-transport') || '[]'"))

    assert finished == {"type": "string", "returned": "true", "error": "0"}
    assert state.get(location) == "p12"
    if dismissal == "reload":
        # The reloaded page has opened the next session, which resumes.
        assert state.get(entry_key) == "resume"
    else:
        assert state.get(exit_key) == "suspend"
    # The session time reaches the total only at LMSFinish/Terminate.
    assert seconds(standard, state.get(total_key, "")) == 42
    assert "sync-xhr" not in transport
    assert {"keepalive", "beacon"} & set(transport)


# ------------------------------------------ the data model the SCO reads back

# (element, value) pairs per standard: text elements that may be set to ""
# first, then elements whose value the LMS also reads.
TEXT_ELEMENTS = {
    "1.2": [("cmi.core.lesson_location", "p2"), ("cmi.suspend_data", "s=1"),
            ("cmi.student_preference.language", "en")],
    "2004": [("cmi.location", "p2"), ("cmi.suspend_data", "s=1"),
             ("cmi.learner_preference.language", "en")],
}
OTHER_ELEMENTS = {
    "1.2": [("cmi.core.lesson_status", "incomplete"), ("cmi.core.score.raw", "50")],
    "2004": [("cmi.completion_status", "incomplete"), ("cmi.score.raw", "50"),
             ("cmi.progress_measure", "0.5")],
}


def read_values(
    page: Any, function: str, elements: list[tuple[str, str]]
) -> dict[str, tuple[str, str]]:
    return {element: api_call(page, function, element) for element, _ in elements}


@pytest.mark.parametrize("standard", ["1.2", "2004"])
def test_values_survive_commit_and_relaunch(standard: str, lms: Lms, context: Any) -> None:
    prefix = "" if standard == "2004" else "LMS"
    get, put = f"{prefix}GetValue", f"{prefix}SetValue"
    texts, others = TEXT_ELEMENTS[standard], OTHER_ELEMENTS[standard]
    launch = launch_for(lms, standard)
    page = context.new_page()
    disagreements = collect_disagreements(page)
    open_player(page, launch)
    api_call(page, f"{prefix}Initialize", "")
    for element, value in texts + others:
        api_call(page, put, element, value)
    api_call(page, f"{prefix}Commit", "")
    before_response = read_values(page, get, texts + others)
    flush(page)
    after_response = read_values(page, get, texts + others)

    # Setting "" replaces a value; it is not "no change".
    for element, _ in texts:
        api_call(page, put, element, "")
    api_call(page, f"{prefix}Commit", "")
    flush(page)
    emptied = read_values(page, get, texts)
    api_call(page, put, "cmi.exit" if standard == "2004" else "cmi.core.exit", "suspend")
    api_call(page, "Terminate" if standard == "2004" else "LMSFinish", "")
    flush(page)
    stored = lms.cmi(launch.attempt_id).get(ITEM, {})
    open_player(page, launch)
    api_call(page, f"{prefix}Initialize", "")
    relaunched = read_values(page, get, texts + others)
    flush(page)

    expected = {element: (value, "0") for element, value in texts + others}
    expected_empty = {element: ("", "0") for element, _ in texts}
    assert before_response == expected
    assert after_response == expected
    assert emptied == expected_empty
    assert {element: stored.get(element) for element, _ in texts} == {e: "" for e, _ in texts}
    assert relaunched == {**expected, **expected_empty}
    assert disagreements == []


# ------------------------------------------------ the API state machine

# (function, args, return, error) per standard, in order: calls before
# Initialize, while running and after Terminate, with the standard's error
# codes as the conformance vectors give them.
STATE_CALLS = {
    "1.2": [
        ("LMSCommit", [""], "false", "301"),
        ("LMSFinish", [""], "false", "301"),
        ("LMSGetValue", ["cmi.core.student_id"], "", "301"),
        ("LMSSetValue", ["cmi.core.lesson_location", "a"], "false", "301"),
        ("LMSInitialize", ["x"], "false", "201"),
        ("LMSInitialize", [""], "true", "0"),
        ("LMSInitialize", [""], "false", "101"),
        ("LMSCommit", ["x"], "false", "201"),
        ("LMSFinish", ["x"], "false", "201"),
        ("LMSFinish", [""], "true", "0"),
        ("LMSFinish", [""], "false", "101"),
        ("LMSCommit", [""], "false", "101"),
        ("LMSGetValue", ["cmi.core.student_id"], "", "101"),
        ("LMSSetValue", ["cmi.core.lesson_location", "a"], "false", "101"),
        ("LMSInitialize", [""], "false", "101"),
    ],
    "2004": [
        ("Commit", [""], "false", "142"),
        ("Terminate", [""], "false", "112"),
        ("GetValue", ["cmi.learner_id"], "", "122"),
        ("SetValue", ["cmi.location", "a"], "false", "132"),
        ("Initialize", ["x"], "false", "201"),
        ("Initialize", [""], "true", "0"),
        ("Initialize", [""], "false", "103"),
        ("Commit", ["x"], "false", "201"),
        ("Terminate", ["x"], "false", "201"),
        ("Terminate", [""], "true", "0"),
        ("Terminate", [""], "false", "113"),
        ("Commit", [""], "false", "143"),
        ("GetValue", ["cmi.learner_id"], "", "123"),
        ("SetValue", ["cmi.location", "a"], "false", "133"),
        ("Initialize", [""], "false", "104"),
    ],
}


@pytest.mark.parametrize("standard", ["1.2", "2004"])
def test_state_errors_match_server(standard: str, lms: Lms, context: Any) -> None:
    launch = launch_for(lms, standard)
    page = context.new_page()
    disagreements = collect_disagreements(page)
    open_player(page, launch)

    outcomes = [api_call(page, function, *args) for function, args, _, _ in STATE_CALLS[standard]]
    flush(page)

    for (function, args, returned, error), outcome in zip(STATE_CALLS[standard], outcomes):
        assert outcome == (returned, error), f"{function}{tuple(args)}"
    assert disagreements == []


# --------------------------------------------------------- commit storms


@pytest.mark.parametrize("standard", ["1.2", "2004"])
def test_commit_storm_coalesces_requests(standard: str, lms: Lms, context: Any) -> None:
    prefix = "" if standard == "2004" else "LMS"
    location = "cmi.location" if standard == "2004" else "cmi.core.lesson_location"
    launch = launch_for(lms, standard)
    page = context.new_page()
    open_player(page, launch)
    api_call(page, f"{prefix}Initialize", "")
    flush(page)

    # A quiz that commits after each of 40 answers, as fast as the page can.
    outcomes = sco_frame(page).evaluate("""({prefix, location}) => {
      const api = window.parent.API_1484_11 || window.parent.API;
      const outcomes = [];
      for (let i = 0; i < 40; i++) {
        outcomes.push(api[prefix + "SetValue"](location, "q" + i));
        outcomes.push(api[prefix + "Commit"](""));
      }
      return outcomes;
    }""", {"prefix": prefix, "location": location})
    requests_at_once = page.evaluate("() => window.__e2eNet.length")
    flush(page)
    requests = page.evaluate("() => window.__e2eNet.length")
    state = lms.cmi(launch.attempt_id).get(ITEM, {})

    assert set(outcomes) == {"true"}
    assert requests_at_once <= 2
    assert requests <= 3
    assert state.get(location) == "q39"


def test_rate_limited_batch_retried(lms: Lms, context: Any) -> None:
    launch = launch_for(lms, "2004")
    page = context.new_page()
    open_player(page, launch)
    answered: list[int] = []

    def limit_first(route: Any) -> None:
        if not answered:
            answered.append(429)
            route.fulfill(status=429, headers={"Retry-After": "1"}, content_type="application/json",
                          body=json.dumps({"error": "Too many requests; retry after 1 second."}))
        else:
            answered.append(0)
            route.continue_()

    page.route("**/runtime/**", limit_first)
    api_call(page, "Initialize", "")
    api_call(page, "SetValue", "cmi.location", "after-429")
    started = time.monotonic()
    api_call(page, "Commit", "")
    flush(page)
    waited = time.monotonic() - started
    state = lms.cmi(launch.attempt_id).get(ITEM, {})
    status = page.evaluate("() => document.getElementById('save-status').dataset.state")

    assert answered == [429, 0]
    assert waited >= 1.0
    assert state.get("cmi.location") == "after-429"
    assert status == "saved"


# -------------------------------------------------- session and total time


def test_session_time_counted_once_12(lms: Lms, context: Any, foreign_origin: str) -> None:
    launch = launch_for(lms, "1.2")
    page = context.new_page()
    open_player(page, launch)
    first = [
        api_call(page, "LMSInitialize", ""),
        api_call(page, "LMSSetValue", "cmi.core.session_time", "00:10:00"),
        api_call(page, "LMSCommit", ""),
        api_call(page, "LMSCommit", ""),
        api_call(page, "LMSSetValue", "cmi.core.exit", "suspend"),
        api_call(page, "LMSFinish", ""),
        api_call(page, "LMSFinish", ""),
        api_call(page, "LMSCommit", ""),
    ]
    flush(page)
    # Leaving the page after LMSFinish must not finish the session a second time.
    page.goto(f"{foreign_origin}/elsewhere.html")
    after_first = lms.cmi(launch.attempt_id).get(ITEM, {})
    open_player(page, launch)
    api_call(page, "LMSInitialize", "")
    total_seen = api_call(page, "LMSGetValue", "cmi.core.total_time")
    api_call(page, "LMSSetValue", "cmi.core.session_time", "00:05:00")
    api_call(page, "LMSCommit", "")
    flush(page)
    after_commit = lms.cmi(launch.attempt_id).get(ITEM, {})
    api_call(page, "LMSFinish", "")
    flush(page)
    after_second = lms.cmi(launch.attempt_id).get(ITEM, {})

    assert first == [("true", "0"), ("true", "0"), ("true", "0"), ("true", "0"), ("true", "0"),
                     ("true", "0"), ("false", "101"), ("false", "101")]
    assert seconds("1.2", after_first["cmi.core.total_time"]) == 600
    assert seconds("1.2", total_seen[0]) == 600
    assert seconds("1.2", after_commit["cmi.core.total_time"]) == 600
    assert seconds("1.2", after_second["cmi.core.total_time"]) == 900


# ------------------------------------------------------ browser history


def test_launch_state_never_cached(lms: Lms, context: Any) -> None:
    launch = launch_for(lms, "2004")
    page = context.new_page()

    with page.expect_response(lambda response: "/sessions/" in response.url) as session_info:
        player_response = page.goto(launch.launch_url)
    session_response = session_info.value

    # A page or initial state that the browser keeps would start a restored
    # tab from stale data.
    assert "no-store" in player_response.headers.get("cache-control", "")
    assert "no-store" in session_response.headers.get("cache-control", "")


def test_back_button_leaves_player(lms: Lms, context: Any, foreign_origin: str) -> None:
    launch = lms.launch(TWO_SCOS, b"", username=LEARNER)
    page = context.new_page()
    page.goto(f"{foreign_origin}/lms.html")
    open_player(page, launch)
    page.click("#next-button")
    page.wait_for_function("""() => {
      const current = window.scormPlayer.current();
      return current && current.index === 1 && current.session;
    }""")
    page.frame_locator("#sco-frame").locator("#sco").wait_for()

    page.go_back()

    assert page.url == f"{foreign_origin}/lms.html"


# ------------------------------------------- manifests the player must cope with


def manifest_case(cases: dict[str, dict[str, Any]], name: str) -> dict[str, Any]:
    for case in cases.values():
        for manifest in case.get("manifest_cases", []):
            if manifest["name"] == name:
                return manifest
    raise LookupError(f"no manifest case named {name!r}")


def launch_manifest(lms: Lms, name: str, manifest: str) -> Launch:
    files = {"imsmanifest.xml": manifest}
    for page_name in ("index.html", "h.html", "s.html"):
        files[page_name] = SCO_PAGE
    return lms.launch(f"manifest-{name}.zip", zip_package(files), username=LEARNER)


def toc_and_first_item(page: Any, launch: Launch) -> tuple[list[str], str]:
    page.goto(launch.launch_url)
    page.wait_for_function(WAIT_SESSION_JS)
    toc = page.eval_on_selector_all(
        ".toc-item", "(links) => links.map((link) => link.dataset.identifier)")
    first = page.evaluate("() => window.scormPlayer.current().item.identifier")
    return toc, first


def test_hidden_items_stay_launchable(
    cases: dict[str, dict[str, Any]], lms: Lms, context: Any
) -> None:
    first_hidden = manifest_case(cases, "first item invisible")
    # The case gives this manifest in prose: both items hidden.
    shown_item = 'identifier="I1" identifierref="R1"'
    all_hidden = first_hidden["manifest"].replace(shown_item, shown_item + ' isvisible="false"')
    page = context.new_page()
    errors = collect_page_errors(page)

    first_toc, first_launched = toc_and_first_item(
        page, launch_manifest(lms, "first-hidden", first_hidden["manifest"]))
    all_toc, all_launched = toc_and_first_item(page, launch_manifest(lms, "all-hidden", all_hidden))
    notice_hidden = page.is_hidden("#notice")

    assert first_toc == first_hidden["expect_parse"]["toc"]
    assert all_toc == []
    # isvisible only affects how the organization is shown, so the player
    # starts with the first item in organization order and reaches hidden
    # items with Next. The case expects the first visible item instead.
    assert first_launched == "I0"
    assert all_launched == "I0"
    assert notice_hidden
    assert errors == []


def test_absolute_launch_url_loads(
    cases: dict[str, dict[str, Any]], lms: Lms, context: Any
) -> None:
    absolute = manifest_case(cases, "absolute href")
    external_url = absolute["expect_parse"]["scos"][0]["launch"]
    launch = launch_manifest(lms, "absolute", absolute["manifest"])
    page = context.new_page()
    errors = collect_page_errors(page)
    # The external host never resolves (see CHROMIUM_ARGS), so this route
    # returns the probe page for it.
    page.route(external_url, lambda route: route.fulfill(
        status=200, content_type="text/html", body=PROBE_PAGE))

    page.goto(launch.launch_url)
    page.wait_for_function(WAIT_SESSION_JS)
    frame_url = page.wait_for_function(FRAME_URL_JS).json_value()
    result = probe_result_at(page, external_url)

    assert frame_url == "cross-origin"
    assert result["found"] is False
    assert result["blocked"] == "SecurityError"
    assert errors == []


# The SCO frame's URL once it left about:blank, or "cross-origin" when the
# page cannot read it.
FRAME_URL_JS = """() => {
  try {
    const href = window.frames["sco"].location.href;
    return href === "about:blank" ? null : href;
  } catch (error) {
    return "cross-origin";
  }
}"""


def probe_result_at(page: Any, url: str) -> dict[str, Any]:
    deadline = time.monotonic() + SERVER_POLL_SECONDS
    while True:
        for frame in page.frames:
            if frame.url == url:
                frame.wait_for_function("() => window.probeResult !== undefined")
                return frame.evaluate("() => window.probeResult")
        assert time.monotonic() < deadline, f"no frame loaded {url}"
        page.wait_for_timeout(50)


def test_large_tail_at_close_arrives(lms: Lms, context: Any) -> None:
    launch = launch_for(lms, "2004")
    page = context.new_page()
    open_player(page, launch)
    api_call(page, "Initialize", "")
    api_call(page, "SetValue", "cmi.suspend_data", "committed-" + "c" * 60000)
    api_call(page, "Commit", "")
    flush(page)
    # Three large values after the last Commit: only the last one matters, and
    # all three together exceed the 64 KiB that page-close requests may carry.
    for round_number in range(3):
        api_call(page, "SetValue", "cmi.suspend_data", f"tail-{round_number}-" + "t" * 40000)
        api_call(page, "GetValue", "cmi.suspend_data")
    api_call(page, "SetValue", "cmi.location", "last-page")

    page.close(run_before_unload=True)
    state = wait_for_state(lms, launch.attempt_id, lambda s: s.get("cmi.location") == "last-page")

    assert state.get("cmi.location") == "last-page"
    assert state.get("cmi.suspend_data", "")[:7] == "tail-2-"
