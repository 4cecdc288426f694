"""Small network facts shared by the X client and the sandbox."""

from __future__ import annotations

import ipaddress


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
