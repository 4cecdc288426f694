"""Mastodon's facts that are not code: the avatar limits per instance version, scopes."""

from __future__ import annotations

from avatar_studio.core.imaging.spec import RenderSpec

KEY = "mastodon"
DISPLAY_NAME = "Mastodon"
DEFAULT_API_BASE = "https://mastodon.social"
HELP_URL = "https://docs.joinmastodon.org/user/profile/"
CLIENT_NAME = "Avatar Studio"
MB = 1024 * 1024
#: Registered once per instance; Doorkeeper ignores the port of a loopback IP literal,
#: so one registration serves every ephemeral port (RFC 8252 §7.3).
LOOPBACK_REDIRECT = "http://127.0.0.1/callback"
OOB_REDIRECT = "urn:ietf:wg:oauth:2.0:oob"
#: Least scopes: ``profile`` (4.3+) reads only the own account; before, read:accounts.
SCOPES_4_3 = ("profile", "write:accounts")
SCOPES_LEGACY = ("read:accounts", "write:accounts")
#: Mastodon's avatar allow-list and geometry (app/models/concerns/account/avatar.rb).
FORMATS = ("JPEG", "PNG", "GIF", "WEBP")
OUTPUT_SIDE = 400
#: The web app shows avatars at 400 (profile), 120, 46 and 36 px, as rounded squares.
DISPLAY_SIZES = (400, 120, 46, 36)


def avatar_limit(version: tuple[int, int, int]) -> int:
    """8 MB where the release says so (4.6's editor: "up to 8 MB"), else 2 MB.

    Servers before 4.6 with libvips may take 8 MB too, but nothing in the API says so:
    2 MB is the limit every server accepts.
    """
    return 8 * MB if version >= (4, 6, 0) else 2 * MB


def render_spec(version: tuple[int, int, int], alt_text_max: int) -> RenderSpec:
    return RenderSpec(key=KEY, display_name=DISPLAY_NAME,
                      max_bytes_exclusive=avatar_limit(version), formats=FORMATS,
                      output_side=OUTPUT_SIDE, keeps_animation=True,
                      alt_text_max=alt_text_max, display_sizes=DISPLAY_SIZES,
                      round_display=False)


#: Before any instance was asked: the limits every Mastodon accepts, no alt text.
DEFAULT_SPEC = render_spec((4, 0, 0), 0)
