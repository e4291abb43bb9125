"""`python -m loadtests.bench --quick` runs every configuration without a failure."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


@pytest.mark.e2e
@pytest.mark.timeout(240)
def test_quick_bench_runs_without_failures(tmp_path, shared_dir):
    out = tmp_path / "bench.json"
    package = (
        shared_dir / "packages" / "scorm2004-3rd_golf_RuntimeBasicCalls_moodle.zip"
    )

    completed = subprocess.run(
        [
            sys.executable,
            "-m",
            "loadtests.bench",
            "--quick",
            "--out",
            str(out),
            "--package",
            str(package),
        ],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=200,
    )

    assert completed.returncode == 0, (
        completed.stdout[-3000:] + completed.stderr[-3000:]
    )
    report = json.loads(out.read_text())
    assert set(report["configs"]) == {"floor", "default", "write-through"}
    for name, result in report["configs"].items():
        assert "error" not in result, f"{name}: {result.get('error')}"
        assert result["requests"] > 0, f"{name} sent no request"
        assert result["failures"] == 0, f"{name}: {result['failure_samples']}"
        assert result["runtime_calls"] > 0, f"{name} counted no run-time call"
