"""msgpack encodings of log entry payloads and actor snapshots.

A log entry payload is a map with short keys, so that 10,000 entries decode
quickly at activation:

- `x`: the calls and their results (batches and single calls), as nested
  msgpack bytes (`encode_calls`), so that activation skips decoding all but
  the last batch of each session,
- `d`: the CMI changes, element to value, None for a removed element,
- `s`: the session state after the entry ("not_initialized", "running",
  "terminated"),
- `b`: the batch_seq of a batch,
- `o`: for a session opening, `{"sco": sco_id, "mode": ..., "credit": ...}`.

A snapshot is a map `{"v": SNAPSHOT_VERSION, "items": ..., "sessions": ...,
"open": ..., "epoch": ...}`; see `AttemptActor.snapshot_state`.
"""

from __future__ import annotations

from typing import Any

import msgpack

SNAPSHOT_VERSION = 1
# CMI strings may hold lone UTF-16 surrogates, which a SCO's JavaScript can
# produce. They are kept as written, so GetValue returns the same string.
UNICODE_ERRORS = "surrogatepass"


def encode_payload(payload: dict[str, Any]) -> bytes:
    """Return the msgpack bytes of a log entry payload."""
    return msgpack.packb(payload, use_bin_type=True, unicode_errors=UNICODE_ERRORS)


def decode_payload(data: bytes) -> dict[str, Any]:
    """Return the payload map of a log entry; raise ValueError on corrupt bytes."""
    try:
        payload = msgpack.unpackb(
            data, raw=False, strict_map_key=False, unicode_errors=UNICODE_ERRORS
        )
    except (msgpack.UnpackException, ValueError) as exc:
        raise ValueError(f"invalid log entry payload: {exc}") from None
    if not isinstance(payload, dict):
        raise ValueError("invalid log entry payload: expected a map")
    return payload


def encode_calls(calls: list[Any], results: list[Any]) -> bytes:
    """Return the nested msgpack bytes of `[method, args]` calls and their results."""
    return msgpack.packb([calls, results], use_bin_type=True, unicode_errors=UNICODE_ERRORS)


def decode_calls(data: bytes) -> tuple[list[Any], list[Any]]:
    """Return the calls and the `[return, error_code]` results of `encode_calls` bytes."""
    calls, results = msgpack.unpackb(data, raw=False, unicode_errors=UNICODE_ERRORS)
    return calls, results


def encode_snapshot(state: dict[str, Any]) -> bytes:
    """Return the msgpack bytes of an actor's state, tagged with the format version."""
    return msgpack.packb(
        {"v": SNAPSHOT_VERSION, **state}, use_bin_type=True, unicode_errors=UNICODE_ERRORS
    )


def decode_snapshot(data: bytes) -> dict[str, Any]:
    """Return an actor state map; raise ValueError on a corrupt or newer snapshot."""
    try:
        state = msgpack.unpackb(
            data, raw=False, strict_map_key=False, unicode_errors=UNICODE_ERRORS
        )
    except (msgpack.UnpackException, ValueError) as exc:
        raise ValueError(f"invalid snapshot: {exc}") from None
    if not isinstance(state, dict) or state.get("v") != SNAPSHOT_VERSION:
        raise ValueError(
            f"invalid snapshot: expected format version {SNAPSHOT_VERSION}, "
            f"got {state.get('v') if isinstance(state, dict) else state!r}"
        )
    return state
