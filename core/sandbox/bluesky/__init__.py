"""A faithful local stand-in for a Bluesky PDS (AT Protocol), for tests, demos and new users."""

from avatar_studio.core.sandbox.bluesky.config import BlueskySandboxConfig
from avatar_studio.core.sandbox.bluesky.server import BlueskyDemo, BlueskySandbox

__all__ = ["BlueskyDemo", "BlueskySandbox", "BlueskySandboxConfig"]
