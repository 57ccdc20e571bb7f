"""Per-API-key rate limiting: a fixed window of one minute, counted in this process.

Each process counts on its own, so with N processes (uvicorn workers or replicas) a key
gets up to N times ``RATE_LIMIT_PER_MINUTE``. A counter in the database would be exact
across a cluster, but would turn every request, reads included, into a write, and on SQLite
queue every reader behind the one writer; the limit is a guard against runaway clients,
not a billing quota, so it stays in memory. Exact cluster-wide limits belong in the proxy.
"""

from __future__ import annotations

import math
import threading
import time
from collections.abc import Callable

from service.errors import RateLimitedError

WINDOW_SECONDS = 60.0


class RateLimiter:
    """At most ``per_minute`` requests per key in each minute of ``clock``; 0 disables it.

    Thread-safe: sync dependencies run in the thread pool.
    """

    def __init__(self, per_minute: int, *, clock: Callable[[], float] = time.monotonic) -> None:
        self.per_minute = per_minute
        self._clock = clock
        self._lock = threading.Lock()
        self._window = -1
        self._counts: dict[int, int] = {}

    def hit(self, key_id: int) -> None:
        """Count one request by ``key_id``.

        Raises
        ------
        RateLimitedError
            When the key has used up this window; ``retry_after`` is the whole seconds
            until the next window starts (at least 1).
        """
        if self.per_minute <= 0:
            return
        now = self._clock()
        window = math.floor(now / WINDOW_SECONDS)
        with self._lock:
            if window != self._window:
                # A new window forgets every count, so memory stays one entry per active key.
                self._window, self._counts = window, {}
            count = self._counts.get(key_id, 0) + 1
            self._counts[key_id] = count
        if count > self.per_minute:
            retry_after = max(1, math.ceil((window + 1) * WINDOW_SECONDS - now))
            raise RateLimitedError(
                f"This API key has made more than {self.per_minute} requests this minute.",
                retry_after=retry_after,
            )
