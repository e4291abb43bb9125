"""SCORM packages: `/api/scorm-packages/`: upload, processing status, list, read, delete.

The upload streams its multipart body to `<data_dir>/uploads/` as it arrives,
so memory stays bounded whatever the package size. The import then runs in
the background through the `PackageProcessor` in ctx.services.
"""

from __future__ import annotations

import logging
import os
import shutil
import uuid
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, BinaryIO

import tornado.web

from server.context import AppContext
from server.errors import ApiError
from server.handlers.base import BaseHandler
from server.handlers.fields import invalid, page_params, parse_id, path_id, query_int, shown_id
from server.importer import PackageProcessor, package_folder, upload_root
from server.multipart import MultipartError, MultipartParser, parse_boundary
from server.serializers import iso_time
from storage.models import Package

log = logging.getLogger(__name__)

PROCESSOR_SERVICE = "package_processor"
# Room for the multipart headers and form fields around the file part.
MULTIPART_OVERHEAD = 1024 * 1024


def package_json(package: Package) -> dict[str, Any]:
    """Return the API form of a package."""
    return {
        "id": package.id,
        "course": package.course_id,
        "scorm_standard": package.scorm_standard,
        "file": package.file,
        "version": package.version,
        "manifest_path": package.manifest_path,
        "launch_path": package.launch_path,
        "status": package.status,
        "title": package.title,
        "items": package.items,
        "errors": package.errors,
        "warnings": package.warnings,
        "uploaded_at": iso_time(package.uploaded_at),
        "created_at": iso_time(package.created_at),
    }


def get_processor(ctx: AppContext) -> PackageProcessor:
    processor = ctx.services.get(PROCESSOR_SERVICE)
    if processor is None:
        processor = PackageProcessor(ctx.settings, ctx.store)
        ctx.services[PROCESSOR_SERVICE] = processor
    return processor


@tornado.web.stream_request_body
class UploadHandler(BaseHandler):
    """POST /api/scorm-packages/upload_package/ (admin): multipart `course_id` and `file`."""

    parser: MultipartParser | None
    upload: BinaryIO | None
    upload_path: Path | None
    received: int
    rejection: ApiError | None

    async def prepare(self) -> None:
        self.parser = None
        self.upload = None
        self.upload_path = None
        self.received = 0
        self.rejection = None
        self.task_id = str(uuid.uuid4())
        await self.require_admin()
        limit = self.ctx.settings.max_upload_size
        try:
            boundary = parse_boundary(self.request.headers.get("Content-Type", ""))
        except MultipartError as exc:
            raise ApiError(415, f"Invalid upload: {exc}; send the package as multipart/form-data.") from None
        declared = self.request.headers.get("Content-Length")
        if declared is not None and declared.isdigit() and int(declared) > limit + MULTIPART_OVERHEAD:
            raise ApiError(413, f"The upload is {declared} bytes, over the limit of {limit} bytes.")
        # This endpoint has its own body limit because the server-wide one is small.
        self.request.connection.set_max_body_size(limit + MULTIPART_OVERHEAD)
        self.parser = MultipartParser(boundary, self._open_file)

    def _open_file(self, name: str, filename: str) -> BinaryIO | None:
        if name != "file" or self.upload is not None:
            return None
        folder = upload_root(self.ctx.settings)
        folder.mkdir(parents=True, exist_ok=True)
        self.upload_path = folder / f"{self.task_id}.zip"
        self.upload = open(self.upload_path, "wb")
        return self.upload

    def data_received(self, chunk: bytes) -> None:
        if self.rejection is not None or self.parser is None:
            return
        self.received += len(chunk)
        limit = self.ctx.settings.max_upload_size
        if self.received > limit + MULTIPART_OVERHEAD:
            self.rejection = ApiError(413, f"The upload is over the limit of {limit} bytes.")
            log.info("rejected upload %s: body over %d bytes", self.task_id, limit)
            self._discard()
            return
        try:
            self.parser.feed(chunk)
        except MultipartError as exc:
            self.rejection = ApiError(400, f"Invalid multipart body: {exc}.")
            log.info("rejected upload %s: invalid multipart body: %s", self.task_id, exc)
            self._discard()
            return
        if self.upload is not None and self.upload.tell() > limit:
            self.rejection = ApiError(413, f"The package file is over the limit of {limit} bytes.")
            log.info("rejected upload %s: file over %d bytes", self.task_id, limit)
            self._discard()

    def _discard(self) -> None:
        if self.upload is not None:
            self.upload.close()
        if self.upload_path is not None:
            self.upload_path.unlink(missing_ok=True)
        self.upload_path = None

    def on_finish(self) -> None:
        if self.upload is not None and not self.upload.closed:
            self.upload.close()

    def on_connection_close(self) -> None:
        self._discard()

    async def post(self) -> None:
        try:
            await self._create_package()
        except BaseException:
            self._discard()
            raise

    async def _create_package(self) -> None:
        if self.rejection is not None:
            raise self.rejection
        assert self.parser is not None
        try:
            self.parser.finish()
        except MultipartError as exc:
            raise ApiError(400, f"Invalid multipart body: {exc}.") from None
        raw_course = self.parser.fields.get("course_id", "").strip()
        if not raw_course:
            raise ApiError(400, "Missing form field 'course_id'.", details={"course_id": "This field is required."})
        course_id = parse_id(raw_course)
        if course_id is None:
            raise invalid("course_id", f"expected a positive integer id, got {shown_id(raw_course)}.")
        if self.upload is None or self.upload_path is None:
            raise ApiError(400, "Missing file part 'file'; attach the package zip.",
                           details={"file": "No file was submitted."})
        self.upload.close()
        course = await self.ctx.store.get_course(course_id)
        if course is None:
            raise ApiError(404, f"Course {raw_course} not found.")
        relative = os.path.relpath(self.upload_path, self.ctx.settings.data_dir)
        package = await self.ctx.store.create_package(
            course_id=course.id, task_id=self.task_id, file=relative, status="processing"
        )
        log.info("received package %d (%d bytes) for course %d", package.id,
                 self.upload_path.stat().st_size, course.id)
        get_processor(self.ctx).submit(package.id, self.upload_path)
        self.upload_path = None  # the processor owns the file now
        self.write_json({"package": package_json(package), "task_id": self.task_id}, status=201)


