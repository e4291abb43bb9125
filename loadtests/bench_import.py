"""Peak memory of a package import: a 10 MB and a 100 MB package compared.

Each import runs in a fresh subprocess and reports its peak resident set size
(ru_maxrss), so the numbers include the interpreter. The packages hold random,
incompressible bytes, so the zip is as large as its content.

    /work/venv/bin/python -m loadtests.bench_import [--sizes-mb 10 100]
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
import zipfile
from pathlib import Path

CHUNK = 1024 * 1024
MANIFEST = b"""<?xml version="1.0"?>
<manifest identifier="bench" version="1" xmlns="http://www.imsproject.org/xsd/imscp_rootv1p1p2"
  xmlns:adlcp="http://www.adlnet.org/xsd/adlcp_rootv1p2">
  <metadata><schema>ADL SCORM</schema><schemaversion>1.2</schemaversion></metadata>
  <organizations default="o"><organization identifier="o"><title>Bench</title>
    <item identifier="i" identifierref="r"><title>Bench</title></item>
  </organization></organizations>
  <resources><resource identifier="r" type="webcontent" adlcp:scormtype="sco" href="index.html">
    <file href="index.html"/></resource></resources>
</manifest>
"""
FILE_SIZE = 10 * CHUNK


def build_package(path: Path, size_mb: int) -> None:
    """Write a package of about `size_mb` MB of random media files, streaming."""
    with zipfile.ZipFile(path, "w", zipfile.ZIP_STORED) as archive:
        archive.writestr("imsmanifest.xml", MANIFEST)
        archive.writestr("index.html", b"<html></html>")
        remaining = size_mb * CHUNK
        index = 0
        while remaining > 0:
            size = min(FILE_SIZE, remaining)
            with archive.open(f"media/clip{index}.mp4", "w", force_zip64=True) as entry:
                for offset in range(0, size, CHUNK):
                    entry.write(os.urandom(min(CHUNK, size - offset)))
            remaining -= size
            index += 1


def import_once(zip_path: str, data_dir: str) -> None:
    """Import one package in this process and print the outcome as JSON."""
    from server.config import Settings
    from server.importer import import_package

    settings = Settings(data_dir=Path(data_dir))
    baseline = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    started = time.perf_counter()
    result = import_package(settings, 1, Path(zip_path))
    elapsed = time.perf_counter() - started
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    print(json.dumps({"status": result.status, "seconds": elapsed, "baseline_kb": baseline, "peak_kb": peak}))


def measure(size_mb: int, work: Path) -> dict:
    zip_path = work / f"bench-{size_mb}.zip"
    build_package(zip_path, size_mb)
    data_dir = work / f"data-{size_mb}"
    output = subprocess.run(
        [sys.executable, "-m", "loadtests.bench_import", "--child", str(zip_path), str(data_dir)],
        check=True, capture_output=True, text=True,
    ).stdout
    result = json.loads(output.strip().splitlines()[-1])
    result["size_mb"] = size_mb
    result["zip_bytes"] = zip_path.stat().st_size
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes-mb", type=int, nargs="+", default=[10, 100],
                        help="package sizes to import, in MB")
    parser.add_argument("--child", nargs=2, metavar=("ZIP", "DATA_DIR"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        import_once(*args.child)
        return
    with tempfile.TemporaryDirectory(prefix="bench-import-") as folder:
        results = [measure(size, Path(folder)) for size in args.sizes_mb]
    print(f"{'size MB':>8} {'status':>7} {'seconds':>8} {'base RSS MB':>12} {'peak RSS MB':>12}")
    for row in results:
        print(f"{row['size_mb']:>8} {row['status']:>7} {row['seconds']:>8.2f} "
              f"{row['baseline_kb'] / 1024:>12.1f} {row['peak_kb'] / 1024:>12.1f}")
    growth = (results[-1]["peak_kb"] - results[0]["peak_kb"]) / 1024
    print(f"peak RSS growth from {results[0]['size_mb']} MB to {results[-1]['size_mb']} MB: {growth:.1f} MB")


if __name__ == "__main__":
    main()
