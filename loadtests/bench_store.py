"""Time `append_log` on the SQLite store with batches of 1 to 1000 entries.

Run `python -m loadtests.bench_store`; `--help` lists the options. Each batch
size writes about `--entries` log entries with msgpack payloads of about 200
bytes, spread over 100 attempts as the run-time's flushes are, and one
summary update per attempt in the batch. The database is a fresh file in a
temporary folder unless `--folder` names another (the disk matters).
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import tempfile
import time
from pathlib import Path

import msgpack

from storage.models import LogEntry, utcnow
from storage.sqlite import SQLiteStore

BATCH_SIZES = (1, 10, 100, 1000)
ATTEMPTS = 100


def make_payload(seq: int) -> bytes:
    """Return a msgpack SetValue call of about 200 bytes, like the run-time writes."""
    call = {
        "call": "SetValue",
        "element": "cmi.suspend_data",
        "value": f"{seq:08d}" + "q" * 140,
        "result": "true",
        "error": 0,
    }
    return msgpack.packb(call)


async def create_attempts(store: SQLiteStore) -> list[int]:
    user = await store.create_user(username="bench", email="b@example.org", password_hash="x")
    course = await store.create_course(title="bench")
    package = await store.create_package(
        course_id=course.id, task_id="bench", file="bench.zip", status="ready"
    )
    return [(await store.create_attempt(user.id, package.id)).id for _ in range(ATTEMPTS)]


async def time_batches(
    store: SQLiteStore, attempt_ids: list[int], batch_size: int, total_entries: int
) -> list[float]:
    """Append batches of `batch_size` entries and return the seconds of each call."""
    next_seq = dict.fromkeys(attempt_ids, 1)
    batch_count = max(20, total_entries // batch_size)
    durations = []
    for batch_number in range(batch_count):
        entries = []
        for index in range(batch_size):
            attempt_id = attempt_ids[(batch_number * batch_size + index) % ATTEMPTS]
            seq = next_seq[attempt_id]
            next_seq[attempt_id] = seq + 1
            entries.append(
                LogEntry(attempt_id, seq, 1, "sco-1", "s-1", time.time(), "SetValue", make_payload(seq))
            )
        summaries = {
            entry.attempt_id: {"last_accessed_at": utcnow(), "completion_status": "incomplete"}
            for entry in entries
        }

        started = time.perf_counter()
        await store.append_log(entries, summaries)
        durations.append(time.perf_counter() - started)
    return durations


async def run(folder: Path, synchronous: str, total_entries: int) -> None:
    print(f"SQLite append_log, synchronous={synchronous}, database in {folder}")
    print(f"{'batch':>6} {'batches':>8} {'entries/s':>11} {'ms/batch mean':>14} {'p50':>8} {'p99':>8}")
    for batch_size in BATCH_SIZES:
        store = SQLiteStore(folder / f"bench-{synchronous}-{batch_size}.sqlite3", synchronous=synchronous)
        await store.open()
        try:
            attempt_ids = await create_attempts(store)
            durations = await time_batches(store, attempt_ids, batch_size, total_entries)
        finally:
            await store.close()

        elapsed = sum(durations)
        rate = len(durations) * batch_size / elapsed
        ordered = sorted(durations)
        p50 = ordered[len(ordered) // 2] * 1000
        p99 = ordered[min(len(ordered) - 1, int(len(ordered) * 0.99))] * 1000
        mean = statistics.fmean(durations) * 1000
        print(f"{batch_size:>6} {len(durations):>8} {rate:>11.0f} {mean:>14.3f} {p50:>8.3f} {p99:>8.3f}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--folder", type=Path, help="folder for the database files (default: a temporary folder)"
    )
    parser.add_argument(
        "--synchronous",
        default="normal",
        choices=["normal", "full"],
        help="SQLite synchronous mode of the store (default: normal)",
    )
    parser.add_argument(
        "--entries",
        type=int,
        default=20_000,
        help="log entries to write per batch size, at least 20 batches (default: 20000)",
    )
    args = parser.parse_args()
    if args.folder:
        args.folder.mkdir(parents=True, exist_ok=True)
        asyncio.run(run(args.folder, args.synchronous, args.entries))
        return
    with tempfile.TemporaryDirectory(prefix="bench-store-") as folder:
        asyncio.run(run(Path(folder), args.synchronous, args.entries))


if __name__ == "__main__":
    main()