class CheckStatusHandler(BaseHandler):
    """GET /api/scorm-packages/check_status/?task_id=."""

    async def get(self) -> None:
        await self.require_user()
        task_id = self.get_query_argument("task_id", "").strip()
        if not task_id:
            raise ApiError(400, "Missing query parameter 'task_id'.")
        package = await self.ctx.store.get_package_by_task(task_id)
        if package is None or package.deleted_at is not None:
            raise ApiError(404, f"Task {task_id!r} not found.")
        if package.status == "processing":
            self.write_json({"status": "processing"})
        elif package.status == "failed":
            self.write_json({"status": "failed", "errors": package.errors})
        else:
            self.write_json(package_json(package))


class PackagesHandler(BaseHandler):
    """GET /api/scorm-packages/ lists packages, optionally of one `course_id`."""

    async def get(self) -> None:
        await self.require_user()
        limit, offset = page_params(self)
        course_id = query_int(self, "course_id")
        packages, total = await self.ctx.store.list_packages(limit=limit, offset=offset, course_id=course_id)
        self.write_page([package_json(package) for package in packages], total)


class PackageHandler(BaseHandler):
    """GET and DELETE (admin) /api/scorm-packages/{id}/."""

    async def _find(self, package_id: str) -> Package:
        package = await self.ctx.store.get_package(path_id(package_id, "Package"))
        if package is None or package.deleted_at is not None:
            raise ApiError(404, f"Package {package_id} not found.")
        return package

    async def get(self, package_id: str) -> None:
        await self.require_user()
        self.write_json(package_json(await self._find(package_id)))

    async def delete(self, package_id: str) -> None:
        await self.require_admin()
        package = await self._find(package_id)
        await self.ctx.store.update_package(package.id, {"deleted_at": datetime.now(timezone.utc)})
        remove_package_files(self.ctx, package)
        log.info("deleted package %d", package.id)
        self.set_status(204)
        self.finish()


def remove_package_files(ctx: AppContext, package: Package) -> None:
    """Remove the package's content folder and its uploaded zip."""
    shutil.rmtree(package_folder(ctx.settings, package.id), ignore_errors=True)
    if package.file:
        upload = Path(ctx.settings.data_dir) / package.file
        upload.unlink(missing_ok=True)


def routes(ctx: AppContext) -> list[Any]:
    """Return the Tornado URL rules of the package endpoints."""
    args = {"ctx": ctx}
    return [
        (r"/api/scorm-packages/upload_package/?$", UploadHandler, args),
        (r"/api/scorm-packages/check_status/?$", CheckStatusHandler, args),
        (r"/api/scorm-packages/?$", PackagesHandler, args),
        (r"/api/scorm-packages/(\d+)/?$", PackageHandler, args),
    ]


async def start(ctx: AppContext) -> None:
    """Start the package processor and process again packages a crash left `processing`."""
    processor = get_processor(ctx)
    await processor.resume()


async def stop(ctx: AppContext) -> None:
    """Wait for running imports, then stop the processor's threads."""
    processor = ctx.services.get(PROCESSOR_SERVICE)
    if processor is not None:
        await processor.close()
