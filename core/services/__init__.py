"""Per-service facts in one place: byte limit, formats, output size, auth kind.

X comes first; Mastodon and Bluesky get their own entries here later, and nothing else
in the code base hard-codes these numbers.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import Enum


class AuthKind(Enum):
    OAUTH1_PIN = "oauth1-pin"


@dataclass(frozen=True, slots=True)
class ServiceProfile:
    """What one service accepts as a profile image."""

    key: str
    display_name: str
    #: Encoded files must be strictly smaller than this many bytes.
    max_bytes_exclusive: int
    #: Pillow format names the service accepts, in order of preference.
    formats: tuple[str, ...]
    #: Largest output side in pixels; larger crops are scaled down to it, never up.
    output_side: int
    #: Animated images lose all frames but one on this service.
    keeps_animation: bool
    auth: AuthKind
    default_api_base: str
    #: Minimum wait after an upload before asking for the new image (seconds).
    processing_min_wait_s: float

    def accepts(self, pillow_format: str) -> bool:
        return pillow_format.upper() in self.formats


X = ServiceProfile(
    key="x",
    display_name="X",
    # The docs say "less than 700 kilobytes"; we read it as the strictest plausible value.
    max_bytes_exclusive=700_000,
    formats=("JPEG", "PNG", "GIF"),
    output_side=400,
    keeps_animation=False,
    auth=AuthKind.OAUTH1_PIN,
    default_api_base="https://api.x.com",
    processing_min_wait_s=5.0,
)

SERVICES: dict[str, ServiceProfile] = {X.key: X}


def get_service(key: str) -> ServiceProfile:
    try:
        return SERVICES[key]
    except KeyError:
        raise KeyError(f"unknown service {key!r}; known: {', '.join(SERVICES)}") from None
