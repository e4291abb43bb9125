"""Replay conformance vectors against the JavaScript adapter in a page.

The vectors file gives each call the value it must return and the error code
that GetLastError must return right after it. The `match` modes compare
durations, decimals and sets by meaning, not by text.
"""

from __future__ import annotations

import re
from typing import Any

# Replay one vector's calls, or one session of it, on the API object of the
# page and return [[return, error], ...] for every call.
RUN_CALLS_JS = """
({standard, calls}) => {
  const api = standard === "2004" ? window.API_1484_11 : window.API;
  const lastError = standard === "2004" ? "GetLastError" : "LMSGetLastError";
  return calls.map((call) => {
    const returned = api[call.fn](...call.args);
    return [returned, api[lastError]()];
  });
}
"""


def duration_seconds(value: str) -> float:
    """Return the seconds of a SCORM 2004 duration without Y and M parts."""
    match = re.fullmatch(
        r"P(?:(\d+)D)?(?:T(?:(\d+)H)?(?:(\d+)M)?(?:(\d+(?:\.\d+)?)S)?)?", value
    )
    if not match:
        raise ValueError(f"unsupported duration {value!r}")
    days, hours, minutes, seconds = (float(part or 0) for part in match.groups())
    return days * 86400 + hours * 3600 + minutes * 60 + seconds


def timespan_seconds(value: str) -> float:
    hours, minutes, seconds = value.split(":")
    return int(hours) * 3600 + int(minutes) * 60 + float(seconds)


def return_matches(expect: dict[str, Any], returned: str) -> bool:
    """Compare a returned value with the vector's expectation and match mode."""
    expected = expect.get("return", "")
    mode = expect.get("match", "exact")
    if mode == "any":
        return True
    if mode == "nonempty":
        return returned != ""
    if mode == "nonempty_max255":
        return 0 < len(returned) <= 255
    if mode == "max255":
        return len(returned) <= 255
    if mode == "decimal":
        try:
            return float(returned) == float(expected)
        except ValueError:
            return False
    if mode == "duration":
        return duration_seconds(returned) == duration_seconds(expected)
    if mode == "timespan":
        return timespan_seconds(returned) == timespan_seconds(expected)
    if mode == "set":
        return {p.strip() for p in returned.split(",")} == {p.strip() for p in expected.split(",")}
    if mode == "one_of":
        return returned in expected.split("|")
    return returned == expected


def split_sessions(vector: dict[str, Any]) -> list[list[dict[str, Any]]]:
    """Split a vector's calls at each #relaunch directive."""
    sessions: list[list[dict[str, Any]]] = [[]]
    for call in vector["calls"]:
        if call["fn"] == "#relaunch":
            sessions.append([])
        else:
            sessions[-1].append(call)
    return sessions


def mismatches(calls: list[dict[str, Any]], outcomes: list[list[str]]) -> list[str]:
    """Describe every call whose outcome differs from its expectation."""
    problems = []
    for call, (returned, error) in zip(calls, outcomes):
        expect = call.get("expect", {})
        if not return_matches(expect, returned):
            problems.append(f"{call['fn']}{tuple(call['args'])} returned {returned[:60]!r}, "
                            f"expected {str(expect.get('return'))[:60]!r}")
        if "error" in expect and error != expect["error"]:
            problems.append(f"{call['fn']}{tuple(call['args'])} left error {error}, "
                            f"expected {expect['error']}")
    return problems
