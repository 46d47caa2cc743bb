"""Per-key token buckets: in process, or in Redis so that every API process shares them.

With Redis configured (``Settings.resolved_redis_url``) each bucket is one Redis hash,
updated atomically by a Lua script on Redis's own clock, so the limit holds across worker
processes and hosts. If Redis cannot be reached, requests are limited by this process's own
buckets (a warning is logged) rather than refused, and Redis is tried again a few seconds
later: a Redis outage loosens the limit to per process, it never fails a request.
"""

from __future__ import annotations

import logging
import threading
import time
from typing import Protocol

import redis
from redis.exceptions import RedisError

from voxguard.config import Settings
from voxguard.errors import RateLimited

log = logging.getLogger(__name__)

# A down Redis costs a request at most this long, and is then left alone for _RETRY_S.
_TIMEOUT_S = 0.5
_RETRY_S = 5.0

# KEYS[1]: the bucket; ARGV: refill rate (tokens/s), burst. Returns {1} when a token was
# taken, else {0, seconds until one is available} (a string: Lua numbers become integers).
_TOKEN_BUCKET = """
local rate = tonumber(ARGV[1])
local burst = tonumber(ARGV[2])
local clock = redis.call('TIME')
local now = tonumber(clock[1]) + tonumber(clock[2]) / 1000000
local state = redis.call('HMGET', KEYS[1], 'tokens', 'at')
local tokens = tonumber(state[1]) or burst
local at = tonumber(state[2]) or now
tokens = math.min(burst, tokens + math.max(0, now - at) * rate)
local taken = 0
if tokens >= 1 then
  tokens = tokens - 1
  taken = 1
end
redis.call('HSET', KEYS[1], 'tokens', tokens, 'at', now)
redis.call('PEXPIRE', KEYS[1], math.ceil((burst - tokens) / rate * 1000) + 1000)
if taken == 1 then
  return {1}
end
return {0, tostring((1 - tokens) / rate)}
"""


class Limiter(Protocol):
    def hit(self, key: str) -> None:
        """Take one token for ``key`` or raise ``RateLimited`` with the wait in seconds."""

    def close(self) -> None: ...


def _limited(retry_s: float) -> RateLimited:
    return RateLimited(
        f"Rate limit exceeded; retry in {retry_s:.1f} s.", retry_after_s=round(retry_s, 1)
    )


class RateLimiter:
    """Buckets in this process (one set per worker process)."""

    def __init__(self, rate_per_s: float, burst: int) -> None:
        self.rate = rate_per_s
        self.burst = float(burst)
        self._buckets: dict[str, tuple[float, float]] = {}
        self._lock = threading.Lock()

    def hit(self, key: str) -> None:
        now = time.monotonic()
        with self._lock:
            tokens, last = self._buckets.get(key, (self.burst, now))
            tokens = min(self.burst, tokens + (now - last) * self.rate)
            if tokens < 1.0:
                self._buckets[key] = (tokens, now)
                raise _limited((1.0 - tokens) / self.rate)
            self._buckets[key] = (tokens - 1.0, now)

    def close(self) -> None:
        pass


class RedisRateLimiter:
    """Buckets in Redis under ``<prefix>:ratelimit:<key>``, shared by every process."""

    def __init__(self, url: str, prefix: str, rate_per_s: float, burst: int) -> None:
        self.rate = rate_per_s
        self.burst = burst
        self.prefix = prefix
        self.where = _without_password(url)
        self._client = redis.Redis.from_url(
            url, socket_connect_timeout=_TIMEOUT_S, socket_timeout=_TIMEOUT_S
        )
        self._script = self._client.register_script(_TOKEN_BUCKET)
        self._local = RateLimiter(rate_per_s, burst)
        self._down_until = 0.0
        self._lock = threading.Lock()

    def hit(self, key: str) -> None:
        if time.monotonic() < self._down_until:
            self._local.hit(key)
            return
        try:
            answer = self._script(
                keys=[f"{self.prefix}:ratelimit:{key}"], args=[self.rate, self.burst]
            )
        except RedisError as exc:
            self._went_down(exc)
            self._local.hit(key)
            return
        self._came_back()
        if int(answer[0]) != 1:
            raise _limited(float(answer[1]))

    def close(self) -> None:
        self._client.close()

    def _went_down(self, exc: RedisError) -> None:
        with self._lock:
            first = self._down_until == 0.0
            self._down_until = time.monotonic() + _RETRY_S
        if first:
            log.warning(
                "Redis at %s is unreachable (%s): rate limits are per process until it is back",
                self.where,
                exc,
            )

    def _came_back(self) -> None:
        if self._down_until == 0.0:
            return
        with self._lock:
            self._down_until = 0.0
        log.warning("Redis at %s is back: rate limits are shared again", self.where)


def _without_password(url: str) -> str:
    scheme, _, rest = url.partition("://")
    return f"{scheme}://{rest.rpartition('@')[2]}"


def build_limiter(settings: Settings) -> Limiter:
    """The Redis limiter when a Redis URL is configured, else the in-process one."""
    rate = settings.rate_limit_per_minute / 60.0
    url = settings.resolved_redis_url
    if url is None:
        return RateLimiter(rate, settings.rate_limit_burst)
    return RedisRateLimiter(url, settings.queue_name, rate, settings.rate_limit_burst)
