"""SCORM 2004 interaction responses: learner_response and correct_responses patterns.

The format of both depends on cmi.interactions.n.type (SCORM 2004 RTE,
interaction response tables). Items are separated by "[,]", the two sides of a
matching or performance pair by "[.]", the bounds of a numeric range by "[:]".
The checks return a failure kind of `scorm.codes`.
"""

from __future__ import annotations

from collections.abc import Callable

from scorm.codes import TYPE_MISMATCH, VALID
from scorm.types import DECIMAL, IDENTIFIER_2004, split_localized

SHORT_IDENTIFIER_MAX = 250
FILL_IN_TEXT_MAX = 250
LONG_TEXT_MAX = 4000

# Interaction types whose correct_responses hold one pattern only, and the types
# whose patterns must differ from each other (SCORM 2004 RTE).
SINGLE_PATTERN_TYPES = frozenset({"true-false", "likert", "numeric", "other"})
UNIQUE_PATTERN_TYPES = frozenset({"choice", "sequencing"})


def _is_short_identifier(item: str) -> bool:
    return (
        len(item) <= SHORT_IDENTIFIER_MAX
        and IDENTIFIER_2004.fullmatch(item) is not None
    )


def _is_real(item: str) -> bool:
    return DECIMAL.fullmatch(item) is not None


def _strip_flags(value: str, names: tuple[str, ...]) -> str | None:
    """Remove leading {case_matters=..} / {order_matters=..} delimiters.

    Returns None when a delimiter has a value other than "true" or "false".
    """
    while value.startswith("{"):
        name_end = value.find("=")
        close = value.find("}")
        if name_end < 0 or close < name_end or value[1:name_end] not in names:
            return value
        if value[name_end + 1 : close] not in ("true", "false"):
            return None
        value = value[close + 1 :]
    return value


def _identifier_list(value: str, unique: bool) -> bool:
    items = value.split("[,]")
    if not all(_is_short_identifier(item) for item in items):
        return False
    return not unique or len(set(items)) == len(items)


def _choice(value: str, correct: bool) -> bool:
    return value == "" or _identifier_list(value, unique=True)


def _sequencing(value: str, correct: bool) -> bool:
    return _identifier_list(value, unique=False)


def _likert(value: str, correct: bool) -> bool:
    return _is_short_identifier(value)


def _true_false(value: str, correct: bool) -> bool:
    return value in ("true", "false")


def _localized_items(value: str, text_max: int) -> bool:
    for item in value.split("[,]"):
        parts = split_localized(item)
        if parts is None or len(parts[1]) > text_max:
            return False
    return True


def _fill_in(value: str, correct: bool) -> bool:
    if correct:
        stripped = _strip_flags(value, ("case_matters", "order_matters"))
        if stripped is None:
            return False
        value = stripped
    return _localized_items(value, FILL_IN_TEXT_MAX)


def _long_fill_in(value: str, correct: bool) -> bool:
    if correct:
        stripped = _strip_flags(value, ("case_matters",))
        if stripped is None:
            return False
        value = stripped
    parts = split_localized(value)
    return parts is not None and len(parts[1]) <= LONG_TEXT_MAX


def _matching(value: str, correct: bool) -> bool:
    for pair in value.split("[,]"):
        sides = pair.split("[.]")
        if len(sides) != 2 or not all(_is_short_identifier(side) for side in sides):
            return False
    return True


def _is_range(value: str) -> bool:
    bounds = value.split("[:]")
    if len(bounds) != 2 or not all(b == "" or _is_real(b) for b in bounds):
        return False
    low, high = bounds
    return low == "" or high == "" or float(low) <= float(high)


def _performance(value: str, correct: bool) -> bool:
    if correct:
        stripped = _strip_flags(value, ("order_matters",))
        if stripped is None:
            return False
        value = stripped
    for pair in value.split("[,]"):
        sides = pair.split("[.]")
        if len(sides) != 2 or sides == ["", ""]:
            return False
        step, answer = sides
        if step and not _is_short_identifier(step):
            return False
        if len(answer) > SHORT_IDENTIFIER_MAX:
            return False
        if correct and "[:]" in answer and not _is_range(answer):
            return False
    return True


def _numeric(value: str, correct: bool) -> bool:
    return _is_range(value) if correct else _is_real(value)


def _other(value: str, correct: bool) -> bool:
    return len(value) <= LONG_TEXT_MAX


_FORMATS: dict[str, Callable[[str, bool], bool]] = {
    "true-false": _true_false,
    "choice": _choice,
    "fill-in": _fill_in,
    "long-fill-in": _long_fill_in,
    "matching": _matching,
    "performance": _performance,
    "sequencing": _sequencing,
    "likert": _likert,
    "numeric": _numeric,
    "other": _other,
}


def check_response(interaction_type: str, value: str, correct: bool) -> int:
    """Validate a learner_response (correct=False) or correct_responses pattern."""
    format_check = _FORMATS.get(interaction_type)
    if format_check is None or not format_check(value, correct):
        return TYPE_MISMATCH
    return VALID
