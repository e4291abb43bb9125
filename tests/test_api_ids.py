"""Ids that name no record, in paths, query strings and bodies, get a 4xx.

SQLite stores ids as signed 64-bit integers and raises OverflowError on a
larger Python int, and `int()` raises ValueError on more than 4300 digits, so
every id must be checked before it reaches a store call or `int()`. Rate
limits are on here, so admission also parses the attempt id of every run-time
and player path.
"""

from __future__ import annotations

import uuid
from typing import Any

import pytest

from tests.api_support import (  # noqa: F401
    api,
    app,
    body_of,
    ctx,
    make_settings,
    people,
    settings,
)

# Above the signed 64-bit range.
HUGE_ID = "99999999999999999999"
# Longer than the 4300 digits that int() converts.
LONG_ID = "9" * 5000
PATH_IDS = [HUGE_ID, "-1", "0", "abc", LONG_ID]
QUERY_IDS = [HUGE_ID, "-1", "0", "abc", "1.5", LONG_ID]
# JSON values of an id field. A JSON number of more than 4300 digits is
# already an invalid JSON body.
BODY_IDS = [int(HUGE_ID), HUGE_ID, -1, 0, "0", "abc", 1.5, True, LONG_ID]

BATCH = {"session_id": "s", "batch_seq": 1, "calls": []}
PATH_ROUTES = [
    ("GET", "/api/attempts/{}/", None),
    ("POST", "/api/attempts/{}/launch/", {}),
    ("POST", "/api/attempts/{}/update_progress/", {"score": 50}),
    ("GET", "/api/courses/{}/", None),
    ("PUT", "/api/courses/{}/", {"title": "Renamed"}),
    ("DELETE", "/api/courses/{}/", None),
    ("GET", "/api/users/{}/", None),
    ("PUT", "/api/users/{}/", {"first_name": "Ada"}),
    ("DELETE", "/api/users/{}/", None),
    ("GET", "/api/scorm-packages/{}/", None),
    ("DELETE", "/api/scorm-packages/{}/", None),
    ("POST", "/api/attempts/{}/sessions/", {}),
    ("POST", "/api/attempts/{}/runtime/", BATCH),
    ("POST", "/api/attempts/{}/start_session/", {}),
    ("POST", "/api/attempts/{}/end_session/", {}),
    ("GET", "/api/attempts/{}/cmi/", None),
    ("GET", "/content/{}/index.html", None),
    ("GET", "/player/{}/summary/", None),
]
QUERY_ROUTES = [
    ("/api/attempts/?user_id={}", "user_id"),
    ("/api/attempts/?package_id={}", "package_id"),
    ("/api/registrations/?user_id={}", "user_id"),
    ("/api/registrations/?course_id={}", "course_id"),
    ("/api/scorm-packages/?course_id={}", "course_id"),
    ("/api/reports/user_course_report/?user_id={}&course_id=1", "user_id"),
    ("/api/reports/user_course_report/?user_id=1&course_id={}", "course_id"),
    ("/api/reports/course_report/?course_id={}", "course_id"),
    ("/api/scorm-api/get_value/?attempt_id={}&element_id=cmi.location", "attempt_id"),
]
BODY_ROUTES = [
    ("/api/attempts/start_attempt/", {"package_id": 1}, "user_id"),
    ("/api/attempts/start_attempt/", {"user_id": 1}, "package_id"),
    ("/api/registrations/register_for_course/", {"course_id": 1}, "user_id"),
    ("/api/registrations/register_for_course/", {"user_id": 1}, "course_id"),
    ("/api/scorm-api/set_value/", {"element_id": "cmi.location", "value": "p1"}, "attempt_id"),
]


@pytest.fixture
def settings(tmp_path):  # noqa: F811
    return make_settings(tmp_path / "data", rate_limit=10_000, runtime_rate_limit=10_000)


def error_of(response: Any) -> str:
    """Return the `error` message of a JSON error body, failing on any other body."""
    assert response.headers["Content-Type"].startswith("application/json"), response.body[:200]
    body = body_of(response)
    assert isinstance(body, dict), body
    assert isinstance(body.get("error"), str), body
    return body["error"]


def route_id(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 24 else f"{text[:10]}...({len(text)} chars)"


@pytest.mark.parametrize("value", PATH_IDS, ids=route_id)
@pytest.mark.parametrize("method,template,body", PATH_ROUTES, ids=lambda v: str(v))
@pytest.mark.gen_test
async def test_path_id_not_found(api, people, method, template, body, value):
    response = await api.request(
        method, template.format(value), body, token=people.admin.token
    )

    assert response.code == 404, response.body[:300]
    message = error_of(response)
    assert len(message) < 200, message


@pytest.mark.parametrize("value", PATH_IDS, ids=route_id)
@pytest.mark.gen_test
async def test_player_page_id_not_found(api, value):
    response = await api.get(f"/player/{value}/")

    assert response.code == 404, response.body[:300]
    if value.isdigit():
        # The player page is HTML for a person, so its error is an HTML page too.
        assert response.headers["Content-Type"].startswith("text/html")
        assert b"was not found" in response.body
    else:
        error_of(response)


@pytest.mark.gen_test
async def test_path_id_names_value(api, people):
    response = await api.get(f"/api/attempts/{HUGE_ID}/cmi/", token=people.admin.token)

    assert error_of(response) == f"Attempt {HUGE_ID} not found."


@pytest.mark.parametrize("value", QUERY_IDS, ids=route_id)
@pytest.mark.parametrize("template,name", QUERY_ROUTES, ids=lambda v: str(v))
@pytest.mark.gen_test
async def test_query_id_invalid(api, people, template, name, value):
    response = await api.get(template.format(value), token=people.admin.token)

    assert response.code == 400, response.body[:300]
    error_of(response)
    assert name in body_of(response)["details"]


@pytest.mark.parametrize("value", BODY_IDS, ids=route_id)
@pytest.mark.parametrize("path,body,name", BODY_ROUTES, ids=lambda v: str(v))
@pytest.mark.gen_test
async def test_body_id_invalid(api, people, path, body, name, value):
    response = await api.post(path, {**body, name: value}, token=people.admin.token)

    assert response.code == 400, response.body[:300]
    error_of(response)
    assert name in body_of(response)["details"]


def multipart(fields: dict[str, str]) -> tuple[bytes, str]:
    boundary = uuid.uuid4().hex
    chunks = [
        f'--{boundary}\r\nContent-Disposition: form-data; name="{name}"\r\n\r\n{value}\r\n'
        for name, value in fields.items()
    ]
    chunks.append(
        f'--{boundary}\r\nContent-Disposition: form-data; name="file"; filename="p.zip"\r\n'
        "Content-Type: application/zip\r\n\r\nPK\r\n"
    )
    chunks.append(f"--{boundary}--\r\n")
    return "".join(chunks).encode(), f"multipart/form-data; boundary={boundary}"


@pytest.mark.parametrize("value", QUERY_IDS, ids=route_id)
@pytest.mark.gen_test
async def test_upload_course_id_invalid(api, people, value):
    raw, content_type = multipart({"course_id": value})

    response = await api.request(
        "POST",
        "/api/scorm-packages/upload_package/",
        raw=raw,
        token=people.admin.token,
        headers={"Content-Type": content_type},
    )

    assert response.code == 400, response.body[:300]
    error_of(response)
    assert "course_id" in body_of(response)["details"]
