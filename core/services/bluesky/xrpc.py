"""A small XRPC client over requests: queries, procedures, raw uploads with progress.

No token is ever logged or put into an exception: errors carry the PDS's own
``error``/``message`` only (they name no secret).
"""

from __future__ import annotations

import logging
import threading
import urllib.parse
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

import requests
from avatar_studio.core import http as core_http
from avatar_studio.core.net import is_loopback_host
from avatar_studio.core.services import errors as seam
from avatar_studio.core.services.bluesky.errors import (
    Context,
    parse_failure,
)
from avatar_studio.core.services.bluesky.spec import HELP_URL, KEY

log = logging.getLogger(__name__)

ProgressCallback = Callable[[int, int], None]
#: Largest JSON answer read, and largest downloaded avatar.
MAX_JSON_BYTES = 2 * 1024 * 1024
MAX_IMAGE_BYTES = 8 * 1024 * 1024


@dataclass(frozen=True)
class Timeouts:
    connect_s: float = 10.0
    read_s: float = 30.0
    upload_read_s: float = 90.0


def validate_base(url: str, what: str = "Bluesky server") -> str:
    """``https://host[:port]`` (or plain http on loopback), without a trailing slash."""
    text = url.strip().rstrip("/")
    parts = urllib.parse.urlsplit(text)
    host = parts.hostname or ""
    if parts.scheme not in ("https", "http") or not host or parts.query or parts.fragment:
        raise seam.InvalidApiBase(f"{what} address {text!r} is not a valid https URL.",
                                  service=KEY, help_url=HELP_URL)
    if parts.scheme == "http" and not is_loopback_host(host):
        raise seam.InvalidApiBase(f"{what} address {text!r} must use https.",
                                  hint="Plain http is allowed only on this computer "
                                  "(loopback), e.g. for the sandbox.", service=KEY,
                                  help_url=HELP_URL)
    if parts.path not in ("", "/"):
        raise seam.InvalidApiBase(f"{what} address {text!r} must not have a path.",
                                  service=KEY, help_url=HELP_URL)
    return text


class Xrpc:
    """Calls one PDS (``base``); ``token`` is the bearer for authenticated calls."""

    def __init__(self, base: str, *, http: requests.Session | None = None,
                 timeouts: Timeouts | None = None) -> None:
        self.base = validate_base(base)
        self.http = http or core_http.BoundedSession()  # bounded: core/http.py
        self._own_http = http is None
        self.timeouts = timeouts or Timeouts()

    def close(self) -> None:
        if self._own_http:
            self.http.close()

    def url(self, nsid: str) -> str:
        return f"{self.base}/xrpc/{nsid}"

    def call(self, nsid: str, *, context: Context = Context.API, token: str | None = None,
             params: Mapping[str, str] | None = None, body: Any = None,
             data: bytes | None = None, content_type: str | None = None,
             progress: ProgressCallback | None = None,
             cancel: threading.Event | None = None, procedure: bool | None = None) -> Any:
        """The JSON answer (None for an empty one); raises XrpcFailure for non-2xx and
        the seam's NetworkError / Cancelled for the rest."""
        is_post = procedure if procedure is not None else (body is not None
                                                          or data is not None)
        headers = {"Accept": "application/json"}
        if token:
            headers["Authorization"] = f"Bearer {token}"
        kwargs: dict[str, Any] = {}
        stream: core_http.ProgressBody | None = None
        read_timeout = self.timeouts.read_s
        if data is not None:
            headers["Content-Type"] = content_type or "application/octet-stream"
            stream = core_http.ProgressBody(data, progress, cancel, block=64 * 1024)
            kwargs["data"] = stream
            read_timeout = self.timeouts.upload_read_s
        elif body is not None:
            kwargs["json"] = body
        if cancel is not None and cancel.is_set():
            raise _cancelled(context)
        try:
            with core_http.cancel_on(cancel):
                response = self.http.request(
                    "POST" if is_post else "GET", self.url(nsid), params=params,
                    headers=headers, timeout=(self.timeouts.connect_s, read_timeout),
                    stream=True, allow_redirects=False, **kwargs)
        except core_http.RequestCancelled:
            raise seam.Cancelled(seam.stopped_waiting("Bluesky", uploaded=stream is not None),
                                 service=KEY, help_url=HELP_URL) from None
        except core_http.BodyCancelled:
            raise _cancelled(context) from None
        except requests.RequestException as exc:
            if isinstance(exc.__context__, core_http.BodyCancelled) or (cancel is not None
                                                          and cancel.is_set()):
                raise _cancelled(context) from None
            raise network_error(exc, self.base) from None
        with response:
            raw = core_http.body_prefix(response, MAX_JSON_BYTES + 1)
            status = response.status_code
            if stream is not None and progress is not None and stream.reported < len(stream):
                progress(len(stream), len(stream))
            if not 200 <= status < 300:
                raise parse_failure(status, raw, response.headers)
        if not raw:
            return None
        if len(raw) > MAX_JSON_BYTES:
            raise seam.UnexpectedResponse("Bluesky's answer was too large.", service=KEY,
                                          help_url=HELP_URL)
        try:
            return core_http.parse_json(raw)
        except ValueError:
            raise seam.UnexpectedResponse("Bluesky's answer was not JSON.", status=status,
                                          service=KEY, help_url=HELP_URL) from None

    def download(self, url: str, *, cancel: threading.Event | None = None,
                 limit: int = MAX_IMAGE_BYTES) -> bytes:
        validate_base(urllib.parse.urlunsplit((*urllib.parse.urlsplit(url)[:2], "", "", "")),
                      "Image")
        try:
            response = self.http.get(url, timeout=(self.timeouts.connect_s,
                                                   self.timeouts.read_s), stream=True)
        except requests.RequestException as exc:
            raise network_error(exc, url) from None
        with response:
            if response.status_code != 200:
                raise seam.UnexpectedResponse(
                    f"The new picture could not be downloaded (HTTP {response.status_code}).",
                    status=response.status_code, service=KEY, help_url=HELP_URL)
            chunks: list[bytes] = []
            size = 0
            for chunk in response.iter_content(64 * 1024):
                if cancel is not None and cancel.is_set():
                    raise seam.Cancelled(service=KEY)
                size += len(chunk)
                if size > limit:
                    raise seam.UnexpectedResponse("The downloaded picture is too large.",
                                                  service=KEY, help_url=HELP_URL)
                chunks.append(chunk)
        return b"".join(chunks)


def _cancelled(context: Context) -> seam.Cancelled:
    if context is Context.UPLOAD:
        return seam.UploadCancelled(service=KEY, help_url=HELP_URL)
    return seam.Cancelled(service=KEY, help_url=HELP_URL)


def network_error(exc: requests.RequestException, url: str) -> seam.NetworkError:
    host = urllib.parse.urlsplit(url).netloc or url
    what = core_http.failure_reason(exc)
    return seam.NetworkError(f"Could not reach Bluesky at {host}: {what}.",
                             hint="Check the network connection (and any proxy) and try "
                             "again.", service=KEY, help_url=HELP_URL)

