"""Admission of requests: rate limits and body size, before a handler runs.

Tornado hands each request to an `HTTPMessageDelegate` as its headers
arrive. `AdmissionDelegate` checks the rate limit and the declared body size
there, so that a rejected request gets its JSON error at once and its body
is never buffered. It covers every route, including those whose
handlers do not derive from BaseHandler (content files, the player page).

Handlers decorated with `@stream_request_body` (the package upload) enforce
their own body limit; the server's connection limit is the largest of both.
"""

from __future__ import annotations

import logging
import math
import re
import time
from typing import Any

import tornado.web
from tornado import httputil
from tornado.concurrent import Future

from redis.exceptions import RedisError

from server.context import AppContext
from server.errors import ApiError
from server.handlers.base import BaseHandler, hash_token
from server.launch import InvalidLaunchToken, LaunchTokens
from server.ratelimit import client_address

log = logging.getLogger(__name__)

# Paths whose requests count against the attempt's run-time limit. Ids have
# at most 18 digits (`server.handlers.fields.MAX_ID_DIGITS`). A longer one
# names no attempt, and int() raises ValueError on more than 4300 digits.
_ATTEMPT_PATH = re.compile(r"^/(?:api/attempts/(\d{1,18})/runtime|player/(\d{1,18}))/?$")
# Operations endpoints that monitoring polls; they are never rate limited.
_UNLIMITED_PATHS = frozenset({"/healthz", "/healthz/", "/metrics", "/metrics/"})


@tornado.web.stream_request_body
class RejectHandler(BaseHandler):
    """Sends the ApiError of a request that admission rejected.

    It streams the body so that Tornado does not parse one that never
    arrives: a multipart request would otherwise get a 400 for its empty body.
    """

    def initialize(  # type: ignore[override]
        self, ctx: AppContext, error: ApiError, route: str
    ) -> None:
        super().initialize(ctx)
        self.error = error
        # Metrics count the request under the route it was meant for.
        self.route_name = route

    def prepare(self) -> None:
        raise self.error

    def data_received(self, chunk: bytes) -> None:
        pass


