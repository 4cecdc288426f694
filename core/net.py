"""Small network facts shared by the X client and the sandbox."""

from __future__ import annotations

import ipaddress
import urllib.parse


def is_loopback_host(host: str) -> bool:
    """True for a name or address of this computer: localhost, *.localhost, 127/8, ::1.

    Brackets around an IPv6 address ("[::1]", as in a URL) are allowed.
    """
    host = host.strip("[]").lower()
    if host == "localhost" or host.endswith(".localhost"):
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def validate_api_base(url: str, *, what: str = "The API base URL") -> str:
    """``url`` without a trailing slash; https unless the host is loopback.

    Raises ValueError with a sentence for the user (services wrap it in their own
    InvalidApiBase).
    """
    try:
        parts = urllib.parse.urlsplit(url.strip())
        host = parts.hostname or ""
        parts.port  # noqa: B018 - raises ValueError for a bad port
    except ValueError:
        raise ValueError(f"{what} {url!r} is not a valid URL.") from None
    if parts.scheme not in ("https", "http") or not host:
        raise ValueError(f"{what} {url!r} must start with https://.")
    if parts.scheme == "http" and not is_loopback_host(host):
        raise ValueError(
            f"{what} {url!r} uses plain http; only https is allowed "
            "(plain http only for a sandbox on this computer, e.g. http://127.0.0.1:8400).")
    if parts.query or parts.fragment:
        raise ValueError(f"{what} {url!r} must not have a query or fragment.")
    return urllib.parse.urlunsplit((parts.scheme, parts.netloc, parts.path.rstrip("/"), "", ""))
