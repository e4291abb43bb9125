"""The player page and its summary, served by the real application on SQLite."""

from __future__ import annotations

import asyncio
import json
import re
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from tornado.httpclient import AsyncHTTPClient, HTTPResponse
from tornado.httpserver import HTTPServer
from tornado.netutil import bind_sockets

from server.app import build_context, make_app, start_services, stop_services
from server.config import Settings
from server.context import AppContext
from storage.models import PACKAGE_READY

MANIFEST = {
    "standard": "SCORM 1.2",
    "organization": {
        "identifier": "org",
        "title": "Golf </script> course",
        "children": [
            {"identifier": "module_1", "title": "Module 1", "children": [
                {"identifier": "item_1", "title": "Rules"},
                {"identifier": "item_2", "title": "Etiquette"},
            ]},
            {"identifier": "item_3", "title": "Quiz"},
        ],
    },
    "items": {"item_3": {"prerequisites": "item_1&item_2"}},
}
ITEMS = [
    {"identifier": "item_1", "title": "Rules", "scorm_type": "sco", "launch_path": "a.html"},
    {"identifier": "item_2", "title": "Etiquette", "scorm_type": "sco", "launch_path": "b.html"},
    {"identifier": "item_3", "title": "Quiz", "scorm_type": "sco", "launch_path": "q.html?x=1"},
]


@dataclass
class Player:
    ctx: AppContext
    base_url: str
    attempt_id: int
    package_id: int

    def token(self, attempt_id: int | None = None, now: float | None = None) -> str:
        tokens = self.ctx.services["launch_tokens"]
        token, _ = tokens.issue(self.attempt_id if attempt_id is None else attempt_id, now=now)
        return token

    async def get(self, path: str, **kwargs: Any) -> HTTPResponse:
        client = AsyncHTTPClient()
        return await client.fetch(self.base_url + path, raise_error=False, **kwargs)


async def start_player(data_dir: Path) -> tuple[Player, HTTPServer]:
    settings = Settings(data_dir=data_dir, port=0, rate_limit=0)
    ctx = await build_context(settings)
    app = make_app(ctx)
    await start_services(ctx)
    sockets = bind_sockets(0, "127.0.0.1")
    server = HTTPServer(app)
    server.add_sockets(sockets)
    port = sockets[0].getsockname()[1]

    user = await ctx.store.create_user(username="ada", email="ada@example.com", password_hash="x")
    course = await ctx.store.create_course(title="Golf")
    package = await ctx.store.create_package(
        course_id=course.id, task_id="t1", file="golf.zip", status=PACKAGE_READY
    )
    package = await ctx.store.update_package(package.id, {
        "title": "Golf </script> course",
        "scorm_standard": "SCORM 1.2",
        "items": ITEMS,
        "manifest": MANIFEST,
        "launch_path": "a.html",
    })
    attempt = await ctx.store.create_attempt(user.id, package.id)
    player = Player(ctx, f"http://127.0.0.1:{port}", attempt.id, package.id)
    return player, server


@pytest.fixture
def run(tmp_path: Path) -> Iterator[Any]:
    """Run an async test body against a fresh server; pass it the Player."""
    loop = asyncio.new_event_loop()

    def runner(body: Any) -> Any:
        async def main() -> Any:
            player, server = await start_player(tmp_path / "data")
            try:
                return await body(player)
            finally:
                server.stop()
                await stop_services(player.ctx)
        return loop.run_until_complete(main())

    yield runner
    loop.close()


def page_config(html: str) -> dict[str, Any]:
    match = re.search(
        r'<script type="application/json" id="player-config">(.*?)</script>', html, re.S
    )
    assert match is not None
    return json.loads(match.group(1))


def test_page_serves_html_with_config(run: Any) -> None:
    async def body(player: Player) -> tuple[HTTPResponse, str]:
        token = player.token()
        return await player.get(f"/player/{player.attempt_id}?token={token}"), token

    response, token = run(body)
    html = response.body.decode()
    config = page_config(html)

    assert response.code == 200
    assert response.headers["Content-Type"].startswith("text/html")
    assert response.headers["Cache-Control"] == "no-store"
    assert config["attemptId"] > 0
    assert config["token"] == token
    assert config["standard"] == "1.2"
    assert [item["identifier"] for item in config["items"]] == ["item_1", "item_2", "item_3"]
    assert config["items"][2]["launch_path"] == "q.html?x=1"
    assert config["contentBase"] == f"/content/{config['packageId']}/"
    assert config["prerequisites"] == {"item_3": "item_1&item_2"}


def test_page_nests_toc_per_organization(run: Any) -> None:
    async def body(player: Player) -> HTTPResponse:
        return await player.get(f"/player/{player.attempt_id}?token={player.token()}")

    config = page_config(run(body).body.decode())
    module = config["toc"][0]

    assert module["identifier"] == "module_1"
    assert module["launchable"] is False
    assert [child["identifier"] for child in module["children"]] == ["item_1", "item_2"]
    assert config["toc"][1]["identifier"] == "item_3"


