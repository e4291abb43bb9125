"""Fixtures of the browser tests: Chromium through Playwright, never downloaded."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

CHROMIUM_PATH = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--disable-gpu",
    # Every host but 127.0.0.1 fails to resolve, so a page under test cannot
    # reach any other address, even through a URL in a package.
    "--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE 127.0.0.1",
]
STATIC_DIR = Path(__file__).resolve().parents[2] / "server" / "static"
ARTIFACTS_DIR = Path(__file__).resolve().parent / "artifacts"


# Module scope: Playwright's sync API keeps an event loop running while it is
# open, which stops the pytest-tornado tests that run after this folder.
@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    playwright_api = pytest.importorskip("playwright.sync_api")
    if not Path(CHROMIUM_PATH).exists():
        pytest.skip(f"Chromium is not installed at {CHROMIUM_PATH}")
    with playwright_api.sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=CHROMIUM_PATH, args=CHROMIUM_ARGS)
        yield chromium
        chromium.close()


@pytest.fixture(scope="session")
def vectors(shared_dir: Path) -> dict[str, Any]:
    return json.loads((shared_dir / "conformance" / "vectors.json").read_text())


@pytest.fixture(scope="session")
def artifacts_dir() -> Path:
    ARTIFACTS_DIR.mkdir(exist_ok=True)
    return ARTIFACTS_DIR
