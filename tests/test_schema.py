"""The OpenAPI document: it covers the API contract, and the running server
conforms to it under schemathesis."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import urllib.request
from pathlib import Path

import pytest

from server import openapi
from server.config import Settings
from server.context import AppContext
from server.handlers import content, packages, runtime
from server import player
from tests.conftest import PROJECT_ROOT

ENDPOINT = re.compile(r"\b(GET|POST|PUT|DELETE)\s+`?(/[\w/{}\-.]*)")
# Each tag of the document, and the module whose routes serve it.
PART_TAGS = {"packages": packages, "content": content, "runtime": runtime, "player": player}


def normalize(path: str) -> str:
    """Reduce a path to a comparable form: no query, `{}` for parameters, one slash."""
    path = path.split("?", 1)[0]
    path = re.sub(r"\{[^}]*\}", "{}", path)
    return path.rstrip("/") + "/" if not path.endswith("}") else path


def contract_endpoints(shared_dir: Path) -> set[tuple[str, str]]:
    endpoints = set()
    for name in ("API.md", "API-GUIDE-ORIGINAL.md"):
        text = (shared_dir / name).read_text()
        # The guide lists a method and a path on separate lines inside a code block.
        text = re.sub(r"\n(GET|POST|PUT|DELETE) ", r"\n\1 ", text)
        for method, path in ENDPOINT.findall(text):
            endpoints.add((method.lower(), normalize(path)))
    return endpoints


def test_schema_documents_every_contract_endpoint(shared_dir):
    document = openapi.document()
    documented = {
        (method, normalize(path))
        for path, operations in document["paths"].items()
        for method in operations
    }

    endpoints = contract_endpoints(shared_dir)

    assert len(endpoints) > 25
    missing = sorted(endpoints - documented)
    assert missing == []


def test_schema_documents_session_and_runtime_paths():
    paths = openapi.document()["paths"]

    for path in (
        "/api/attempts/{attempt_id}/sessions/",
        "/api/attempts/{attempt_id}/runtime/",
        "/api/attempts/{attempt_id}/cmi/",
        "/api/scorm-api/set_value/",
        "/api/scorm-api/get_value/",
        "/player/{attempt_id}",
        "/content/{package_id}/{path}",
    ):
        assert path in paths


def test_schema_references_resolve():
    document = openapi.document()
    text = json.dumps(document)

    names = set(re.findall(r'"#/components/schemas/(\w+)"', text))

    assert names <= set(document["components"]["schemas"])


def unrouted_tags() -> list[str]:
    """Return the tags of parts whose routes are not mounted yet."""
    ctx = AppContext(settings=Settings(), store=None)  # type: ignore[arg-type]
    ctx.services["launch_tokens"] = None
    tags = []
    for tag, module in PART_TAGS.items():
        try:
            if not module.routes(ctx):
                tags.append(tag)
        except Exception:
            tags.append(tag)
    return tags


@pytest.fixture
def running_server(tmp_path):
    env = {
        **os.environ,
        "PYTHONPATH": str(PROJECT_ROOT),
        "SCORM_ADMIN_PASSWORD": "schema-admin-password",
    }
    created = subprocess.run(
        [sys.executable, "-m", "server", "createsuperuser", "--username", "admin",
         "--email", "admin@example.com"],
        cwd=tmp_path, env=env, capture_output=True, text=True, timeout=60,
    )
    assert created.returncode == 0, created.stderr
    # The log goes to a file, because an unread pipe would fill and block the server.
    log_path = tmp_path / "server.log"
    with open(log_path, "w") as log_file, subprocess.Popen(
        [sys.executable, "-m", "server", "--port", "0", "--rate-limit", "0",
         "--runtime-rate-limit", "0"],
        cwd=tmp_path, env=env, stderr=log_file,
    ) as process:
        try:
            yield f"http://127.0.0.1:{wait_for_port(process, log_path)}"
        finally:
            process.terminate()
            process.wait(timeout=30)


def wait_for_port(process: subprocess.Popen, log_path: Path) -> int:
    """Return the port from the server's start line, waiting until it is logged."""
    while True:
        match = re.search(r"serving on http://127\.0\.0\.1:(\d+)/", log_path.read_text())
        if match:
            return int(match.group(1))
        try:
            process.wait(timeout=0.05)
        except subprocess.TimeoutExpired:
            continue
        raise AssertionError(f"the server exited: {log_path.read_text()}")


def post_json(url: str, body: dict, token: str | None = None) -> dict:
    headers = {"Content-Type": "application/json"}
    if token:
        headers["Authorization"] = f"Token {token}"
    request = urllib.request.Request(url, json.dumps(body).encode(), headers)
    with urllib.request.urlopen(request, timeout=10) as reply:
        return json.loads(reply.read())


def test_server_conforms_to_schema(running_server, tmp_path):
    token = post_json(
        running_server + "/api/api-token-auth/",
        {"username": "admin", "password": "schema-admin-password"},
    )["token"]
    course = post_json(running_server + "/api/courses/", {"title": "Golf"}, token)
    post_json(
        running_server + "/api/registrations/register_for_course/",
        {"user_id": 1, "course_id": course["id"]},
        token,
    )
    command = [
        str(Path(sys.executable).with_name("st")), "run",
        running_server + "/api/schema/",
        "--max-examples", "20",
        "--seed", "1",
        "--no-shrink",
        "--workers", "1",
        "--header", f"Authorization: Token {token}",
        "--checks",
        "not_a_server_error,status_code_conformance,content_type_conformance,"
        "response_schema_conformance,response_headers_conformance",
        "--output-sanitize", "false",
    ]
    for tag in unrouted_tags():
        command += ["--exclude-tag", tag]

    result = subprocess.run(
        command, cwd=tmp_path, capture_output=True, text=True, timeout=600
    )

    assert result.returncode == 0, result.stdout[-20000:]
