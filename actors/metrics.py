"""Prometheus metrics of the actor runtime, on the default registry.

The hot path counts once per batch, never once per call.
"""

from __future__ import annotations

from prometheus_client import Counter, Gauge, Histogram

RUNTIME_CALLS = Counter(
    "scorm_runtime_calls_total", "SCORM run-time API calls applied by actors."
)
STORE_WRITES = Counter(
    "scorm_store_writes_total",
    "Store round trips of the actor runtime, by kind (append_log, snapshot).",
    ["kind"],
)
SNAPSHOTS_WRITTEN = Counter(
    "scorm_snapshots_written_total",
    "Actor snapshots written, whether with a log flush or on their own.",
)
LOG_ENTRIES_WRITTEN = Counter(
    "scorm_log_entries_written_total", "Run-time log entries made durable."
)
FLUSH_BATCH_SIZE = Histogram(
    "scorm_flush_batch_size",
    "Log entries written per flush.",
    buckets=(1, 2, 5, 10, 20, 50, 100, 200, 500, 1000, 2000, 5000, 10000),
)
FLUSH_SECONDS = Histogram(
    "scorm_flush_duration_seconds",
    "Time of one append_log round trip of the flusher, failures included.",
    buckets=(0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 5),
)
ACTORS_ACTIVE = Gauge("scorm_actors_active", "Attempt actors in memory.")
ACTIVATIONS = Counter("scorm_actor_activations_total", "Attempt actor activations.")
PASSIVATIONS = Counter("scorm_actor_passivations_total", "Attempt actor passivations.")

APPEND_LOG_WRITES = STORE_WRITES.labels("append_log")
SNAPSHOT_WRITES = STORE_WRITES.labels("snapshot")
