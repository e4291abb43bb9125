"""Launch tokens: short-lived, signed, bound to one attempt.

A token reads `<attempt_id>.<expires>.<signature>`, where `expires` is a Unix
time in seconds and the signature is an HMAC-SHA256 of the first two parts,
base64url-encoded without padding. Nothing is stored server-side, so any
process that shares the key can check a token.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import time
from datetime import datetime, timezone


class InvalidLaunchToken(Exception):
    """The launch token is malformed, forged or expired; the message says which."""


class LaunchTokens:
    def __init__(self, secret: bytes, ttl_seconds: int) -> None:
        self._secret = secret
        self.ttl_seconds = ttl_seconds

    def issue(self, attempt_id: int, now: float | None = None) -> tuple[str, datetime]:
        """Return a token for the attempt and the time it expires."""
        expires = int((time.time() if now is None else now) + self.ttl_seconds)
        payload = f"{attempt_id}.{expires}"
        token = f"{payload}.{self._sign(payload)}"
        return token, datetime.fromtimestamp(expires, timezone.utc)

    def verify(self, token: str, now: float | None = None) -> int:
        """Return the attempt id of a valid token; raise InvalidLaunchToken."""
        parts = token.split(".")
        # isascii: compare_digest raises TypeError on other strings, and
        # isdigit alone accepts digits that int() rejects.
        if not token.isascii() or len(parts) != 3 or not parts[0].isdigit() or not parts[1].isdigit():
            raise InvalidLaunchToken("The launch token is malformed.")
        payload = f"{parts[0]}.{parts[1]}"
        if not hmac.compare_digest(self._sign(payload), parts[2]):
            raise InvalidLaunchToken("The launch token is not valid.")
        if int(parts[1]) < (time.time() if now is None else now):
            raise InvalidLaunchToken(
                "The launch token has expired; open the course again from your LMS."
            )
        return int(parts[0])

    def _sign(self, payload: str) -> str:
        digest = hmac.new(self._secret, payload.encode(), hashlib.sha256).digest()
        return base64.urlsafe_b64encode(digest).rstrip(b"=").decode()
