"""Small network facts shared by every client and sandbox: the one loopback decision.

Loopback is decided by IP address after resolution, never by name: ``localhost`` counts
because it resolves to 127.0.0.1 / ::1, ``anything.localhost`` counts only if it really
resolves to loopback addresses (a DNS answer elsewhere makes it a remote host), and the
inet_aton shorthand ``127.1`` counts. A name that resolves to nothing is not loopback.
The HTTP layer (core.http) checks the connected socket's peer address as well, so a name
that resolves differently a moment later still cannot carry a plain-http request away.
"""

from __future__ import annotations

import ipaddress
import socket
import urllib.parse


def is_loopback_ip(address: str) -> bool:
    """True for an address in 127.0.0.0/8 or ::1 (also IPv4-mapped, with a zone id)."""
    try:
        ip = ipaddress.ip_address(address.split("%", 1)[0])
    except ValueError:
        return False
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped
    return ip.is_loopback


def resolve(host: str) -> list[str]:
    """Every address ``host`` resolves to (empty when it does not resolve).

    Brackets around an IPv6 address ("[::1]", as in a URL) are allowed.
    """
    host = host.strip().removeprefix("[").removesuffix("]")
    if not host:
        return []
    try:
        infos = socket.getaddrinfo(host, None, proto=socket.IPPROTO_TCP)
    except (OSError, UnicodeError, ValueError):
        return []
    return sorted({str(info[4][0]) for info in infos})


def is_loopback_host(host: str) -> bool:
    """True when ``host`` resolves, and only to loopback addresses."""
    addresses = resolve(host)
    return bool(addresses) and all(is_loopback_ip(a) for a in addresses)


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
