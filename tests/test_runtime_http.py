"""The run-time HTTP endpoints on a real SQLite store and a live Tornado server."""

from __future__ import annotations

import asyncio
import dataclasses
import json
import logging
from typing import Any

import pytest

from actors.registry import ActorRegistry
from tests.actors.conftest import load_engine
from tests.api_support import (  # noqa: F401
    Api,
    api,
    app,
    body_of,
    ctx,
    people,
    settings,
)


@pytest.fixture
def flush_interval_ms() -> int:
    return 200


@pytest.fixture
def attempt_id(io_loop: Any, ctx: Any, people: Any, flush_interval_ms: int) -> int:
    async def seed() -> int:
        settings = dataclasses.replace(ctx.settings, flush_interval_ms=flush_interval_ms)
        ctx.actors = ActorRegistry(ctx.store, settings, engine=load_engine())
        await ctx.actors.start()
        course = await ctx.store.create_course(title="Safety")
        package = await ctx.store.create_package(
            course_id=course.id, task_id="t", file="p.zip", status="processing"
        )
        items = [{"identifier": "sco-1", "title": "One", "scorm_type": "sco",
                  "launch_path": "one.html"}]
        await ctx.store.update_package(package.id, {
            "status": "ready", "scorm_standard": "SCORM 2004 4th Edition",
            "items": items, "launch_path": "one.html",
            "manifest": {"standard": "2004", "items": {"sco-1": {"runtime": {}}}},
        })
        attempt = await ctx.store.create_attempt(people.learner.id, package.id)
        return attempt.id

    return io_loop.run_sync(seed)


def launch(ctx: Any, attempt_id: int) -> dict[str, str]:
    token, _ = ctx.services["launch_tokens"].issue(attempt_id)
    return {"Authorization": f"Launch {token}"}


def calls(*pairs: tuple[str, list[str]]) -> list[dict[str, Any]]:
    return [{"method": method, "args": args} for method, args in pairs]


async def open_session(api: Api, ctx: Any, attempt_id: int) -> str:
    response = await api.post(f"/api/attempts/{attempt_id}/sessions/", {},
                              headers=launch(ctx, attempt_id))
    assert response.code == 201, response.body
    return body_of(response)["session_id"]


@pytest.mark.gen_test
async def test_batch_with_commit_is_stored(api, ctx, attempt_id):
    session_id = await open_session(api, ctx, attempt_id)
    batch = {"session_id": session_id, "batch_seq": 1, "calls": calls(
        ("Initialize", [""]), ("SetValue", ["cmi.location", "page-3"]),
        ("GetLastError", []), ("Commit", [""]))}

    response = await api.post(f"/api/attempts/{attempt_id}/runtime/", batch,
                              headers=launch(ctx, attempt_id))
    entries = await ctx.store.read_log(attempt_id)

    assert response.code == 200, response.body
    assert body_of(response)["batch_seq"] == 1
    assert [r["return"] for r in body_of(response)["results"]] == ["true", "true", "0", "true"]
    assert len(entries) == 2


@pytest.mark.gen_test
async def test_batch_accepts_text_plain(api, ctx, attempt_id):
    session_id = await open_session(api, ctx, attempt_id)
    batch = {"session_id": session_id, "batch_seq": 1,
             "calls": calls(("Initialize", [""]))}
    headers = {**launch(ctx, attempt_id), "Content-Type": "text/plain;charset=UTF-8"}

    response = await api.request("POST", f"/api/attempts/{attempt_id}/runtime/",
                                 raw=json.dumps(batch).encode(), headers=headers)

    assert response.code == 200, response.body


@pytest.mark.gen_test
async def test_batch_retry_and_gap(api, ctx, attempt_id):
    session_id = await open_session(api, ctx, attempt_id)
    path = f"/api/attempts/{attempt_id}/runtime/"
    first = {"session_id": session_id, "batch_seq": 1,
             "calls": calls(("Initialize", [""]), ("SetValue", ["cmi.location", "a"]))}

    answer = await api.post(path, first, headers=launch(ctx, attempt_id))
    retry = await api.post(path, first, headers=launch(ctx, attempt_id))
    gap = await api.post(path, {**first, "batch_seq": 3}, headers=launch(ctx, attempt_id))

    assert retry.code == 200
    assert body_of(retry) == body_of(answer)
    assert gap.code == 409
    assert body_of(gap)["expected_batch_seq"] == 2


