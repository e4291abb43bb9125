"""Changes the LMS makes to an item's state when a session opens and when it ends.

Opening (one launch of a SCO): cmi.entry is "ab-initio" on the first launch,
"resume" after a session that ended in suspend (1.2 cmi.core.exit, 2004 cmi.exit
or adl.nav.request "suspendAll"), and "" otherwise. exit and session_time are
reset and the launch values (learner, credit, mode, manifest data) are written.
In SCORM 2004 a session that ended without suspend ended the attempt, so the
next launch starts a new attempt from an empty state with entry "ab-initio"
; SCORM 1.2 defines no attempts and keeps the state.

A session that never reached Terminate/LMSFinish (the browser closed) keeps its
state and opens with entry "" (or "resume" when it had set exit to suspend).

Ending (Terminate/LMSFinish): the last session_time is added to total_time once,
and the statuses are evaluated (`scorm.evaluation`).

The key "lms.session" records "open" (Initialize succeeded) or "closed"
(Terminate/LMSFinish succeeded); it is not a data model element.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Protocol

from scorm import evaluation
from scorm.types import (
    TIMEINTERVAL,
    TIMESPAN,
    duration_centiseconds,
    format_duration,
    format_timespan,
    timespan_centiseconds,
)

if TYPE_CHECKING:
    from scorm.runtime import LaunchData

SESSION_KEY = "lms.session"
SESSION_OPEN = "open"
SESSION_CLOSED = "closed"


class StateWriter(Protocol):
    """The part of a session that lifecycle rules use: its state and its writes."""

    cmi: dict[str, str]

    def write(self, key: str, value: str) -> None: ...

    def erase(self, key: str) -> None: ...


def _write_launch_values(session: StateWriter, values: dict[str, str | None]) -> None:
    for key, value in values.items():
        if value is None:
            session.erase(key)
        elif session.cmi.get(key) != value:
            session.write(key, value)


def _entry(previous: str | None, suspended: bool) -> str:
    if previous is None:
        return "ab-initio"
    return "resume" if suspended else ""


def open_12(session: StateWriter, launch: LaunchData) -> None:
    """Apply the SCORM 1.2 rules of a new session to the stored state."""
    cmi = session.cmi
    suspended = cmi.get("cmi.core.exit") == "suspend"
    session.write("cmi.core.entry", _entry(cmi.get(SESSION_KEY), suspended))
    session.erase("cmi.core.exit")
    session.erase("cmi.core.session_time")
    _write_launch_values(
        session,
        {
            "cmi.core.student_id": launch.learner_id,
            "cmi.core.student_name": launch.learner_name,
            "cmi.core.credit": launch.credit,
            "cmi.core.lesson_mode": launch.mode,
            "cmi.launch_data": launch.launch_data,
            "cmi.student_data.mastery_score": launch.mastery_score,
            "cmi.student_data.max_time_allowed": launch.max_time_allowed,
            "cmi.student_data.time_limit_action": launch.time_limit_action,
        },
    )


def open_2004(session: StateWriter, launch: LaunchData) -> None:
    """Apply the SCORM 2004 rules of a new session (or a new attempt)."""
    cmi = session.cmi
    previous = cmi.get(SESSION_KEY)
    suspended = (
        cmi.get("cmi.exit") == "suspend" or cmi.get("adl.nav.request") == "suspendAll"
    )
    if previous == SESSION_CLOSED and not suspended:
        # The attempt ended: the next one starts empty except for LMS comments.
        for key in list(cmi):
            if not key.startswith("cmi.comments_from_lms"):
                session.erase(key)
        entry = "ab-initio"
    else:
        entry = _entry(previous, suspended)
    session.write("cmi.entry", entry)
    session.erase("cmi.exit")
    session.erase("cmi.session_time")
    session.erase("adl.nav.request")
    _write_launch_values(
        session,
        {
            "cmi.learner_id": launch.learner_id,
            "cmi.learner_name": launch.learner_name,
            "cmi.credit": launch.credit,
            "cmi.mode": launch.mode,
            "cmi.launch_data": launch.launch_data,
            "cmi.completion_threshold": launch.completion_threshold,
            "cmi.scaled_passing_score": launch.scaled_passing_score,
            "cmi.max_time_allowed": launch.max_time_allowed,
            "cmi.time_limit_action": launch.time_limit_action,
        },
    )
    _create_objectives(session, launch.objective_ids)


def _create_objectives(session: StateWriter, objective_ids: tuple[str, ...]) -> None:
    cmi = session.cmi
    count = int(cmi.get("cmi.objectives._count", "0"))
    existing = {cmi.get(f"cmi.objectives.{i}.id") for i in range(count)}
    for objective_id in objective_ids:
        if objective_id in existing:
            continue
        session.write(f"cmi.objectives.{count}.id", objective_id)
        count += 1
        session.write("cmi.objectives._count", str(count))
        existing.add(objective_id)


def finish_12(session: StateWriter) -> None:
    """Fold session_time into total_time and evaluate lesson_status (LMSFinish)."""
    cmi = session.cmi
    session_time = cmi.get("cmi.core.session_time")
    if session_time is not None and TIMESPAN.fullmatch(session_time):
        total = cmi.get("cmi.core.total_time", "0000:00:00.00")
        total_cs = timespan_centiseconds(total) if TIMESPAN.fullmatch(total) else 0
        total_cs += timespan_centiseconds(session_time)
        session.write("cmi.core.total_time", format_timespan(total_cs))
    status = evaluation.lesson_status_at_finish_12(cmi)
    if cmi.get("cmi.core.lesson_status") != status:
        session.write("cmi.core.lesson_status", status)
    session.write(SESSION_KEY, SESSION_CLOSED)


def finish_2004(session: StateWriter) -> None:
    """Fold session_time into total_time and store the evaluated statuses (Terminate)."""
    cmi = session.cmi
    session_time = cmi.get("cmi.session_time")
    if session_time is not None and TIMEINTERVAL.fullmatch(session_time):
        total = cmi.get("cmi.total_time", "PT0H0M0S")
        total_cs = duration_centiseconds(total) if TIMEINTERVAL.fullmatch(total) else 0
        total_cs += duration_centiseconds(session_time)
        session.write("cmi.total_time", format_duration(total_cs))
    completion = evaluation.completion_status_2004(cmi)
    if cmi.get("cmi.completion_status", "unknown") != completion:
        session.write("cmi.completion_status", completion)
    success = evaluation.success_status_2004(cmi)
    if cmi.get("cmi.success_status", "unknown") != success:
        session.write("cmi.success_status", success)
    session.write(SESSION_KEY, SESSION_CLOSED)
