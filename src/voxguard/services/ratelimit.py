"""Per-key token bucket, in process (one bucket set per worker)."""

from __future__ import annotations

import threading
import time

from voxguard.errors import RateLimited


class RateLimiter:
    def __init__(self, rate_per_s: float, burst: int) -> None:
        self.rate = rate_per_s
        self.burst = float(burst)
        self._buckets: dict[str, tuple[float, float]] = {}
        self._lock = threading.Lock()

    def hit(self, key: str) -> None:
        """Take one token for ``key`` or raise ``RateLimited`` with the wait in seconds."""
        now = time.monotonic()
        with self._lock:
            tokens, last = self._buckets.get(key, (self.burst, now))
            tokens = min(self.burst, tokens + (now - last) * self.rate)
            if tokens < 1.0:
                self._buckets[key] = (tokens, now)
                retry = (1.0 - tokens) / self.rate
                raise RateLimited(
                    f"Rate limit exceeded; retry in {retry:.1f} s.", retry_after_s=round(retry, 1)
                )
            self._buckets[key] = (tokens - 1.0, now)
