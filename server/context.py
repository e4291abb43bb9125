"""The objects that every request handler shares, built once at start."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from server.config import Settings
from storage.base import Store


@dataclass
class AppContext:
    """Settings, the store and the services that handlers use.

    `actors` is the run-time's `actors.registry.ActorRegistry`; `services`
    holds the rest by name (rate limiter, metrics, package processor, launch
    token signer) so each part can add its own without a cyclic import.
    """

    settings: Settings
    store: Store
    actors: Any = None
    services: dict[str, Any] = field(default_factory=dict)
