"""Mastodon's OAuth scopes and their hierarchy (``read`` covers every ``read:*``)."""

from __future__ import annotations

from collections.abc import Iterable

_READ = ("accounts", "blocks", "bookmarks", "favourites", "filters", "follows", "lists",
         "mutes", "notifications", "search", "statuses")
_WRITE = ("accounts", "blocks", "bookmarks", "conversations", "favourites", "filters",
          "follows", "lists", "media", "mutes", "notifications", "reports", "statuses")

#: Every scope a 4.3+ server knows (``scopes_supported``), in Mastodon's order.
ALL_SCOPES: tuple[str, ...] = (
    "read", "write", "push", "follow", "profile",
    *(f"read:{s}" for s in _READ), *(f"write:{s}" for s in _WRITE),
    "admin:read", "admin:write",
)
#: What a server before 4.3 knows (no ``profile``).
LEGACY_SCOPES: tuple[str, ...] = tuple(s for s in ALL_SCOPES if s != "profile")

DEFAULT_SCOPES: tuple[str, ...] = ("read",)


def split(text: str | None) -> list[str]:
    """Scopes as Mastodon reads them: separated by spaces or "+" (form encodings vary)."""
    if not text:
        return []
    return [s for s in text.replace("+", " ").split() if s]


def covers(granted: Iterable[str], needed: str) -> bool:
    """True when a granted scope is ``needed`` or its parent (``write`` ⊃ ``write:accounts``)."""
    return any(scope == needed or needed.startswith(scope + ":") for scope in granted)


def allows(granted: Iterable[str], any_of: Iterable[str]) -> bool:
    granted = tuple(granted)
    return any(covers(granted, needed) for needed in any_of)
