"""Unit tests of the run-time engine: sessions, persistence, summaries, describe()."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import sys

import pytest

from scorm.describe import describe
from scorm.runtime import LaunchData, RuntimeOptions, RuntimeSession, open_session
from tests.runtime_harness import replay

LAUNCH_12 = LaunchData("1.2", "learner-001", "Tester, Ada")
LAUNCH_2004 = LaunchData("2004", "learner-001", "Tester, Ada")


def _run(session: RuntimeSession, *calls: tuple[str, ...]) -> list[tuple[str, int]]:
    return [session.call(method, list(args)) for method, *args in calls]


def test_first_pop_returns_opening_changes() -> None:
    session = open_session(LAUNCH_2004, {})

    changes = session.pop_changes()

    assert changes["cmi.entry"] == "ab-initio"
    assert changes["cmi.learner_id"] == "learner-001"
    assert session.pop_changes() == {}


def test_resume_keeps_state_and_resets_error() -> None:
    session = open_session(LAUNCH_2004, {})
    _run(
        session,
        ("Initialize", ""),
        ("SetValue", "cmi.location", "p4"),
        ("GetValue", "cmi.bad"),
    )

    rebuilt = RuntimeSession.resume(LAUNCH_2004, session.cmi, session.state)

    assert rebuilt.state == "running"
    assert rebuilt.call("GetLastError", []) == ("0", 0)
    assert rebuilt.call("GetValue", ["cmi.location"]) == ("p4", 0)
    assert rebuilt.call("GetValue", ["cmi.entry"]) == ("ab-initio", 0)


def test_new_attempt_2004_clears_state() -> None:
    first = open_session(LAUNCH_2004, {})
    _run(
        first,
        ("Initialize", ""),
        ("SetValue", "cmi.location", "p4"),
        ("SetValue", "cmi.session_time", "PT1M"),
        ("Terminate", ""),
    )

    second = open_session(LAUNCH_2004, first.cmi)
    second.call("Initialize", [""])

    assert second.call("GetValue", ["cmi.location"]) == ("", 403)
    assert second.call("GetValue", ["cmi.entry"]) == ("ab-initio", 0)
    assert second.call("GetValue", ["cmi.total_time"]) == ("PT0H0M0S", 0)
    assert second.pop_changes()["cmi.location"] is None


def test_abandoned_session_keeps_state() -> None:
    first = open_session(LAUNCH_2004, {})
    _run(
        first,
        ("Initialize", ""),
        ("SetValue", "cmi.suspend_data", "s=1"),
        ("Commit", ""),
    )

    second = open_session(LAUNCH_2004, first.cmi)
    second.call("Initialize", [""])

    assert second.call("GetValue", ["cmi.suspend_data"]) == ("s=1", 0)
    assert second.call("GetValue", ["cmi.entry"]) == ("", 0)


def test_browse_mode_12_sets_browsed() -> None:
    launch = LaunchData("1.2", "learner-001", "Tester, Ada", mode="browse")
    session = open_session(launch, {})

    _run(session, ("LMSInitialize", ""), ("LMSFinish", ""))

    assert session.cmi["cmi.core.lesson_status"] == "browsed"


def test_no_credit_12_keeps_not_attempted() -> None:
    launch = LaunchData("1.2", "learner-001", "Tester, Ada", credit="no-credit")
    session = open_session(launch, {})

    _run(session, ("LMSInitialize", ""), ("LMSFinish", ""))

    assert session.cmi.get("cmi.core.lesson_status", "not attempted") == "not attempted"


def test_terminate_adds_session_time_once() -> None:
    session = open_session(LAUNCH_12, {"cmi.core.total_time": "0001:59:59.50"})
    _run(
        session,
        ("LMSInitialize", ""),
        ("LMSSetValue", "cmi.core.session_time", "00:00:00.75"),
    )

    results = _run(session, ("LMSFinish", ""), ("LMSFinish", ""))

    assert results == [("true", 0), ("false", 101)]
    assert session.cmi["cmi.core.total_time"] == "0002:00:00.25"


@pytest.mark.parametrize(
    "session_time",
    ["P" + "9" * 5000 + "Y", "PT" + "9" * 400 + "S", "PT" + "9" * 30 + ".5S", "P999999999999999DT1S"],
)
def test_terminate_clamps_absurd_session_time(session_time: str) -> None:
    session = open_session(LAUNCH_2004, {"cmi.total_time": "PT10H"})
    _run(session, ("Initialize", ""), ("SetValue", "cmi.session_time", session_time))

    results = _run(session, ("Terminate", ""))

    assert results == [("true", 0)]
    assert session.cmi["cmi.total_time"] == "PT277777777H46M40S"
    assert session.summary()["total_time_seconds"] == 10**12


def test_total_time_12_stops_at_largest_timespan() -> None:
    session = open_session(LAUNCH_12, {"cmi.core.total_time": "9999:00:00"})
    _run(session, ("LMSInitialize", ""), ("LMSSetValue", "cmi.core.session_time", "0002:00:00"))

    results = _run(session, ("LMSFinish", ""))

    assert results == [("true", 0)]
    assert session.cmi["cmi.core.total_time"] == "9999:59:59.99"


@pytest.mark.parametrize("standard", ["1.2", "2004"])
def test_huge_array_index_is_unknown_element(standard: str) -> None:
    launch = LAUNCH_12 if standard == "1.2" else LAUNCH_2004
    prefix = "LMS" if standard == "1.2" else ""
    session = open_session(launch, {})
    _run(session, (f"{prefix}Initialize", ""))
    short, huge = "9" * 20, "9" * 5000

    short_results = _run(
        session,
        (f"{prefix}SetValue", f"cmi.interactions.{short}.id", "q1"),
        (f"{prefix}GetValue", f"cmi.objectives.{short}.id"),
    )
    huge_results = _run(
        session,
        (f"{prefix}SetValue", f"cmi.interactions.{huge}.id", "q1"),
        (f"{prefix}GetValue", f"cmi.objectives.{huge}.id"),
    )

    assert huge_results == short_results
    assert all(code != 101 for _, code in huge_results)


def test_summary_ignores_scores_beyond_float_range() -> None:
    session = open_session(LAUNCH_2004, {})
    _run(
        session,
        ("Initialize", ""),
        ("SetValue", "cmi.score.raw", "9" * 400),
        ("SetValue", "cmi.score.min", "-" + "9" * 400),
        ("Terminate", ""),
    )

    summary = session.summary()

    assert summary["score"] is None
    assert summary["grade"] is None
    json.dumps(summary, allow_nan=False)


def test_summary_12_derives_statuses() -> None:
    launch = LaunchData("1.2", "learner-001", "Tester, Ada", mastery_score="80")
    session = open_session(launch, {})
    _run(
        session,
        ("LMSInitialize", ""),
        ("LMSSetValue", "cmi.core.score.raw", "85"),
        ("LMSSetValue", "cmi.core.session_time", "00:01:30"),
        ("LMSFinish", ""),
    )

    summary = session.summary()

    assert summary["completion_status"] == "completed"
    assert summary["success_status"] == "passed"
    assert summary["score"] == 85.0
    assert summary["total_time_seconds"] == 90.0
    assert summary["is_complete"] is True


def test_summary_2004_score_from_scaled() -> None:
    session = open_session(LAUNCH_2004, {})
    _run(session, ("Initialize", ""), ("SetValue", "cmi.score.scaled", "0.5"))

    summary = session.summary()

    assert summary["score"] == 50.0
    assert summary["score_scaled"] == 0.5
    assert summary["grade"] == 0.5


def test_objectives_from_launch_not_duplicated() -> None:
    launch = LaunchData("2004", "learner-001", "Tester, Ada", objective_ids=("a", "b"))
    first = open_session(launch, {})
    _run(
        first,
        ("Initialize", ""),
        ("SetValue", "cmi.exit", "suspend"),
        ("Terminate", ""),
    )

    second = open_session(launch, first.cmi)

    assert second.cmi["cmi.objectives._count"] == "2"


def test_changes_replay_to_state_across_sessions() -> None:
    log = []
    session = open_session(LAUNCH_2004, {})
    for location in ("a", "b"):
        _run(
            session,
            ("Initialize", ""),
            ("SetValue", "cmi.location", location),
            ("SetValue", "cmi.interactions.0.id", "q"),
            ("SetValue", "cmi.exit", "suspend"),
            ("Terminate", ""),
        )
        log.append(session.pop_changes())
        session = open_session(LAUNCH_2004, replay(log))
    log.append(session.pop_changes())

    assert replay(log) == session.cmi


def test_nav_request_target_stored() -> None:
    session = open_session(LAUNCH_2004, {})
    session.call("Initialize", [""])

    result = session.call("SetValue", ["adl.nav.request", "{target=intro.1}choice"])
    valid = session.call("GetValue", ["adl.nav.request_valid.choice.{target=intro.1}"])

    assert result == ("true", 0)
    assert session.cmi["adl.nav.request"] == "{target=intro.1}choice"
    assert valid == ("unknown", 0)


def test_unknown_method_answers_false() -> None:
    session = open_session(LAUNCH_2004, {})

    assert session.call("LMSInitialize", [""]) == ("false", 0)
    assert session.state == "not_initialized"


def test_item_state_memory_under_16kb() -> None:
    session = open_session(LAUNCH_2004, {})
    session.call("Initialize", [""])
    session.call("SetValue", ["cmi.suspend_data", "s" * 2048])
    for n in range(10):
        session.call("SetValue", [f"cmi.interactions.{n}.id", f"question-{n}"])
        session.call("SetValue", [f"cmi.interactions.{n}.type", "choice"])
        session.call("SetValue", [f"cmi.interactions.{n}.learner_response", "a[,]b"])
        session.call("SetValue", [f"cmi.interactions.{n}.result", "correct"])
    session.call("Terminate", [""])

    values = sum(sys.getsizeof(value) for value in session.cmi.values())
    size = sys.getsizeof(session.cmi) + values

    assert len(session.cmi) >= 40
    assert size < 16 * 1024


# ---------------------------------------------------------------- describe()


@pytest.mark.parametrize("standard", ["1.2", "2004"])
def test_describe_is_json(standard: str) -> None:
    description = describe(standard, RuntimeOptions())

    encoded = json.dumps(description)

    assert json.loads(encoded)["standard"] == standard
    assert description["methods"] == sorted(
        open_session(LaunchData(standard, "l", "n"), {}).METHODS,
        key=description["methods"].index,
    )


def test_describe_suspend_data_follows_option() -> None:
    description = describe("1.2", RuntimeOptions(scorm12_suspend_data_max=4096))

    assert description["elements"]["cmi.suspend_data"]["max_length"] == 4096


def test_describe_types_compile_in_python() -> None:
    for pattern in describe("2004", RuntimeOptions())["types"].values():
        assert re.compile(pattern)


@pytest.mark.skipif(shutil.which("node") is None, reason="node is not installed")
def test_describe_types_agree_in_javascript() -> None:
    types = describe("2004", RuntimeOptions())["types"]
    samples = [
        "PT1M",
        "P0S",
        "2004-04-01T09:45",
        "urn:",
        "a b",
        "en-US",
        "-1.5",
        "12:00:00",
    ]
    script = (
        "const t = JSON.parse(process.argv[1]); const s = JSON.parse(process.argv[2]);"
        "const out = {}; for (const [k, p] of Object.entries(t)) "
        "{ const r = new RegExp(p); out[k] = s.map((v) => r.test(v)); }"
        "console.log(JSON.stringify(out));"
    )
    completed = subprocess.run(
        ["node", "-e", script, json.dumps(types), json.dumps(samples)],
        capture_output=True,
        text=True,
        check=True,
        timeout=30,
    )

    in_javascript = json.loads(completed.stdout)

    for name, pattern in types.items():
        in_python = [re.fullmatch(pattern, sample) is not None for sample in samples]
        assert in_javascript[name] == in_python, name
