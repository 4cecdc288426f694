"""Faults injected on purpose, for tests and demos (from code, the CLI or /_sandbox/)."""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass

from avatar_studio.core.sandbox import guard
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


class Faults:
    """Switches the request pipeline and the image worker consult."""

    def __init__(self, state: SandboxState) -> None:
        self._state = state
        self._lock = threading.Lock()
        self._latency = 0.0
        self.pause = guard.Pause()
        self._fail_next = 0
        self._fail_status = 500
        self._drop_next = 0
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

    def set_latency(self, seconds: float | str) -> None:
        """Delay every API response by this many seconds (finite, 0 to 300)."""
        value = guard.parse_seconds(seconds)
        with self._lock:
            self._latency = value

    def delay(self) -> None:
        """Wait the configured latency; ends at once when the server stops."""
        latency = self.latency
        if latency > 0:
            self.pause.sleep(latency)  # the fault *is* a delay

    def fail_next(self, n: int = 1, status: int = 500) -> None:
        """Answer the next n API requests with 500 (code 131) or 503 (code 130)."""
        if status not in (500, 503):
            raise ValueError("status must be 500 or 503")
        with self._lock:
            self._fail_next = max(0, int(n))
            self._fail_status = status

    def drop_next(self, n: int = 1) -> None:
        """Close the connection of the next n API requests without answering."""
        with self._lock:
            self._drop_next = max(0, int(n))

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
            self._latency = 0.0
            self._fail_next = 0
            self._fail_status = 500
            self._drop_next = 0
            self._stall = False
        self._notify()

    # --- consulted by the app and the worker -----------------------------------------

    @property
    def latency(self) -> float:
        with self._lock:
            return self._latency

    @property
    def stalled(self) -> bool:
        with self._lock:
            return self._stall

    def take_drop(self) -> bool:
        with self._lock:
            if self._drop_next > 0:
                self._drop_next -= 1
                return True
            return False

    def take_failure(self) -> int | None:
        with self._lock:
            if self._fail_next > 0:
                self._fail_next -= 1
                return self._fail_status
            return None

    def snapshot(self) -> FaultSnapshot:
        with self._lock:
            return FaultSnapshot(self._latency, self._fail_next, self._fail_status,
                                 self._drop_next, self._stall)
