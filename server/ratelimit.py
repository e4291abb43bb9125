"""Request rate limits: a sliding window of one minute per key.

The window is approximated from two fixed one-minute windows, as many API
gateways do: the estimate is `previous * (1 - elapsed) + current`, where
`elapsed` is the fraction of the current window that has passed. It needs two
counters per key and no list of timestamps, so a check costs a dictionary
lookup in process, or one round trip to Redis. A rejected request is not
counted, so a client that keeps retrying gets through once the estimate falls.

`MemoryRateLimiter` serves one process. `RedisRateLimiter` keeps the counters
in Redis so that several processes share them.
"""

from __future__ import annotations

import ipaddress
import logging
import math
import time
from collections.abc import Callable, Iterable
from typing import Protocol

from redis.asyncio import Redis
from redis.asyncio.retry import Retry
from redis.backoff import NoBackoff

log = logging.getLogger(__name__)

WINDOW_SECONDS = 60
# Maximum wait in seconds for one Redis check or connection attempt.
CHECK_TIMEOUT_SECONDS = 0.5

Clock = Callable[[], float]
IPNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network


class RateLimiter(Protocol):
    async def hit(self, key: str, limit: int) -> int | None:
        """Count one request of `key`.

        Return None when the request is within `limit` requests a minute.
        Otherwise return the whole seconds to wait before the next request is
        allowed (at least 1). A rejected request is not counted.
        """

    async def close(self) -> None:
        """Release connections."""


def retry_after(previous: int, current: int, limit: int, elapsed: float) -> int:
    """Return the whole seconds until one more request fits under `limit`.

    `elapsed` is the fraction of the current window that has passed.
    """
    if current + 1 <= limit:
        # Only the previous window's share must shrink: wait until
        # previous * (1 - f) + current + 1 <= limit.
        needed = 1 - (limit - current - 1) / previous if previous else elapsed
        wait = (needed - elapsed) * WINDOW_SECONDS
    else:
        # The current window alone is full; in the next one it becomes the
        # previous window and its share shrinks the same way.
        needed = 1 - (limit - 1) / current
        wait = (1 - elapsed + needed) * WINDOW_SECONDS
    # The epsilon keeps float error from adding a second to an exact result.
    return max(1, math.ceil(wait - 1e-9))


class MemoryRateLimiter:
    """Counters in this process; `clock` returns seconds (monotonic or not)."""

    def __init__(self, clock: Clock = time.monotonic) -> None:
        self._clock = clock
        self._window = -1
        # Counts of the current and the previous window, by key.
        self._current: dict[str, int] = {}
        self._previous: dict[str, int] = {}

    async def hit(self, key: str, limit: int) -> int | None:
        return self.hit_now(key, limit)

    def hit_now(self, key: str, limit: int) -> int | None:
        """`hit` without a coroutine, for callers on the hot path."""
        now = self._clock()
        window, offset = divmod(now, WINDOW_SECONDS)
        self._roll(int(window))
        elapsed = offset / WINDOW_SECONDS

        previous = self._previous.get(key, 0)
        current = self._current.get(key, 0)
        if previous * (1 - elapsed) + current + 1 > limit:
            return retry_after(previous, current, limit, elapsed)
        self._current[key] = current + 1
        return None

    def _roll(self, window: int) -> None:
        # Moving to a new window drops every key idle for two windows, so the
        # dictionaries hold only the clients of the last two minutes.
        if window == self._window:
            return
        if window == self._window + 1:
            self._previous = self._current
        else:
            self._previous = {}
        self._current = {}
        self._window = window

    async def close(self) -> None:
        pass


# KEYS: the current and the previous window's counter.
# ARGV: the weight of the previous window, the limit, the expiry in seconds.
# Returns {allowed (0 or 1), previous count, current count}.
_HIT_SCRIPT = """
local current = tonumber(redis.call('GET', KEYS[1]) or '0')
local previous = tonumber(redis.call('GET', KEYS[2]) or '0')
if previous * tonumber(ARGV[1]) + current + 1 > tonumber(ARGV[2]) then
  return {0, previous, current}
end
redis.call('INCR', KEYS[1])
redis.call('EXPIRE', KEYS[1], ARGV[3])
return {1, previous, current + 1}
"""


