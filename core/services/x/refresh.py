"""After an upload: wait for X to publish the new picture, then fetch it.

X processes an upload asynchronously; users/show keeps reporting the old URL for a while
(at least 5 s by the docs). We wait that minimum, poll users/show by user id (about once a
second at first, backing off to every 5 s), never call once the advertised
x-rate-limit-remaining is used up, and give up after a time limit with
:class:`NotPublishedYet`, which keeps everything needed to check again.
"""

from __future__ import annotations

import logging
import threading
import time
import urllib.parse
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Protocol

from avatar_studio.core import http
from avatar_studio.core.services.x import spec
from avatar_studio.core.services.x.errors import (
    Cancelled,
    NetworkError,
    NotPublishedYet,
    RateLimited,
    ServerError,
    UnexpectedResponse,
)

if TYPE_CHECKING:
    from avatar_studio.core.services.x.client import RateLimit, XUser

log = logging.getLogger(__name__)

SHOW_PATH = "/1.1/users/show.json"
#: Size suffixes X appends to a profile picture's file name (none = the original).
VARIANTS = ("normal", "bigger", "mini", "200x200", "400x400")


@dataclass(frozen=True)
class PollPolicy:
    """How long and how often to ask users/show; tests shorten every number."""

    min_wait_s: float = spec.PROCESSING_MIN_WAIT_S
    first_interval_s: float = 1.0
    #: Polls at ``first_interval_s`` before backing off.
    fast_polls: int = 5
    backoff: float = 1.5
    max_interval_s: float = 5.0
    timeout_s: float = 120.0

    def interval(self, poll: int) -> float:
        """Seconds to wait after poll number ``poll`` (1-based)."""
        if poll <= self.fast_polls:
            return self.first_interval_s
        grown = self.first_interval_s * self.backoff ** (poll - self.fast_polls)
        return min(self.max_interval_s, grown)


@dataclass(frozen=True)
class RefreshResult:
    user: XUser
    #: The new profile_image_url_https (the ``_normal`` variant X reports).
    new_url: str
    #: The picture itself, and the URL it came from (``_400x400`` or the original).
    image: bytes
    image_url: str
    polls: int
    #: From the call to the return.
    waited_s: float
    #: From users/show first reporting the new URL to the return (target: <= 1.5 s).
    detect_to_return_s: float


class RefreshClient(Protocol):
    def show_user(self, user_id: str, *,
                  cancel: threading.Event | None = None) -> XUser: ...

    def download_image(self, url: str, *, cancel: threading.Event | None = None) -> bytes: ...

    def rate_limit(self, path: str) -> RateLimit | None: ...


def variant_url(url: str, variant: str | None) -> str:
    """The URL of another size of the same picture (None = the original upload)."""
    parts = urllib.parse.urlsplit(url)
    folder, _, filename = parts.path.rpartition("/")
    stem, dot, ext = filename.rpartition(".")
    if not dot:
        stem, ext = filename, ""
    base, underscore, suffix = stem.rpartition("_")
    # A name may itself start with "_" (e.g. "_65QFl7B_normal.png"): only strip a suffix.
    if underscore and base and suffix in VARIANTS:
        stem = base
    name = stem + (f"_{variant}" if variant else "") + (f".{ext}" if dot else "")
    return urllib.parse.urlunsplit(parts._replace(path=f"{folder}/{name}"))


def _download(client: RefreshClient, url: str,
              cancel: threading.Event | None) -> tuple[bytes, str]:
    candidates: list[str] = []
    for candidate in (variant_url(url, "400x400"), variant_url(url, None), url):
        if candidate not in candidates:
            candidates.append(candidate)
    last: UnexpectedResponse | None = None
    for candidate in candidates:
        try:
            return client.download_image(candidate, cancel=cancel), candidate
        except UnexpectedResponse as exc:
            log.info("Picture variant not available (%s); trying the next", exc.status)
            last = exc
    assert last is not None
    raise last


def wait_for_new_image(client: RefreshClient, user_id: str, old_url: str, *,
                       policy: PollPolicy = PollPolicy(),
                       on_attempt: Callable[[int], None] | None = None,
                       cancel: threading.Event | None = None,
                       clock: Callable[[], float] = time.monotonic) -> RefreshResult:
    """Poll until ``profile_image_url_https`` differs from ``old_url``; fetch the picture.

    Every request inside ends by the policy's timeout (core.http.deadline), so a server
    that drips its answers cannot keep ``upload --wait-timeout 8`` waiting past 8 s.
    """
    # A grace second for the answer being read when the time is up.
    with http.deadline(seconds=policy.timeout_s + 1.0):
        return _wait_for_new_image(client, user_id, old_url, policy=policy,
                                   on_attempt=on_attempt, cancel=cancel, clock=clock)


def _wait_for_new_image(client: RefreshClient, user_id: str, old_url: str, *,
                        policy: PollPolicy, on_attempt: Callable[[int], None] | None,
                        cancel: threading.Event | None,
                        clock: Callable[[], float]) -> RefreshResult:
    stop = cancel or threading.Event()
    started = clock()
    deadline = started + policy.timeout_s

    def not_yet(reason: str, *, cancelled: bool = False) -> NotPublishedYet:
        waited = clock() - started
        return NotPublishedYet(
            f"The upload was accepted, but X has not published the new image yet "
            f"({reason}).",
            hint="Nothing is lost: X keeps processing it. Check again later "
                 "(avatar-studio-cli whoami shows the current picture).",
            user_id=user_id, old_url=old_url, waited_s=waited, cancelled=cancelled)

    def pause(seconds: float) -> None:
        if seconds > 0 and stop.wait(seconds):
            raise not_yet("stopped waiting", cancelled=True)

    pause(min(policy.min_wait_s, policy.timeout_s))
    polls = 0
    while True:
        limit = client.rate_limit(SHOW_PATH)
        if limit is not None and limit.remaining <= 0 and clock() < limit.reset_monotonic:
            if limit.reset_monotonic > deadline:
                raise not_yet("the users/show rate limit is used up until "
                              f"{time.strftime('%H:%M:%S', time.localtime(limit.reset_epoch))}")
            log.info("users/show rate limit used up; waiting %.0f s for the reset",
                     limit.reset_monotonic - clock())
            pause(limit.reset_monotonic - clock())
        polls += 1
        if on_attempt is not None:
            on_attempt(polls)
        user: XUser | None = None
        try:
            user = client.show_user(user_id, cancel=stop)
        except Cancelled:  # stopped while users/show was on its way
            raise not_yet("stopped waiting", cancelled=True) from None
        except RateLimited:
            # The limit is now known (remembered from the 429's headers): loop to wait.
            log.info("users/show answered 429 while waiting for the new picture")
        except (ServerError, NetworkError) as exc:
            # Already retried inside the client; keep waiting rather than lose the upload.
            log.info("users/show failed while waiting (%s); will ask again",
                     type(exc).__name__)
        if user is not None:
            seen = clock()
            if user.profile_image_url_https and user.profile_image_url_https != old_url:
                image, image_url = _download(client, user.profile_image_url_https, stop)
                done = clock()
                log.info("New picture published after %d polls (%.1f s); fetched in %.0f ms",
                         polls, done - started, (done - seen) * 1000)
                return RefreshResult(user=user, new_url=user.profile_image_url_https,
                                     image=image, image_url=image_url, polls=polls,
                                     waited_s=done - started, detect_to_return_s=done - seen)
        now = clock()
        if now >= deadline:
            raise not_yet(f"still the old picture after {now - started:.0f} s")
        pause(min(policy.interval(polls), deadline - now))
