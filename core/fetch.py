"""Download an image from an http(s) link, as dropped from a web browser.

Guarded the way a desktop app must be when it follows a link it did not choose (through
core.http): only http(s), a total deadline as well as a per-read timeout, a cancel that
ends even a silent download, a size cap checked both against Content-Length and while
streaming (after decompression), and the bytes themselves sniffed (a link to a web
page is refused even when the server calls it an image, and an image is accepted even
when the server calls it ``application/octet-stream``).
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import PurePosixPath
from typing import TYPE_CHECKING
from urllib.parse import unquote, urlsplit

from avatar_studio.core.errors import UserFacingError
from avatar_studio.core.version import DIST_NAME, __version__

if TYPE_CHECKING:
    # requests is imported by the first download (the window paints without it).
    from avatar_studio.core.http import BoundedSession

log = logging.getLogger(__name__)

USER_AGENT = f"{DIST_NAME}/{__version__} (image drop)"


class FetchError(UserFacingError):
    """A dropped or pasted link could not be turned into an image."""

    exit_code = 3


class FetchCancelled(FetchError):
    def __init__(self) -> None:
        super().__init__("The download was cancelled.")


@dataclass(frozen=True, slots=True)
class FetchLimits:
    max_bytes: int = 50 * 1024 * 1024
    #: Seconds to connect and between two reads.
    read_timeout_s: float = 10.0
    #: Seconds for the whole download.
    total_timeout_s: float = 30.0


DEFAULT_FETCH_LIMITS = FetchLimits()


@dataclass(frozen=True, slots=True)
class Fetched:
    url: str
    data: bytes
    #: What the bytes are (sniffed), e.g. "JPEG"; the server's claim is in content_type.
    kind: str
    content_type: str
    name: str


_MAGIC: tuple[tuple[bytes, int, str], ...] = (
    (b"\xff\xd8\xff", 0, "JPEG"),
    (b"\x89PNG\r\n\x1a\n", 0, "PNG"),
    (b"GIF87a", 0, "GIF"),
    (b"GIF89a", 0, "GIF"),
    (b"BM", 0, "BMP"),
    (b"II*\x00", 0, "TIFF"),
    (b"MM\x00*", 0, "TIFF"),
)
_FTYP_BRANDS = {b"avif": "AVIF", b"avis": "AVIF", b"heic": "HEIC", b"heix": "HEIC",
                b"mif1": "HEIF", b"msf1": "HEIF", b"hevc": "HEIC"}


def sniff_image_kind(data: bytes) -> str | None:
    """The image format the first bytes announce, or None if they are not an image."""
    for magic, offset, kind in _MAGIC:
        if data[offset:offset + len(magic)] == magic:
            return kind
    if data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        return "WEBP"
    if data[4:8] == b"ftyp":
        return _FTYP_BRANDS.get(data[8:12])
    return None


def is_web_url(text: str) -> bool:
    parts = urlsplit(text.strip())
    return parts.scheme.lower() in ("http", "https") and bool(parts.netloc)


def _name_from_url(url: str) -> str:
    name = PurePosixPath(unquote(urlsplit(url).path)).name
    return name or urlsplit(url).netloc


def _host(url: str) -> str:
    """Host and port for messages and logs: never the ``user:password@`` of a link."""
    parts = urlsplit(url)
    host = parts.hostname or ""
    if ":" in host:
        host = f"[{host}]"
    try:
        port = parts.port
    except ValueError:
        port = None
    return f"{host}:{port}" if port is not None else host


def _describe(content_type: str) -> str:
    base = content_type.split(";")[0].strip().lower()
    if base in ("text/html", "application/xhtml+xml"):
        return "a web page"
    return f"a file of type {base}" if base else "a file that is not an image"


def fetch_image(url: str, *, session: BoundedSession | None = None,
                limits: FetchLimits = DEFAULT_FETCH_LIMITS,
                cancel: threading.Event | None = None,
                progress: Callable[[int, int], None] | None = None) -> Fetched:
    """Download ``url`` and return its bytes if they are an image.

    Through core.http (``session``, else a new BoundedSession): the total deadline
    holds against a server that drips its answer, ``cancel`` ends the download within a
    moment even while the server is silent, the body is capped while it streams (after
    decompression). Plain http goes to any address and redirects to any http(s) origin:
    a link dropped from a browser may be plain http, and nothing secret is sent with it.

    ``progress(received, total)`` is called per piece (total is 0 when unknown).
    Raises :class:`FetchError` with a message for the user on every failure.
    """
    import requests
    from avatar_studio.core import http

    if not is_web_url(url):
        raise FetchError(f"Only http and https links can be opened, not {url[:80]!r}.")
    bounds = http.Limits(connect_s=limits.read_timeout_s, read_s=limits.read_timeout_s,
                         total_s=limits.total_timeout_s, max_body_bytes=limits.max_bytes,
                         plain_http_anywhere=True)
    own = session is None
    sess = session or http.BoundedSession(bounds)
    host = _host(url)
    try:
        with http.cancel_on(cancel), http.body_progress(progress):
            resp = sess.request("GET", url, limits=bounds, timeout=limits.read_timeout_s,
                                headers={"User-Agent": USER_AGENT,
                                         "Accept": "image/*,*/*;q=0.5"})
    except (http.RequestCancelled, http.BodyCancelled):
        raise FetchCancelled from None
    except http.DeadlineExceeded:
        raise FetchError(f"The download from {host} took longer than "
                         f"{limits.total_timeout_s:g} s and was stopped.") from None
    except http.ResponseTooLarge:
        raise FetchError(f"The linked file is too large (the limit is "
                         f"{limits.max_bytes / 1e6:.0f} MB).") from None
    except requests.Timeout:
        raise FetchError(f"{host} did not answer within {limits.read_timeout_s:g} s.") \
            from None
    except requests.exceptions.ChunkedEncodingError:
        raise FetchError(f"The connection to {host} broke off during the download.") \
            from None
    except requests.RequestException as exc:
        # Not the link nor the exception text (which quotes it): its query or
        # user:password may be a credential.
        log.info("Download from %s failed: %s", host, type(exc).__name__)
        raise FetchError(f"Could not download the image from {host}: "
                         "the connection failed.") from None
    finally:
        if own:
            sess.close()
    if resp.status_code != 200:
        raise FetchError(f"{host} answered {resp.status_code} {resp.reason} "
                         "instead of the image.")
    data = resp.content
    content_type = resp.headers.get("Content-Type", "")
    kind = sniff_image_kind(data)
    if kind is None:
        raise FetchError(f"The link points to {_describe(content_type)}, not an image. "
                         "Drag the picture itself, or save it and open the file.")
    log.info("Downloaded %d bytes (%s) from %s", len(data), kind, host)
    return Fetched(url=url, data=data, kind=kind, content_type=content_type,
                   name=_name_from_url(url))
