"""Run the locust scenarios against the floor and the server, and compare.

`python -m loadtests.bench [--users 500] [--duration 60] [--quick] [--out FILE]
[--configs floor,default,write-through,set-value,mixed]` runs, one after the other
so that their ratios hold on a noisy machine:

- floor: loadtests/floor.py, a bare Tornado server that parses the same batch
  bodies, with `BatchLearner` posting to it;
- default: `python -m server` with default settings and `BatchLearner`;
- write-through: the same with `--flush-interval 0`;
- set-value: the default server with `SingleCallLearner`;
- mixed: the default server with `BatchLearner` and `LmsUser`.

Each configuration gets a fresh data folder, a server on 127.0.0.1 started
with `--rate-limit 0 --runtime-rate-limit 0` and an admin made with
`createsuperuser`. With 2 or more CPUs, the server is pinned to CPU 0 and
locust to CPU 1. During the run the driver samples the server's /metrics
and VmRSS once a second. Rates are taken over the steady window, from the end
of the ramp to the last sample in which run-time calls still grew.
Every process it starts stops by itself: locust after `--duration`, the
servers when the driver ends them, and a timeout kills what does not stop.
"""

from __future__ import annotations

import argparse
import csv
import json
import logging
import os
import platform
import signal
import socket
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import requests

from loadtests.setup_data import default_package, prepare

log = logging.getLogger(__name__)

ROOT = Path(__file__).resolve().parent.parent
LOCUSTFILE = ROOT / "loadtests" / "locustfile.py"
ADMIN_USERNAME = "admin"
ADMIN_PASSWORD = "bench-admin-pw"
SAMPLE_SECONDS = 1.0
STARTUP_TIMEOUT = 30.0
PERCENTILES = ("50%", "95%", "99%")
# An estimate of the time locust takes to import and start its first user.
LOCUST_STARTUP_SECONDS = 2.0


@dataclass(frozen=True)
class Config:
    """One benchmark configuration: the target and the locust user classes."""

    name: str
    target: str  # "floor" or "server"
    server_flags: tuple[str, ...] = ()
    user_classes: tuple[str, ...] = ("BatchLearner",)


CONFIGS = {
    "floor": Config("floor", "floor"),
    "default": Config("default", "server"),
    "write-through": Config("write-through", "server", ("--flush-interval", "0")),
    "set-value": Config("set-value", "server", (), ("SingleCallLearner",)),
    # LmsUser creates users, and each creation hashes a password with scrypt on
    # the server's CPU, so it runs apart from the run-time figures above.
    "mixed": Config("mixed", "server", (), ("BatchLearner", "LmsUser")),
}


@dataclass
class Sample:
    """One reading of the target's counters and memory."""

    at: float
    rss_kb: int
    metrics: dict[str, float] = field(default_factory=dict)
    cpu_s: float = 0.0


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def pin_to(cpu: int) -> Any:
    """Return a preexec_fn that pins the child to `cpu`, or None on a 1-CPU machine."""
    if (os.cpu_count() or 1) < 2 or not hasattr(os, "sched_setaffinity"):
        return None
    return lambda: os.sched_setaffinity(0, {cpu})


def parse_metrics(text: str) -> dict[str, float]:
    """Sum Prometheus samples by metric name, over all label sets.

    Each labelled sample is also kept under its full series name, such as
    `scorm_store_writes_total{kind="snapshot"}`.
    """
    totals: dict[str, float] = {}
    for line in text.splitlines():
        if not line or line.startswith("#"):
            continue
        name_part, _, value = line.rpartition(" ")
        name = name_part.split("{", 1)[0]
        try:
            number = float(value)
        except ValueError:
            continue
        totals[name] = totals.get(name, 0.0) + number
        if name != name_part:
            totals[name_part] = number
    return totals


def read_rss_kb(pid: int) -> int:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    except OSError:
        pass
    return 0


