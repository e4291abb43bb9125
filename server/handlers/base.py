"""The base request handler: JSON in and out, errors, authentication."""

from __future__ import annotations

import hashlib
import json
import logging
import re
from typing import Any

import tornado.web
from tornado.log import app_log, gen_log

from server.context import AppContext
from server.errors import ApiError
from storage.errors import DuplicateUsername, NotFound, StoreUnavailable
from storage.models import User

log = logging.getLogger(__name__)

JSON_TYPES = ("application/json",)
# A JSON escape of a UTF-16 surrogate: the only way a body can carry one,
# because a UTF-8 byte sequence cannot encode a surrogate.
_SURROGATE_ESCAPE = re.compile(rb"\\u[dD][89a-fA-F]")


def hash_token(key: str) -> str:
    """Return the stored form of an API token: its SHA-256 in hex.

    Tokens are 256-bit random values, so a fast hash is safe here; only
    passwords need a slow one.
    """
    return hashlib.sha256(key.encode()).hexdigest()


class QueryFreeLogging(tornado.web.RequestHandler):
    """Handler base class that logs request errors with the URL path but not its query string.

    Launch tokens travel in the `token` query argument, and Tornado's own
    `log_exception` writes the whole URI to the log.
    """

    def log_exception(self, typ: Any, value: Any, tb: Any) -> None:
        summary = f"{self.request.method} {self.request.path} ({self.request.remote_ip})"
        if isinstance(value, tornado.web.HTTPError):
            if value.log_message:
                gen_log.warning(
                    "%d %s: " + value.log_message, value.status_code, summary, *value.args
                )
            return
        app_log.error("Uncaught exception %s", summary, exc_info=(typ, value, tb))


