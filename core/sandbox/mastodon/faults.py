"""Faults injected on purpose (from code, the CLI or /_sandbox/), like the X sandbox's."""

from __future__ import annotations

from dataclasses import dataclass

from avatar_studio.core.sandbox.basicfaults import BasicFaults
from avatar_studio.core.sandbox.mastodon.state import MastodonState

FAIL_STATUSES = (500, 502, 503, 504)


@dataclass(frozen=True)
class FaultSnapshot:
    latency_s: float
    fail_next: int
    fail_status: int
    drop_next: int
    rate_limit_next: int
    rate_limit_reset_s: float

    def as_dict(self) -> dict[str, object]:
        return {"latency_s": self.latency_s, "fail_next": self.fail_next,
                "fail_status": self.fail_status, "drop_next": self.drop_next,
                "rate_limit_next": self.rate_limit_next,
                "rate_limit_reset_s": self.rate_limit_reset_s}


class Faults(BasicFaults):
    """fail_next answers with 500 (Rails), 502, 503 or 504 (the proxy)."""

    FAIL_STATUSES = FAIL_STATUSES
    FAIL_STATUS_ERROR = "status must be 500, 502, 503 or 504"

    def __init__(self, state: MastodonState) -> None:
        super().__init__()
        self._state = state
        self._rate_next = 0
        self._rate_reset_s = 2.0
        # What revoke_token/set_scopes changed, so reset() undoes exactly that.
        self._revoked: set[str] = set()
        self._scopes_before: dict[str, list[str]] = {}

    def rate_limit_next(self, n: int = 1, reset_in_s: float = 2.0) -> None:
        """Answer the next n API requests with 429, the window resetting after reset_in_s."""
        with self._lock:
            self._rate_next = max(0, int(n))
            self._rate_reset_s = max(0.0, float(reset_in_s))

    def revoke_token(self, access_token: str) -> bool:
        """The user revoked the app in their settings; False if the token is unknown."""
        with self._state.lock:
            token = self._state.tokens.get(access_token)
            if token is None:
                return False
            if not token.revoked:
                self._revoked.add(access_token)
            token.revoked = True
            return True

    def set_scopes(self, access_token: str, scopes: list[str]) -> bool:
        """Give a token other scopes (e.g. one without write:accounts, for 403s)."""
        with self._state.lock:
            token = self._state.tokens.get(access_token)
            if token is None:
                return False
            self._scopes_before.setdefault(access_token, list(token.scopes))
            token.scopes = list(scopes)
            return True

    def reset(self) -> None:
        with self._state.lock:
            for value in self._revoked:
                if value in self._state.tokens:
                    self._state.tokens[value].revoked = False
            for value, scopes in self._scopes_before.items():
                if value in self._state.tokens:
                    self._state.tokens[value].scopes = scopes
            self._revoked.clear()
            self._scopes_before.clear()
        with self._lock:
            self._clear_basic()
            self._rate_next = 0

    def take_rate_limit(self) -> float | None:
        """Seconds until the forced window resets, or None."""
        with self._lock:
            if self._rate_next > 0:
                self._rate_next -= 1
                return self._rate_reset_s
            return None

    def snapshot(self) -> FaultSnapshot:
        with self._lock:
            return FaultSnapshot(self._latency, self._fail_next, self._fail_status,
                                 self._drop_next, self._rate_next, self._rate_reset_s)
