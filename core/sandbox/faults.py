"""Faults injected on purpose, for tests and demos (from code, the CLI or /_sandbox/)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from avatar_studio.core.sandbox.basicfaults import BasicFaults
from avatar_studio.core.sandbox.state import SandboxState


@dataclass(frozen=True)
class FaultSnapshot:
    latency_s: float
    fail_next: int
    fail_status: int
    drop_next: int
    stall_processing: bool

    def as_dict(self) -> dict[str, object]:
        return {"latency_s": self.latency_s, "fail_next": self.fail_next,
                "fail_status": self.fail_status, "drop_next": self.drop_next,
                "stall_processing": self.stall_processing}


class Faults(BasicFaults):
    """Switches the request pipeline and the image worker consult.

    fail_next answers with 500 (code 131) or 503 (code 130).
    """

    def __init__(self, state: SandboxState) -> None:
        super().__init__()
        self._state = state
        self._stall = False
        # What revoke_token/set_read_only changed, so reset() can undo exactly that.
        self._revoked: set[str] = set()
        self._made_read_only: dict[str, bool] = {}
        self._listeners: list[Callable[[], None]] = []

    def add_listener(self, callback: Callable[[], None]) -> None:
        """Call ``callback`` (without arguments) after the processing switch changes."""
        self._listeners.append(callback)

    def _notify(self) -> None:
        for callback in list(self._listeners):
            callback()

    def stall_processing(self, on: bool = True) -> None:
        """Accept uploads but never finish processing them (until turned off)."""
        with self._lock:
            self._stall = bool(on)
        self._notify()

    def revoke_token(self, access_token: str) -> bool:
        """Revoke an access token (the user removed the app); False if unknown."""
        with self._state.lock:
            token = self._state.access_tokens.get(access_token)
            if token is None:
                return False
            if not token.revoked:
                self._revoked.add(access_token)
            token.revoked = True
            self._state.save()
            return True

    def set_read_only(self, api_key: str, on: bool = True) -> bool:
        """Make an app read-only (its tokens may no longer POST); False if unknown."""
        with self._state.lock:
            app = self._state.apps.get(api_key)
            if app is None:
                return False
            self._made_read_only.setdefault(api_key, app.read_only)
            app.read_only = bool(on)
            self._state.save()
            return True

    def reset(self) -> None:
        """Clear every fault, including tokens revoked and apps made read-only here."""
        with self._state.lock:
            for token in self._revoked:
                if token in self._state.access_tokens:
                    self._state.access_tokens[token].revoked = False
            for api_key, was in self._made_read_only.items():
                if api_key in self._state.apps:
                    self._state.apps[api_key].read_only = was
            self._revoked.clear()
            self._made_read_only.clear()
            self._state.save()
        with self._lock:
            self._clear_basic()
            self._stall = False
        self._notify()

    # --- consulted by the app and the worker -----------------------------------------

    @property
    def stalled(self) -> bool:
        with self._lock:
            return self._stall

    def snapshot(self) -> FaultSnapshot:
        with self._lock:
            return FaultSnapshot(self._latency, self._fail_next, self._fail_status,
                                 self._drop_next, self._stall)
