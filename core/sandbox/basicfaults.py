"""The faults every sandbox has: latency, failing or dropping the next requests.

Each sandbox's ``faults`` module subclasses :class:`BasicFaults` for its own statuses
and adds the faults only its service has.
"""

from __future__ import annotations

import contextlib
import socket
import threading
from collections.abc import Collection, Mapping
from typing import Any

from avatar_studio.core.sandbox import guard


class DropConnection(ConnectionAbortedError):
    """Raised after the socket was shut down: the server treats it as a dropped client."""


class BasicFaults:
    #: The statuses fail_next may answer with, and the error naming them.
    FAIL_STATUSES: Collection[int] = (500, 503)
    FAIL_STATUS_ERROR = "status must be 500 or 503"

    def __init__(self) -> None:
        self._lock = threading.Lock()
        #: Shared with the server, which interrupts it at stop: kept across reset().
        self.pause = guard.Pause()
        self._clear_basic()

    def _clear_basic(self) -> None:
        """Back to no fault; the caller holds ``_lock`` (or is __init__)."""
        self._latency = 0.0
        self._fail_next = 0
        self._fail_status = 500
        self._drop_next = 0

    def set_latency(self, seconds: float | str) -> None:
        """Delay every API response by this many seconds (finite, 0 to 300: guard)."""
        value = guard.parse_seconds(seconds)
        with self._lock:
            self._latency = value

    def delay(self) -> None:
        """Wait the configured latency; ends at once when the server stops."""
        latency = self.latency
        if latency > 0:
            self.pause.sleep(latency)  # the fault *is* a delay

    def delay_or_drop(self, environ: Mapping[str, Any]) -> None:
        """Before an API request: wait the latency, then, if a drop is due, shut the
        request's socket down and raise :class:`DropConnection`."""
        self.delay()
        if self.take_drop():
            sock = environ.get("werkzeug.socket")
            if isinstance(sock, socket.socket):
                with contextlib.suppress(OSError):
                    sock.shutdown(socket.SHUT_RDWR)
            raise DropConnection("sandbox fault: connection dropped")

    def fail_next(self, n: int = 1, status: int = 500) -> None:
        """Answer the next n API requests with ``status`` (one of FAIL_STATUSES)."""
        if status not in self.FAIL_STATUSES:
            raise ValueError(self.FAIL_STATUS_ERROR)
        with self._lock:
            self._fail_next = max(0, int(n))
            self._fail_status = status

    def drop_next(self, n: int = 1) -> None:
        """Close the connection of the next n API requests without answering."""
        with self._lock:
            self._drop_next = max(0, int(n))

    # --- consulted by the app ------------------------------------------------------

    @property
    def latency(self) -> float:
        with self._lock:
            return self._latency

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


def basic_action(faults: BasicFaults, action: str, values: Mapping[str, str]) -> bool:
    """Apply one of the ``/_sandbox/<action>`` actions every sandbox has (latency,
    fail_next, drop_next); False if ``action`` is not one of them."""
    if action == "latency":
        faults.set_latency(values.get("seconds", "0"))
    elif action == "fail_next":
        faults.fail_next(guard.parse_count(values.get("n", "1")),
                         status=guard.parse_count(values.get("status", "500"),
                                                  maximum=599, what="status"))
    elif action == "drop_next":
        faults.drop_next(guard.parse_count(values.get("n", "1")))
    else:
        return False
    return True
