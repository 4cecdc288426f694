"""Mastodon behind the service seam: any instance, OAuth 2 code + PKCE, animated avatars.

``SERVICE`` (the :class:`~avatar_studio.core.services.base.Service` the registry lists)
is loaded on first use, so importing :mod:`.spec` or :mod:`.errors` stays cheap.
"""

from __future__ import annotations

from typing import Any


def __getattr__(name: str) -> Any:
    if name == "SERVICE":
        from avatar_studio.core.services.mastodon.service import SERVICE

        return SERVICE
    raise AttributeError(name)
