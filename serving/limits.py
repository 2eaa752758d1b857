"""Per-key budgets: requests per minute and rows explained per minute (token buckets).

A bucket holds up to ``burst`` tokens and refills at ``per_minute / 60`` a second; a request
takes one token (an explained score takes one per row explained). An empty bucket answers how
long until enough tokens are back, which becomes the ``Retry-After`` of a 429. Keys are the
SHA-256 of the presented secret, so no secret is kept in memory longer than the request, and
idle buckets are dropped so a flood of made-up keys cannot grow the table without bound.
"""

from __future__ import annotations

import hashlib
import math
import threading
import time
from collections.abc import Callable

MAX_BUCKETS = 10_000


class KeyedBuckets:
    """One token bucket per key, all with the same rate and size."""

    def __init__(
        self, per_minute: float, burst: float, clock: Callable[[], float] = time.monotonic
    ) -> None:
        if per_minute <= 0 or burst <= 0:
            raise ValueError("per_minute and burst must be positive")
        self.rate = per_minute / 60.0
        self.burst = float(burst)
        self.clock = clock
        self._buckets: dict[str, tuple[float, float]] = {}
        self._lock = threading.Lock()

    def take(self, key: str, tokens: float = 1.0) -> float:
        """Take ``tokens`` from ``key``'s bucket: 0.0 when granted, else the seconds to wait
        (nothing is taken). A request larger than the bucket can never pass: ``math.inf``."""
        if tokens > self.burst:
            return math.inf
        now = self.clock()
        with self._lock:
            level, stamp = self._buckets.get(key, (self.burst, now))
            level = min(self.burst, level + (now - stamp) * self.rate)
            if level >= tokens:
                self._buckets[key] = (level - tokens, now)
                self._prune(now)
                return 0.0
            self._buckets[key] = (level, now)
            return (tokens - level) / self.rate

    def _prune(self, now: float) -> None:
        """Drop buckets that have refilled completely (they equal a fresh one)."""
        if len(self._buckets) <= MAX_BUCKETS:
            return
        full = self.burst / self.rate
        self._buckets = {k: v for k, v in self._buckets.items() if now - v[1] < full}


def key_of(secret: str | None, client: str | None) -> str:
    """The bucket key of a request: its secret's hash, or its client address without a key."""
    if secret:
        return hashlib.sha256(secret.encode()).hexdigest()[:32]
    return f"anonymous:{client or '-'}"


def retry_after(seconds: float) -> str:
    """A ``Retry-After`` value: whole seconds, at least 1."""
    return str(max(1, math.ceil(seconds))) if math.isfinite(seconds) else "60"
