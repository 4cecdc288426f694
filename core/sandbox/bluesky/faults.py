"""Faults injected on purpose into the Bluesky sandbox (from code, the CLI or /_sandbox/).

The generic ones (latency, failing or dropping the next requests) behave as the X
sandbox's; the rest are the AT Protocol's own: a forced InvalidSwap, expired access
tokens, revoked refresh tokens, a takedown, 429s.
"""

from __future__ import annotations

import threading
from dataclasses import asdict, dataclass

from avatar_studio.core.sandbox import guard

#: Statuses fail_next can answer with, and the XRPC error name of each.
FAIL_STATUSES = {500: "InternalServerError", 502: "UpstreamFailure",
                 503: "NotEnoughResources", 504: "UpstreamTimeout"}


@dataclass(frozen=True)
class FaultSnapshot:
    latency_s: float
    fail_next: int
    fail_status: int
    drop_next: int
    invalid_swap_next: int
    rate_limit_next: int
    expired_access_tokens: int
    takedown: bool

    def as_dict(self) -> dict[str, object]:
        return asdict(self)


class BlueskyFaults:
    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._clear()

    def _clear(self) -> None:
        self._latency = 0.0
        self.pause = guard.Pause()
        self._fail_next = 0
        self._fail_status = 500
        self._drop_next = 0
        self._invalid_swap_next = 0
        self._rate_limit_next = 0
        self._expired: set[str] = set()
        self._takedown = False

    def set_latency(self, seconds: float | str) -> None:
        """Delay every API response (finite, 0 to 300 s: core.sandbox.guard)."""
        value = guard.parse_seconds(seconds)
        with self._lock:
            self._latency = value

    def delay(self) -> None:
        """Wait the configured latency; ends at once when the server stops."""
        latency = self.latency
        if latency > 0:
            self.pause.sleep(latency)  # the fault *is* a delay

    def fail_next(self, n: int = 1, status: int = 500) -> None:
        """Answer the next n XRPC requests with a 5xx XRPC error."""
        if status not in FAIL_STATUSES:
            raise ValueError(f"status must be one of {sorted(FAIL_STATUSES)}")
        with self._lock:
            self._fail_next = max(0, int(n))
            self._fail_status = status

    def drop_next(self, n: int = 1) -> None:
        """Close the connection of the next n XRPC requests without answering."""
        with self._lock:
            self._drop_next = max(0, int(n))

    def invalid_swap_next(self, n: int = 1) -> None:
        """The next n putRecord calls fail with InvalidSwap, as if another edit won."""
        with self._lock:
            self._invalid_swap_next = max(0, int(n))

    def rate_limit_next(self, n: int = 1) -> None:
        """Answer the next n XRPC requests with 429 RateLimitExceeded."""
        with self._lock:
            self._rate_limit_next = max(0, int(n))

    def expire_access_tokens(self, tokens: set[str]) -> None:
        """These access tokens (every one issued so far, from the control API) expire."""
        with self._lock:
            self._expired |= set(tokens)

    def set_takedown(self, on: bool = True) -> None:
        with self._lock:
            self._takedown = bool(on)

    def reset(self) -> None:
        with self._lock:
            self._clear()

    # --- consulted by the app ---------------------------------------------------

    @property
    def latency(self) -> float:
        with self._lock:
            return self._latency

    @property
    def takedown(self) -> bool:
        with self._lock:
            return self._takedown

    def access_expired(self, token: str) -> bool:
        with self._lock:
            return token in self._expired

    def _take(self, name: str) -> bool:
        with self._lock:
            left = getattr(self, name)
            if left > 0:
                setattr(self, name, left - 1)
                return True
            return False

    def take_drop(self) -> bool:
        return self._take("_drop_next")

    def take_invalid_swap(self) -> bool:
        return self._take("_invalid_swap_next")

    def take_rate_limit(self) -> bool:
        return self._take("_rate_limit_next")

    def take_failure(self) -> int | None:
        with self._lock:
            if self._fail_next > 0:
                self._fail_next -= 1
                return self._fail_status
            return None

    def snapshot(self) -> FaultSnapshot:
        with self._lock:
            return FaultSnapshot(self._latency, self._fail_next, self._fail_status,
                                 self._drop_next, self._invalid_swap_next,
                                 self._rate_limit_next, len(self._expired),
                                 self._takedown)
