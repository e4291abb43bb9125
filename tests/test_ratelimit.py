"""Rate limits: the sliding window, the Redis limiter, and 429 responses."""

from __future__ import annotations

import asyncio
import dataclasses
import ipaddress
import uuid

import pytest
from redis.asyncio import Redis

from server.ratelimit import (
    MemoryRateLimiter,
    RedisRateLimiter,
    client_address,
    parse_networks,
)
from tests.api_support import (  # noqa: F401
    add_person,
    api,
    app,
    body_of,
    ctx,
    people,
    settings,
)


class FakeClock:
    def __init__(self, now: float = 6000.0) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


async def hits(limiter, key: str, limit: int, count: int) -> list[int | None]:
    return [await limiter.hit(key, limit) for _ in range(count)]


@pytest.mark.gen_test
async def test_memory_limiter_allows_limit_then_rejects():
    limiter = MemoryRateLimiter(clock=FakeClock())

    results = await hits(limiter, "a", 3, 4)

    assert results[:3] == [None, None, None]
    # Full at the window start: free once a third of the next window passed.
    assert results[3] == 80


@pytest.mark.gen_test
async def test_memory_limiter_keys_are_independent():
    limiter = MemoryRateLimiter(clock=FakeClock())
    await hits(limiter, "a", 2, 2)

    assert await limiter.hit("b", 2) is None
    assert await limiter.hit("a", 2) is not None


@pytest.mark.gen_test
async def test_memory_limiter_slides_into_next_window():
    clock = FakeClock(6000.0)
    limiter = MemoryRateLimiter(clock=clock)
    await hits(limiter, "a", 10, 10)

    # A quarter into the next window, 3/4 of the previous 10 still count.
    clock.now = 6060.0 + 15
    allowed = await hits(limiter, "a", 10, 3)

    assert allowed[:2] == [None, None]
    assert allowed[2] is not None
    clock.now = 6120.0 + 30
    assert await limiter.hit("a", 10) is None


@pytest.mark.gen_test
async def test_memory_limiter_does_not_count_rejections():
    clock = FakeClock(6000.0)
    limiter = MemoryRateLimiter(clock=clock)
    await hits(limiter, "a", 2, 50)

    clock.now = 6180.0

    assert await limiter.hit("a", 2) is None


@pytest.mark.gen_test
async def test_retry_after_frees_a_slot():
    clock = FakeClock(6000.0 + 20)
    limiter = MemoryRateLimiter(clock=clock)
    await hits(limiter, "a", 5, 5)

    wait = await limiter.hit("a", 5)
    clock.now += wait

    assert await limiter.hit("a", 5) is None


@pytest.fixture
def redis_prefix() -> str:
    return f"test:ratelimit:{uuid.uuid4().hex}:"


@pytest.mark.gen_test
async def test_redis_limiter_shares_counts_between_instances(redis_prefix):
    clock = FakeClock(time_now := 1_800_000_000.0)
    first = RedisRateLimiter(Redis(host="127.0.0.1"), prefix=redis_prefix, clock=clock)
    second = RedisRateLimiter(Redis(host="127.0.0.1"), prefix=redis_prefix, clock=clock)
    try:
        results = await hits(first, "client:1", 4, 2) + await hits(second, "client:1", 4, 3)
        clock.now = time_now + 150
        later = await second.hit("client:1", 4)
    finally:
        await first.close()
        await second.close()

    assert results == [None, None, None, None, 75]
    assert later is None


@pytest.mark.gen_test
async def test_redis_limiter_expires_its_keys(redis_prefix):
    redis = Redis(host="127.0.0.1")
    limiter = RedisRateLimiter(redis, prefix=redis_prefix, clock=FakeClock(1_800_000_000.0))
    try:
        await limiter.hit("client:1", 5)
        keys = [key async for key in redis.scan_iter(f"{redis_prefix}*")]
        ttl = await redis.ttl(keys[0])
    finally:
        await limiter.close()

    assert len(keys) == 1
    assert 0 < ttl <= 120


def test_client_address_trusts_forwarded_for_only_from_proxies():
    proxies = parse_networks(["10.0.0.0/8", "::1"])

    assert client_address("10.1.2.3", "203.0.113.9", proxies) == "203.0.113.9"
    assert client_address("198.51.100.1", "203.0.113.9", proxies) == "198.51.100.1"
    assert client_address("10.1.2.3", "1.1.1.1, 203.0.113.9, 10.0.0.2", proxies) == (
        "203.0.113.9"
    )
    assert client_address("10.1.2.3", None, proxies) == "10.1.2.3"
    assert client_address("10.1.2.3", "203.0.113.9", ()) == "10.1.2.3"


