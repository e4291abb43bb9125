"""Measure SetValue calls per second of the pure run-time engine on one core.

Run: python -m loadtests.bench_datamodel [--seconds N]

Each session sets a typical mix: location, 2 KB of suspend_data, ten
interactions with id, type, learner response, result, latency and a correct
response pattern, the score, and session_time. The mix is repeated in new
sessions until the time budget is spent; only SetValue calls are timed.
"""

from __future__ import annotations

import argparse
import os
import platform
import time

from scorm.runtime import LaunchData, open_session

SUSPEND_DATA = "x" * 2048


def _mix_2004() -> list[tuple[str, str]]:
    calls = [("cmi.location", "page-3"), ("cmi.suspend_data", SUSPEND_DATA)]
    for n in range(10):
        prefix = f"cmi.interactions.{n}."
        calls += [
            (prefix + "id", f"question-{n}"),
            (prefix + "type", "choice"),
            (prefix + "correct_responses.0.pattern", "a[,]c"),
            (prefix + "learner_response", "a[,]b"),
            (prefix + "result", "incorrect"),
            (prefix + "latency", "PT12.5S"),
        ]
    calls += [
        ("cmi.score.raw", "85"),
        ("cmi.score.scaled", "0.85"),
        ("cmi.completion_status", "completed"),
        ("cmi.session_time", "PT4M12.25S"),
    ]
    return calls


def _mix_12() -> list[tuple[str, str]]:
    calls = [("cmi.core.lesson_location", "page-3"), ("cmi.suspend_data", SUSPEND_DATA)]
    for n in range(10):
        prefix = f"cmi.interactions.{n}."
        calls += [
            (prefix + "id", f"question-{n}"),
            (prefix + "type", "choice"),
            (prefix + "correct_responses.0.pattern", "a,c"),
            (prefix + "student_response", "a,b"),
            (prefix + "result", "wrong"),
            (prefix + "latency", "00:00:12.5"),
        ]
    calls += [
        ("cmi.core.score.raw", "85"),
        ("cmi.core.lesson_status", "completed"),
        ("cmi.core.session_time", "00:04:12.25"),
    ]
    return calls


def measure(standard: str, seconds: float) -> tuple[float, int]:
    """Return (SetValue calls per second, calls made) for one standard."""
    mix = _mix_12() if standard == "1.2" else _mix_2004()
    set_value = "LMSSetValue" if standard == "1.2" else "SetValue"
    initialize = "LMSInitialize" if standard == "1.2" else "Initialize"
    launch = LaunchData(standard, "learner-001", "Tester, Ada")
    arguments = [[name, value] for name, value in mix]
    calls = 0
    elapsed = 0.0
    while elapsed < seconds:
        session = open_session(launch, {})
        session.call(initialize, [""])
        call = session.call
        start = time.perf_counter()
        for args in arguments:
            result = call(set_value, args)
            if result[1]:
                raise RuntimeError(f"SetValue {args[0]} failed with {result[1]}")
        elapsed += time.perf_counter() - start
        calls += len(arguments)
    return calls / elapsed, calls


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--seconds",
        type=float,
        default=3.0,
        help="time budget per standard, in seconds",
    )
    options = parser.parse_args()
    print(
        f"machine: {platform.processor() or platform.machine()}, {os.cpu_count()} CPUs, "
        f"Python {platform.python_version()} ({platform.python_implementation()}), one core"
    )
    for standard in ("1.2", "2004"):
        rate, calls = measure(standard, options.seconds)
        print(f"SCORM {standard}: {rate:,.0f} SetValue/s ({calls:,} calls)")


if __name__ == "__main__":
    main()
