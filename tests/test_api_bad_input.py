"""Hostile request bodies: each gets a clear 4xx, or a value kept exactly, never a 500."""

from __future__ import annotations

import dataclasses
import json
import logging
from typing import Any

import pytest

from server.ratelimit import MemoryRateLimiter
from tests.api_support import (  # noqa: F401
    api,
    app,
    body_of,
    ctx,
    people,
    settings,
)
from tests.test_runtime_http import (  # noqa: F401
    attempt_id,
    calls,
    flush_interval_ms,
    launch,
    open_session,
)

LONE_SURROGATE_JSON = b'{"title": "Safety \\ud800"}'


@pytest.mark.gen_test
async def test_deeply_nested_json_is_400(api, people, ctx):
    raw = b"[" * 100_000 + b"]" * 100_000

    response = await api.request("POST", "/api/courses/", raw=raw, token=people.admin.token)

    assert response.code == 400
    assert "nested too deeply" in body_of(response)["error"]


@pytest.mark.gen_test
async def test_lone_surrogate_in_api_field_is_400(api, people, ctx):
    response = await api.request(
        "POST", "/api/courses/", raw=LONE_SURROGATE_JSON, token=people.admin.token
    )
    _, total = await ctx.store.list_courses(limit=10, offset=0)

    assert response.code == 400
    assert "surrogate" in body_of(response)["error"]
    assert total == 0


@pytest.mark.gen_test
async def test_paired_surrogates_are_valid_text(api, people, ctx):
    # "\ud83d\ude00" is one character (U+1F600) written as a surrogate pair.
    raw = b'{"title": "Smile \\ud83d\\ude00"}'

    response = await api.request("POST", "/api/courses/", raw=raw, token=people.admin.token)

    assert response.code == 201, response.body
    assert body_of(response)["title"] == "Smile \U0001f600"


@pytest.mark.gen_test
async def test_lone_surrogate_value_round_trips(api, ctx, attempt_id):
    session_id = await open_session(api, ctx, attempt_id)
    path = f"/api/attempts/{attempt_id}/runtime/"
    value = "state \ud800 end"
    batch = {"session_id": session_id, "batch_seq": 1, "calls": calls(
        ("Initialize", [""]), ("SetValue", ["cmi.suspend_data", value]), ("Commit", [""]))}

    stored = await api.request(
        "POST", path, raw=json.dumps(batch).encode(), headers=launch(ctx, attempt_id)
    )
    await ctx.actors.passivate(attempt_id)
    read = await api.post(path, {"session_id": session_id, "batch_seq": 2, "calls": calls(
        ("GetValue", ["cmi.suspend_data"]))}, headers=launch(ctx, attempt_id))
    cmi = await api.get(f"/api/attempts/{attempt_id}/cmi/", headers=launch(ctx, attempt_id))

    assert stored.code == 200, stored.body
    assert read.code == 200, read.body
    assert body_of(read)["results"][0] == {"return": value, "error_code": 0}
    assert body_of(cmi)["items"]["sco-1"]["cmi.suspend_data"] == value


@pytest.mark.gen_test
async def test_cmi_lists_only_data_model_elements(api, ctx, attempt_id):
    session_id = await open_session(api, ctx, attempt_id)
    await api.post(f"/api/attempts/{attempt_id}/runtime/", {
        "session_id": session_id, "batch_seq": 1, "calls": calls(("Initialize", [""]))},
        headers=launch(ctx, attempt_id))

    response = await api.get(f"/api/attempts/{attempt_id}/cmi/", headers=launch(ctx, attempt_id))
    keys = body_of(response)["items"]["sco-1"]

    assert response.code == 200
    assert keys
    assert all(key.startswith(("cmi.", "adl.")) for key in keys), sorted(keys)


@pytest.mark.parametrize("field", ["mode", "credit"])
@pytest.mark.parametrize("value", [[], {}, 1, None])
@pytest.mark.gen_test
async def test_session_option_of_wrong_type_is_400(api, ctx, attempt_id, field, value):
    response = await api.post(f"/api/attempts/{attempt_id}/sessions/", {field: value},
                              headers=launch(ctx, attempt_id))

    assert response.code == 400
    assert field in body_of(response)["error"]


@pytest.mark.gen_test
async def test_single_call_error_message_not_doubled(api, ctx, attempt_id):
    await open_session(api, ctx, attempt_id)

    response = await api.post("/api/scorm-api/set_value/", {
        "attempt_id": attempt_id, "element_id": "cmi.location", "value": "x"},
        headers=launch(ctx, attempt_id))
    message = body_of(response)["error"]

    assert response.code == 400
    assert body_of(response)["error_code"] == 132
    first_part = message.split(":")[0]
    assert message.count(first_part) == 1, message


@pytest.mark.gen_test
async def test_rate_limited_multipart_upload_is_429(api, people, ctx):
    ctx.settings = dataclasses.replace(ctx.settings, rate_limit=1)
    ctx.services["rate_limiter"] = MemoryRateLimiter(clock=lambda: 6000.0)
    await api.get("/healthz/none")
    body = (b"--b\r\nContent-Disposition: form-data; name=\"course_id\"\r\n\r\n1\r\n--b--\r\n")

    response = await api.request(
        "POST", "/api/scorm-packages/upload_package/", raw=body, token=people.admin.token,
        headers={"Content-Type": "multipart/form-data; boundary=b"},
    )

    assert response.code == 429, response.body
    assert "Retry-After" in response.headers


@pytest.mark.gen_test
async def test_oversized_multipart_body_is_413(api, people, ctx):
    raw = b"x" * (ctx.settings.max_body_size + 1)

    response = await api.request(
        "POST", "/api/courses/", raw=raw, token=people.admin.token,
        headers={"Content-Type": "multipart/form-data; boundary=b"},
    )

    assert response.code == 413, response.body


@pytest.mark.gen_test
async def test_uncaught_error_log_has_no_query_string(api, ctx, attempt_id, caplog, monkeypatch):
    def fail(*args: Any) -> None:
        raise RuntimeError("injected failure")

    monkeypatch.setattr("server.handlers.runtime.RuntimeHandler.actor_for", fail)
    token = launch(ctx, attempt_id)["Authorization"].split()[1]

    with caplog.at_level(logging.ERROR):
        response = await api.get(f"/api/attempts/{attempt_id}/cmi/?token={token}")

    assert response.code == 500
    assert "Uncaught exception" in caplog.text
    assert token not in caplog.text


@pytest.mark.parametrize("batch_seq", [2**53, 2**64, -1, 0, 1.0, True, "1"])
@pytest.mark.gen_test
async def test_batch_seq_out_of_range_is_400(api, ctx, attempt_id, batch_seq):
    session_id = await open_session(api, ctx, attempt_id)
    await ctx.actors.passivate(attempt_id)

    response = await api.post(f"/api/attempts/{attempt_id}/runtime/", {
        "session_id": session_id, "batch_seq": batch_seq,
        "calls": calls(("Initialize", [""]))}, headers=launch(ctx, attempt_id))
    log = await ctx.store.read_log(attempt_id)

    assert response.code == 400
    assert "batch_seq" in body_of(response)["error"]
    assert [entry.kind for entry in log] == ["open"]
