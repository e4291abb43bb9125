"""Check a SCORM zip against safety limits and extract it into a folder.

Every entry is checked before anything is written: count, declared sizes,
compression ratio, names that escape the folder, symlinks, encryption,
duplicates, control characters, names the file system cannot store, and files
that other entries use as folders. Extraction then counts the bytes actually
written, so a header that understates a size cannot bypass the limit.
"""

from __future__ import annotations

import logging
import re
import shutil
import stat
import zipfile
import zlib
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath

from scorm.errors import ZipRejected

logger = logging.getLogger(__name__)

MANIFEST_NAME = "imsmanifest.xml"
CHUNK_SIZE = 64 * 1024
# Small files compress far better than large ones (a 20 KiB run of spaces
# reaches 500:1), so the ratio limit applies only to entries at least this big.
RATIO_CHECK_MIN_SIZE = 1024 * 1024
JUNK_NAMES = {".ds_store", "thumbs.db", "desktop.ini"}
CONTROL_CHARACTERS = re.compile(r"[\x00-\x1f\x7f]")
DRIVE_LETTER = re.compile(r"^[A-Za-z]:")
ZIP_FLAG_ENCRYPTED = 0x1
# Linux file systems (ext4, XFS, Btrfs) store at most 255 bytes in one path component.
MAX_NAME_BYTES = 255
# Maximum length of a whole entry name. It keeps the extraction path well
# under Linux's PATH_MAX of 4096 bytes and bounds the folder depth that
# extraction creates.
MAX_PATH_BYTES = 1024


@dataclass(frozen=True)
class ZipLimits:
    max_entries: int
    max_unpacked_size: int
    max_compression_ratio: int


@dataclass
class ExtractedPackage:
    """Files of an extracted package, relative to the folder with the manifest."""

    root: Path
    file_names: set[str]
    manifest_entry: str
    warnings: list[str] = field(default_factory=list)


def _is_junk(name: str) -> bool:
    parts = PurePosixPath(name).parts
    if parts and parts[0] == "__MACOSX":
        return True
    return PurePosixPath(name).name.lower() in JUNK_NAMES or PurePosixPath(name).name.startswith("._")


def _check_name(info: zipfile.ZipInfo) -> str:
    """Return the entry's normalized relative path or raise ZipRejected."""
    name = info.filename
    if CONTROL_CHARACTERS.search(name):
        raise ZipRejected(f"entry name {name!r} contains control characters; rename it", entry=name)
    if "\\" in name:
        raise ZipRejected(
            f"entry name {name!r} contains a backslash; re-create the zip with '/' separators", entry=name
        )
    if name.startswith("/") or DRIVE_LETTER.match(name):
        raise ZipRejected(f"entry name {name!r} is an absolute path; use paths relative to the package", entry=name)
    parts = [part for part in name.split("/") if part not in {"", "."}]
    if any(part == ".." for part in parts):
        raise ZipRejected(f"entry name {name!r} escapes the package folder with '..'", entry=name)
    path = "/".join(parts)
    if any(len(part.encode("utf-8", "surrogateescape")) > MAX_NAME_BYTES for part in parts):
        raise ZipRejected(
            f"a file or folder name in the entry is longer than {MAX_NAME_BYTES} bytes; shorten it",
            entry=_shorten(name),
        )
    if len(path.encode("utf-8", "surrogateescape")) > MAX_PATH_BYTES:
        raise ZipRejected(
            f"the entry name is longer than {MAX_PATH_BYTES} bytes; use a shorter path",
            entry=_shorten(name),
        )
    return path


def _shorten(name: str) -> str:
    """Return the start of a long entry name, for error messages."""
    return name if len(name) <= 80 else name[:80] + "..."


def _check_folders(selected: list[tuple[zipfile.ZipInfo, str]]) -> None:
    """Raise ZipRejected when an entry uses another file entry's path as a folder."""
    files = {path: info.filename for info, path in selected}
    for info, path in selected:
        folder = PurePosixPath(path).parent
        while folder.name:
            clash = files.get(str(folder))
            if clash is not None:
                raise ZipRejected(
                    f"entry {clash!r} is a file, but entry {info.filename!r} uses it as a folder; "
                    "rename one of them",
                    entry=info.filename,
                )
            folder = folder.parent


def _check_entry(info: zipfile.ZipInfo, limits: ZipLimits) -> None:
    name = info.filename
    mode = info.external_attr >> 16
    if stat.S_ISLNK(mode):
        raise ZipRejected(f"entry {name!r} is a symbolic link, which packages must not contain", entry=name)
    if info.flag_bits & ZIP_FLAG_ENCRYPTED:
        raise ZipRejected(f"entry {name!r} is encrypted; upload a zip without a password", entry=name)
    if info.file_size >= RATIO_CHECK_MIN_SIZE:
        ratio = info.file_size / max(info.compress_size, 1)
        if ratio > limits.max_compression_ratio:
            raise ZipRejected(
                f"entry {name!r} has a compression ratio of {ratio:.0f}:1, over the limit of "
                f"{limits.max_compression_ratio}:1",
                entry=name,
            )


