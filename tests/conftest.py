"""Fixtures shared by every test suite."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

PROJECT_ROOT = Path(__file__).resolve().parent.parent


def find_shared_dir() -> Path:
    """Return the folder of reference material that sits beside the project."""
    override = os.environ.get("SCORM_SHARED_DIR")
    return Path(override) if override else PROJECT_ROOT.parent / "shared"


@pytest.fixture(scope="session")
def shared_dir() -> Path:
    path = find_shared_dir()
    if not path.is_dir():
        pytest.fail(f"reference folder {path} is missing; set SCORM_SHARED_DIR")
    return path
