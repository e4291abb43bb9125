"""Operations endpoints and the behaviour every route shares: 404, 405, 413,
415, malformed JSON, trailing slashes."""

from __future__ import annotations

import dataclasses

import pytest
import tornado.web
from tornado.httpclient import HTTPRequest

from server.ratelimit import MemoryRateLimiter

from storage.faults import FaultyStore
from tests.api_support import api, app, body_of, ctx, people, settings  # noqa: F401


@pytest.mark.gen_test
async def test_healthz_ok_without_auth(api):
    response = await api.get("/healthz")

    assert response.code == 200
    assert body_of(response) == {"status": "ok"}


@pytest.mark.gen_test
async def test_healthz_503_when_store_fails(api, ctx):
    faulty = FaultyStore(ctx.store)
    faulty.fail_next("ping", 1)
    real_store, ctx.store = ctx.store, faulty
    try:
        response = await api.get("/healthz/")
    finally:
        ctx.store = real_store

    assert response.code == 503
    assert body_of(response)["status"] == "unavailable"


@pytest.mark.gen_test
async def test_metrics_count_requests_by_route(api):
    await api.get("/healthz")

    response = await api.get("/metrics")

    assert response.code == 200
    assert response.headers["Content-Type"].startswith("text/plain")
    text = response.body.decode()
    assert 'scorm_http_requests_total{method="GET",route="HealthHandler",status="200"}' in text
    assert "scorm_http_request_duration_seconds_bucket" in text


@pytest.mark.gen_test
async def test_unknown_path_is_json_404(api):
    response = await api.get("/api/nothing/here/")

    assert response.code == 404
    assert response.headers["Content-Type"].startswith("application/json")
    assert "/api/nothing/here/" in body_of(response)["error"]


@pytest.mark.gen_test
async def test_wrong_method_is_json_405(api, people):
    response = await api.request("PATCH", "/api/courses/", {}, token=people.admin.token)

    assert response.code == 405
    assert "PATCH" in body_of(response)["error"]


@pytest.mark.parametrize("path", ["/api/courses", "/api/courses/"])
@pytest.mark.gen_test
async def test_paths_work_with_and_without_slash(api, people, path):
    response = await api.get(path, token=people.admin.token)

    assert response.code == 200


@pytest.mark.gen_test
async def test_oversized_body_is_413(api, people, ctx):
    limit = ctx.settings.max_body_size
    raw = b'{"title": "' + b"x" * limit + b'"}'

    response = await api.request(
        "POST", "/api/courses/", raw=raw, token=people.admin.token
    )

    assert response.code == 413
    assert str(limit) in body_of(response)["error"]
    _, total = await ctx.store.list_courses(limit=10, offset=0)
    assert total == 0


@pytest.mark.gen_test
async def test_oversized_chunked_body_is_413(http_client, base_url, people, ctx):
    limit = ctx.settings.max_body_size
    chunks = [b'{"title": "', b"x" * (limit // 2), b"x" * (limit // 2), b'"}']

    async def producer(write):
        for chunk in chunks:
            await write(chunk)

    request = HTTPRequest(
        base_url + "/api/courses/",
        method="POST",
        headers={
            "Content-Type": "application/json",
            "Authorization": f"Token {people.admin.token}",
        },
        body_producer=producer,
    )
    response = await http_client.fetch(request, raise_error=False)

    # The server may close the connection before the client finishes sending,
    # which the client reports as code 599; either way nothing is created.
    assert response.code in (413, 599)
    _, total = await ctx.store.list_courses(limit=10, offset=0)
    assert total == 0


@pytest.mark.gen_test
async def test_wrong_content_type_is_415(api, people):
    response = await api.post(
        "/api/courses/",
        {"title": "Golf"},
        token=people.admin.token,
        headers={"Content-Type": "text/plain"},
    )

    assert response.code == 415
    assert "application/json" in body_of(response)["error"]


@pytest.mark.parametrize("raw", [b"{", b"[1, 2]", b"\xff\xfe", b"", b"null"])
@pytest.mark.gen_test
async def test_malformed_json_is_400(api, people, ctx, raw):
    response = await api.request("POST", "/api/courses/", raw=raw, token=people.admin.token)

    assert response.code == 400
    assert body_of(response)["error"].startswith("Invalid JSON body")
    _, total = await ctx.store.list_courses(limit=10, offset=0)
    assert total == 0


@pytest.mark.gen_test
async def test_malformed_authorization_is_401(api):
    empty = await api.get("/api/courses/", headers={"Authorization": "Token "})
    unknown = await api.get("/api/courses/", headers={"Authorization": "Token abc"})

    assert empty.code == 401
    assert unknown.code == 401
    assert unknown.headers["WWW-Authenticate"] == "Token"


@pytest.mark.gen_test
async def test_schema_is_openapi_json(api):
    response = await api.get("/api/schema/")

    assert response.code == 200
    assert body_of(response)["openapi"].startswith("3.")


@tornado.web.stream_request_body
class CountingUploadHandler(tornado.web.RequestHandler):
    """A streaming handler like the package upload: it counts the body bytes."""

    def prepare(self) -> None:
        self.received = 0

    def data_received(self, chunk: bytes) -> None:
        self.received += len(chunk)

    def post(self) -> None:
        self.write({"received": self.received})


def add_upload_route(app) -> None:
    app.wildcard_router.add_rules([(r"/upload/?$", CountingUploadHandler)])


@pytest.mark.gen_test
async def test_streaming_handler_takes_bodies_over_limit(http_client, base_url, app, ctx):
    add_upload_route(app)
    size = ctx.settings.max_body_size * 3

    response = await http_client.fetch(
        base_url + "/upload/", method="POST", body=b"x" * size, raise_error=False
    )

    assert response.code == 200
    assert body_of(response) == {"received": size}


@pytest.mark.gen_test
async def test_rate_limited_upload_gets_429(http_client, base_url, app, ctx):
    add_upload_route(app)
    ctx.settings = dataclasses.replace(ctx.settings, rate_limit=1)
    ctx.services["rate_limiter"] = MemoryRateLimiter(clock=lambda: 6000.0)
    await http_client.fetch(base_url + "/healthz/none", raise_error=False)

    response = await http_client.fetch(
        base_url + "/upload/", method="POST", body=b"x" * 1000, raise_error=False
    )

    assert response.code == 429
    assert "Retry-After" in response.headers


@pytest.mark.gen_test
async def test_rejected_request_counts_under_its_route(api, people, ctx):
    raw = b"x" * (ctx.settings.max_body_size + 1)
    await api.request("POST", "/api/courses/", raw=raw, token=people.admin.token)

    response = await api.get("/metrics")

    text = response.body.decode()
    assert 'route="CoursesHandler",status="413"' in text
