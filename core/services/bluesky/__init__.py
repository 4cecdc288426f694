"""Bluesky (AT Protocol) behind the service seam: app-password sign-in, profile update.

``SERVICE`` is loaded on first use, so importing :mod:`.spec` or :mod:`.errors` stays cheap.
"""

from __future__ import annotations

from typing import Any


def __getattr__(name: str) -> Any:
    if name == "SERVICE":
        from avatar_studio.core.services.bluesky.service import SERVICE

        return SERVICE
    raise AttributeError(name)