def list_entries(archive: zipfile.ZipFile, limits: ZipLimits) -> list[tuple[zipfile.ZipInfo, str]]:
    """Check every entry and return the files to extract with their relative paths."""
    infos = archive.infolist()
    if len(infos) > limits.max_entries:
        raise ZipRejected(f"the zip has {len(infos)} entries, over the limit of {limits.max_entries}")
    seen: set[str] = set()
    declared_total = 0
    selected = []
    for info in infos:
        path = _check_name(info)
        _check_entry(info, limits)
        if path in seen:
            raise ZipRejected(f"entry name {info.filename!r} appears twice in the zip", entry=info.filename)
        if path:
            seen.add(path)
        if info.is_dir() or not path or _is_junk(path):
            continue
        declared_total += info.file_size
        if declared_total > limits.max_unpacked_size:
            raise ZipRejected(
                f"the unpacked size exceeds the limit of {limits.max_unpacked_size} bytes"
            )
        selected.append((info, path))
    if not selected:
        raise ZipRejected("the zip contains no files")
    _check_folders(selected)
    return selected


def _find_manifest(paths: list[str]) -> tuple[str, str, list[str]]:
    """Return (prefix, manifest entry, warnings) for the folder that contains the manifest."""
    lowered = {path.lower(): path for path in paths}
    if MANIFEST_NAME in lowered:
        entry = lowered[MANIFEST_NAME]
        warnings = [] if entry == MANIFEST_NAME else [f"the manifest is named {entry!r}; expected {MANIFEST_NAME!r}"]
        return "", entry, warnings
    nested = [path for path in paths if PurePosixPath(path).name.lower() == MANIFEST_NAME]
    top_folders = {path.split("/", 1)[0] for path in paths}
    if len(nested) == 1 and nested[0].count("/") == 1 and len(top_folders) == 1:
        prefix = nested[0].split("/", 1)[0] + "/"
        return prefix, nested[0], [
            f"{MANIFEST_NAME} is in the folder {prefix!r}, not at the zip root; the package was imported from that folder"
        ]
    if nested:
        raise ZipRejected(
            f"{MANIFEST_NAME} is not at the zip root (found {nested[0]!r}); zip the package contents, not their folder"
        )
    raise ZipRejected(f"the zip has no {MANIFEST_NAME} at its root; this is not a SCORM package")


def _copy_entry(archive: zipfile.ZipFile, info: zipfile.ZipInfo, target: Path, budget: int) -> int:
    written = 0
    with archive.open(info) as source, open(target, "wb") as sink:
        while True:
            chunk = source.read(CHUNK_SIZE)
            if not chunk:
                break
            written += len(chunk)
            if written > info.file_size or written > budget:
                raise ZipRejected(
                    f"entry {info.filename!r} unpacks to more bytes than its header declares or the size limit allows",
                    entry=info.filename,
                )
            sink.write(chunk)
    return written


def extract_package(zip_path: Path, work_dir: Path, limits: ZipLimits) -> ExtractedPackage:
    """Check `zip_path` and extract it into the new folder `work_dir`.

    Returns the folder with the manifest (work_dir itself or one folder in it).
    Raises ZipRejected; the caller removes work_dir on failure.
    """
    try:
        archive = zipfile.ZipFile(zip_path)
    except zipfile.BadZipFile as exc:
        raise ZipRejected(f"the upload is not a readable zip file ({exc}); upload a .zip package") from None
    except UnicodeDecodeError as exc:
        # zipfile decodes the names flagged as UTF-8 when it opens the archive.
        raise ZipRejected(
            f"an entry name is flagged as UTF-8 but is not valid UTF-8 ({exc}); "
            "re-create the zip with a current zip tool"
        ) from None
    except OSError as exc:
        raise ZipRejected(f"the upload could not be read: {exc}") from None
    with archive:
        try:
            selected = list_entries(archive, limits)
            prefix, manifest_entry, warnings = _find_manifest([path for _, path in selected])
            work_dir.mkdir(parents=True, exist_ok=False)
            budget = limits.max_unpacked_size
            file_names: set[str] = set()
            for info, path in selected:
                if prefix and not path.startswith(prefix):
                    continue
                relative = path[len(prefix):]
                target = work_dir / relative
                target.parent.mkdir(parents=True, exist_ok=True)
                budget -= _copy_entry(archive, info, target, budget)
                file_names.add(relative)
        except (zipfile.BadZipFile, zipfile.LargeZipFile, EOFError, NotImplementedError, zlib.error) as exc:
            raise ZipRejected(f"the zip is damaged or uses an unsupported feature: {exc}") from None
    return ExtractedPackage(
        root=work_dir,
        file_names=file_names,
        manifest_entry=manifest_entry,
        warnings=warnings,
    )


def remove_tree(path: Path) -> None:
    """Remove a folder if it exists, logging instead of raising on failure."""
    try:
        shutil.rmtree(path)
    except FileNotFoundError:
        pass
    except OSError:
        logger.exception("removing folder %s failed", path)


__all__ = ["ZipLimits", "ExtractedPackage", "extract_package", "list_entries", "remove_tree"]
