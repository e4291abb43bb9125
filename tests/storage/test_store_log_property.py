"""append_log against a model of the log: each batch is written whole or not at all."""

from __future__ import annotations

import asyncio
import tempfile
from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from storage.errors import LogConflict
from storage.models import LogEntry
from storage.sqlite import SQLiteStore

ATTEMPTS = 3

# A batch is a list of (attempt index, seq) pairs; small seq ranges make
# conflicts with stored entries and within a batch frequent.
batches = st.lists(
    st.lists(
        st.tuples(st.integers(0, ATTEMPTS - 1), st.integers(1, 12)),
        min_size=1,
        max_size=6,
    ),
    min_size=1,
    max_size=8,
)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(batches)
def test_log_matches_model(batch_list):
    with tempfile.TemporaryDirectory() as folder:
        asyncio.run(check_batches(Path(folder), batch_list))


async def check_batches(folder: Path, batch_list: list[list[tuple[int, int]]]) -> None:
    store = SQLiteStore(folder / "store.sqlite3", readers=1)
    await store.open()
    try:
        user = await store.create_user(username="ada", email="a@example.org", password_hash="h")
        course = await store.create_course(title="c")
        package = await store.create_package(
            course_id=course.id, task_id="t", file="f.zip", status="ready"
        )
        attempt_ids = [
            (await store.create_attempt(user.id, package.id)).id for _ in range(ATTEMPTS)
        ]
        model: dict[int, set[int]] = {attempt_id: set() for attempt_id in attempt_ids}

        for batch in batch_list:
            pairs = [(attempt_ids[index], seq) for index, seq in batch]
            entries = [
                LogEntry(a, seq, 1, "sco", "s", 0.0, "SetValue", f"{a}:{seq}".encode())
                for a, seq in pairs
            ]
            expect_conflict = len(set(pairs)) < len(pairs) or any(
                seq in model[a] for a, seq in pairs
            )

            try:
                await store.append_log(entries)
                conflicted = False
            except LogConflict:
                conflicted = True

            assert conflicted == expect_conflict
            if not conflicted:
                for a, seq in pairs:
                    model[a].add(seq)

        for attempt_id in attempt_ids:
            stored = await store.read_log(attempt_id)
            assert [e.seq for e in stored] == sorted(model[attempt_id])
            assert [e.payload for e in stored] == [
                f"{attempt_id}:{seq}".encode() for seq in sorted(model[attempt_id])
            ]
    finally:
        await store.close()
