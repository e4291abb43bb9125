"""Fixtures of the LMS API tests: an application on a fresh SQLite store,
an admin and two learners with tokens, and a ready package.

Test modules import the fixtures they use by name.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from tornado.httpclient import AsyncHTTPClient, HTTPResponse
from tornado.ioloop import IOLoop

from server import auth
from server.app import build_context, make_app, stop_services
from server.config import Settings
from server.context import AppContext
from storage.models import PACKAGE_READY, Package, User

PASSWORD = "correct horse battery"
# Hashing is slow on purpose, so the seeded users share one hash.
_password_hash = ""


def password_hash() -> str:
    global _password_hash
    if not _password_hash:
        _password_hash = auth.hash_password_sync(PASSWORD)
    return _password_hash


def make_settings(data_dir: Path, **overrides: Any) -> Settings:
    values: dict[str, Any] = {
        "data_dir": data_dir,
        "secret_key": "test-secret-key",
        "rate_limit": 0,
        "runtime_rate_limit": 0,
    }
    values.update(overrides)
    return Settings(**values)


@dataclass
class Person:
    user: User
    token: str

    @property
    def id(self) -> int:
        return self.user.id


@dataclass
class People:
    admin: Person
    learner: Person
    other: Person


async def add_person(ctx: AppContext, username: str, *, is_staff: bool = False) -> Person:
    user = await ctx.store.create_user(
        username=username,
        email=f"{username}@example.com",
        password_hash=password_hash(),
        first_name=username.capitalize(),
        last_name="Tester",
        is_staff=is_staff,
    )
    return Person(user, await auth.issue_token(ctx.store, user.id))


async def add_ready_package(
    ctx: AppContext, course_id: int, standard: str = "SCORM 2004 4th Edition"
) -> Package:
    package = await ctx.store.create_package(
        course_id=course_id, task_id=f"task-{course_id}-{standard}", file="p.zip",
        status="processing",
    )
    return await ctx.store.update_package(
        package.id,
        {
            "status": PACKAGE_READY,
            "scorm_standard": standard,
            "title": "Golf",
            "launch_path": "index.html",
        },
    )


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    return make_settings(tmp_path / "data")


@pytest.fixture
def ctx(io_loop: IOLoop, settings: Settings) -> Any:
    context = io_loop.run_sync(lambda: build_context(settings))
    yield context
    io_loop.run_sync(lambda: stop_services(context))


@pytest.fixture
def app(ctx: AppContext) -> Any:
    return make_app(ctx)


@pytest.fixture
def people(io_loop: IOLoop, ctx: AppContext) -> People:
    async def seed() -> People:
        return People(
            admin=await add_person(ctx, "admin", is_staff=True),
            learner=await add_person(ctx, "learner"),
            other=await add_person(ctx, "other"),
        )

    return io_loop.run_sync(seed)


class Api:
    """Sends JSON requests to the test server and never raises on a 4xx or 5xx."""

    def __init__(self, client: AsyncHTTPClient, base_url: str) -> None:
        self.client = client
        self.base_url = base_url

    async def request(
        self,
        method: str,
        path: str,
        body: Any = None,
        *,
        token: str | None = None,
        headers: dict[str, str] | None = None,
        raw: bytes | None = None,
    ) -> HTTPResponse:
        all_headers = {"Content-Type": "application/json"}
        if token:
            all_headers["Authorization"] = f"Token {token}"
        all_headers.update(headers or {})
        if raw is None and body is not None:
            raw = json.dumps(body).encode()
        if raw is None and method in ("POST", "PUT"):
            raw = b""
        return await self.client.fetch(
            self.base_url + path,
            method=method,
            body=raw,
            headers=all_headers,
            raise_error=False,
            allow_nonstandard_methods=True,
        )

    async def get(self, path: str, **kwargs: Any) -> HTTPResponse:
        return await self.request("GET", path, **kwargs)

    async def post(self, path: str, body: Any = None, **kwargs: Any) -> HTTPResponse:
        return await self.request("POST", path, {} if body is None else body, **kwargs)

    async def put(self, path: str, body: Any = None, **kwargs: Any) -> HTTPResponse:
        return await self.request("PUT", path, {} if body is None else body, **kwargs)

    async def delete(self, path: str, **kwargs: Any) -> HTTPResponse:
        return await self.request("DELETE", path, **kwargs)


@pytest.fixture
def api(http_client: AsyncHTTPClient, base_url: str) -> Api:
    return Api(http_client, base_url)


def body_of(response: HTTPResponse) -> Any:
    return json.loads(response.body)
