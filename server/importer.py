"""Import uploaded packages in the background: check, extract, parse, record.

`import_package` is synchronous and runs in a thread pool so the event loop
stays free. `PackageProcessor` queues jobs, runs them and writes the outcome to
the store. Content lands in `<data_dir>/content/<package_id>/` only when the
whole import succeeded: extraction goes to a temporary folder that is renamed
at the end and removed on failure.
"""

from __future__ import annotations

import asyncio
import logging
import uuid
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from scorm.errors import PackageError
from scorm.manifest import parse_manifest
from scorm.zipcheck import ZipLimits, extract_package, remove_tree
from server.config import Settings

logger = logging.getLogger(__name__)

MAX_MANIFEST_SIZE = 16 * 1024 * 1024


@dataclass
class ImportResult:
    """The fields to write to the Package record after an import."""

    status: str
    fields: dict[str, Any] = field(default_factory=dict)


def content_root(settings: Settings) -> Path:
    return Path(settings.data_dir) / "content"


def upload_root(settings: Settings) -> Path:
    return Path(settings.data_dir) / "uploads"


def package_folder(settings: Settings, package_id: int) -> Path:
    return content_root(settings) / str(package_id)


def limits_from(settings: Settings) -> ZipLimits:
    return ZipLimits(
        max_entries=settings.max_zip_entries,
        max_unpacked_size=settings.max_unpacked_size,
        max_compression_ratio=settings.max_compression_ratio,
    )


def import_package(settings: Settings, package_id: int, zip_path: Path) -> ImportResult:
    """Check, extract and parse one uploaded zip.

A bad package or a file system error gives a `failed` result instead of an exception.
"""
    root = content_root(settings)
    root.mkdir(parents=True, exist_ok=True)
    work_dir = root / f".import-{package_id}-{uuid.uuid4().hex}"
    final = package_folder(settings, package_id)
    try:
        extracted = extract_package(zip_path, work_dir, limits_from(settings))
        manifest_file = extracted.root / "imsmanifest.xml"
        if not manifest_file.exists():
            manifest_file = extracted.root / Path(extracted.manifest_entry).name
        if manifest_file.stat().st_size > MAX_MANIFEST_SIZE:
            raise PackageError(
                f"the manifest is larger than {MAX_MANIFEST_SIZE} bytes", entry=extracted.manifest_entry
            )
        parsed = parse_manifest(
            manifest_file.read_bytes(), extracted.file_names, entry=extracted.manifest_entry
        )
        remove_tree(final)  # leftovers of an import interrupted after the rename
        work_dir.rename(final)
    except PackageError as exc:
        remove_tree(work_dir)
        logger.info("package %s failed to import: %s", package_id, exc)
        return ImportResult(status="failed", fields={"status": "failed", "errors": [str(exc)]})
    except OSError as exc:
        remove_tree(work_dir)
        logger.exception("package %s failed to import because of a file system error", package_id)
        return ImportResult(
            status="failed",
            fields={"status": "failed", "errors": [f"the server could not store the package files: {exc.strerror or exc}"]},
        )
    except BaseException:
        # PackageProcessor records the failure, and no half-extracted folder may stay behind.
        remove_tree(work_dir)
        raise
    return ImportResult(
        status="ready",
        fields={
            "status": "ready",
            "scorm_standard": parsed.scorm_standard,
            "version": parsed.version,
            "title": parsed.title,
            "manifest_path": "imsmanifest.xml",
            "launch_path": parsed.launch_path,
            "items": parsed.items,
            "manifest": parsed.manifest,
            "warnings": extracted.warnings + parsed.warnings,
            "errors": [],
        },
    )


class PackageProcessor:
    """Run package imports in a thread pool and store their outcome."""

    def __init__(self, settings: Settings, store: Any, *, workers: int = 2):
        self.settings = settings
        self.store = store
        self.executor = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="package-import")
        self.tasks: set[asyncio.Task[None]] = set()

    def submit(self, package_id: int, zip_path: Path) -> asyncio.Task[None]:
        task = asyncio.get_running_loop().create_task(self.run(package_id, zip_path))
        self.tasks.add(task)
        task.add_done_callback(self.tasks.discard)
        return task

    async def run(self, package_id: int, zip_path: Path) -> None:
        loop = asyncio.get_running_loop()
        try:
            result = await loop.run_in_executor(
                self.executor, import_package, self.settings, package_id, zip_path
            )
            await self.store.update_package(package_id, result.fields)
        except Exception:
            logger.exception("processing package %s failed", package_id)
            await self.store.update_package(
                package_id,
                {"status": "failed", "errors": ["the server failed while processing the package; upload it again"]},
            )
            return
        logger.info("package %s processed: %s", package_id, result.status)
        # NOTE: the uploaded zip is kept so a restart can process it again; it
        # is removed with the package.

    async def resume(self) -> None:
        """Process again the packages that a crash left in `processing`."""
        offset = 0
        pending = []
        while True:
            page, total = await self.store.list_packages(limit=500, offset=offset, status="processing")
            pending.extend(page)
            offset += len(page)
            if not page or offset >= total:
                break
        for package in pending:
            zip_path = Path(package.file)
            if not zip_path.is_absolute():
                zip_path = Path(self.settings.data_dir) / zip_path
            if zip_path.is_file():
                logger.info("package %s was left processing; processing it again", package.id)
                self.submit(package.id, zip_path)
            else:
                logger.warning("package %s was left processing and its upload %s is gone", package.id, zip_path)
                await self.store.update_package(
                    package.id,
                    {"status": "failed", "errors": ["the upload was lost while the server restarted; upload the package again"]},
                )

    async def drain(self) -> None:
        """Wait for the running imports to finish."""
        while self.tasks:
            await asyncio.gather(*list(self.tasks), return_exceptions=True)

    async def close(self) -> None:
        await self.drain()
        self.executor.shutdown(wait=True)
