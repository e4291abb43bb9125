"""Fixtures of the actor runtime tests: a real SQLite store with one attempt."""

from __future__ import annotations

from pathlib import Path
from types import ModuleType
from typing import Any

import pytest

from server.config import Settings
from storage.models import PACKAGE_READY
from storage.sqlite import SQLiteStore


def load_engine() -> ModuleType:
    """Return scorm.runtime, or the stand-in engine while that module is missing."""
    # NOTE: scorm.runtime is written in parallel; until it imports, the tests
    # run on the stand-in, which checks the state machine but no data types.
    try:
        from scorm import runtime

        return runtime
    except (ImportError, SyntaxError):
        pass
    from tests.actors import engine_stand_in

    return engine_stand_in


@pytest.fixture
def engine() -> ModuleType:
    return load_engine()


async def seed_attempt(store: Any, sco_ids: tuple[str, ...] = ("sco-1",),
                       standard: str = "2004") -> int:
    """Create a learner, a ready package with `sco_ids` and an attempt; return its id."""
    user = await store.create_user(username="ada", email="ada@example.org",
                                   password_hash="x", first_name="Ada",
                                   last_name="Lovelace")
    course = await store.create_course(title="Safety")
    package = await store.create_package(course_id=course.id, task_id="t1",
                                         file="p.zip", status="processing")
    items = [{"identifier": sco, "title": sco, "scorm_type": "sco",
              "launch_path": f"{sco}.html"} for sco in sco_ids]
    manifest = {"standard": standard,
                "items": {sco: {"runtime": {}} for sco in sco_ids}}
    await store.update_package(package.id, {
        "status": PACKAGE_READY,
        "scorm_standard": "SCORM 1.2" if standard == "1.2" else "SCORM 2004 4th Edition",
        "items": items, "manifest": manifest, "launch_path": items[0]["launch_path"],
    })
    attempt = await store.create_attempt(user.id, package.id)
    return attempt.id


def make_settings(tmp_path: Path, **overrides: Any) -> Settings:
    return Settings(data_dir=tmp_path, **overrides)


@pytest.fixture
def store_path(tmp_path: Path) -> Path:
    return tmp_path / "store.sqlite3"


def open_sqlite(path: Path) -> SQLiteStore:
    return SQLiteStore(path)
