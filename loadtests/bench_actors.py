"""Figures of the actor runtime: memory per actor, activation time, hot path cost.

Run `python -m loadtests.bench_actors` (all three) or name one: `memory`,
`activation`, `hotpath`. `--help` lists the options.

- memory: tracemalloc over `--actors` actors (default 10,000) with a typical
  state: 40 elements, 10 interactions and 2 KB of suspend_data per actor, once
  without and once with a live engine session per actor.
- activation: activation of one attempt whose log has `--entries` entries
  (default 10,000) after its snapshot, on a SQLite file in a temporary folder.
- hotpath: CPU time of the server process per request, for a bare JSON
  request and for a batch of 10 run-time calls (SetValue and GetValue), sent
  one at a time over a keep-alive connection to a server in a subprocess.
"""

from __future__ import annotations

import argparse
import asyncio
import http.client
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
import tracemalloc
from pathlib import Path
from typing import Any

from actors.attempt import AttemptActor, SessionRecord
from actors.registry import ActorRegistry, package_info
from server.config import Settings
from storage.models import PACKAGE_READY
from storage.sqlite import SQLiteStore


def typical_cmi(index: int) -> dict[str, str]:
    """Return a 2004 CMI state of 40 elements, 10 interactions and 2 KB suspend_data."""
    cmi = {
        "cmi.location": f"page-{index % 50}",
        "cmi.suspend_data": (f"{index:08d}" * 256)[:2048],
        "cmi.completion_status": "incomplete",
        "cmi.success_status": "unknown",
        "cmi.score.raw": str(index % 100),
        "cmi.score.min": "0",
        "cmi.score.max": "100",
        "cmi.score.scaled": f"0.{index % 100:02d}",
        "cmi.exit": "suspend",
        "cmi.entry": "resume",
        "cmi.progress_measure": "0.5",
        "cmi.session_time": "PT1M30S",
        "cmi.total_time": "PT12M0S",
    }
    for number in range(27):
        cmi[f"cmi.objectives.{number // 3}.{['id', 'score.raw', 'success_status'][number % 3]}"] = (
            f"obj-{number}-{index % 7}"
        )
    for number in range(10):
        prefix = f"cmi.interactions.{number}."
        cmi[prefix + "id"] = f"q{number}"
        cmi[prefix + "type"] = "choice"
        cmi[prefix + "learner_response"] = f"{index % 4}"
        cmi[prefix + "result"] = "correct" if (index + number) % 2 else "incorrect"
        cmi[prefix + "timestamp"] = "2026-12-04T10:00:00"
    return cmi


def measure_memory(count: int, engine: Any) -> dict[str, float]:
    """Return bytes per actor without and with a live engine session."""
    options = engine.RuntimeOptions()
    info = package_info_stub()
    results = {}
    for live in (False, True):
        tracemalloc.start()
        before = tracemalloc.get_traced_memory()[0]
        actors = []
        for index in range(count):
            actor = AttemptActor(index, index, info, None, engine, options)
            # Decoded state is built fresh per actor, as activation does.
            actor.restore({"items": {"sco-1": typical_cmi(index)}, "sessions": [
                [f"session-{index}", "sco-1", "normal", "credit", "running", 7,
                 [["true", 0]], 3, False]], "open": {"sco-1": f"session-{index}"}}, 3)
            if live:
                actor._runtime(actor.sessions[f"session-{index}"])
            actors.append(actor)
        after = tracemalloc.get_traced_memory()[0]
        tracemalloc.stop()
        results["live session" if live else "state only"] = (after - before) / count
        del actors
    return results


def package_info_stub() -> Any:
    class User:
        username, first_name, last_name = "ada", "Ada", "Lovelace"

    class Package:
        scorm_standard = "SCORM 2004 4th Edition"
        items = [{"identifier": "sco-1", "scorm_type": "sco"}]
        manifest = {"standard": "2004", "items": {"sco-1": {"runtime": {}}}}

    return package_info(Package(), User())  # type: ignore[arg-type]


async def seed(store: SQLiteStore) -> int:
    user = await store.create_user(username="ada", email="a@example.org", password_hash="x")
    course = await store.create_course(title="Bench")
    package = await store.create_package(course_id=course.id, task_id="t", file="p.zip",
                                         status="processing")
    await store.update_package(package.id, {
        "status": PACKAGE_READY, "scorm_standard": "SCORM 2004 4th Edition",
        "items": [{"identifier": "sco-1", "title": "SCO", "scorm_type": "sco",
                   "launch_path": "sco.html"}],
        "manifest": {"standard": "2004", "items": {"sco-1": {"runtime": {}}}},
    })
    return (await store.create_attempt(user.id, package.id)).id


async def measure_activation(entries: int, repeats: int) -> list[float]:
    """Return the seconds of each activation of an attempt with `entries` log entries."""
    with tempfile.TemporaryDirectory() as folder:
        store = SQLiteStore(Path(folder) / "bench.sqlite3")
        await store.open()
        attempt_id = await seed(store)
        settings = Settings(data_dir=Path(folder), flush_max_entries=1000)
        registry = ActorRegistry(store, settings)
        await registry.start()
        actor = await registry.get(attempt_id)
        record = actor.open_session(None)
        actor.run_batch(record.id, 1, [{"method": "Initialize", "args": [""]}])
        for batch_seq in range(2, entries):
            actor.run_batch(record.id, batch_seq, [
                {"method": "SetValue", "args": ["cmi.location", f"page-{batch_seq}"]}])
            if batch_seq % 1000 == 0:
                await registry.wait_durable(actor)
        await registry.wait_durable(actor)
        # Stop without passivating, so that no snapshot covers the entries.
        await registry.flusher.stop()
        timings = []
        for _ in range(repeats):
            fresh = ActorRegistry(store, settings)
            started = time.perf_counter()
            activated = await fresh.activate(attempt_id)
            timings.append(time.perf_counter() - started)
            if activated.seq != entries:
                raise RuntimeError(f"activation replayed to seq {activated.seq}, expected {entries}")
        await store.close()
    return timings


