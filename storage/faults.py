"""A store wrapper that makes store calls fail, or `append_log` stall, for tests.

Wrap a real store and hand the wrapper to the code under test:

    store = FaultyStore(sqlite_store)
    store.fail_next_appends(2)              # the next two calls raise StoreUnavailable
    store.fail_next_appends(1, after_write=True)  # writes, then raises
    release = asyncio.Event()
    store.stall_appends(release)            # calls wait until release.set()
    await store.append_stalled.wait()       # a call has reached the store
    release.set()

    store.fail_next("put_snapshot", 1)     # any other coroutine method

Every other call, and `append_log` when no fault is armed, goes to the
wrapped store unchanged. `append_calls` counts calls of `append_log`,
including those that failed.
"""

from __future__ import annotations

import asyncio
from collections.abc import Mapping, Sequence
from typing import Any

from storage.base import Store
from storage.errors import StoreError, StoreUnavailable
from storage.models import LogEntry, Snapshot


class FaultyStore:
    """A `Store` that delegates to `store` and injects the faults armed on it."""

    def __init__(self, store: Store) -> None:
        self.store = store
        self.append_calls = 0
        # Set when an append_log call starts waiting on the stall event; it stays
        # set until stall_appends(None).
        self.append_stalled = asyncio.Event()
        self._failures_left = 0
        self._fail_after_write = False
        self._error: StoreError | None = None
        self._release: asyncio.Event | None = None
        # Method name -> [failures left, error], for fail_next.
        self._method_faults: dict[str, list[Any]] = {}

    def fail_next_appends(
        self,
        count: int = 1,
        *,
        after_write: bool = False,
        error: StoreError | None = None,
    ) -> None:
        """Make the next `count` calls of `append_log` raise `error`.

        By default a failing call writes nothing and raises StoreUnavailable.
        With `after_write=True` the call writes the batch and then raises, as a
        timeout after a successful commit would; a retry then gets LogConflict.
        """
        self._failures_left = count
        self._fail_after_write = after_write
        self._error = error

    def fail_next(
        self, method: str, count: int = 1, *, error: StoreError | None = None
    ) -> None:
        """Make the next `count` calls of the coroutine method `method` raise, doing nothing.

        The error is StoreUnavailable unless `error` is given. For
        `append_log`, use `fail_next_appends`.
        """
        if method == "append_log" or not callable(getattr(self.store, method, None)):
            raise ValueError(
                f"cannot inject faults into {method!r}; name a store method other "
                "than append_log"
            )
        self._method_faults[method] = [count, error]

    def stall_appends(self, release: asyncio.Event | None) -> None:
        """Make `append_log` wait for `release` before writing; None stops stalling."""
        self._release = release
        if release is None:
            self.append_stalled.clear()

    async def append_log(
        self,
        entries: Sequence[LogEntry],
        summaries: Mapping[int, Mapping[str, Any]] = {},
        snapshots: Sequence[Snapshot] = (),
    ) -> None:
        self.append_calls += 1
        if self._release is not None:
            self.append_stalled.set()
            await self._release.wait()

        if self._failures_left > 0:
            self._failures_left -= 1
            if self._fail_after_write:
                await self.store.append_log(entries, summaries, snapshots)
            raise self._error or StoreUnavailable(
                f"injected failure of append_log ({len(entries)} entries)"
            )
        await self.store.append_log(entries, summaries, snapshots)

    def __getattr__(self, name: str) -> Any:
        target = getattr(self.store, name)
        fault = self._method_faults.get(name)
        if fault is None:
            return target

        async def failing(*args: Any, **kwargs: Any) -> Any:
            if fault[0] > 0:
                fault[0] -= 1
                raise fault[1] or StoreUnavailable(f"injected failure of {name}")
            return await target(*args, **kwargs)

        return failing
