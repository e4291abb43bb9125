"""Replays conformance vectors and bug-report steps through the run-time engine."""

from __future__ import annotations

from collections.abc import Mapping

from scorm.runtime import LaunchData, RuntimeOptions, RuntimeSession, open_session
from scorm.types import duration_centiseconds, timespan_centiseconds

# Vector launch keys -> LaunchData fields.
LAUNCH_FIELDS = {
    "cmi.core.student_id": "learner_id",
    "cmi.learner_id": "learner_id",
    "cmi.core.student_name": "learner_name",
    "cmi.learner_name": "learner_name",
    "cmi.core.credit": "credit",
    "cmi.credit": "credit",
    "cmi.core.lesson_mode": "mode",
    "cmi.mode": "mode",
    "cmi.launch_data": "launch_data",
    "cmi.student_data.mastery_score": "mastery_score",
    "cmi.student_data.max_time_allowed": "max_time_allowed",
    "cmi.max_time_allowed": "max_time_allowed",
    "cmi.student_data.time_limit_action": "time_limit_action",
    "cmi.time_limit_action": "time_limit_action",
    "cmi.completion_threshold": "completion_threshold",
    "cmi.scaled_passing_score": "scaled_passing_score",
}


def build_launch(
    standard: str, values: Mapping[str, object]
) -> tuple[LaunchData, dict]:
    """Map vector launch keys to LaunchData and to LMS-authored stored values."""
    fields: dict[str, object] = {"standard": standard}
    stored: dict[str, str] = {}
    for key, value in values.items():
        if key in LAUNCH_FIELDS:
            fields[LAUNCH_FIELDS[key]] = value
        elif key == "manifest.objectives":
            fields["objective_ids"] = tuple(value)  # type: ignore[arg-type]
        elif key.startswith("cmi.comments_from_lms"):
            stored[key] = str(value)
        else:
            raise KeyError(f"unmapped launch key {key!r}")
    # SCORM 2004 comments_from_lms.N.* records also need their count.
    indexes = {k.split(".")[2] for k in stored if k.count(".") >= 3}
    if indexes:
        stored["cmi.comments_from_lms._count"] = str(len(indexes))
    return LaunchData(**fields), stored  # type: ignore[arg-type]


def replay(changes_log: list[dict[str, str | None]]) -> dict[str, str]:
    """Apply recorded changes in order over an empty state."""
    state: dict[str, str] = {}
    for changes in changes_log:
        for key, value in changes.items():
            if value is None:
                state.pop(key, None)
            else:
                state[key] = value
    return state


def matches(mode: str, expected: str, actual: str) -> bool:
    """Compare a return value with an expectation under a vector match mode."""
    if mode == "exact":
        return actual == expected
    if mode == "any":
        return True
    if mode == "nonempty":
        return actual != ""
    if mode == "nonempty_max255":
        return actual != "" and len(actual) <= 255
    if mode == "max255":
        return len(actual) <= 255
    if mode == "decimal":
        try:
            return float(actual) == float(expected)
        except ValueError:
            return False
    if mode == "duration":
        return duration_centiseconds(actual) == duration_centiseconds(expected)
    if mode == "timespan":
        return timespan_centiseconds(actual) == timespan_centiseconds(expected)
    if mode == "set":
        return {i.strip() for i in actual.split(",")} == {
            i.strip() for i in expected.split(",")
        }
    if mode == "one_of":
        return actual in expected.split("|")
    raise ValueError(f"unknown match mode {mode!r}")


class Player:
    """Launches sessions of one item and keeps its state between them."""

    def __init__(
        self, launch: LaunchData, stored: dict, options: RuntimeOptions
    ) -> None:
        self.launch = launch
        self.options = options
        self.changes_log: list[dict[str, str | None]] = [dict(stored)]
        self.session: RuntimeSession = open_session(launch, stored, options)

    def call(self, method: str, args: list[str]) -> tuple[str, int]:
        return self.session.call(method, args)

    def relaunch(self, launch: LaunchData | None = None) -> None:
        """End the page: persist the state by replaying changes, open a new session."""
        self.changes_log.append(self.session.pop_changes())
        stored = replay(self.changes_log)
        assert (
            stored == self.session.cmi
        ), "replayed changes differ from the session state"
        self.launch = launch or self.launch
        self.session = open_session(self.launch, stored, self.options)
