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
# Ids have at most 18 digits, so they fit the stores' 64-bit integers; the
# routes match `\d{1,18}` for the same reason.
MAX_ID = 10**18 - 1


def is_decimal(text: str) -> bool:
    """Check for ASCII digits only; `str.isdigit` also accepts digits like '²'."""
    return text.isascii() and text.isdigit()


def invalid(name: str, message: str) -> ApiError:
    """Return the 400 error for one invalid field."""
    return ApiError(400, f"Invalid field {name!r}: {message}", details={name: message})


def body_int(body: dict[str, Any], name: str) -> int:
    """Read a required integer id field (a JSON number, or digits in a string)."""
    if name not in body or body[name] is None:
        raise invalid(name, "this field is required.")
    value = body[name]
    if isinstance(value, str) and is_decimal(value) and len(value) <= 18:
        value = int(value)
    if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= MAX_ID:
        raise invalid(name, f"expected a positive integer id, got {value!r}.")
    return value


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
    if not is_decimal(raw) or len(raw) > 18 or not 1 <= int(raw) <= MAX_ID:
        raise invalid(name, f"expected a positive integer id, got {raw!r}.")
    return int(raw)


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
