"""Checked reading of JSON body fields and query parameters.

Each reader raises a 400 ApiError whose `details` names the field, so a
wrong type or a missing field never reaches a store call.
"""

from __future__ import annotations

import math
from typing import Any

import tornado.web

from server.errors import ApiError

DEFAULT_LIMIT = 100
MAX_LIMIT = 1000
# Ids have at most 18 digits, so they fit the stores' signed 64-bit integers
# (SQLite raises OverflowError on a larger Python int). The readers below
# check every id from a path, query string or body against this range.
MAX_ID = 10**18 - 1
MAX_ID_DIGITS = 18
# Maximum characters of an invalid id that an error message repeats.
SHOWN_ID_CHARACTERS = 24


def is_decimal(text: str) -> bool:
    """Check for ASCII digits only; `str.isdigit` also accepts digits like '²'."""
    return text.isascii() and text.isdigit()


def parse_id(text: str) -> int | None:
    """Parse a record id from text: 1 to MAX_ID in ASCII digits, else None.

    The length is checked before `int()`, which raises ValueError on more
    than 4300 digits (`sys.get_int_max_str_digits`, Python 3.11).
    """
    if not is_decimal(text) or len(text) > MAX_ID_DIGITS:
        return None
    value = int(text)
    return value if 1 <= value <= MAX_ID else None


def path_id(text: str, kind: str) -> int:
    """Parse the id in a URL path, raising a 404 ApiError when it names no record.

    An id that no store can hold names no record, so it gets the same 404 as
    an unknown id. `kind` starts the message, as in "Attempt 0 not found.".
    """
    value = parse_id(text)
    if value is None:
        raise ApiError(404, f"{kind} {shown_id(text, quote=False)} not found.")
    return value


def shown_id(value: Any, *, quote: bool = True) -> str:
    """Return an invalid id as an error message shows it, cut to a readable length."""
    text = repr(value) if quote else str(value)
    if len(text) > SHOWN_ID_CHARACTERS:
        return text[:SHOWN_ID_CHARACTERS] + "..."
    return text


def invalid(name: str, message: str) -> ApiError:
    """Return the 400 error for one invalid field."""
    return ApiError(400, f"Invalid field {name!r}: {message}", details={name: message})


def body_int(body: dict[str, Any], name: str) -> int:
    """Read a required integer id field (a JSON number, or digits in a string)."""
    if name not in body or body[name] is None:
        raise invalid(name, "this field is required.")
    value = body[name]
    if isinstance(value, str):
        parsed = parse_id(value)
    elif isinstance(value, int) and not isinstance(value, bool) and 1 <= value <= MAX_ID:
        parsed = value
    else:
        parsed = None
    if parsed is None:
        raise invalid(name, f"expected a positive integer id, got {shown_id(value)}.")
    return parsed


def body_str(
    body: dict[str, Any],
    name: str,
    *,
    required: bool = False,
    max_length: int = 255,
    allow_empty: bool = True,
) -> str | None:
    """Read a string field; None when it is absent and not required."""
    if name not in body:
        if required:
            raise invalid(name, "this field is required.")
        return None
    value = body[name]
    if not isinstance(value, str):
        raise invalid(name, f"expected a string, got {type(value).__name__}.")
    if not allow_empty and not value.strip():
        raise invalid(name, "this field may not be blank.")
    if len(value) > max_length:
        raise invalid(name, f"at most {max_length} characters are allowed.")
    return value


def body_bool(body: dict[str, Any], name: str) -> bool | None:
    """Read an optional boolean field; None when it is absent."""
    if name not in body:
        return None
    value = body[name]
    if not isinstance(value, bool):
        raise invalid(name, f"expected true or false, got {value!r}.")
    return value


def body_number(body: dict[str, Any], name: str) -> float | None:
    """Read an optional finite number field; None when absent or null."""
    value = body.get(name)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise invalid(name, f"expected a number, got {value!r}.")
    if not math.isfinite(value):
        raise invalid(name, "expected a finite number.")
    return float(value)


def reject_unknown(body: dict[str, Any], allowed: set[str]) -> None:
    """Raise 400 when the body has a field outside `allowed`."""
    unknown = sorted(set(body) - allowed)
    if unknown:
        raise ApiError(
            400,
            f"Unknown field(s) {', '.join(unknown)}; "
            f"allowed: {', '.join(sorted(allowed))}.",
            details={name: "unknown field." for name in unknown},
        )


def query_int(
    handler: tornado.web.RequestHandler, name: str, *, required: bool = False
) -> int | None:
    """Read an integer id query parameter; None when absent and not required."""
    raw = handler.get_query_argument(name, None)
    if raw is None or raw == "":
        if required:
            raise invalid(name, "this query parameter is required.")
        return None
    value = parse_id(raw)
    if value is None:
        raise invalid(name, f"expected a positive integer id, got {shown_id(raw)}.")
    return value


def page_params(handler: tornado.web.RequestHandler) -> tuple[int, int]:
    """Read `limit` (default 100, 1 to 1000) and `offset` (default 0)."""
    limit = _non_negative(handler, "limit", DEFAULT_LIMIT)
    if not 1 <= limit <= MAX_LIMIT:
        raise invalid("limit", f"expected 1 to {MAX_LIMIT}, got {limit}.")
    offset = _non_negative(handler, "offset", 0)
    return limit, offset


def _non_negative(handler: tornado.web.RequestHandler, name: str, default: int) -> int:
    raw = handler.get_query_argument(name, None)
    if raw is None or raw == "":
        return default
    if not is_decimal(raw) or len(raw) > 18:
        raise invalid(name, f"expected a non-negative integer, got {raw!r}.")
    return int(raw)
