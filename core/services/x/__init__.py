"""X (Twitter) API v1.1 behind the service seam: OAuth 1.0a PIN sign-in, upload, refresh.

``SERVICE`` (the :class:`~avatar_studio.core.services.base.Service` the registry lists)
is loaded on first use, so importing :mod:`.spec` or :mod:`.errors` stays cheap.
"""

from __future__ import annotations

from typing import Any


def __getattr__(name: str) -> Any:
    if name == "SERVICE":
        from avatar_studio.core.services.x.service import SERVICE

        return SERVICE
    raise AttributeError(name)