class AdmissionDelegate(tornado.web._HandlerDelegate):
    """A handler delegate that rejects over-limit requests before their body."""

    def __init__(self, application: Any, request: Any, *args: Any) -> None:
        super().__init__(application, request, *args)
        self.ctx: AppContext = application.ctx
        self.rejected = False
        self.body_size = 0

    def headers_received(
        self,
        start_line: httputil.RequestStartLine | httputil.ResponseStartLine,
        headers: httputil.HTTPHeaders,
    ) -> Any:
        # Most requests are decided without awaiting, because no limit applies
        # or the limiter keeps its counters in this process. Returning None
        # instead of a coroutine saves Tornado an await per request.
        settings = self.ctx.settings
        if settings.rate_limit > 0 or settings.runtime_rate_limit > 0:
            key, limit = self._rate_limit_key()
        else:
            # No limit is on, so the key (a launch token check) is not needed.
            key, limit = "", 0
        limiter = self.ctx.services["rate_limiter"]
        if limit > 0 and not hasattr(limiter, "hit_now"):
            return self._admit_after(self._rate_limit_error(limiter, key, limit))
        error = None
        if limit > 0:
            error = self._limit_error(key, limit, limiter.hit_now(key, limit))
        error = error or self._declared_size_error()
        if error is not None:
            self._reject(error)
            return None
        if self.stream_request_body:
            return self._execute_streaming()
        return None

    async def _admit_after(self, limit_check: Any) -> None:
        error = await limit_check or self._declared_size_error()
        if error is not None:
            self._reject(error)
            return
        if self.stream_request_body:
            await self._execute_streaming()

    async def _execute_streaming(self) -> None:
        self.request._body_future = Future()
        await self.execute()  # type: ignore[misc]

    def data_received(self, data: bytes) -> Any:
        if self.rejected:
            return None
        if not self.stream_request_body:
            # A chunked body declares no length, so it is counted as it comes.
            self.body_size += len(data)
            limit = self.ctx.settings.max_body_size
            if self.body_size > limit:
                self._reject(_too_large(limit))
                return None
        return super().data_received(data)

    def finish(self) -> None:
        if not self.rejected:
            super().finish()

    def on_connection_close(self) -> None:
        if not self.rejected:
            super().on_connection_close()

    def _reject(self, error: ApiError) -> None:
        # The reject handler responds without waiting for the body, so Tornado
        # then closes the connection with the body unread.
        self.rejected = True
        self.chunks = bytearray()
        self.stream_request_body = False
        self.handler_kwargs = {
            "ctx": self.ctx,
            "error": error,
            "route": self.handler_class.__name__,
        }
        self.handler_class = RejectHandler
        self.path_args = []
        self.path_kwargs = {}
        self.execute()

    def _declared_size_error(self) -> ApiError | None:
        if self.stream_request_body:
            return None
        declared = self.request.headers.get("Content-Length")
        limit = self.ctx.settings.max_body_size
        if declared and declared.isascii() and declared.isdigit() and int(declared) > limit:
            return _too_large(limit)
        return None

    async def _rate_limit_error(self, limiter: Any, key: str, limit: int) -> ApiError | None:
        try:
            wait = await limiter.hit(key, limit)
        except (RedisError, OSError) as exc:
            # A Redis outage admits the request unchecked instead of failing
            # the API; the failure is logged at most once a minute.
            _log_limiter_failure(exc)
            return None
        return self._limit_error(key, limit, wait)

    @staticmethod
    def _limit_error(key: str, limit: int, wait: int | None) -> ApiError | None:
        if wait is None:
            return None
        log.warning("rate limit of %d a minute reached for %s", limit, key)
        return ApiError(
            429,
            f"Too many requests: the limit is {limit} a minute; "
            f"retry after {wait} seconds.",
            headers={"Retry-After": str(wait)},
        )

    def _rate_limit_key(self) -> tuple[str, int]:
        """Return the counter key of this request and its limit a minute.

        Run-time requests (a valid launch token, the runtime endpoint, the
        player page) count per attempt, so that a class behind one address
        is not blocked. Content files without a token count per address
        against the run-time limit. Everything else counts per address.
        """
        settings = self.ctx.settings
        path = self.request.path
        if path in _UNLIMITED_PATHS or self._has_staff_token():
            return "", 0
        attempt_id = self._launch_token_attempt()
        if attempt_id is None:
            match = _ATTEMPT_PATH.match(path)
            if match:
                attempt_id = int(match.group(1) or match.group(2))
        if attempt_id is not None:
            return f"attempt:{attempt_id}", settings.runtime_rate_limit

        address = client_address(
            self.request.remote_ip or "",
            self.request.headers.get("X-Forwarded-For"),
            self.ctx.services.get("trusted_proxies", ()),
        )
        if path.startswith("/content/"):
            return f"content:{address}", settings.runtime_rate_limit
        return f"client:{address}", settings.rate_limit

    def _has_staff_token(self) -> bool:
        scheme, _, key = self.request.headers.get("Authorization", "").partition(" ")
        if scheme.lower() != "token" or not key.strip():
            return False
        return hash_token(key.strip()) in self.ctx.services.get("staff_tokens", ())

    def _launch_token_attempt(self) -> int | None:
        scheme, _, token = self.request.headers.get("Authorization", "").partition(" ")
        if scheme.lower() != "launch":
            values = self.request.query_arguments.get("token")
            token = values[-1].decode("latin-1") if values else ""
        if not token:
            return None
        tokens: LaunchTokens = self.ctx.services["launch_tokens"]
        try:
            return tokens.verify(token.strip())
        except InvalidLaunchToken:
            return None


_last_limiter_failure = -math.inf


def _log_limiter_failure(exc: Exception) -> None:
    global _last_limiter_failure
    now = time.monotonic()
    if now - _last_limiter_failure >= 60:
        _last_limiter_failure = now
        log.warning("rate limiter failed, admitting requests unchecked: %s", exc)


def _too_large(limit: int) -> ApiError:
    return ApiError(
        413,
        f"Request body too large: the limit is {limit} bytes; send a smaller body.",
    )
