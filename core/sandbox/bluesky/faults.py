"""Faults injected on purpose into the Bluesky sandbox (from code, the CLI or /_sandbox/).

The generic ones (latency, failing or dropping the next requests) behave as the X
sandbox's; the rest are the AT Protocol's own: a forced InvalidSwap, expired access
tokens, revoked refresh tokens, a takedown, 429s.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

from avatar_studio.core.sandbox.basicfaults import BasicFaults

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


class BlueskyFaults(BasicFaults):
    """fail_next answers with a 5xx XRPC error (FAIL_STATUSES)."""

    FAIL_STATUSES = FAIL_STATUSES
    FAIL_STATUS_ERROR = f"status must be one of {sorted(FAIL_STATUSES)}"

    def __init__(self) -> None:
        super().__init__()
        self._clear()

    def _clear(self) -> None:
        self._clear_basic()
        self._invalid_swap_next = 0
        self._rate_limit_next = 0
        self._expired: set[str] = set()
        self._takedown = False

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

    def take_invalid_swap(self) -> bool:
        return self._take("_invalid_swap_next")

    def take_rate_limit(self) -> bool:
        return self._take("_rate_limit_next")

    def snapshot(self) -> FaultSnapshot:
        with self._lock:
            return FaultSnapshot(self._latency, self._fail_next, self._fail_status,
                                 self._drop_next, self._invalid_swap_next,
                                 self._rate_limit_next, len(self._expired),
                                 self._takedown)
