"""Status evaluation by the LMS, and the item summary that reports read.

SCORM 2004 (RTE, cmi.completion_status and cmi.success_status): when
cmi.completion_threshold and cmi.progress_measure are both known, the LMS reports
completion_status from their comparison, whatever the SCO set. In the same way
cmi.scaled_passing_score and cmi.score.scaled decide success_status. Equality
counts as completed / passed.

SCORM 1.2 (RTE, cmi.core.lesson_status and cmi.student_data.mastery_score):
at LMSFinish, in credit mode, a mastery score and a raw score turn a
"completed" (or never set) status into "passed" or "failed"; a status the SCO
set to "incomplete", "passed" or "failed" is kept. A SCO that set no status
gets "completed" in credit mode and "browsed" in browse mode.
"""

from __future__ import annotations

import math
from collections.abc import Mapping

from scorm.types import (
    DECIMAL,
    TIMEINTERVAL,
    TIMESPAN,
    duration_centiseconds,
    timespan_centiseconds,
)


def _number(value: str | None) -> float | None:
    """Return a decimal value as a float, or None when it is absent, invalid or beyond a float's range."""
    if value is None or DECIMAL.fullmatch(value) is None:
        return None
    number = float(value)
    return number if math.isfinite(number) else None


def completion_status_2004(cmi: Mapping[str, str]) -> str:
    """Return cmi.completion_status as the LMS reports it."""
    threshold = _number(cmi.get("cmi.completion_threshold"))
    progress = _number(cmi.get("cmi.progress_measure"))
    if threshold is not None and progress is not None:
        return "completed" if progress >= threshold else "incomplete"
    return cmi.get("cmi.completion_status", "unknown")


def success_status_2004(cmi: Mapping[str, str]) -> str:
    """Return cmi.success_status as the LMS reports it."""
    passing = _number(cmi.get("cmi.scaled_passing_score"))
    scaled = _number(cmi.get("cmi.score.scaled"))
    if passing is not None and scaled is not None:
        return "passed" if scaled >= passing else "failed"
    return cmi.get("cmi.success_status", "unknown")


def lesson_status_at_finish_12(cmi: Mapping[str, str]) -> str:
    """Return the cmi.core.lesson_status the LMS stores at LMSFinish."""
    status = cmi.get("cmi.core.lesson_status", "not attempted")
    mode = cmi.get("cmi.core.lesson_mode", "normal")
    credit = cmi.get("cmi.core.credit", "credit") == "credit"
    if mode == "browse":
        return "browsed" if status == "not attempted" else status
    if mode == "review" or not credit:
        return status
    mastery = _number(cmi.get("cmi.student_data.mastery_score"))
    raw = _number(cmi.get("cmi.core.score.raw"))
    if (
        mastery is not None
        and raw is not None
        and status in ("completed", "not attempted")
    ):
        return "passed" if raw >= mastery else "failed"
    return "completed" if status == "not attempted" else status


def _total_seconds(standard: str, cmi: Mapping[str, str]) -> float:
    if standard == "1.2":
        total = cmi.get("cmi.core.total_time", "")
        valid = TIMESPAN.fullmatch(total) is not None
        return timespan_centiseconds(total) / 100 if valid else 0.0
    total = cmi.get("cmi.total_time", "")
    valid = TIMEINTERVAL.fullmatch(total) is not None
    return duration_centiseconds(total) / 100 if valid else 0.0


def _grade(raw: float | None, low: float | None, high: float | None) -> float | None:
    if raw is None:
        return None
    if low is not None and high is not None and high > low:
        return min(1.0, max(0.0, (raw - low) / (high - low)))
    return min(1.0, max(0.0, raw / 100))


def summary(standard: str, cmi: Mapping[str, str]) -> dict:
    """Summarize one item's state for reports.

    Keys: completion_status, success_status, score (raw; in SCORM 2004 scaled*100
    when only scaled is set), score_scaled, total_time_seconds, is_complete, and
    grade: the scaled score clamped to 0..1, else (raw-min)/(max-min), else raw/100.
    """
    if standard == "1.2":
        status = cmi.get("cmi.core.lesson_status", "not attempted")
        completion = (
            "completed" if status in ("completed", "passed", "failed") else status
        )
        success = status if status in ("passed", "failed") else "unknown"
        raw = _number(cmi.get("cmi.core.score.raw"))
        scaled = None
        low = _number(cmi.get("cmi.core.score.min"))
        high = _number(cmi.get("cmi.core.score.max"))
    else:
        completion = completion_status_2004(cmi)
        success = success_status_2004(cmi)
        raw = _number(cmi.get("cmi.score.raw"))
        scaled = _number(cmi.get("cmi.score.scaled"))
        low = _number(cmi.get("cmi.score.min"))
        high = _number(cmi.get("cmi.score.max"))
    score = raw if raw is not None or scaled is None else scaled * 100
    grade = min(1.0, max(0.0, scaled)) if scaled is not None else _grade(raw, low, high)
    return {
        "completion_status": completion,
        "success_status": success,
        "score": score,
        "score_scaled": scaled,
        "total_time_seconds": _total_seconds(standard, cmi),
        "is_complete": completion == "completed",
        "grade": grade,
    }