class RedisRateLimiter:
    """Counters in Redis, shared by every process that uses the same prefix.

    The check and the increment run in one Lua script, so concurrent
    requests from several processes never both take the last slot. `clock`
    returns Unix time in seconds; the processes' clocks should agree to
    within a few seconds.
    """

    def __init__(
        self,
        redis: Redis,
        *,
        prefix: str = "scorm:ratelimit:",
        clock: Clock = time.time,
    ) -> None:
        self._redis = redis
        self._prefix = prefix
        self._clock = clock
        self._script = redis.register_script(_HIT_SCRIPT)

    @classmethod
    def from_url(cls, url: str, **kwargs: object) -> RedisRateLimiter:
        """Connect to Redis at `url` with short timeouts and no retries.

        The check runs before every request, so a slow or absent Redis must
        fail fast; the caller then admits the request unchecked.
        """
        redis = Redis.from_url(
            url,
            socket_timeout=CHECK_TIMEOUT_SECONDS,
            socket_connect_timeout=CHECK_TIMEOUT_SECONDS,
            retry=Retry(NoBackoff(), 0),
        )
        return cls(redis, **kwargs)  # type: ignore[arg-type]

    async def hit(self, key: str, limit: int) -> int | None:
        now = self._clock()
        window, offset = divmod(now, WINDOW_SECONDS)
        elapsed = offset / WINDOW_SECONDS
        current_key = f"{self._prefix}{key}:{int(window)}"
        previous_key = f"{self._prefix}{key}:{int(window) - 1}"

        allowed, previous, current = await self._script(
            keys=[current_key, previous_key],
            args=[repr(1 - elapsed), limit, 2 * WINDOW_SECONDS],
        )
        if allowed:
            return None
        return retry_after(int(previous), int(current), limit, elapsed)

    async def close(self) -> None:
        await self._redis.aclose()


def parse_networks(entries: Iterable[str]) -> tuple[IPNetwork, ...]:
    """Parse addresses and CIDR blocks; raise ValueError naming a bad entry."""
    networks = []
    for entry in entries:
        entry = entry.strip()
        if not entry:
            continue
        try:
            networks.append(ipaddress.ip_network(entry, strict=False))
        except ValueError:
            raise ValueError(
                f"invalid trusted proxy {entry!r}; use an IP address or a CIDR block"
            ) from None
    return tuple(networks)


def client_address(
    peer: str, forwarded_for: str | None, trusted: tuple[IPNetwork, ...]
) -> str:
    """Return the client address of a request.

    `X-Forwarded-For` counts only when the peer is a trusted proxy. Its
    entries are read from the right, skipping trusted proxies, so a client
    cannot choose its address by sending the header itself.
    """
    if not trusted or not forwarded_for or not _is_trusted(peer, trusted):
        return peer
    address = peer
    for entry in reversed(forwarded_for.split(",")):
        entry = entry.strip()
        if not entry:
            continue
        address = entry
        if not _is_trusted(entry, trusted):
            break
    return address


def _is_trusted(address: str, trusted: tuple[IPNetwork, ...]) -> bool:
    try:
        ip = ipaddress.ip_address(address)
    except ValueError:
        return False
    return any(ip in network for network in trusted)


class StaffTokens:
    """Hashes of admin tokens that authenticated in this process.

    Requests with such a token are not limited per address: an LMS that
    integrates with an admin token sends the calls of all its learners from
    one address. A token counts against the limit until its first
    authentication, and `forget_user` drops a user's tokens when the user
    loses the admin role or is deleted.
    """

    def __init__(self, capacity: int = 10_000) -> None:
        self.capacity = capacity
        self._users: dict[str, int] = {}

    def __contains__(self, token_hash: str) -> bool:
        return token_hash in self._users

    def remember(self, token_hash: str, user_id: int) -> None:
        if token_hash not in self._users and len(self._users) >= self.capacity:
            # Dicts keep insertion order, so this drops the oldest entry.
            del self._users[next(iter(self._users))]
        self._users[token_hash] = user_id

    def forget_user(self, user_id: int) -> None:
        for token_hash in [h for h, owner in self._users.items() if owner == user_id]:
            del self._users[token_hash]
