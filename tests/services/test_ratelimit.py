"""Rate limits: in process, and in a real Redis shared by several limiters (processes)."""

from __future__ import annotations

import logging
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import redis

from tests.databases import redis_url, unique_prefix
from voxguard.config import Settings
from voxguard.errors import RateLimited
from voxguard.services.ratelimit import RateLimiter, RedisRateLimiter, build_limiter

UNREACHABLE = "redis://127.0.0.1:1/0"


def _accepted(limiter: RateLimiter | RedisRateLimiter, key: str, tries: int) -> int:
    accepted = 0
    for _ in range(tries):
        try:
            limiter.hit(key)
            accepted += 1
        except RateLimited:
            pass
    return accepted


@pytest.fixture
def prefix() -> Iterator[str]:
    url = redis_url()
    name = unique_prefix()
    yield name
    client = redis.Redis.from_url(url)
    keys = list(client.scan_iter(f"{name}:*"))
    if keys:
        client.delete(*keys)
    client.close()


def test_the_local_bucket_allows_the_burst_then_says_how_long_to_wait() -> None:
    limiter = RateLimiter(rate_per_s=1 / 60, burst=3)
    assert _accepted(limiter, "k", 3) == 3
    with pytest.raises(RateLimited) as caught:
        limiter.hit("k")
    assert 1 <= caught.value.detail["retry_after_s"] <= 60
    assert _accepted(limiter, "other", 1) == 1


def test_two_limiters_on_one_redis_share_each_bucket(prefix: str) -> None:
    first, second = (RedisRateLimiter(redis_url(), prefix, 1 / 60, 5) for _ in range(2))
    try:
        # Interleaved, as two API processes behind one load balancer would take them.
        accepted = sum(
            _accepted(limiter, "key-a", 1) for _ in range(6) for limiter in (first, second)
        )
        assert accepted == 5
        with pytest.raises(RateLimited) as caught:
            second.hit("key-a")
        assert 1 <= caught.value.detail["retry_after_s"] <= 60
        assert _accepted(first, "key-b", 1) == 1  # another key, another bucket
        client = redis.Redis.from_url(redis_url())
        ttl_ms = client.pttl(f"{prefix}:ratelimit:key-a")
        client.close()
        assert 0 < ttl_ms <= (5 / (1 / 60) + 1) * 1000  # gone once it would be full again
    finally:
        first.close()
        second.close()


def test_the_bucket_refills_at_the_configured_rate(prefix: str) -> None:
    limiter = RedisRateLimiter(redis_url(), prefix, rate_per_s=50.0, burst=1)
    try:
        limiter.hit("k")
        with pytest.raises(RateLimited) as caught:
            limiter.hit("k")
        assert caught.value.detail["retry_after_s"] <= 0.1
        time.sleep(0.1)  # 50 tokens/s: one is back after 20 ms
        limiter.hit("k")
    finally:
        limiter.close()


def test_an_unreachable_redis_falls_back_to_per_process_limits_with_a_warning(
    caplog: pytest.LogCaptureFixture,
) -> None:
    limiter = RedisRateLimiter(UNREACHABLE, "x", 1 / 60, 2)
    with caplog.at_level(logging.WARNING, logger="voxguard.services.ratelimit"):
        assert _accepted(limiter, "k", 5) == 2  # still limited, never an error
    warnings = [r.getMessage() for r in caplog.records]
    assert len(warnings) == 1, warnings  # said once, not on every request
    assert "redis://127.0.0.1:1/0 is unreachable" in warnings[0]
    assert "per process" in warnings[0]
    limiter.close()


def test_redis_is_used_when_a_url_is_configured(tmp_path: Path) -> None:
    base = {"data_dir": tmp_path}
    local = build_limiter(Settings(**base))  # type: ignore[arg-type]
    assert isinstance(local, RateLimiter)
    queued = build_limiter(Settings(queue_url="redis://q:6379/0", **base))  # type: ignore[arg-type]
    assert isinstance(queued, RedisRateLimiter) and queued.where == "redis://q:6379/0"
    own = build_limiter(
        Settings(queue_url="redis://q/0", redis_url="redis://:pw@r/2", queue_name="vg1", **base)  # type: ignore[arg-type]
    )
    assert isinstance(own, RedisRateLimiter)
    assert own.where == "redis://r/2" and own.prefix == "vg1"  # no password in logs


def test_a_redis_url_that_is_not_redis_is_refused(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="VOXGUARD_REDIS_URL must be a Redis URL"):
        Settings(data_dir=tmp_path, redis_url="postgresql://db/x")
