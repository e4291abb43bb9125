"""SIGKILL of a real server while 50 learners send batches: committed data survives."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import sqlite3
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest

from tests.e2e.live_server import (
    PROJECT_ROOT,
    Lms,
    ServerProcess,
    free_port,
    seed_packages,
    start_server,
)

LEARNERS = 50
COMMITS_BEFORE_KILL = 150


def restart_server(data_dir: Path) -> ServerProcess:
    """Start `python -m server` again on the same data directory."""
    port = free_port()
    log_file = (data_dir / "server-restart.log").open("wb")
    process = subprocess.Popen(
        [sys.executable, "-m", "server", "--data-dir", str(data_dir), "--host", "127.0.0.1",
         "--port", str(port), "--rate-limit", "0", "--runtime-rate-limit", "0"],
        cwd=PROJECT_ROOT, env={**os.environ, "PYTHONUNBUFFERED": "1"},
        stdout=log_file, stderr=subprocess.STDOUT,
    )
    server = ServerProcess(process, f"http://127.0.0.1:{port}", data_dir, log_file)
    deadline = time.monotonic() + 30
    while True:
        try:
            with urllib.request.urlopen(server.base_url + "/healthz", timeout=2):
                return server
        except (urllib.error.URLError, ConnectionError):
            if time.monotonic() > deadline or process.poll() is not None:
                server.stop()
                raise RuntimeError("the restarted server did not answer /healthz")
            # Readiness poll: the process signals nothing else when it listens.
            time.sleep(0.1)


def post(base_url: str, path: str, token: str, body: Any) -> tuple[int, Any]:
    request = urllib.request.Request(
        base_url + path, data=json.dumps(body).encode(), method="POST",
        headers={"Content-Type": "application/json", "Authorization": f"Launch {token}"},
    )
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as error:
        return error.code, json.loads(error.read() or b"{}")


class Learner:
    """A client that sends batches for one attempt until the server dies.

    `committed` is the batch_seq of the last Commit that the server acknowledged.
    """

    def __init__(self, base_url: str, attempt_id: int, token: str) -> None:
        self.base_url = base_url
        self.attempt_id = attempt_id
        self.token = token
        self.committed = 0
        self.session_id = ""

    def run(self, commits: list[int], stop: threading.Event) -> None:
        runtime = f"/api/attempts/{self.attempt_id}/runtime/"
        try:
            status, body = post(self.base_url, f"/api/attempts/{self.attempt_id}/sessions/",
                                self.token, {})
            assert status == 201, body
            self.session_id = body["session_id"]
            batch_seq = 0
            while not stop.is_set():
                batch_seq += 1
                calls = [{"method": "SetValue", "args": ["cmi.location", f"v{batch_seq}"]},
                         {"method": "SetValue", "args": ["cmi.suspend_data", "s" * 100]}]
                if batch_seq == 1:
                    calls.insert(0, {"method": "Initialize", "args": [""]})
                if batch_seq % 3 == 0:
                    calls.append({"method": "Commit", "args": [""]})
                status, body = post(self.base_url, runtime, self.token, {
                    "session_id": self.session_id, "batch_seq": batch_seq, "calls": calls})
                assert status == 200, body
                if batch_seq % 3 == 0:
                    assert body["results"][-1] == {"return": "true", "error_code": 0}
                    self.committed = batch_seq
                    commits.append(batch_seq)
        except (urllib.error.URLError, ConnectionError, TimeoutError, OSError):
            return  # the server was killed


def read_log_seqs(data_dir: Path) -> dict[int, list[int]]:
    with sqlite3.connect(data_dir / "scorm.sqlite3") as connection:
        rows = connection.execute(
            "SELECT attempt_id, seq FROM log ORDER BY attempt_id, seq"
        ).fetchall()
    seqs: dict[int, list[int]] = {}
    for attempt_id, seq in rows:
        seqs.setdefault(attempt_id, []).append(seq)
    return seqs


@pytest.mark.e2e
def test_sigkill_keeps_committed_values(tmp_path: Path) -> None:
    items = [{"identifier": "item_1", "title": "SCO", "scorm_type": "sco",
              "launch_path": "sco.html"}]
    ids = asyncio.run(seed_packages(tmp_path, {"kill": {
        "title": "Kill", "scorm_standard": "SCORM 2004 4th Edition", "items": items,
        "launch_path": "sco.html",
        "manifest": {"standard": "2004", "items": {"item_1": {"runtime": {}}}},
    }}))
    server = start_server(tmp_path)
    lms = Lms(server)
    lms.packages.update(ids)
    package = b""
    learners = []
    for index in range(LEARNERS):
        launch = lms.launch("kill", package, username="learner" if index == 0 else None)
        token = parse_qs(urlsplit(launch.launch_url).query)["token"][0]
        learners.append(Learner(server.base_url, launch.attempt_id, token))
    commits: list[int] = []
    stop = threading.Event()

    with ThreadPoolExecutor(LEARNERS) as pool:
        futures = [pool.submit(learner.run, commits, stop) for learner in learners]
        while len(commits) < COMMITS_BEFORE_KILL and not any(f.done() for f in futures):
            # Poll the workers' progress; the kill must land mid-traffic.
            time.sleep(0.01)
        server.process.send_signal(signal.SIGKILL)
        server.process.wait()
        stop.set()
        for future in futures:
            future.result()
    server.log_file.close()

    restarted = restart_server(tmp_path)
    try:
        lms = Lms(restarted)
        cmi = {learner.attempt_id: lms.cmi(learner.attempt_id) for learner in learners}
        learner = learners[0]
        status, reopened = post(restarted.base_url, f"/api/attempts/{learner.attempt_id}/sessions/",
                                learner.token, {})
        status_batch, batch = post(
            restarted.base_url, f"/api/attempts/{learner.attempt_id}/runtime/", learner.token,
            {"session_id": reopened["session_id"], "batch_seq": 1, "calls": [
                {"method": "Initialize", "args": [""]},
                {"method": "SetValue", "args": ["cmi.location", "after"]},
                {"method": "Commit", "args": [""]}]})
    finally:
        restarted.stop()
    seqs = read_log_seqs(tmp_path)

    assert len(commits) >= COMMITS_BEFORE_KILL
    for each in learners:
        location = cmi[each.attempt_id].get("item_1", {}).get("cmi.location", "v0")
        assert int(location[1:]) >= each.committed, (each.attempt_id, location, each.committed)
    for attempt_id, attempt_seqs in seqs.items():
        assert attempt_seqs == list(range(1, len(attempt_seqs) + 1)), attempt_id
    assert status == 201
    assert status_batch == 200
    assert [r["return"] for r in batch["results"]] == ["true", "true", "true"]
