"""Settings of one Mastodon sandbox: where it listens, which Mastodon it plays, its limits."""

from __future__ import annotations

import re
from dataclasses import dataclass

MB = 1024 * 1024

#: Mastodon's API version numbers per release (``api_versions.mastodon`` in
#: /api/v2/instance); older releases have none (0).
API_VERSIONS: tuple[tuple[tuple[int, int], int], ...] = (
    ((4, 6), 10), ((4, 5), 7), ((4, 4), 5), ((4, 3), 2),
)


def parse_version(text: str) -> tuple[int, int, int]:
    match = re.match(r"^\s*(\d+)\.(\d+)(?:\.(\d+))?", text)
    if match is None:
        raise ValueError(f"not a Mastodon version: {text!r} (expected X.Y.Z)")
    return int(match[1]), int(match[2]), int(match[3] or 0)


def api_version_for(version: str) -> int:
    major_minor = parse_version(version)[:2]
    for release, number in API_VERSIONS:
        if major_minor >= release:
            return number
    return 0


@dataclass
class MastodonSandboxConfig:
    host: str = "127.0.0.1"
    port: int = 0
    #: The release played: "4.6.0" (default) or e.g. "4.2.10" for a server before 4.3
    #: (no /.well-known/oauth-authorization-server, no PKCE, no ``profile`` scope).
    version: str = "4.6.0"
    #: Avatar files must be strictly smaller; None = by version (8 MB from 4.6, else 2 MB).
    avatar_limit_bytes: int | None = None
    #: ``configuration.accounts.max_avatar_description_length`` (4.6).
    max_avatar_description_length: int = 1500
    #: Requests per token and window (Mastodon's throttle_per_token_api: 300 per 5 min).
    rate_limit: int = 300
    rate_window_s: int = 300
    #: Requests whose body is larger are refused before parsing (nginx's client_max_body_size).
    max_request_bytes: int = 40 * MB
    #: Allow binding a non-loopback address.
    allow_remote: bool = False
    #: The instance's title and the demo account's username.
    title: str = "Mastodon Sandbox"
    demo_username: str = "demo"

    def __post_init__(self) -> None:
        parse_version(self.version)

    @property
    def version_tuple(self) -> tuple[int, int, int]:
        return parse_version(self.version)

    @property
    def api_version(self) -> int:
        return api_version_for(self.version)

    @property
    def has_oauth_metadata(self) -> bool:
        """4.3 added /.well-known/oauth-authorization-server, PKCE and ``profile``."""
        return self.version_tuple >= (4, 3, 0)

    @property
    def has_profile_api(self) -> bool:
        return self.api_version >= 8

    @property
    def has_avatar_description(self) -> bool:
        return self.api_version >= 9

    @property
    def has_password_grant(self) -> bool:
        return self.version_tuple < (4, 4, 0)

    @property
    def avatar_limit(self) -> int:
        if self.avatar_limit_bytes is not None:
            return self.avatar_limit_bytes
        return 8 * MB if self.version_tuple >= (4, 6, 0) else 2 * MB
