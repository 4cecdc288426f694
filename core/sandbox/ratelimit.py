"""Per-token, per-endpoint request counting in fixed windows (X's 15-minute windows)."""

from __future__ import annotations

import math
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass


@dataclass(frozen=True)
class RateState:
    limit: int
    remaining: int
    #: Unix epoch seconds when the window resets (the x-rate-limit-reset header).
    reset: int
    allowed: bool

    def headers(self) -> dict[str, str]:
        return {
            "x-rate-limit-limit": str(self.limit),
            "x-rate-limit-remaining": str(self.remaining),
            "x-rate-limit-reset": str(self.reset),
        }


class RateLimiter:
    """Counts requests; a window starts with the first request after the last one ended."""

    def __init__(self, limits: dict[str, int], window_s: float,
                 clock: Callable[[], float] = time.time) -> None:
        self.limits = dict(limits)
        self.window_s = window_s
        self.clock = clock
        self._lock = threading.Lock()
        self._windows: dict[tuple[str, str], tuple[float, int]] = {}

    def hit(self, token: str, endpoint: str) -> RateState | None:
        """Count one request; None when the endpoint has no limit."""
        limit = self.limits.get(endpoint)
        if limit is None:
            return None
        now = self.clock()
        with self._lock:
            start, used = self._windows.get((token, endpoint), (now, 0))
            if now >= start + self.window_s:
                start, used = now, 0
            allowed = used < limit
            if allowed:
                used += 1
            self._windows[(token, endpoint)] = (start, used)
        return RateState(limit=limit, remaining=max(0, limit - used),
                         reset=math.ceil(start + self.window_s), allowed=allowed)

    def reset(self) -> None:
        with self._lock:
            self._windows.clear()
