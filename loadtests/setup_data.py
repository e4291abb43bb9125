"""Create the data a load test needs on a fresh server, over the REST API.

`prepare` logs in as an existing admin, creates a course, uploads a SCORM
package and waits until it is `ready`, then creates learners and registers
them for the course. It returns a JSON-ready dict that the locust scenarios
read (see loadtests/locustfile.py). It uses `requests` and no locust import,
so the benchmark driver can call it without gevent's monkey patching.
"""

from __future__ import annotations

import logging
import os
import time
import uuid
from pathlib import Path
from typing import Any

import requests

log = logging.getLogger(__name__)

TIMEOUT_SECONDS = 30.0
PACKAGES = {
    "2004": "scorm2004-3rd_golf_RuntimeBasicCalls_moodle.zip",
    "1.2": "scorm12_golf_RuntimeBasicCalls.zip",
}


def default_package(standard: str) -> Path:
    """Return the golf RuntimeBasicCalls test package of `standard` ("2004" or "1.2").

    The test data folder is SCORM_SHARED_DIR, or `shared` beside the project
    root, as tests/conftest.py resolves it.
    """
    root = Path(__file__).resolve().parent.parent
    data_dir = Path(os.environ.get("SCORM_SHARED_DIR") or root.parent / "shared")
    return data_dir / "packages" / PACKAGES[standard]


class SetupFailed(RuntimeError):
    """A request of the load-test setup got an unexpected response."""


def check(response: requests.Response, expected: tuple[int, ...], what: str) -> Any:
    """Return the JSON body of `response`, or raise SetupFailed on another status."""
    if response.status_code not in expected:
        raise SetupFailed(
            f"{what} failed with HTTP {response.status_code}: "
            f"{response.text[:300]}; check the server log."
        )
    return response.json()


def wait_until_ready(
    session: requests.Session, host: str, task_id: str, timeout: float
) -> dict[str, Any]:
    """Poll check_status until the package is ready; raise SetupFailed otherwise."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        response = session.get(
            f"{host}/api/scorm-packages/check_status/",
            params={"task_id": task_id},
            timeout=TIMEOUT_SECONDS,
        )
        body = check(response, (200,), "check_status")
        if body.get("status") == "ready":
            return body
        if body.get("status") == "failed":
            raise SetupFailed(f"Package processing failed: {body.get('errors')}.")
        time.sleep(0.2)
    raise SetupFailed(f"Package task {task_id} was not ready within {timeout} s.")


def create_learner(
    session: requests.Session, host: str, course_id: int, index: int, tag: str
) -> dict[str, Any]:
    """Create one learner with a token and register it for the course."""
    body = {
        "username": f"lt-{tag}-{index}",
        "email": f"lt-{tag}-{index}@example.com",
        "password": f"pw-{uuid.uuid4().hex}",
        "first_name": f"Learner{index}",
        "last_name": "Load",
    }
    response = session.post(f"{host}/api/users/", json=body, timeout=TIMEOUT_SECONDS)
    created = check(response, (200, 201), "creating a learner")
    user_id = created["user"]["id"]

    response = session.post(
        f"{host}/api/registrations/register_for_course/",
        json={"user_id": user_id, "course_id": course_id},
        timeout=TIMEOUT_SECONDS,
    )
    check(response, (200, 201), "registering a learner")
    return {"user_id": user_id, "token": created["token"]}


def prepare(
    host: str,
    admin_username: str,
    admin_password: str,
    package_path: Path,
    learners: int,
    timeout: float = 120.0,
) -> dict[str, Any]:
    """Create a course, a ready package and `learners` registered learners."""
    host = host.rstrip("/")
    session = requests.Session()
    response = session.post(
        f"{host}/api/api-token-auth/",
        json={"username": admin_username, "password": admin_password},
        timeout=TIMEOUT_SECONDS,
    )
    admin_token = check(response, (200,), "admin login")["token"]
    session.headers["Authorization"] = f"Token {admin_token}"

    response = session.post(
        f"{host}/api/courses/",
        json={"title": "Load test course", "description": "", "is_active": True},
        timeout=TIMEOUT_SECONDS,
    )
    course_id = check(response, (200, 201), "creating a course")["id"]

    with package_path.open("rb") as file:
        response = session.post(
            f"{host}/api/scorm-packages/upload_package/",
            data={"course_id": str(course_id)},
            files={"file": (package_path.name, file, "application/zip")},
            timeout=TIMEOUT_SECONDS,
        )
    uploaded = check(response, (200, 201), "uploading the package")
    package = wait_until_ready(session, host, uploaded["task_id"], timeout)
    log.info("package %s is ready: %s", package["id"], package.get("scorm_standard"))

    tag = uuid.uuid4().hex[:8]
    pool = [create_learner(session, host, course_id, i, tag) for i in range(learners)]
    return {
        "host": host,
        "admin_token": admin_token,
        "course_id": course_id,
        "package_id": package["id"],
        "standard": package.get("scorm_standard", ""),
        "learners": pool,
    }