def test_page_toc_leaves_out_invisible_items(run: Any) -> None:
    async def body(player: Player) -> HTTPResponse:
        manifest = {
            **MANIFEST,
            "items": {
                "module_1": {"is_visible": False},
                "item_1": {"is_visible": True},
                "item_2": {"is_visible": False},
                "item_3": {"is_visible": True, "prerequisites": "item_1&item_2"},
            },
        }
        await player.ctx.store.update_package(player.package_id, {"manifest": manifest})
        return await player.get(f"/player/{player.attempt_id}?token={player.token()}")

    config = page_config(run(body).body.decode())

    assert [node["identifier"] for node in config["toc"]] == ["item_1", "item_3"]
    assert [item["identifier"] for item in config["items"]] == ["item_1", "item_2", "item_3"]


def test_page_escapes_title(run: Any) -> None:
    async def body(player: Player) -> HTTPResponse:
        return await player.get(f"/player/{player.attempt_id}?token={player.token()}")

    html = run(body).body.decode()

    assert "<title>Golf &lt;/script&gt; course</title>" in html
    assert page_config(html)["title"] == "Golf </script> course"


def test_page_sets_launch_cookie(run: Any) -> None:
    async def body(player: Player) -> tuple[HTTPResponse, str, int]:
        token = player.token()
        response = await player.get(f"/player/{player.attempt_id}?token={token}")
        return response, token, player.package_id

    response, token, package_id = run(body)
    cookie = response.headers["Set-Cookie"]

    assert cookie.startswith(f"scorm_launch={token};") or f'scorm_launch="{token}"' in cookie
    assert f"Path=/content/{package_id}/" in cookie
    assert "HttpOnly" in cookie
    assert "SameSite=Lax" in cookie


def test_page_rejects_expired_token(run: Any) -> None:
    async def body(player: Player) -> HTTPResponse:
        token = player.token(now=0)
        return await player.get(f"/player/{player.attempt_id}?token={token}")

    response = run(body)
    html = response.body.decode()

    assert response.code == 401
    assert response.headers["Content-Type"].startswith("text/html")
    assert "expired" in html
    assert "Traceback" not in html
    assert "Set-Cookie" not in response.headers


def test_page_rejects_missing_token(run: Any) -> None:
    async def body(player: Player) -> HTTPResponse:
        return await player.get(f"/player/{player.attempt_id}")

    response = run(body)

    assert response.code == 401
    assert "no token" in response.body.decode()


def test_page_rejects_forged_token(run: Any) -> None:
    async def body(player: Player) -> HTTPResponse:
        token = player.token()[:-2] + "xx"
        return await player.get(f"/player/{player.attempt_id}?token={token}")

    response = run(body)

    assert response.code == 401
    assert "not valid" in response.body.decode()


def test_page_rejects_other_attempts_token(run: Any) -> None:
    async def body(player: Player) -> HTTPResponse:
        token = player.token(attempt_id=player.attempt_id + 1)
        return await player.get(f"/player/{player.attempt_id}?token={token}")

    response = run(body)

    assert response.code == 403
    assert "another attempt" in response.body.decode()


def test_page_rejects_unknown_attempt(run: Any) -> None:
    async def body(player: Player) -> HTTPResponse:
        token = player.token(attempt_id=9999)
        return await player.get(f"/player/9999?token={token}")

    response = run(body)

    assert response.code == 404
    assert "9999" in response.body.decode()


def test_static_files_are_cacheable(run: Any) -> None:
    async def body(player: Player) -> tuple[HTTPResponse, HTTPResponse]:
        page = await player.get(f"/player/{player.attempt_id}?token={player.token()}")
        src = re.search(r'src="(/static/adapter\.js\?v=[0-9a-f]+)"', page.body.decode())
        assert src is not None
        return page, await player.get(src.group(1))

    _, script = run(body)

    assert script.code == 200
    assert b"ScormAdapter" in script.body
    assert "max-age" in script.headers["Cache-Control"]


def test_summary_returns_attempt(run: Any) -> None:
    async def body(player: Player) -> HTTPResponse:
        await player.ctx.store.update_attempt(player.attempt_id, {
            "items": {"item_1": {"lesson_status": "passed", "score": 90.0}},
            "score": 90.0,
        })
        return await player.get(
            f"/player/{player.attempt_id}/summary",
            headers={"Authorization": f"Launch {player.token()}"},
        )

    response = run(body)
    summary = json.loads(response.body)

    assert response.code == 200
    assert summary["score"] == 90.0
    assert summary["items"]["item_1"]["lesson_status"] == "passed"
    assert summary["titles"]["item_3"] == "Quiz"


def test_summary_rejects_missing_token(run: Any) -> None:
    async def body(player: Player) -> HTTPResponse:
        return await player.get(f"/player/{player.attempt_id}/summary")

    response = run(body)

    assert response.code == 401
    assert "error" in json.loads(response.body)


def test_page_errors_log_no_launch_token(run: Any, caplog: pytest.LogCaptureFixture) -> None:
    async def body(player: Player) -> tuple[str, list[int]]:
        token = player.token()
        codes = [(await player.get(f"/player/{player.attempt_id}?token={token}&token=%ff")).code]

        async def fail(package_id: int) -> None:
            raise RuntimeError("store bug")

        player.ctx.store.get_package = fail
        codes.append((await player.get(f"/player/{player.attempt_id}?token={token}")).code)
        codes.append((await player.get(f"/player/{player.attempt_id}/summary?token={token}")).code)
        return token, codes

    token, codes = run(body)

    assert codes == [400, 500, 500]
    assert "Uncaught exception GET /player/" in caplog.text
    assert token not in caplog.text
