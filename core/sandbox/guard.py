"""Checks every sandbox (X, Mastodon, Bluesky) applies to what a client sends it.

Control values (``/_sandbox/latency?seconds=``, counts, statuses) and ids in a query are
text from the network: each is parsed here into a bounded value or refused with a
ValueError that the control endpoint turns into a 400 (never a 500 later on). Fault
delays sleep on an event the server sets when it stops, so a sandbox with a long latency
still stops at once (SIGTERM, Ctrl+C, ``stop()``).
"""

from __future__ import annotations

import math
import threading

#: The longest delay a fault may add to a response (seconds).
MAX_LATENCY_S = 300.0
#: The most requests a fail_next / drop_next style fault may cover.
MAX_COUNT = 10_000
#: Ids are unsigned 64-bit numbers at most (X's are below 2**63).
_MAX_ID_DIGITS = 20


def parse_seconds(text: str | float, *, maximum: float = MAX_LATENCY_S,
                  what: str = "seconds") -> float:
    """A finite number of seconds in [0, maximum] (text such as "1.5")."""
    try:
        value = float(text)
    except (TypeError, ValueError):
        raise ValueError(f"{what} must be a number of seconds, not {str(text)[:40]!r}"
                         ) from None
    if not math.isfinite(value) or value < 0 or value > maximum:
        raise ValueError(f"{what} must be between 0 and {maximum:g}, not {str(text)[:40]!r}")
    return value


def parse_count(text: str | int, *, maximum: int = MAX_COUNT, what: str = "n") -> int:
    """A whole number in [0, maximum], ASCII digits only ("²" and "١" are not numbers)."""
    raw = str(text).strip()
    if not (raw.isascii() and raw.isdigit() and len(raw) <= len(str(maximum))):
        raise ValueError(f"{what} must be a whole number from 0 to {maximum}, "
                         f"not {raw[:40]!r}")
    value = int(raw)
    if value > maximum:
        raise ValueError(f"{what} must be a whole number from 0 to {maximum}, not {value}")
    return value


def parse_id(text: str | None) -> int | None:
    """An id from a query (``user_id=``), or None when it cannot name anything: not
    ASCII digits ("²"), or longer than any id (5,000 digits). Never raises."""
    if not text or not (text.isascii() and text.isdigit()) or len(text) > _MAX_ID_DIGITS:
        return None
    return int(text)


class Pause:
    """A sleep that ends early, for everyone, once the server stops."""

    def __init__(self) -> None:
        self._stopping = threading.Event()

    def sleep(self, seconds: float) -> bool:
        """Sleep up to ``seconds``; False if cut short by :meth:`interrupt`."""
        return not self._stopping.wait(max(0.0, seconds))

    def interrupt(self) -> None:
        self._stopping.set()

    def rearm(self) -> None:
        """Allow sleeping again (a server started anew)."""
        self._stopping.clear()
