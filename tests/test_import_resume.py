"""Packages left `processing` by a crash are processed again at start."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from server.handlers import packages
from tests.api_support import ctx, settings  # noqa: F401


@pytest.mark.gen_test(timeout=60)
async def test_resume_left_processing(ctx, shared_dir):
    uploads = Path(ctx.settings.data_dir) / "uploads"
    uploads.mkdir(parents=True, exist_ok=True)
    shutil.copy(shared_dir / "packages" / "scorm12_golf_singlescobasic.zip", uploads / "kept.zip")
    course = await ctx.store.create_course(title="Resume")
    resumable = await ctx.store.create_package(course_id=course.id, task_id="kept", file="uploads/kept.zip",
                                          status="processing")
    orphaned = await ctx.store.create_package(course_id=course.id, task_id="lost", file="uploads/lost.zip",
                                          status="processing")

    await packages.start(ctx)
    await ctx.services[packages.PROCESSOR_SERVICE].drain()

    resumed = await ctx.store.get_package(resumable.id)
    assert resumed.status == "ready"
    assert resumed.launch_path == "shared/launchpage.html"
    failed = await ctx.store.get_package(orphaned.id)
    assert failed.status == "failed"
    assert "upload the package again" in failed.errors[0]
