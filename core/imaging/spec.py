"""What a service accepts as a profile picture: the only service fact imaging needs.

Imaging never imports a service: a :class:`RenderSpec` is handed in, and the services
(``avatar_studio.core.services``) each publish theirs.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class RenderSpec:
    """Limits and display facts of one service's avatar (hashable: a render-cache key)."""

    #: Service key ("x", "mastodon", "bluesky"); with the numbers below, the cache key.
    key: str
    #: Encoded files must be strictly smaller than this many bytes.
    max_bytes_exclusive: int
    #: Pillow format names the service accepts, in order of preference.
    formats: tuple[str, ...]
    #: Largest output side in pixels; larger crops are scaled down to it, never up.
    output_side: int
    #: True when the service keeps every frame of an animated upload (Mastodon's GIF).
    keeps_animation: bool = False
    #: Longest alt text the service stores for the avatar; 0 = no alt text.
    alt_text_max: int = 0
    #: Sizes (CSS px) the service shows the avatar at, largest first.
    display_sizes: tuple[int, ...] = ()
    #: True when the service shows the avatar in a circle, False for a (rounded) square.
    round_display: bool = True
    #: The service's name for messages ("X's limit of ..."); "" = the key.
    display_name: str = ""

    @property
    def name(self) -> str:
        return self.display_name or self.key

    def accepts(self, pillow_format: str) -> bool:
        return pillow_format.upper() in self.formats
