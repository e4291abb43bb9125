"""Fixtures that run one scenario against each store backend.

`run_store(scenario)` opens a fresh, empty store, awaits `scenario(store)` in
a new event loop and closes the store. The `mongodb` backend uses a fresh
database on the server at SCORM_TEST_MONGODB_URL and drops it afterwards.
"""

from __future__ import annotations

import asyncio
import os
import uuid
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import pytest

from storage.base import Store
from storage.sqlite import SQLiteStore

Scenario = Callable[[Store], Awaitable[Any]]
MONGODB_URL_VARIABLE = "SCORM_TEST_MONGODB_URL"


def make_sqlite_store(tmp_path: Path) -> Store:
    return SQLiteStore(tmp_path / "store.sqlite3")


def make_mongo_store() -> tuple[Store, Callable[[], Awaitable[None]]]:
    from storage.mongo import MongoStore

    url = os.environ[MONGODB_URL_VARIABLE]
    store = MongoStore(url, database=f"scorm_test_{uuid.uuid4().hex}")
    return store, store.drop_database


@pytest.fixture(params=["sqlite", "mongodb"])
def backend(request: pytest.FixtureRequest) -> str:
    if request.param == "mongodb" and not os.environ.get(MONGODB_URL_VARIABLE):
        pytest.skip(f"{MONGODB_URL_VARIABLE} is not set")
    return request.param


@pytest.fixture
def run_store(backend: str, tmp_path: Path) -> Callable[[Scenario], Any]:
    def run(scenario: Scenario) -> Any:
        async def main() -> Any:
            cleanup = None
            if backend == "sqlite":
                store = make_sqlite_store(tmp_path)
            else:
                store, cleanup = make_mongo_store()
            await store.open()
            try:
                return await scenario(store)
            finally:
                if cleanup is not None:
                    await cleanup()
                await store.close()

        return asyncio.run(main())

    return run
