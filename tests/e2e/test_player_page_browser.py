"""The player page's layout in Chromium, for a package written straight to the store.

The package record is seeded into the server's SQLite file before the server
starts, so these tests need neither package import nor the run-time.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest

from server.app import build_context
from server.config import Settings
from storage.models import PACKAGE_READY
from tests.e2e.live_server import ServerProcess, start_server

pytestmark = pytest.mark.e2e

MANIFEST = {
    "standard": "SCORM 1.2",
    "organization": {
        "identifier": "org",
        "title": "Golf Explained",
        "children": [
            {"identifier": "module_1", "title": "Playing the Game", "children": [
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
    {"identifier": "item_3", "title": "Quiz", "scorm_type": "sco", "launch_path": "q.html"},
]


async def seed(data_dir: Path) -> str:
    """Write a learner, a ready three-item package and an attempt; return the player path."""
    ctx = await build_context(Settings(data_dir=data_dir))
    try:
        user = await ctx.store.create_user(username="ada", email="ada@example.com",
                                           password_hash="unused")
        course = await ctx.store.create_course(title="Golf")
        package = await ctx.store.create_package(
            course_id=course.id, task_id="seeded", file="golf.zip", status=PACKAGE_READY
        )
        await ctx.store.update_package(package.id, {
            "title": "Golf Explained", "scorm_standard": "SCORM 1.2", "items": ITEMS,
            "manifest": MANIFEST, "launch_path": "a.html",
        })
        attempt = await ctx.store.create_attempt(user.id, package.id)
        token, _ = ctx.services["launch_tokens"].issue(attempt.id)
        return f"/player/{attempt.id}?token={token}"
    finally:
        await ctx.store.close()


@pytest.fixture(scope="module")
def seeded_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[ServerProcess, str]]:
    data_dir = tmp_path_factory.mktemp("player-page")
    # Playwright's sync API runs an event loop in this thread, so the store is
    # seeded from another one.
    with ThreadPoolExecutor(max_workers=1) as executor:
        path = executor.submit(asyncio.run, seed(data_dir)).result()
    server = start_server(data_dir)
    yield server, path
    server.stop()


@pytest.fixture
def page(browser: Any) -> Iterator[Any]:
    context = browser.new_context(viewport={"width": 1100, "height": 600})
    page = context.new_page()
    yield page
    context.close()


def test_toc_nests_items_per_organization(page: Any, seeded_server: tuple[ServerProcess, str]) -> None:
    server, path = seeded_server

    page.goto(server.base_url + path)
    page.wait_for_selector(".toc-item")
    group = page.inner_text(".toc-group")
    nested = page.locator("#toc > li > ul .toc-item").all_inner_texts()
    top = page.locator("#toc > li > .toc-item").all_inner_texts()

    assert group == "Playing the Game"
    assert nested == ["Rules", "Etiquette"]
    assert top == ["Quiz"]


def test_toc_disables_items_before_prerequisites(
    page: Any, seeded_server: tuple[ServerProcess, str], artifacts_dir: Path
) -> None:
    server, path = seeded_server

    page.goto(server.base_url + path)
    page.wait_for_selector(".toc-item")
    page.wait_for_function("() => document.querySelector('[data-identifier=item_3]').disabled")
    page.screenshot(path=str(artifacts_dir / "player-toc.png"))
    quiz_disabled = page.is_disabled("[data-identifier=item_3]")
    rules_disabled = page.is_disabled("[data-identifier=item_1]")

    assert quiz_disabled
    assert not rules_disabled


def test_page_exposes_only_scorm12_api(page: Any, seeded_server: tuple[ServerProcess, str]) -> None:
    server, path = seeded_server

    page.goto(server.base_url + path)
    page.wait_for_function("() => window.scormPlayer !== undefined")
    api_12 = page.evaluate("() => typeof window.API.LMSInitialize")
    api_2004 = page.evaluate("() => typeof window.API_1484_11")

    assert api_12 == "function"
    assert api_2004 == "undefined"


def test_expired_token_shows_error_page(page: Any, seeded_server: tuple[ServerProcess, str]) -> None:
    server, path = seeded_server
    expired = path.split("?")[0] + "?token=1.1.AAAA"

    response = page.goto(server.base_url + expired)
    heading = page.inner_text("h1")

    assert response.status == 401
    assert heading == "The course cannot be opened"