def test_parse_networks_rejects_garbage():
    with pytest.raises(ValueError, match="'nonsense'"):
        parse_networks(["10.0.0.1", "nonsense"])

    assert parse_networks(["10.0.0.1"]) == (ipaddress.ip_network("10.0.0.1/32"),)


def limit_app(ctx, **changes):
    ctx.settings = dataclasses.replace(ctx.settings, **changes)
    ctx.services["rate_limiter"] = MemoryRateLimiter(clock=FakeClock())


@pytest.mark.gen_test
async def test_api_answers_429_with_retry_after(api, ctx, people):
    limit_app(ctx, rate_limit=3)

    codes = [(await api.get("/api/courses/", token=people.learner.token)).code for _ in range(3)]
    rejected = await api.get("/api/courses/", token=people.learner.token)
    health = await api.get("/healthz")

    assert codes == [200, 200, 200]
    assert rejected.code == 429
    assert rejected.headers["Retry-After"] == "80"
    assert "limit is 3 a minute" in body_of(rejected)["error"]
    assert health.code == 200


@pytest.mark.gen_test
async def test_admin_token_not_limited_per_address(api, ctx, people):
    limit_app(ctx, rate_limit=2)

    codes = [(await api.get("/api/courses/", token=people.admin.token)).code for _ in range(5)]
    learner = [(await api.get("/api/courses/", token=people.learner.token)).code
               for _ in range(2)]

    assert codes == [200] * 5
    # The admin's first request counted, so one request is left for the address.
    assert learner == [200, 429]


@pytest.mark.gen_test
async def test_demoted_admin_limited_again(api, ctx, people):
    limit_app(ctx, rate_limit=3)
    other = await add_person(ctx, "second-admin", is_staff=True)
    await api.get("/api/courses/", token=other.token)

    demoted = await api.put(f"/api/users/{other.id}/", {"is_staff": False},
                            token=people.admin.token)
    codes = [(await api.get("/api/courses/", token=other.token)).code for _ in range(3)]

    assert demoted.code == 200, demoted.body
    assert codes == [200, 429, 429]


@pytest.mark.gen_test
async def test_forwarded_for_separates_clients_behind_trusted_proxy(api, ctx, people):
    limit_app(ctx, rate_limit=1)
    ctx.services["trusted_proxies"] = parse_networks(["127.0.0.1"])

    first = await api.get("/healthz/x", headers={"X-Forwarded-For": "203.0.113.1"})
    second = await api.get("/healthz/x", headers={"X-Forwarded-For": "203.0.113.2"})
    again = await api.get("/healthz/x", headers={"X-Forwarded-For": "203.0.113.1"})

    assert first.code == 404
    assert second.code == 404
    assert again.code == 429


@pytest.mark.gen_test
async def test_runtime_calls_count_per_attempt(api, ctx, people):
    limit_app(ctx, rate_limit=1, runtime_rate_limit=2)
    tokens = ctx.services["launch_tokens"]
    first_token, _ = tokens.issue(1)
    second_token, _ = tokens.issue(2)

    def launch(token):
        return {"Authorization": f"Launch {token}"}

    attempt_one = [
        (await api.get("/content/1/x", headers=launch(first_token))).code for _ in range(3)
    ]
    attempt_two = (await api.get("/content/1/x", headers=launch(second_token))).code
    by_path = [(await api.post("/api/attempts/3/runtime/", {})).code for _ in range(3)]
    by_query = (await api.get(f"/player/2?token={second_token}")).code

    assert attempt_one[:2] == [404, 404]
    assert attempt_one[2] == 429
    assert attempt_two == 404
    assert by_path[2] == 429
    assert by_path[:2] != [429, 429]
    assert by_query == 404


def test_redis_url_selects_redis_limiter(tmp_path):
    from server.app import build_context, stop_services
    from tests.api_support import make_settings

    settings = make_settings(tmp_path, redis_url="redis://127.0.0.1:6379/0")
    loop = asyncio.new_event_loop()
    try:
        ctx = loop.run_until_complete(build_context(settings))
        limiter = ctx.services["rate_limiter"]
        loop.run_until_complete(stop_services(ctx))
    finally:
        loop.close()

    assert isinstance(limiter, RedisRateLimiter)


@pytest.mark.gen_test
async def test_limiter_outage_admits_requests(api, ctx, people):
    ctx.settings = dataclasses.replace(ctx.settings, rate_limit=1)
    # Nothing listens on port 1, so every check fails to connect.
    ctx.services["rate_limiter"] = RedisRateLimiter.from_url("redis://127.0.0.1:1")

    codes = [(await api.get("/api/courses/", token=people.admin.token)).code for _ in range(3)]

    assert codes == [200, 200, 200]
