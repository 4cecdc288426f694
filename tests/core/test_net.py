from __future__ import annotations

import pytest
from avatar_studio.core.net import is_loopback_host


# "sandbox.localhost" counts only when it resolves to loopback (tests/hostile/test_sandbox_raw).
@pytest.mark.parametrize("host", ["localhost", "LOCALHOST", "127.0.0.1",
                                  "127.8.9.10", "::1", "[::1]"])
def test_loopback(host: str) -> None:
    assert is_loopback_host(host)


@pytest.mark.parametrize("host", ["", "0.0.0.0", "::", "192.168.1.20", "example.com",  # noqa: S104
                                  "localhost.example.com", "10.0.0.1"])
def test_not_loopback(host: str) -> None:
    assert not is_loopback_host(host)