@pytest.mark.gen_test
async def test_batches_arriving_out_of_order_both_apply(api, ctx, attempt_id):
    session_id = await open_session(api, ctx, attempt_id)
    path = f"/api/attempts/{attempt_id}/runtime/"
    first = {"session_id": session_id, "batch_seq": 1,
             "calls": calls(("Initialize", [""]), ("SetValue", ["cmi.location", "a"]))}
    second = {"session_id": session_id, "batch_seq": 2,
              "calls": calls(("SetValue", ["cmi.suspend_data", "b"]), ("Commit", [""]))}

    # The second batch reaches the server first, as keep-alive requests of a
    # closing page may.
    early = asyncio.ensure_future(api.post(path, second, headers=launch(ctx, attempt_id)))
    await asyncio.sleep(0.2)
    late = await api.post(path, first, headers=launch(ctx, attempt_id))
    early_response = await early
    cmi = body_of(await api.get(f"/api/attempts/{attempt_id}/cmi/",
                                headers=launch(ctx, attempt_id)))["items"]["sco-1"]

    assert late.code == 200, late.body
    assert early_response.code == 200, early_response.body
    assert body_of(early_response)["results"][1] == {"return": "true", "error_code": 0}
    assert cmi["cmi.location"] == "a"
    assert cmi["cmi.suspend_data"] == "b"


@pytest.mark.gen_test
async def test_batch_far_ahead_rejected_at_once(api, ctx, attempt_id):
    session_id = await open_session(api, ctx, attempt_id)
    batch = {"session_id": session_id, "batch_seq": 40,
             "calls": calls(("Initialize", [""]))}

    response = await api.post(f"/api/attempts/{attempt_id}/runtime/", batch,
                              headers=launch(ctx, attempt_id))

    assert response.code == 409
    assert body_of(response)["expected_batch_seq"] == 1


@pytest.mark.gen_test
async def test_unknown_method_rejected_before_apply(api, ctx, attempt_id):
    session_id = await open_session(api, ctx, attempt_id)
    batch = {"session_id": session_id, "batch_seq": 1, "calls": calls(
        ("Initialize", [""]), ("LMSSetValue", ["cmi.location", "x"]))}

    response = await api.post(f"/api/attempts/{attempt_id}/runtime/", batch,
                              headers=launch(ctx, attempt_id))
    cmi = await api.get(f"/api/attempts/{attempt_id}/cmi/", headers=launch(ctx, attempt_id))

    assert response.code == 400
    assert "LMSSetValue" in body_of(response)["error"]
    assert body_of(cmi)["items"]["sco-1"].get("cmi.location") is None


@pytest.mark.gen_test
async def test_superseded_session_answers_409(api, ctx, attempt_id):
    old = await open_session(api, ctx, attempt_id)
    await open_session(api, ctx, attempt_id)
    batch = {"session_id": old, "batch_seq": 1, "calls": calls(("Initialize", [""]))}

    response = await api.post(f"/api/attempts/{attempt_id}/runtime/", batch,
                              headers=launch(ctx, attempt_id))

    assert response.code == 409
    assert body_of(response)["superseded"] is True


@pytest.mark.gen_test
async def test_set_and_get_value_on_open_session(api, ctx, people, attempt_id):
    token = people.learner.token
    no_session = await api.post("/api/scorm-api/set_value/", {
        "attempt_id": attempt_id, "element_id": "cmi.location", "value": "x"}, token=token)
    started = await api.post(f"/api/attempts/{attempt_id}/start_session/", {}, token=token)

    stored = await api.post("/api/scorm-api/set_value/", {
        "attempt_id": attempt_id, "element_id": "cmi.location", "value": "p9"}, token=token)
    read = await api.get(
        f"/api/scorm-api/get_value/?attempt_id={attempt_id}&element_id=cmi.location",
        token=token)
    ended = await api.post(f"/api/attempts/{attempt_id}/end_session/", {}, token=token)

    assert no_session.code == 400
    assert body_of(no_session)["error_code"] == 132
    assert started.code == 200, started.body
    assert body_of(started)["id"] == attempt_id
    assert body_of(stored) == {"result": "true", "error_code": 0}
    assert body_of(read) == {"value": "p9"}
    assert ended.code == 200, ended.body


