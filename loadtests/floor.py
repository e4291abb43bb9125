"""A bare Tornado server: the floor for any HTTP endpoint on this machine.

`python -m loadtests.floor --port 8100` serves the player's routes of the
real server with no store, actor, auth or SCORM rule behind them. A session
open returns 201 with a new session id. A run-time batch is parsed as JSON
and gets one `{"return": "true", "error_code": 0}` per call (`""` for
GetValue). The single-call endpoints return their success bodies.
`/metrics` counts the run-time calls under the server's name,
`scorm_runtime_calls_total`, so the benchmark driver reads both alike.
"""

from __future__ import annotations

import argparse
import asyncio
import itertools
import json
import logging
import signal

import tornado.web

log = logging.getLogger(__name__)


class Counters:
    """Counts of requests and run-time calls served since start."""

    def __init__(self) -> None:
        self.runtime_calls = 0
        self.requests = 0
        self.session_ids = itertools.count(1)


class FloorHandler(tornado.web.RequestHandler):
    def initialize(self, counters: Counters) -> None:
        self.counters = counters

    def on_finish(self) -> None:
        self.counters.requests += 1

    def reply(self, body: dict, status: int = 200) -> None:
        self.set_status(status)
        self.set_header("Content-Type", "application/json")
        self.finish(json.dumps(body))

    def parsed_body(self) -> dict | None:
        """Return the JSON object of the body, or None after sending a 400."""
        try:
            body = json.loads(self.request.body or b"{}")
        except ValueError:
            self.reply(
                {"error": "Request body is not valid JSON; send a JSON object."}, 400
            )
            return None
        if not isinstance(body, dict):
            self.reply({"error": "Request body is not a JSON object; send one."}, 400)
            return None
        return body


class SessionsHandler(FloorHandler):
    def post(self, attempt_id: str) -> None:
        if self.parsed_body() is None:
            return
        session_id = f"s-{next(self.counters.session_ids)}"
        self.reply(
            {
                "session_id": session_id,
                "sco_id": "item_1",
                "standard": "SCORM 2004 4th Edition",
                "cmi": {},
            },
            201,
        )


class RuntimeHandler(FloorHandler):
    def post(self, attempt_id: str) -> None:
        body = self.parsed_body()
        if body is None:
            return
        calls = body.get("calls")
        if not isinstance(calls, list):
            self.reply(
                {"error": "Field calls is missing or not a list; send a list."}, 400
            )
            return
        results = []
        for call in calls:
            method = call.get("method", "") if isinstance(call, dict) else ""
            value = "" if method.endswith("GetValue") else "true"
            results.append({"return": value, "error_code": 0})
        self.counters.runtime_calls += len(calls)
        self.reply({"batch_seq": body.get("batch_seq"), "results": results})


class SessionControlHandler(FloorHandler):
    def post(self, attempt_id: str, action: str) -> None:
        if self.parsed_body() is None:
            return
        self.reply(
            {"id": int(attempt_id), "completion_status": "", "is_complete": False}
        )


class SetValueHandler(FloorHandler):
    def post(self) -> None:
        body = self.parsed_body()
        if body is None:
            return
        self.counters.runtime_calls += 1
        self.reply({"result": "true", "error_code": 0})


class GetValueHandler(FloorHandler):
    def get(self) -> None:
        self.get_query_argument("element_id", "")
        self.counters.runtime_calls += 1
        self.reply({"value": ""})


class MetricsHandler(FloorHandler):
    def get(self) -> None:
        self.set_header("Content-Type", "text/plain; version=0.0.4")
        self.finish(
            f"scorm_runtime_calls_total {self.counters.runtime_calls}\n"
            f"floor_requests_total {self.counters.requests}\n"
        )


class HealthHandler(FloorHandler):
    def get(self) -> None:
        self.reply({"status": "ok"})


def make_app(counters: Counters) -> tornado.web.Application:
    args = {"counters": counters}
    # No access log: the floor measures HTTP handling alone.
    return tornado.web.Application(
        [
            (r"/api/attempts/(\d+)/sessions/?", SessionsHandler, args),
            (r"/api/attempts/(\d+)/runtime/?", RuntimeHandler, args),
            (
                r"/api/attempts/(\d+)/(start_session|end_session)/?",
                SessionControlHandler,
                args,
            ),
            (r"/api/scorm-api/set_value/?", SetValueHandler, args),
            (r"/api/scorm-api/get_value/?", GetValueHandler, args),
            (r"/metrics", MetricsHandler, args),
            (r"/healthz", HealthHandler, args),
        ],
        log_function=lambda handler: None,
    )


async def serve(host: str, port: int) -> None:
    """Serve until SIGINT or SIGTERM."""
    app = make_app(Counters())
    server = app.listen(port, address=host, xheaders=False)
    log.info("floor server listening on %s:%d", host, port)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(signum, stop.set)
    await stop.wait()
    server.stop()
    log.info("floor server stopped")


def main() -> None:
    parser = argparse.ArgumentParser(
        prog="python -m loadtests.floor", description=__doc__
    )
    parser.add_argument("--host", default="127.0.0.1", help="address to listen on")
    parser.add_argument("--port", type=int, default=8100, help="TCP port to listen on")
    args = parser.parse_args()
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(message)s")
    asyncio.run(serve(args.host, args.port))


if __name__ == "__main__":
    main()
