"""The Tornado application: context, routes, start and stop of every part.

`build_context` opens the store and builds the shared services,
`make_app` collects the routes, `start_services` and `stop_services` start
and stop the parts in order. `python -m server` (server/cli.py) runs them
in that order; tests do the same.
"""

from __future__ import annotations

import logging
import os
import secrets
from pathlib import Path
from types import ModuleType
from typing import Any

import tornado.web

from server import metrics
from server.admission import AdmissionDelegate
from server.config import Settings
from server.context import AppContext
from server.errors import ApiError
from server.handlers import (
    attempts,
    content,
    courses,
    ops,
    packages,
    registrations,
    reports,
    runtime,
    users,
)
from server.handlers.base import BaseHandler
from server import player
from server.launch import LaunchTokens
from server.ratelimit import MemoryRateLimiter, RedisRateLimiter, StaffTokens, parse_networks
from storage import open_store

log = logging.getLogger(__name__)

# Parts that others build, started in this order and stopped in reverse.
PARTS: tuple[ModuleType, ...] = (packages, content, runtime, player)
# Route modules of the LMS API and the operations endpoints.
API_MODULES: tuple[ModuleType, ...] = (
    users,
    courses,
    registrations,
    attempts,
    reports,
    ops,
)

SECRET_KEY_FILE = "secret_key"


class NotFoundHandler(BaseHandler):
    """Sends a JSON 404 for every path that no route matches."""

    def prepare(self) -> None:
        raise ApiError(
            404,
            f"No endpoint at {self.request.path!r}; see /api/schema/ for the API.",
        )


class Application(tornado.web.Application):
    """A Tornado application that admits each request before it runs.

    Admission (rate limits, body size) happens once the headers arrive, so a
    request is rejected before its body is read.
    """

    def __init__(self, ctx: AppContext, rules: list[Any], **settings: Any) -> None:
        super().__init__(rules, **settings)
        self.ctx = ctx

    def get_handler_delegate(  # type: ignore[override]
        self,
        request: Any,
        target_class: type[tornado.web.RequestHandler],
        target_kwargs: dict[str, Any] | None = None,
        path_args: list[bytes] | None = None,
        path_kwargs: dict[str, bytes] | None = None,
    ) -> AdmissionDelegate:
        return AdmissionDelegate(
            self, request, target_class, target_kwargs, path_args, path_kwargs
        )


async def build_context(settings: Settings) -> AppContext:
    """Create the data directory, open the store and build the services.

    Services: `launch_tokens` (LaunchTokens), `rate_limiter` (in process, or
    in Redis with `settings.redis_url`) and `trusted_proxies` (parsed
    networks). Raise ValueError on an invalid setting.
    """
    data_dir = Path(settings.data_dir)
    data_dir.mkdir(parents=True, exist_ok=True)
    trusted_proxies = parse_networks(settings.trusted_proxies)
    secret = load_secret_key(settings)

    store = open_store(settings.store_url)
    await store.open()
    ctx = AppContext(settings=settings, store=store)
    ctx.services["launch_tokens"] = LaunchTokens(secret, settings.launch_token_ttl)
    ctx.services["trusted_proxies"] = trusted_proxies
    ctx.services["staff_tokens"] = StaffTokens()
    if settings.redis_url:
        ctx.services["rate_limiter"] = RedisRateLimiter.from_url(settings.redis_url)
    else:
        ctx.services["rate_limiter"] = MemoryRateLimiter()

    # The actor registry (ctx.actors) is built here, after the store opens.
    return ctx


def load_secret_key(settings: Settings) -> bytes:
    """Return the launch token key: the setting, or the key file in data_dir.

    A missing key file is created with 32 random bytes, readable by the
    owner only (mode 0600), so launch tokens survive a restart.
    """
    if settings.secret_key:
        return settings.secret_key.encode()
    path = Path(settings.data_dir) / SECRET_KEY_FILE
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        key = path.read_bytes().strip()
        if not key:
            raise ValueError(
                f"secret key file {path} is empty; delete it to create a new key"
            ) from None
        return key
    key = secrets.token_hex(32).encode()
    with os.fdopen(fd, "wb") as file:
        file.write(key)
    log.info("created secret key file %s", path)
    return key


def make_app(ctx: AppContext) -> Application:
    """Build the application: the LMS API routes, then every part's routes."""
    rules: list[Any] = []
    for module in API_MODULES:
        rules.extend(module.routes(ctx))
    for part in PARTS:
        rules.extend(part.routes(ctx))
    return Application(
        ctx,
        rules,
        default_handler_class=NotFoundHandler,
        default_handler_args={"ctx": ctx},
        log_function=metrics.record_request,
        compress_response=True,
    )


async def start_services(ctx: AppContext) -> None:
    """Start the parts' background services, in the order of PARTS."""
    # The actor registry starts here, before the parts that send it work.
    for part in PARTS:
        await part.start(ctx)
    log.info("started services")


async def stop_services(ctx: AppContext) -> None:
    """Stop the parts in reverse order, then close the rate limiter and store.

    Every step runs even when an earlier one fails; the failures are logged.
    """
    for part in reversed(PARTS):
        try:
            await part.stop(ctx)
        except Exception:
            log.exception("stopping %s failed", part.__name__)
    # The actor registry stops here, flushing every actor before the store closes.
    limiter = ctx.services.get("rate_limiter")
    if limiter is not None:
        try:
            await limiter.close()
        except Exception:
            log.exception("closing the rate limiter failed")
    await ctx.store.close()
    log.info("stopped services and closed the store")
