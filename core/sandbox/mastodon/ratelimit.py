"""Per-token request counting in fixed windows, with Mastodon's X-RateLimit-* headers."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime


def iso_reset(ts: float) -> str:
    """rack-attack's reset time: ISO 8601 with microseconds, UTC (``…T10:15:00.000000Z``)."""
    return datetime.fromtimestamp(ts, tz=UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


@dataclass(frozen=True)
class RateState:
    limit: int
    remaining: int
    reset: float
    allowed: bool

    def headers(self) -> dict[str, str]:
        return {"X-RateLimit-Limit": str(self.limit),
                "X-RateLimit-Remaining": str(self.remaining),
                "X-RateLimit-Reset": iso_reset(self.reset)}


class RateLimiter:
    def __init__(self, limit: int, window_s: float,
                 clock: Callable[[], float] = time.time) -> None:
        self.limit = limit
        self.window_s = window_s
        self.clock = clock
        self._lock = threading.Lock()
        self._windows: dict[str, tuple[float, int]] = {}

    def hit(self, key: str) -> RateState:
        now = self.clock()
        with self._lock:
            # rack-attack's windows are aligned to multiples of the period.
            start = now - (now % self.window_s)
            old_start, used = self._windows.get(key, (start, 0))
            if old_start != start:
                used = 0
            allowed = used < self.limit
            if allowed:
                used += 1
            self._windows[key] = (start, used)
        return RateState(self.limit, max(0, self.limit - used), start + self.window_s, allowed)

    def forced(self, reset_in_s: float) -> RateState:
        """A 429 injected by a fault: nothing left until ``reset_in_s`` from now."""
        return RateState(self.limit, 0, self.clock() + reset_in_s, False)

    def reset(self) -> None:
        with self._lock:
            self._windows.clear()
