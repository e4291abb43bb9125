"""Value types of the SCORM 1.2 and SCORM 2004 data models, and their validators.

A validator takes the string a SCO passed to SetValue and returns one of the
failure kinds of `scorm.codes` (VALID, TYPE_MISMATCH, OUT_OF_RANGE, TOO_LONG);
each standard turns the kind into its own error code. Validators never raise.

Every regular expression in TYPE_PATTERNS is written in the subset that both
Python `re` and JavaScript `RegExp` accept (no `\\d`, which matches non-ASCII
digits in Python, no named groups, no `\\Z`), because `scorm.describe` sends them
to the browser. Python applies them with `fullmatch`.

Lengths count code points (a Python `str`'s length). An emoji is one character,
while JavaScript's `String.length` counts it as two UTF-16 units.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable

from scorm.codes import OUT_OF_RANGE, TOO_LONG, TYPE_MISMATCH, VALID
from scorm.languages import ISO_639_1, ISO_639_2

Check = Callable[[str], int]

TYPE_PATTERNS: dict[str, str] = {
    # SCORM 1.2 RTE data types.
    "CMIDecimal": r"^-?([0-9]+(\.[0-9]*)?|\.[0-9]+)$",
    "CMIInteger": r"^[0-9]+$",
    "CMISInteger": r"^-?[0-9]+$",
    "CMIIdentifier": r"^[\x21-\x7e]{1,255}$",
    "CMITimespan": r"^[0-9]{2,4}:[0-5][0-9]:[0-5][0-9](\.[0-9]{1,2})?$",
    "CMITime": r"^([01][0-9]|2[0-3]):[0-5][0-9]:[0-5][0-9](\.[0-9]{1,2})?$",
    # SCORM 2004 RTE data types.
    "real": r"^-?([0-9]+(\.[0-9]*)?|\.[0-9]+)$",
    "timeinterval": (
        r"^P(?!$)([0-9]+Y)?([0-9]+M)?([0-9]+D)?"
        r"(T(?=[0-9])([0-9]+H)?([0-9]+M)?([0-9]+(\.[0-9]+)?S)?)?$"
    ),
    "time": (
        r"^[0-9]{4}(-(0[1-9]|1[0-2])(-(0[1-9]|[12][0-9]|3[01])"
        r"(T([01][0-9]|2[0-3])(:[0-5][0-9](:[0-5][0-9](\.[0-9]{1,2})?)?)?"
        r"(Z|[+-]([01][0-9]|2[0-3])(:[0-5][0-9])?)?)?)?)?$"
    ),
    # RFC 3986 URI characters without brackets and braces, which the interaction
    # response syntax uses as delimiters. A "urn:" value also needs a namespace.
    "long_identifier": (
        r"^(?![uU][rR][nN]:(?![a-zA-Z0-9][a-zA-Z0-9-]{0,31}:[^:]))"
        r"[A-Za-z0-9\-._~:/?#@!$&'()*+,;=%]+$"
    ),
    "language": r"^(([a-zA-Z]{2,3}|[iIxX])(-[a-zA-Z0-9]{1,8})*)?$",
    # adl.nav.request beyond its plain words: "{target=<id>}choice" or "...jump".
    "nav_request": r"^\{target=[^}]+\}(choice|jump)$",
}
TYPE_PATTERNS["short_identifier"] = TYPE_PATTERNS["long_identifier"]

_COMPILED: dict[str, re.Pattern[str]] = {
    name: re.compile(pattern) for name, pattern in TYPE_PATTERNS.items()
}
_LANG_PREFIX = re.compile(r"\{lang=([^}]*)\}")

DECIMAL = _COMPILED["real"]
# Durations are summed and stored as integers of centiseconds. Clamping them to
# about 31,700 years keeps a well-formed but absurd session_time from
# overflowing a float or the stores' 64-bit integers.
MAX_DURATION_CENTISECONDS = 10**14
# A timeinterval number longer than this is over the maximum in any unit.
_MAX_DURATION_DIGITS = 15
# 9999:59:59.99, the largest SCORM 1.2 CMITimespan (hours have at most 4 digits).
MAX_TIMESPAN_CENTISECONDS = ((9999 * 60 + 59) * 60 + 59) * 100 + 99
TIMEINTERVAL = _COMPILED["timeinterval"]
TIMESPAN = _COMPILED["CMITimespan"]
IDENTIFIER_2004 = _COMPILED["long_identifier"]


def is_language(tag: str) -> bool:
    """Check an RFC 3066 language tag whose primary subtag is a known ISO 639 code."""
    if not tag or _COMPILED["language"].fullmatch(tag) is None:
        return False
    primary = tag.split("-", 1)[0].lower()
    if primary in ("i", "x"):
        return "-" in tag
    return primary in ISO_639_1 if len(primary) == 2 else primary in ISO_639_2


def split_localized(value: str) -> tuple[str | None, str] | None:
    """Split a SCORM 2004 localized string into (language, text).

    Returns None when the value starts with "{lang=" but the delimiter is
    malformed or names an invalid language (SCORM 2004 RTE).
    """
    if not value.startswith("{lang="):
        return None, value
    match = _LANG_PREFIX.match(value)
    if match is None or not is_language(match.group(1)):
        return None
    return match.group(1), value[match.end() :]


def duration_centiseconds(value: str) -> int:
    """Convert a valid SCORM 2004 timeinterval to centiseconds.

    A year counts 365 days and a month 30 days; fractions of a second beyond
    hundredths are rounded. Results are clamped to MAX_DURATION_CENTISECONDS.
    """
    match = TIMEINTERVAL.fullmatch(value)
    if match is None:
        raise ValueError(f"invalid timeinterval {value!r}; expected e.g. PT1H30M5.5S")
    years, months, days, _, hours, minutes, seconds, _ = match.groups()
    whole_seconds, _, fraction = (seconds or "0S")[:-1].partition(".")
    numbers = [(part or "0X")[:-1] for part in (years, months, days, hours, minutes)]
    if any(len(number) > _MAX_DURATION_DIGITS for number in numbers + [whole_seconds]):
        return MAX_DURATION_CENTISECONDS
    years_, months_, days_, hours_, minutes_ = (int(number) for number in numbers)
    total_days = years_ * 365 + months_ * 30 + days_
    whole = ((total_days * 24 + hours_) * 60 + minutes_) * 60 + int(whole_seconds)
    fraction_cs = round(float("0." + (fraction or "0")) * 100)
    return min(whole * 100 + fraction_cs, MAX_DURATION_CENTISECONDS)


def format_duration(centiseconds: int) -> str:
    """Format centiseconds as a SCORM 2004 timeinterval, e.g. "PT2H6M9.5S".

    Values over MAX_DURATION_CENTISECONDS are clamped to it.
    """
    minutes, cs = divmod(min(centiseconds, MAX_DURATION_CENTISECONDS), 6000)
    hours, minutes = divmod(minutes, 60)
    seconds = f"{cs // 100}" if cs % 100 == 0 else f"{cs // 100}.{cs % 100:02d}"
    return f"PT{hours}H{minutes}M{seconds.rstrip('0') if '.' in seconds else seconds}S"


def timespan_centiseconds(value: str) -> int:
    """Convert a valid SCORM 1.2 CMITimespan (HHHH:MM:SS.SS) to centiseconds."""
    if TIMESPAN.fullmatch(value) is None:
        raise ValueError(f"invalid CMITimespan {value!r}; expected HHHH:MM:SS.SS")
    hours, minutes, seconds = value.split(":")
    whole = (int(hours) * 60 + int(minutes)) * 60
    return whole * 100 + round(float(seconds) * 100)


def format_timespan(centiseconds: int) -> str:
    """Format centiseconds as a SCORM 1.2 CMITimespan, e.g. "0002:15:30.50".

    Values over 9999:59:59.99, the largest CMITimespan, are clamped to it.
    """
    minutes, cs = divmod(min(centiseconds, MAX_TIMESPAN_CENTISECONDS), 6000)
    hours, minutes = divmod(minutes, 60)
    return f"{hours:04d}:{minutes:02d}:{cs // 100:02d}.{cs % 100:02d}"


def make_check(
    type_name: str,
    *,
    max_length: int | None = None,
    vocabulary: Iterable[str] | None = None,
    minimum: float | None = None,
    maximum: float | None = None,
    blank: bool = False,
) -> Check:
    """Build the validator of one element from its description.

    `vocabulary` lists the accepted words; with a numeric type as well, a value
    is valid when it is either a word or a number (SCORM 2004 cmi.interactions.n.result).
    `blank` accepts the empty string (SCORM 1.2 CMIBlank). Lengths are checked
    before the type, so an overlong value reports TOO_LONG.
    """
    words = frozenset(vocabulary) if vocabulary is not None else None
    pattern = _COMPILED.get(type_name)
    special = _SPECIAL_TYPES.get(type_name)

    def check(value: str) -> int:
        if max_length is not None and len(value) > max_length:
            return TOO_LONG
        if blank and value == "":
            return VALID
        if words is not None and value in words:
            return VALID
        if special is not None:
            return special(value)
        if pattern is None:
            return TYPE_MISMATCH if words is not None else VALID
        if pattern.fullmatch(value) is None:
            return TYPE_MISMATCH
        if minimum is not None and float(value) < minimum:
            return OUT_OF_RANGE
        if maximum is not None and float(value) > maximum:
            return OUT_OF_RANGE
        return VALID

    return check


def _check_localized(value: str) -> int:
    return TYPE_MISMATCH if split_localized(value) is None else VALID


def _check_language(value: str) -> int:
    return VALID if value == "" or is_language(value) else TYPE_MISMATCH


_SPECIAL_TYPES: dict[str, Check] = {
    "localized_string": _check_localized,
    "language": _check_language,
}
