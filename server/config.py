"""Server settings: defaults, command-line flags and SCORM_* environment variables."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path


@dataclass(frozen=True)
class Settings:
    """Every setting of the server, with its default.

    A flag on the command line wins over the matching `SCORM_*` environment
    variable, which wins over the default here.
    """

    host: str = "127.0.0.1"
    port: int = 8000
    data_dir: Path = Path("data")
    # `sqlite:///PATH` or a `mongodb://` URL; empty means SQLite in data_dir.
    store: str = ""
    redis_url: str = ""
    open_registration: bool = True
    # Requests a minute per client address; 0 turns rate limiting off.
    rate_limit: int = 100
    # Requests a minute per attempt for run-time and launch-token requests.
    runtime_rate_limit: int = 6000
    trusted_proxies: tuple[str, ...] = ()
    # Largest request body in bytes, other than a package upload.
    max_body_size: int = 1024 * 1024
    # HMAC key for launch tokens; empty means a key kept in data_dir.
    secret_key: str = ""
    launch_token_ttl: int = 8 * 3600
    public_url: str = ""
    # Packages
    max_upload_size: int = 1024 * 1024 * 1024
    max_zip_entries: int = 10_000
    max_unpacked_size: int = 2 * 1024 * 1024 * 1024
    max_compression_ratio: int = 200
    # Run-time
    scorm12_suspend_data_max: int = 64000
    actor_idle_timeout: float = 600.0
    ended_actor_timeout: float = 30.0
    max_active_actors: int = 100_000
    flush_interval_ms: int = 200
    flush_max_entries: int = 5000
    extra: dict[str, str] = field(default_factory=dict)

    @property
    def store_url(self) -> str:
        """The store URL, defaulting to a SQLite file in the data directory."""
        if self.store:
            return self.store
        return f"sqlite:///{self.data_dir / 'scorm.sqlite3'}"
