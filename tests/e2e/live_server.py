"""A real `python -m server` on 127.0.0.1 and a small client of its REST API."""

from __future__ import annotations

import io
import json
import os
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
import uuid
import zipfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any, BinaryIO

PROJECT_ROOT = Path(__file__).resolve().parents[2]
ADMIN_PASSWORD = "e2e-admin-password"
STARTUP_TIMEOUT_SECONDS = 30.0
PROCESSING_TIMEOUT_SECONDS = 60.0


class ApiFailure(AssertionError):
    """A REST call returned an unexpected status."""


# Test servers listen on 127.0.0.1 within this range, so a firewall or a
# sandbox has to allow only these ports.
TEST_PORTS = range(8200, 8300)


def free_port() -> int:
    """Return the first port of TEST_PORTS that is free on 127.0.0.1."""
    for port in TEST_PORTS:
        with socket.socket() as sock:
            try:
                sock.bind(("127.0.0.1", port))
            except OSError:
                continue
            return port
    raise RuntimeError(
        f"no free port on 127.0.0.1 from {TEST_PORTS.start} to {TEST_PORTS.stop - 1}; "
        "stop the servers that use them"
    )


@dataclass
class ServerProcess:
    process: subprocess.Popen[bytes]
    base_url: str
    data_dir: Path
    log_file: BinaryIO

    def stop(self) -> None:
        self.process.terminate()
        try:
            self.process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
        self.log_file.close()


def start_server(data_dir: Path) -> ServerProcess:
    """Create an admin, start the server and wait until /healthz responds."""
    env = {**os.environ, "SCORM_ADMIN_PASSWORD": ADMIN_PASSWORD, "PYTHONUNBUFFERED": "1"}
    common = [sys.executable, "-m", "server", "--data-dir", str(data_dir)]
    subprocess.run(
        [*common, "createsuperuser", "--username", "admin", "--email", "admin@example.com"],
        cwd=PROJECT_ROOT, env=env, check=True, capture_output=True, timeout=60,
    )
    port = free_port()
    log_path = data_dir / "server.log"
    log_file = log_path.open("wb")
    process = subprocess.Popen(
        [*common, "--host", "127.0.0.1", "--port", str(port), "--rate-limit", "0",
         "--runtime-rate-limit", "0",
         # SCORM 1.2 RTE 3.4.2 gives cmi.suspend_data 4096 characters; the
         # vectors check that limit.
         "--scorm12-suspend-data-max", "4096"],
        cwd=PROJECT_ROOT, env=env, stdout=log_file, stderr=subprocess.STDOUT,
    )
    server = ServerProcess(process, f"http://127.0.0.1:{port}", data_dir, log_file)
    deadline = time.monotonic() + STARTUP_TIMEOUT_SECONDS
    while True:
        if process.poll() is not None:
            log_file.close()
            output = log_path.read_text(errors="replace")[-2000:]
            raise RuntimeError(f"the server exited with {process.returncode}:\n{output}")
        try:
            with urllib.request.urlopen(server.base_url + "/healthz", timeout=2):
                return server
        except (urllib.error.URLError, ConnectionError):
            if time.monotonic() > deadline:
                server.stop()
                raise RuntimeError(f"the server did not answer /healthz; see {log_path}")
            # Readiness poll: the server process signals nothing else when it listens.
            time.sleep(0.1)


class Api:
    """A client of the REST API that sends a token and decodes JSON responses."""

    def __init__(self, base_url: str, token: str = "") -> None:
        self.base_url = base_url
        self.token = token

    def request(self, method: str, path: str, body: Any = None, *, expect: int | tuple[int, ...] = (200, 201),
                headers: dict[str, str] | None = None, data: bytes | None = None) -> Any:
        all_headers = {"Accept": "application/json", **(headers or {})}
        if self.token:
            all_headers["Authorization"] = f"Token {self.token}"
        if body is not None:
            data = json.dumps(body).encode()
            all_headers["Content-Type"] = "application/json"
        request = urllib.request.Request(self.base_url + path, data=data, method=method,
                                         headers=all_headers)
        try:
            with urllib.request.urlopen(request, timeout=30) as response:
                status, payload = response.status, response.read()
        except urllib.error.HTTPError as error:
            status, payload = error.code, error.read()
        expected = (expect,) if isinstance(expect, int) else expect
        if status not in expected:
            raise ApiFailure(f"{method} {path} returned {status}, expected {expected}: {payload[:500]!r}")
        return json.loads(payload) if payload else None

    def upload_package(self, course_id: int, zip_bytes: bytes, filename: str) -> dict[str, Any]:
        """Upload a package and wait until its processing ends; return it."""
        boundary = uuid.uuid4().hex
        body = io.BytesIO()
        body.write(f"--{boundary}\r\nContent-Disposition: form-data; name=\"course_id\"\r\n\r\n"
                   f"{course_id}\r\n".encode())
        body.write(f"--{boundary}\r\nContent-Disposition: form-data; name=\"file\"; "
                   f"filename=\"{filename}\"\r\nContent-Type: application/zip\r\n\r\n".encode())
        body.write(zip_bytes)
        body.write(f"\r\n--{boundary}--\r\n".encode())
        answer = self.request(
            "POST", "/api/scorm-packages/upload_package/", data=body.getvalue(),
            headers={"Content-Type": f"multipart/form-data; boundary={boundary}"},
        )
        task_id = answer["task_id"]
        deadline = time.monotonic() + PROCESSING_TIMEOUT_SECONDS
        while True:
            status = self.request("GET", f"/api/scorm-packages/check_status/?task_id={task_id}")
            if status["status"] == "ready":
                return status
            if status["status"] == "failed":
                raise ApiFailure(f"package {filename} failed: {status.get('errors')}")
            if time.monotonic() > deadline:
                raise ApiFailure(f"package {filename} still processing after upload")
            # Readiness poll of the background import.
            time.sleep(0.1)


