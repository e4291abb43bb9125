"""A small SCORM engine with the interface of scorm.runtime, used only while
that module is missing. It follows the API state machine and stores any
`cmi.*` element that is not read-only; it checks no data types.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

READ_ONLY = frozenset({"cmi.learner_id", "cmi.learner_name", "cmi.entry", "cmi.mode",
                       "cmi.credit", "cmi.core.student_id", "cmi.core.student_name",
                       "cmi.core.entry"})


@dataclass(frozen=True)
class LaunchData:
    standard: str
    learner_id: str
    learner_name: str
    credit: str = "credit"
    mode: str = "normal"
    mastery_score: Any = None
    launch_data: Any = None
    max_time_allowed: Any = None
    time_limit_action: Any = None
    completion_threshold: Any = None
    scaled_passing_score: Any = None
    objective_ids: tuple[str, ...] = ()


@dataclass(frozen=True)
class RuntimeOptions:
    scorm12_suspend_data_max: int = 64000


class RuntimeSession:
    METHODS = frozenset({"Initialize", "Terminate", "GetValue", "SetValue", "Commit",
                         "GetLastError", "GetErrorString", "GetDiagnostic"})

    def __init__(self, launch: LaunchData, cmi: Mapping[str, str], state: str) -> None:
        self.launch = launch
        self.cmi = dict(cmi)
        self.state = state
        self.last_error = 0
        self._changes: dict[str, str | None] = {}

    @classmethod
    def resume(cls, launch: LaunchData, cmi: Mapping[str, str], state: str,
               options: RuntimeOptions) -> RuntimeSession:
        return cls(launch, cmi, state)

    def _set(self, element: str, value: str | None) -> None:
        if value is None:
            self.cmi.pop(element, None)
        else:
            self.cmi[element] = value
        self._changes[element] = value

    def call(self, method: str, args: list[str]) -> tuple[str, int]:
        name = method[3:] if method.startswith("LMS") else method
        name = {"Finish": "Terminate"}.get(name, name)
        codes = _CODES_12 if self.launch.standard == "1.2" else _CODES_2004
        if name in ("GetLastError", "GetErrorString", "GetDiagnostic"):
            if name == "GetLastError":
                return str(self.last_error), 0
            return (f"error {args[0] if args else ''}", 0)
        value, code = self._dispatch(name, args, codes)
        self.last_error = code
        return value, code

    def _dispatch(self, name: str, args: list[str], codes: dict[str, int]) -> tuple[str, int]:
        running = self.state == "running"
        if name == "Initialize":
            if self.state != "not_initialized":
                return "false", codes["init_twice"]
            self.state = "running"
            return "true", 0
        if not running:
            return ("" if name == "GetValue" else "false"), codes[f"{name}_state"]
        if name == "Terminate":
            self.state = "terminated"
            return "true", 0
        if name == "Commit":
            return "true", 0
        if not args or not args[0].startswith("cmi."):
            return ("" if name == "GetValue" else "false"), codes["bad_element"]
        if name == "GetValue":
            return self.cmi.get(args[0], ""), 0
        if args[0] in READ_ONLY:
            return "false", codes["read_only"]
        if self.cmi.get(args[0]) != args[1]:
            self._set(args[0], args[1])
        return "true", 0

    def pop_changes(self) -> dict[str, str | None]:
        changes, self._changes = self._changes, {}
        return changes

    def summary(self) -> dict[str, Any]:
        raw = self.cmi.get("cmi.score.raw") or self.cmi.get("cmi.core.score.raw")
        status = self.cmi.get("cmi.completion_status") or self.cmi.get(
            "cmi.core.lesson_status", "")
        return {
            "completion_status": status,
            "success_status": self.cmi.get("cmi.success_status", ""),
            "score": float(raw) if raw else None,
            "score_scaled": None,
            "total_time_seconds": 0.0,
            "is_complete": status in ("completed", "passed", "failed"),
        }


_CODES_2004 = {"init_twice": 103, "Terminate_state": 112, "GetValue_state": 122,
               "SetValue_state": 132, "Commit_state": 142, "bad_element": 401,
               "read_only": 404}
_CODES_12 = {"init_twice": 101, "Terminate_state": 301, "GetValue_state": 301,
             "SetValue_state": 301, "Commit_state": 301, "bad_element": 201,
             "read_only": 403}


def open_session(launch: LaunchData, stored: Mapping[str, str],
                 options: RuntimeOptions) -> RuntimeSession:
    session = RuntimeSession(launch, stored, "not_initialized")
    prefix = "cmi.core." if launch.standard == "1.2" else "cmi."
    exit_value = stored.get(f"{prefix}exit")
    session._set(f"{prefix}entry", "resume" if exit_value == "suspend" else "ab-initio")
    return session
