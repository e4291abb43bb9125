"""Placeholder: routes and services of this part, filled in by its owner."""

from __future__ import annotations

from typing import Any

from server.context import AppContext


def routes(ctx: AppContext) -> list[Any]:
    """Return the Tornado URL rules of this part."""
    return []


async def start(ctx: AppContext) -> None:
    """Start this part's background services; called once after the store opens."""


async def stop(ctx: AppContext) -> None:
    """Stop this part's services; called once at shutdown, before the store closes."""