@dataclass
class Launch:
    user_id: int
    course_id: int
    package_id: int
    attempt_id: int
    launch_url: str


class Lms:
    """An LMS that drives the server: courses, packages, learners, attempts."""

    def __init__(self, server: ServerProcess) -> None:
        self.base_url = server.base_url
        login = Api(server.base_url).request(
            "POST", "/api/api-token-auth/", {"username": "admin", "password": ADMIN_PASSWORD}
        )
        self.admin = Api(server.base_url, login["token"])
        self.packages: dict[str, tuple[int, int]] = {}
        self.learners: dict[str, int] = {}

    def package(self, name: str, zip_bytes: bytes) -> tuple[int, int]:
        """Return (course id, package id) of a package, uploading it once."""
        if name not in self.packages:
            course = self.admin.request("POST", "/api/courses/", {"title": name, "description": ""})
            package = self.admin.upload_package(course["id"], zip_bytes, name)
            self.packages[name] = (course["id"], package["id"])
        return self.packages[name]

    def learner(self, username: str) -> int:
        """Return the id of the learner "Tester, Ada" with this username, creating it once."""
        if username not in self.learners:
            created = self.admin.request("POST", "/api/users/", {
                "username": username, "email": f"{username}@example.com",
                "password": "pw-123456789", "first_name": "Ada", "last_name": "Tester",
            })
            self.learners[username] = created["user"]["id"] if "user" in created else created["id"]
        return self.learners[username]

    def launch(self, name: str, zip_bytes: bytes, username: str | None = None) -> Launch:
        """Register a learner (a new one unless named) and start an attempt of the package."""
        course_id, package_id = self.package(name, zip_bytes)
        user_id = self.learner(username or f"learner-{uuid.uuid4().hex[:10]}")
        self.admin.request("POST", "/api/registrations/register_for_course/",
                           {"user_id": user_id, "course_id": course_id})
        attempt = self.admin.request("POST", "/api/attempts/start_attempt/",
                                     {"user_id": user_id, "package_id": package_id})
        url = attempt["launch_url"]
        if url.startswith("/"):
            url = self.base_url + url
        return Launch(user_id, course_id, package_id, attempt["id"], url)

    def cmi(self, attempt_id: int) -> dict[str, dict[str, str]]:
        return self.admin.request("GET", f"/api/attempts/{attempt_id}/cmi/")["items"]

    def report(self, user_id: int, course_id: int) -> dict[str, Any]:
        return self.admin.request(
            "GET", f"/api/reports/user_course_report/?user_id={user_id}&course_id={course_id}"
        )


def one_sco_package(standard: str) -> bytes:
    """Build a package with one SCO page that does nothing by itself."""
    if standard == "1.2":
        manifest = """<?xml version="1.0" encoding="UTF-8"?>
<manifest identifier="vectors12" version="1.0"
  xmlns="http://www.imsproject.org/xsd/imscp_rootv1p1p2"
  xmlns:adlcp="http://www.adlnet.org/xsd/adlcp_rootv1p2">
  <metadata><schema>ADL SCORM</schema><schemaversion>1.2</schemaversion></metadata>
  <organizations default="org"><organization identifier="org"><title>Vectors 1.2</title>
    <item identifier="item_1" identifierref="res_1"><title>SCO</title></item>
  </organization></organizations>
  <resources><resource identifier="res_1" type="webcontent" adlcp:scormtype="sco"
    href="sco.html"><file href="sco.html"/></resource></resources>
</manifest>"""
    else:
        manifest = """<?xml version="1.0" encoding="UTF-8"?>
<manifest identifier="vectors2004" version="1.0"
  xmlns="http://www.imsglobal.org/xsd/imscp_v1p1"
  xmlns:adlcp="http://www.adlnet.org/xsd/adlcp_v1p3">
  <metadata><schema>ADL SCORM</schema><schemaversion>2004 4th Edition</schemaversion></metadata>
  <organizations default="org"><organization identifier="org"><title>Vectors 2004</title>
    <item identifier="item_1" identifierref="res_1"><title>SCO</title></item>
  </organization></organizations>
  <resources><resource identifier="res_1" type="webcontent" adlcp:scormType="sco"
    href="sco.html"><file href="sco.html"/></resource></resources>
</manifest>"""
    page = "<!doctype html><title>SCO</title><p id='sco'>A SCO driven by the test.</p>"
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("imsmanifest.xml", manifest)
        archive.writestr("sco.html", page)
    return buffer.getvalue()


async def seed_packages(data_dir: Path, packages: dict[str, dict[str, Any]]) -> dict[str, tuple[int, int]]:
    """Write ready package records straight to the store of `data_dir`.

    `packages` maps a name to the fields of a Package (title, scorm_standard,
    items, manifest). Return (course id, package id) per name. The package
    files are not extracted, so their content URLs return 404.
    """
    from server.app import build_context
    from server.config import Settings
    from storage.models import PACKAGE_READY

    ctx = await build_context(Settings(data_dir=data_dir))
    ids = {}
    try:
        for name, fields in packages.items():
            course = await ctx.store.create_course(title=name)
            package = await ctx.store.create_package(
                course_id=course.id, task_id=f"seeded-{name}", file=f"{name}.zip",
                status=PACKAGE_READY,
            )
            await ctx.store.update_package(package.id, fields)
            ids[name] = (course.id, package.id)
    finally:
        await ctx.store.close()
    return ids
