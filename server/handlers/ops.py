"""Operations endpoints: `/healthz`, `/metrics` and `/api/schema/`."""

from __future__ import annotations

import json
import logging
from typing import Any

from prometheus_client import CONTENT_TYPE_LATEST, REGISTRY, generate_latest

from server import openapi
from server.context import AppContext
from server.handlers.base import BaseHandler
from storage.errors import StoreError

log = logging.getLogger(__name__)


class HealthHandler(BaseHandler):
    """GET /healthz: 200 when a store ping succeeds, else 503. No auth."""

    async def get(self) -> None:
        try:
            await self.ctx.store.ping()
        except StoreError as exc:
            log.warning("health check failed: the store ping failed: %s", exc)
            self.set_header("Retry-After", "1")
            self.write_json({"status": "unavailable", "error": "The store is unavailable."}, 503)
            return
        self.write_json({"status": "ok"})


class MetricsHandler(BaseHandler):
    """GET /metrics: every metric of the default Prometheus registry, as text."""

    def get(self) -> None:
        self.set_header("Content-Type", CONTENT_TYPE_LATEST)
        self.finish(generate_latest(REGISTRY))


class SchemaHandler(BaseHandler):
    """GET /api/schema/: the OpenAPI document of the whole API. No auth."""

    _document: bytes | None = None

    def get(self) -> None:
        if SchemaHandler._document is None:
            SchemaHandler._document = json.dumps(openapi.document()).encode()
        self.finish(SchemaHandler._document)


def routes(ctx: AppContext) -> list[Any]:
    args = {"ctx": ctx}
    return [
        (r"/healthz/?$", HealthHandler, args),
        (r"/metrics/?$", MetricsHandler, args),
        (r"/api/schema/?$", SchemaHandler, args),
    ]
