"""The error that request handlers raise to answer with a 4xx.

`ApiError` carries the HTTP status and the `{"error": ...}` body. The base
handler turns it, and every store error that reaches it, into the JSON answer
in one place; handlers never write error bodies themselves.
"""

from __future__ import annotations

from typing import Any


class ApiError(Exception):
    """An answer other than success: status, message and optional extras.

    `details` maps field names to messages for validation errors;
    `error_code` is the SCORM error code of a run-time error; `extra` adds
    other top-level fields to the body (for example `expected_batch_seq`).
    """

    def __init__(
        self,
        status: int,
        message: str,
        *,
        details: dict[str, str] | None = None,
        error_code: int | None = None,
        headers: dict[str, str] | None = None,
        extra: dict[str, Any] | None = None,
    ) -> None:
        super().__init__(message)
        self.status = status
        self.message = message
        self.details = details
        self.error_code = error_code
        self.headers = headers or {}
        self.extra = extra or {}

    def body(self) -> dict[str, Any]:
        body: dict[str, Any] = {"error": self.message}
        if self.details:
            body["details"] = self.details
        if self.error_code is not None:
            body["error_code"] = self.error_code
        body.update(self.extra)
        return body
