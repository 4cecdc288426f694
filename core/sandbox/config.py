"""Settings of one sandbox instance: where it listens, how fast it works, its limits."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

#: 700 KiB: the documented "less than 700 kilobytes" read as tweepy 3 read it (raw bytes).
DEFAULT_MAX_IMAGE_BYTES = 716_800
#: The limit X's server enforced in 2021 ("Image size must be <= 2.0 MiB.").
X_2021_MAX_IMAGE_BYTES = 2 * 1024 * 1024

#: Requests per window and token, as X documents them (user auth, 15-minute windows).
#: update_profile_image has no published limit, so it is not limited unless configured.
DEFAULT_RATE_LIMITS: dict[str, int] = {
    "verify_credentials": 75,
    "users_show": 900,
}


def default_rate_limits() -> dict[str, int]:
    return dict(DEFAULT_RATE_LIMITS)


@dataclass
class SandboxConfig:
    host: str = "127.0.0.1"
    port: int = 0
    #: Seconds between an accepted upload and the new profile image URL appearing.
    processing_delay: float = 5.0
    #: Largest accepted image, in decoded bytes, whichever encoding the client used.
    max_image_bytes: int = DEFAULT_MAX_IMAGE_BYTES
    rate_limits: dict[str, int] = field(default_factory=default_rate_limits)
    rate_window_s: int = 900
    #: Largest accepted difference between oauth_timestamp and the server clock.
    timestamp_skew_s: int = 300
    #: None keeps everything in memory; a folder persists apps, users, tokens, images.
    state_dir: Path | None = None
    #: How long a replaced profile image stays reachable at its old URL.
    old_url_ttl_s: float = 300.0
    #: Requests whose body exceeds this are refused with 413 before any parsing
    #: (X's front end does the same for oversize uploads).
    max_request_bytes: int = 8 * 1024 * 1024
    #: A base64 image in the query string longer than this gets 414, as X's front end did.
    max_query_bytes: int = 8192
    #: Allow binding a non-loopback address (the CLI warns when it is used).
    allow_remote: bool = False