class BaseHandler(QueryFreeLogging):
    """Handlers of the REST API derive from this.

    Raise `ApiError` to answer with an error; `write_error` turns it, store
    errors and unexpected exceptions into the `{"error": ...}` body.
    """

    ctx: AppContext
    _user: User | None
    _authenticated: bool

    def initialize(self, ctx: AppContext) -> None:
        self.ctx = ctx
        self._authenticated = False
        self._user = None

    def set_default_headers(self) -> None:
        self.set_header("Content-Type", "application/json; charset=utf-8")
        self.set_header("Cache-Control", "no-store")

    # Bodies

    def json_body(
        self, *, accept_text_plain: bool = False, allow_surrogates: bool = False
    ) -> dict[str, Any]:
        """Parse the request body as a JSON object, or raise a 4xx ApiError.

        A string with a lone UTF-16 surrogate (`"\\ud800"`) is rejected
        unless `allow_surrogates` is set: the run-time passes such values to
        the SCORM engine, as a SCO's JavaScript can produce them.
        """
        content_type = self.request.headers.get("Content-Type", "")
        media_type = content_type.split(";", 1)[0].strip().lower()
        allowed = JSON_TYPES + (("text/plain",) if accept_text_plain else ())
        if media_type not in allowed:
            raise ApiError(
                415,
                f"Unsupported content type {media_type or '(none)'!r}; "
                "send the body as application/json.",
            )
        raw = self.request.body or b""
        try:
            body = json.loads(raw)
        except (ValueError, UnicodeDecodeError) as exc:
            raise ApiError(400, f"Invalid JSON body: {exc}.") from None
        except RecursionError:
            raise ApiError(400, "Invalid JSON body: nested too deeply.") from None
        if not isinstance(body, dict):
            raise ApiError(400, "Invalid JSON body: expected a JSON object.")
        if not allow_surrogates and _SURROGATE_ESCAPE.search(raw) and _has_surrogate(body):
            raise ApiError(
                400,
                "Invalid JSON body: a string contains a lone UTF-16 surrogate; "
                "send valid Unicode text.",
            )
        return body

    def write_page(self, items: list[Any], total: int) -> None:
        """Send a list: a JSON array, with the total in `X-Total-Count`."""
        self.set_header("X-Total-Count", str(total))
        self.write_json(items)

    def write_json(self, data: Any, status: int = 200) -> None:
        self.set_status(status)
        self.finish(_json_bytes(data))

    # Authentication

    async def current_api_user(self) -> User | None:
        """Return the user of the `Authorization: Token` header, if any.

        Raise 401 for a malformed header or an unknown token.
        """
        if self._authenticated:
            return self._user
        self._authenticated = True
        header = self.request.headers.get("Authorization", "")
        if not header:
            return None
        scheme, _, key = header.partition(" ")
        if scheme.lower() != "token":
            return None
        key = key.strip()
        if not key:
            raise self.unauthorized("Invalid Authorization header: no token after 'Token'.")
        token_hash = hash_token(key)
        user = await self.ctx.store.get_user_by_token(token_hash)
        if user is None:
            raise self.unauthorized("Invalid token; obtain one from /api/api-token-auth/.")
        staff_tokens = self.ctx.services.get("staff_tokens")
        if user.is_staff and staff_tokens is not None:
            staff_tokens.remember(token_hash, user.id)
        self._user = user
        return user

    async def require_user(self) -> User:
        user = await self.current_api_user()
        if user is None:
            raise self.unauthorized(
                "Authentication required; send 'Authorization: Token <key>'."
            )
        return user

    async def require_admin(self) -> User:
        user = await self.require_user()
        if not user.is_staff:
            raise ApiError(403, "Only an admin may do this.")
        return user

    def unauthorized(self, message: str) -> ApiError:
        return ApiError(401, message, headers={"WWW-Authenticate": "Token"})

    # Errors

    def write_error(self, status_code: int, **kwargs: Any) -> None:
        error = self._api_error(status_code, kwargs.get("exc_info"))
        self.clear()
        self.set_default_headers()
        for name, value in error.headers.items():
            self.set_header(name, value)
        self.set_status(error.status)
        self.finish(_json_bytes(error.body()))

    def _api_error(self, status_code: int, exc_info: Any) -> ApiError:
        exc = exc_info[1] if exc_info else None
        if isinstance(exc, ApiError):
            return exc
        if isinstance(exc, NotFound):
            return ApiError(404, f"{exc.kind.capitalize()} {exc.record_id} not found.")
        if isinstance(exc, DuplicateUsername):
            return ApiError(409, f"Username {exc.username!r} is taken; choose another.")
        if isinstance(exc, StoreUnavailable):
            return ApiError(503, "The store is unavailable; retry shortly.",
                            headers={"Retry-After": "1"})
        if isinstance(exc, tornado.web.HTTPError):
            if exc.status_code == 405 and not exc.log_message:
                return ApiError(
                    405,
                    f"Method {self.request.method} is not allowed on "
                    f"{self.request.path!r}; see /api/schema/ for its methods.",
                )
            return ApiError(exc.status_code, exc.log_message or self._reason)
        if status_code >= 500:
            return ApiError(500, "Internal server error; the failure was logged.")
        return ApiError(status_code, self._reason)

    def log_exception(self, typ: Any, value: Any, tb: Any) -> None:
        # ApiError is an expected answer, not a failure worth a traceback.
        if isinstance(value, (ApiError, NotFound, DuplicateUsername)):
            return
        super().log_exception(typ, value, tb)


def _json_bytes(data: Any) -> bytes:
    """Return compact UTF-8 JSON; strings with lone surrogates go as escapes.

    A SCO may store a lone surrogate, which UTF-8 cannot encode. The `\\uXXXX`
    escape keeps it, and the browser's JSON.parse restores the same string.
    """
    text = json.dumps(data, ensure_ascii=False, separators=(",", ":"))
    try:
        return text.encode()
    except UnicodeEncodeError:
        return json.dumps(data, separators=(",", ":")).encode()


def _has_surrogate(value: Any) -> bool:
    try:
        return _contains_surrogate(value)
    except RecursionError:
        # Nesting this deep is no valid request either.
        return True


def _contains_surrogate(value: Any) -> bool:
    if isinstance(value, str):
        return any("\ud800" <= char <= "\udfff" for char in value)
    if isinstance(value, dict):
        return any(_contains_surrogate(k) or _contains_surrogate(v) for k, v in value.items())
    if isinstance(value, list):
        return any(_contains_surrogate(item) for item in value)
    return False
