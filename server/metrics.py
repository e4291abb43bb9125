"""Prometheus metrics of HTTP requests, on the default registry.

Other parts register their own metrics (`scorm_*`) on the same default
registry, so `GET /metrics` serves them all.
"""

from __future__ import annotations

import logging
from typing import Any

import tornado.web
from prometheus_client import Counter, Histogram

access_log = logging.getLogger("server.access")

REQUESTS = Counter(
    "scorm_http_requests_total",
    "HTTP requests completed, by route (handler class), method and status.",
    ["route", "method", "status"],
)
REQUEST_SECONDS = Histogram(
    "scorm_http_request_duration_seconds",
    "Time from the end of the request headers to the end of the response.",
    ["route", "method"],
    buckets=(0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10),
)


def record_request(handler: tornado.web.RequestHandler) -> None:
    """Count a finished request and write its access log line.

    Installed as the application's `log_function`, which Tornado calls once
    per request. The path is logged without its query string, because a
    launch token may travel there.
    """
    route = getattr(handler, "route_name", type(handler).__name__)
    method = handler.request.method or ""
    status = handler.get_status()
    seconds = handler.request.request_time()
    counter, histogram = _children(route, method, status)
    counter.inc()
    histogram.observe(seconds)

    if status < 400:
        level = getattr(handler, "access_log_level", logging.INFO)
    elif status < 500:
        level = logging.WARNING
    else:
        level = logging.ERROR
    if access_log.isEnabledFor(level):
        access_log.log(
            level,
            "%d %s %s (%s) %.2fms",
            status,
            method,
            handler.request.path,
            handler.request.remote_ip,
            seconds * 1000,
        )


# Metric children by (route, method, status): `labels()` builds a key and
# takes a lock on every call, which a busy server does thousands of times a
# second for the same few label sets.
_CHILDREN: dict[tuple[str, str, int], tuple[Any, Any]] = {}


def _children(route: str, method: str, status: int) -> tuple[Any, Any]:
    key = (route, method, status)
    found = _CHILDREN.get(key)
    if found is None:
        found = _CHILDREN[key] = (
            REQUESTS.labels(route, method, str(status)),
            REQUEST_SECONDS.labels(route, method),
        )
    return found
