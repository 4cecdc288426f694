"""Bluesky's facts that are not code: the avatar's limits, the default entryway."""

from __future__ import annotations

import re

from avatar_studio.core.imaging.spec import RenderSpec

KEY = "bluesky"
DISPLAY_NAME = "Bluesky"
#: The entryway: a password sign-in there follows the session's didDoc to the user's PDS.
DEFAULT_API_BASE = "https://bsky.social"
DEFAULT_PLC_URL = "https://plc.directory"
HELP_URL = "https://bsky.app/settings/app-passwords"
PROFILE_NSID = "app.bsky.actor.profile"
PROFILE_RKEY = "self"
#: app.bsky.actor.profile's avatar: accept image/png and image/jpeg, maxSize 1000000.
MAX_AVATAR_BYTES = 1_000_000
#: Bluesky's own app crops avatars to 1000x1000.
OUTPUT_SIDE = 1000

BLUESKY_SPEC = RenderSpec(
    key=KEY,
    display_name=DISPLAY_NAME,
    max_bytes_exclusive=MAX_AVATAR_BYTES,
    formats=("JPEG", "PNG"),  # no GIF or WebP: an animation becomes its first frame
    output_side=OUTPUT_SIDE,
    keeps_animation=False,
    alt_text_max=0,
    round_display=True,
)

_APP_PASSWORD = re.compile(r"^[a-z0-9]{4}-[a-z0-9]{4}-[a-z0-9]{4}-[a-z0-9]{4}$")


def looks_like_app_password(password: str) -> bool:
    """True for Bluesky's app-password form, xxxx-xxxx-xxxx-xxxx."""
    return bool(_APP_PASSWORD.match(password.strip().lower()))


def app_password_warning(password: str) -> str:
    """A warning to show when ``password`` is probably the account's main password."""
    if not password or looks_like_app_password(password):
        return ""
    return ("This does not look like an app password (xxxx-xxxx-xxxx-xxxx). Make one in "
            "Bluesky under Settings › Privacy and security › App passwords rather than "
            "giving this app your main password.")