def read_cpu_seconds(pid: int) -> float:
    """Return the user plus system CPU time of process `pid` so far."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return 0.0
    # The command name in parentheses may hold spaces; the fields follow it.
    fields = stat.rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def take_sample(host: str, pid: int) -> Sample:
    sample = Sample(time.monotonic(), read_rss_kb(pid), cpu_s=read_cpu_seconds(pid))
    try:
        sample.metrics = parse_metrics(requests.get(f"{host}/metrics", timeout=10).text)
    except requests.RequestException as error:
        log.warning("reading %s/metrics failed: %s", host, error)
    return sample


class Target:
    """A floor or server process on 127.0.0.1 with its own data folder."""

    def __init__(self, config: Config, data_dir: Path) -> None:
        self.config = config
        self.data_dir = data_dir
        self.port = free_port()
        self.host = f"http://127.0.0.1:{self.port}"
        self.log_path = data_dir / "target.log"
        self.process: subprocess.Popen | None = None

    def command(self) -> list[str]:
        if self.config.target == "floor":
            return [sys.executable, "-m", "loadtests.floor", "--port", str(self.port)]
        return [
            sys.executable,
            "-m",
            "server",
            "--port",
            str(self.port),
            "--data-dir",
            str(self.data_dir),
            "--rate-limit",
            "0",
            "--runtime-rate-limit",
            "0",
            *self.config.server_flags,
        ]

    def create_admin(self) -> None:
        command = [
            sys.executable,
            "-m",
            "server",
            "createsuperuser",
            "--username",
            ADMIN_USERNAME,
            "--email",
            "admin@example.com",
            "--data-dir",
            str(self.data_dir),
        ]
        env = {**os.environ, "SCORM_ADMIN_PASSWORD": ADMIN_PASSWORD}
        subprocess.run(
            command, cwd=ROOT, env=env, check=True, timeout=60, capture_output=True
        )

    def start(self) -> None:
        """Start the process and wait until /healthz returns 200."""
        if self.config.target == "server":
            self.create_admin()
        log_file = self.log_path.open("wb")
        self.process = subprocess.Popen(
            self.command(),
            cwd=ROOT,
            stdout=log_file,
            stderr=subprocess.STDOUT,
            preexec_fn=pin_to(0),
        )
        deadline = time.monotonic() + STARTUP_TIMEOUT
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(
                    f"{self.config.name} target exited with {self.process.returncode}: "
                    f"{self.log_tail()}"
                )
            try:
                if requests.get(f"{self.host}/healthz", timeout=2).status_code == 200:
                    return
            except requests.RequestException:
                pass
            time.sleep(0.1)
        raise RuntimeError(
            f"{self.config.name} target did not respond on /healthz within "
            f"{STARTUP_TIMEOUT:.0f} s; read {self.log_path}."
        )

    def stop(self) -> None:
        """Send SIGTERM, then SIGKILL after 20 s."""
        if self.process is None or self.process.poll() is not None:
            return
        self.process.send_signal(signal.SIGTERM)
        try:
            self.process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            log.warning("%s target did not stop in 20 s; killing it", self.config.name)
            self.process.kill()
            self.process.wait()

    def log_tail(self, size: int = 2000) -> str:
        try:
            return self.log_path.read_text(errors="replace")[-size:]
        except OSError:
            return ""


def read_locust_stats(prefix: Path) -> dict[str, Any]:
    """Return per-request-name counts, failures, rates and percentiles (ms)."""
    stats: dict[str, Any] = {}
    with open(f"{prefix}_stats.csv", newline="") as file:
        for row in csv.DictReader(file):
            stats[row["Name"]] = {
                "requests": int(row["Request Count"]),
                "failures": int(row["Failure Count"]),
                "requests_per_s": round(float(row["Requests/s"]), 1),
                **{f"p{p[:-1]}_ms": float(row[p] or 0) for p in PERCENTILES},
            }
    failures_path = Path(f"{prefix}_failures.csv")
    if failures_path.exists():
        with failures_path.open(newline="") as file:
            stats["failure_samples"] = [
                f"{row['Name']}: {row['Error']} x{row['Occurrences']}"
                for row in list(csv.DictReader(file))[:10]
            ]
    return stats


def run_locust(
    config: Config, target: Target, args: argparse.Namespace, env: dict[str, str]
) -> tuple[dict[str, Any], list[Sample], float]:
    """Run locust headless against `target`; return its stats, samples and ramp end time."""
    prefix = target.data_dir / "locust"
    spawn_rate = args.spawn_rate or max(1.0, args.users / 5)
    command = [
        sys.executable,
        "-m",
        "locust",
        "-f",
        str(LOCUSTFILE),
        "--headless",
        "-u",
        str(args.users),
        "-r",
        str(spawn_rate),
        "-t",
        f"{args.duration}s",
        "--host",
        target.host,
        "--csv",
        str(prefix),
        "--only-summary",
        "--stop-timeout",
        "5",
        "--loglevel",
        "WARNING",
        *config.user_classes,
    ]
    samples: list[Sample] = []
    started = time.monotonic()
    with (target.data_dir / "locust.log").open("wb") as log_file:
        process = subprocess.Popen(
            command,
            cwd=ROOT,
            env=env,
            stdout=log_file,
            stderr=subprocess.STDOUT,
            preexec_fn=pin_to(1),
        )
        deadline = started + args.duration + 60
        while process.poll() is None:
            if time.monotonic() > deadline:
                log.error("locust ran past its %d s; killing it", args.duration)
                process.kill()
                break
            samples.append(take_sample(target.host, target.process.pid))
            time.sleep(SAMPLE_SECONDS)
        process.wait()
    ramp_end = started + LOCUST_STARTUP_SECONDS + args.users / spawn_rate
    return read_locust_stats(prefix), samples, ramp_end


def steady_rate(samples: list[Sample], ramp_end: float, name: str) -> float:
    """Return the per-second growth of counter `name` over the steady window."""
    window = [s for s in samples if s.at >= ramp_end and name in s.metrics]
    while len(window) > 2 and window[-1].metrics[name] <= window[-2].metrics[name]:
        window.pop()
    if len(window) < 2:
        return 0.0
    first, last = window[0], window[-1]
    return (last.metrics[name] - first.metrics[name]) / (last.at - first.at)


def steady_cpu(samples: list[Sample], ramp_end: float, name: str) -> tuple[float, float]:
    """Return the target's CPU share and CPU microseconds per `name` event.

    Both are taken over the steady window of `steady_rate`. CPU time per
    request compares configurations even when the load generator, not the
    target, limits the request rate.
    """
    window = [s for s in samples if s.at >= ramp_end and name in s.metrics]
    while len(window) > 2 and window[-1].metrics[name] <= window[-2].metrics[name]:
        window.pop()
    if len(window) < 2:
        return 0.0, 0.0
    first, last = window[0], window[-1]
    cpu = last.cpu_s - first.cpu_s
    events = last.metrics[name] - first.metrics[name]
    share = cpu / (last.at - first.at)
    return share, (1e6 * cpu / events if events else 0.0)


def summarize(
    config: Config,
    stats: dict[str, Any],
    samples: list[Sample],
    ramp_end: float,
    before: Sample,
    after: Sample,
) -> dict[str, Any]:
    """Combine locust stats and server samples into the figures of one run."""
    request_counter = (
        "floor_requests_total"
        if config.target == "floor"
        else ("scorm_http_requests_total")
    )

    def delta(name: str) -> float:
        return after.metrics.get(name, 0.0) - before.metrics.get(name, 0.0)

    calls = delta("scorm_runtime_calls_total")
    writes = delta("scorm_store_writes_total")
    peak_rss = max([before.rss_kb, after.rss_kb, *(s.rss_kb for s in samples)])
    actors = max(
        [
            after.metrics.get("scorm_actors_active", 0.0),
            *(s.metrics.get("scorm_actors_active", 0.0) for s in samples),
        ]
    )
    aggregated = stats.get("Aggregated", {})
    cpu_share, cpu_per_request = steady_cpu(samples, ramp_end, request_counter)
    return {
        "server_cpu_share": round(cpu_share, 2),
        "server_cpu_us_per_request": round(cpu_per_request),
        "requests_per_s": round(steady_rate(samples, ramp_end, request_counter), 1),
        "runtime_calls_per_s": round(
            steady_rate(samples, ramp_end, "scorm_runtime_calls_total"), 1
        ),
        "requests": aggregated.get("requests", 0),
        "failures": aggregated.get("failures", 0),
        "runtime_calls": int(calls),
        "store_writes": int(writes),
        "store_writes_by_series": {
            series: int(delta(series))
            for series in after.metrics
            if series.startswith("scorm_store_writes_total{")
        },
        "store_writes_per_1000_calls": (
            round(1000 * writes / calls, 2)
            if calls and "scorm_store_writes_total" in after.metrics
            else None
        ),
        "rss_kb": {"before": before.rss_kb, "after": after.rss_kb, "peak": peak_rss},
        "active_actors_peak": int(actors),
        "memory_per_active_learner_kb": (
            round((peak_rss - before.rss_kb) / actors, 2) if actors else None
        ),
        "endpoints": {k: v for k, v in stats.items() if k != "failure_samples"},
        "failure_samples": stats.get("failure_samples", []),
    }


def run_config(config: Config, args: argparse.Namespace) -> dict[str, Any]:
    """Start the target, prepare data, run locust, stop the target."""
    with tempfile.TemporaryDirectory(prefix=f"bench-{config.name}-") as folder:
        data_dir = Path(folder)
        target = Target(config, data_dir)
        env = {**os.environ, "SCORM_LT_TARGET": config.target}
        env.update(think_env(args))
        try:
            target.start()
            if config.target == "server":
                setup = prepare(
                    target.host,
                    ADMIN_USERNAME,
                    ADMIN_PASSWORD,
                    args.package,
                    args.learners,
                )
                setup_path = data_dir / "setup.json"
                setup_path.write_text(json.dumps(setup))
                env["SCORM_LT_SETUP"] = str(setup_path)
            before = take_sample(target.host, target.process.pid)
            stats, samples, ramp_end = run_locust(config, target, args, env)
            # A last flush interval lets pending log entries reach the store.
            time.sleep(0.5)
            after = take_sample(target.host, target.process.pid)
            result = summarize(config, stats, samples, ramp_end, before, after)
            # Other processes on the machine skew the figures: record how busy it was.
            result["load_average_1min_after"] = round(os.getloadavg()[0], 2)
            return result
        finally:
            target.stop()
            if args.keep_logs:
                keep_logs(data_dir, args.keep_logs / config.name)


def keep_logs(data_dir: Path, folder: Path) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    for path in data_dir.glob("*.log"):
        (folder / path.name).write_bytes(path.read_bytes())
    for path in data_dir.glob("locust_*.csv"):
        (folder / path.name).write_bytes(path.read_bytes())


def think_env(args: argparse.Namespace) -> dict[str, str]:
    return {
        "SCORM_LT_THINK_MIN": str(args.think / 2),
        "SCORM_LT_THINK_MAX": str(args.think * 1.5),
        "SCORM_LT_BATCH_SIZE": str(args.batch_size),
    }


def machine() -> dict[str, Any]:
    """Return the CPU count and model, memory and Python version of this machine."""
    model = ""
    for line in Path("/proc/cpuinfo").read_text().splitlines():
        if line.startswith("model name"):
            model = line.split(":", 1)[1].strip()
            break
    memory_kb = 0
    for line in Path("/proc/meminfo").read_text().splitlines():
        if line.startswith("MemTotal:"):
            memory_kb = int(line.split()[1])
    return {
        "nproc": os.cpu_count(),
        "cpu_model": model,
        "memory_mb": memory_kb // 1024,
        "python": platform.python_version(),
    }


def ratios(results: dict[str, dict[str, Any]]) -> dict[str, float | None]:
    """Return the ratios that the load-test targets are stated in."""

    def ratio(a: float | None, b: float | None) -> float | None:
        return round(a / b, 2) if a and b else None

    def get(name: str, key: str) -> float | None:
        return results.get(name, {}).get(key)

    floor_rps = get("floor", "requests_per_s")
    floor_cpu = get("floor", "server_cpu_us_per_request")
    return {
        # The server's CPU time per request of the batch learner, in floor
        # requests: what a request (mostly batches of calls) costs beyond HTTP.
        "default_cpu_per_request_vs_floor": ratio(
            get("default", "server_cpu_us_per_request"), floor_cpu
        ),
        "default_calls_per_s_vs_floor_requests_per_s": ratio(
            get("default", "runtime_calls_per_s"), floor_rps
        ),
        "set_value_requests_per_s_vs_floor": ratio(
            get("set-value", "requests_per_s"), floor_rps
        ),
        "default_vs_write_through_calls_per_s": ratio(
            get("default", "runtime_calls_per_s"),
            get("write-through", "runtime_calls_per_s"),
        ),
    }


def print_report(report: dict[str, Any]) -> None:
    print(f"machine: {report['machine']}")
    for name, result in report["configs"].items():
        if "error" in result:
            print(f"\n{name}: FAILED: {result['error']}")
            continue
        print(
            f"\n{name}: {result['requests_per_s']} requests/s, "
            f"{result['runtime_calls_per_s']} run-time calls/s, "
            f"{result['failures']} failures of {result['requests']} requests, "
            f"{result['store_writes_per_1000_calls']} store writes per 1000 calls, "
            f"peak RSS {result['rss_kb']['peak']} KB, "
            f"{result['memory_per_active_learner_kb']} KB per active learner, "
            f"server CPU {result['server_cpu_share']:.0%} busy, "
            f"{result['server_cpu_us_per_request']} us per request"
        )
        for endpoint, row in result["endpoints"].items():
            print(
                f"  {endpoint:24} {row['requests']:>8} req {row['failures']:>5} fail "
                f"p50 {row['p50_ms']:>6} p95 {row['p95_ms']:>6} p99 {row['p99_ms']:>6} ms"
            )
        for line in result["failure_samples"]:
            print(f"  failure: {line}")
    print(f"\nratios: {report['ratios']}")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m loadtests.bench",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument(
        "--users", type=int, default=500, help="concurrent locust users"
    )
    parser.add_argument(
        "--duration", type=int, default=60, help="seconds of load per configuration"
    )
    parser.add_argument(
        "--spawn-rate",
        type=float,
        default=0.0,
        help="users started per second; 0 means users/5 (a 5 s ramp)",
    )
    parser.add_argument(
        "--configs",
        help=f"comma-separated configurations out of {', '.join(CONFIGS)}; "
        "default: all of them, or floor, default and write-through with --quick",
    )
    parser.add_argument(
        "--think",
        type=float,
        default=0.0,
        help="mean seconds a learner waits between requests; 0 saturates",
    )
    parser.add_argument(
        "--batch-size", type=int, default=10, help="API calls per run-time batch"
    )
    parser.add_argument(
        "--learners", type=int, default=20, help="learner accounts made in setup"
    )
    parser.add_argument(
        "--package",
        type=Path,
        default=default_package("2004"),
        help="SCORM package zip to upload",
    )
    parser.add_argument(
        "--quick",
        action="store_true",
        help="20 users, 8 s per configuration, only floor, default and write-through (for CI)",
    )
    parser.add_argument(
        "--out", type=Path, help="write the results as JSON to this file"
    )
    parser.add_argument(
        "--keep-logs",
        type=Path,
        help="copy target and locust logs and CSV files into this folder",
    )
    return parser


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.quick:
        args.users, args.duration, args.learners = 20, 8, 5
    if args.configs is None:
        args.configs = (
            "floor,default,write-through" if args.quick else ",".join(CONFIGS)
        )
    unknown = [name for name in args.configs.split(",") if name not in CONFIGS]
    if unknown:
        parser.error(
            f"unknown configuration {unknown[0]!r}; choose from {', '.join(CONFIGS)}"
        )
    return args


def main(argv: list[str] | None = None) -> int:
    """Run every configuration; return 1 if one of them failed to run."""
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(message)s")
    args = parse_args(argv)
    report: dict[str, Any] = {
        "machine": machine(),
        "settings": {
            "users": args.users,
            "duration_s": args.duration,
            "think_s": args.think,
            "batch_size": args.batch_size,
            "package": args.package.name,
        },
        "configs": {},
    }
    for name in args.configs.split(","):
        log.info("running configuration %s", name)
        try:
            report["configs"][name] = run_config(CONFIGS[name], args)
        except (
            RuntimeError,
            OSError,
            subprocess.SubprocessError,
            requests.RequestException,
            ValueError,
        ) as error:
            log.error("configuration %s failed: %s", name, error)
            report["configs"][name] = {"error": str(error)}
    report["ratios"] = ratios(report["configs"])

    print_report(report)
    if args.out:
        args.out.write_text(json.dumps(report, indent=2))
    return 1 if any("error" in r for r in report["configs"].values()) else 0


if __name__ == "__main__":
    sys.exit(main())