# Hot path: a server subprocess and a client in this process.

def serve(port: int, data_dir: Path) -> None:
    """Run the application with a bare JSON route and one seeded attempt."""
    import tornado.web

    from server.app import build_context, make_app, start_services
    from server.handlers.base import BaseHandler

    class BareHandler(BaseHandler):
        def post(self) -> None:
            self.json_body()
            self.write_json({"ok": True})

    async def main() -> None:
        settings = Settings(data_dir=data_dir, port=port, rate_limit=0,
                            runtime_rate_limit=0, secret_key="bench")
        ctx = await build_context(settings)
        await start_services(ctx)
        attempt_id = await seed(ctx.store)
        app = make_app(ctx)
        app.wildcard_router.add_rules([(r"/bench/bare", BareHandler, {"ctx": ctx})])
        app.listen(port, "127.0.0.1")
        token, _ = ctx.services["launch_tokens"].issue(attempt_id)
        print(json.dumps({"attempt_id": attempt_id, "token": token}), flush=True)
        await asyncio.Event().wait()

    asyncio.run(main())


def cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def measure_hotpath(requests: int) -> dict[str, float]:
    """Return server CPU microseconds per bare request and per batch of 10 calls."""
    port = _free_port()
    with tempfile.TemporaryDirectory() as folder:
        process = subprocess.Popen(
            [sys.executable, "-m", "loadtests.bench_actors", "serve", "--port", str(port),
             "--data-dir", folder], stdout=subprocess.PIPE)
        try:
            seeded = json.loads(process.stdout.readline())  # type: ignore[union-attr]
            return _drive(port, process.pid, seeded, requests)
        finally:
            process.terminate()
            process.wait()


def _drive(port: int, pid: int, seeded: dict[str, Any], requests: int) -> dict[str, float]:
    connection = http.client.HTTPConnection("127.0.0.1", port)
    auth = {"Content-Type": "application/json", "Authorization": f"Launch {seeded['token']}"}
    attempt = seeded["attempt_id"]

    def send(path: str, body: Any, headers: dict[str, str]) -> dict[str, Any]:
        connection.request("POST", path, json.dumps(body), headers)
        response = connection.getresponse()
        data = json.loads(response.read())
        if response.status >= 300:
            raise RuntimeError(f"{path} returned status {response.status}: {data}")
        return data

    session = send(f"/api/attempts/{attempt}/sessions/", {}, auth)["session_id"]
    send(f"/api/attempts/{attempt}/runtime/", {"session_id": session, "batch_seq": 1,
         "calls": [{"method": "Initialize", "args": [""]}]}, auth)
    results = {}
    bare_body = {"session_id": session, "batch_seq": 1, "calls": []}
    for name in ("bare", "batch of 10", "bare again"):
        started = cpu_seconds(pid)
        for number in range(requests):
            if name.startswith("bare"):
                send("/bench/bare", bare_body, {"Content-Type": "application/json"})
                continue
            calls = []
            for index in range(5):
                calls.append({"method": "SetValue",
                              "args": [f"cmi.interactions.{index}.id", f"q{number}-{index}"]})
                calls.append({"method": "GetValue", "args": ["cmi.location"]})
            send(f"/api/attempts/{attempt}/runtime/",
                 {"session_id": session, "batch_seq": number + 2, "calls": calls}, auth)
        results[name] = (cpu_seconds(pid) - started) / requests * 1e6
    return results


def _free_port() -> int:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("figure", nargs="?", default="all",
                        choices=["all", "memory", "activation", "hotpath", "serve"])
    parser.add_argument("--actors", type=int, default=10_000, help="actors for memory")
    parser.add_argument("--entries", type=int, default=10_000,
                        help="log entries after the snapshot for activation")
    parser.add_argument("--repeats", type=int, default=5, help="activations to time")
    parser.add_argument("--requests", type=int, default=3000,
                        help="requests per kind for hotpath")
    parser.add_argument("--port", type=int, default=0, help="port of serve")
    parser.add_argument("--data-dir", type=Path, default=Path("."), help="folder of serve")
    args = parser.parse_args()
    if args.figure == "serve":
        serve(args.port, args.data_dir)
        return
    if args.figure in ("all", "memory"):
        from scorm import runtime

        for name, size in measure_memory(args.actors, runtime).items():
            print(f"memory per actor ({name}): {size / 1024:.1f} KiB")
    if args.figure in ("all", "activation"):
        timings = asyncio.run(measure_activation(args.entries, args.repeats))
        print(f"activation with {args.entries} entries: median "
              f"{statistics.median(timings) * 1000:.1f} ms, max {max(timings) * 1000:.1f} ms")
    if args.figure in ("all", "hotpath"):
        figures = measure_hotpath(args.requests)
        bare = (figures["bare"] + figures["bare again"]) / 2
        for name, micros in figures.items():
            print(f"server CPU per request ({name}): {micros:.0f} us")
        print(f"batch of 10 / bare request: {figures['batch of 10'] / bare:.2f}")


if __name__ == "__main__":
    main()