@pytest.mark.gen_test
async def test_other_learner_forbidden(api, ctx, people, attempt_id):
    response = await api.get(f"/api/attempts/{attempt_id}/cmi/", token=people.other.token)
    wrong_token = await api.get(f"/api/attempts/{attempt_id}/cmi/",
                                headers=launch(ctx, attempt_id + 1))
    admin = await api.get(f"/api/attempts/{attempt_id}/cmi/", token=people.admin.token)

    assert response.code == 403
    assert wrong_token.code == 403
    assert admin.code == 200
    assert body_of(admin) == {"attempt_id": attempt_id, "items": {}}


@pytest.mark.gen_test
async def test_failed_store_answers_503(api, ctx, attempt_id):
    session_id = await open_session(api, ctx, attempt_id)
    store = ctx.store
    original = store.append_log
    failures = [1]

    async def failing_append(*args: Any, **kwargs: Any) -> None:
        if failures[0]:
            failures[0] -= 1
            from storage.errors import StoreUnavailable
            raise StoreUnavailable("disk full")
        await original(*args, **kwargs)

    store.append_log = failing_append
    batch = {"session_id": session_id, "batch_seq": 1, "calls": calls(
        ("Initialize", [""]), ("SetValue", ["cmi.location", "z"]), ("Commit", [""]))}
    path = f"/api/attempts/{attempt_id}/runtime/"

    failed = await api.post(path, batch, headers=launch(ctx, attempt_id))
    retried = await api.post(path, batch, headers=launch(ctx, attempt_id))
    entries = await ctx.store.read_log(attempt_id)

    assert failed.code == 503
    assert body_of(failed)["results"][2] == {"return": "false", "error_code": 391}
    assert retried.code == 200
    assert [r["return"] for r in body_of(retried)["results"]] == ["true", "true", "true"]
    assert [e.seq for e in entries] == [1, 2]


@pytest.mark.gen_test
@pytest.mark.parametrize("flush_interval_ms", [0])
async def test_write_through_stores_before_response(api, ctx, attempt_id):
    session_id = await open_session(api, ctx, attempt_id)
    batch = {"session_id": session_id, "batch_seq": 1, "calls": calls(
        ("Initialize", [""]), ("SetValue", ["cmi.location", "w"]))}

    response = await api.post(f"/api/attempts/{attempt_id}/runtime/", batch,
                              headers=launch(ctx, attempt_id))
    entries = await ctx.store.read_log(attempt_id)

    assert response.code == 200
    assert [e.seq for e in entries] == [1, 2]


@pytest.mark.gen_test
async def test_stop_writes_snapshot(api, ctx, attempt_id):
    session_id = await open_session(api, ctx, attempt_id)
    batch = {"session_id": session_id, "batch_seq": 1, "calls": calls(
        ("Initialize", [""]), ("SetValue", ["cmi.location", "s"]))}
    await api.post(f"/api/attempts/{attempt_id}/runtime/", batch,
                   headers=launch(ctx, attempt_id))

    await ctx.actors.stop()
    snapshot = await ctx.store.get_snapshot(attempt_id)
    entries = await ctx.store.read_log(attempt_id)

    assert snapshot is not None
    assert snapshot.seq == 2
    assert [e.seq for e in entries] == [1, 2]


@pytest.mark.gen_test
@pytest.mark.parametrize("standard", ["1.2", "2004"])
async def test_datamodel_served_without_auth(api, standard):
    response = await api.get(f"/api/runtime/datamodel/{standard}/")

    assert response.code == 200, response.body
    assert body_of(response)


@pytest.mark.gen_test
async def test_access_log_levels_of_batches(api, ctx, attempt_id, caplog):
    session_id = await open_session(api, ctx, attempt_id)
    path = f"/api/attempts/{attempt_id}/runtime/"
    batch = {"session_id": session_id, "batch_seq": 1, "calls": calls(("Initialize", [""]))}

    with caplog.at_level(logging.DEBUG, logger="server.access"):
        await api.post(path, batch, headers=launch(ctx, attempt_id))
        await api.post(path, {**batch, "batch_seq": 0}, headers=launch(ctx, attempt_id))
        await api.get("/healthz")
    levels = {
        record.getMessage().split(" ")[0] + " " + record.getMessage().split(" ")[2]: record.levelno
        for record in caplog.records if record.name == "server.access"
    }

    assert levels[f"200 {path}"] == logging.DEBUG
    assert levels[f"400 {path}"] == logging.WARNING
    assert levels["200 /healthz"] == logging.INFO
