"""core.fetch (a link dropped from a browser) against the hostile loopback server: every
attack ends within the download's own limits, with the user's message."""

from __future__ import annotations

import time
from collections.abc import Iterator

import pytest
from avatar_studio.core.fetch import FetchError, FetchLimits, fetch_image

from tests.hostile.hostile_server import HostileServer, hostile_server

QUICK = FetchLimits(max_bytes=4 * 1024 * 1024, read_timeout_s=5, total_timeout_s=2.0)


@pytest.fixture(scope="module")
def server() -> Iterator[HostileServer]:
    with hostile_server() as running:
        yield running


@pytest.mark.parametrize("path", ["drip", "drip-headers"])
def test_a_dripping_server_ends_at_the_total_deadline(server: HostileServer, path: str
                                                      ) -> None:
    # Each byte comes well within the 5 s read timeout; only the 2 s deadline ends it.
    started = time.monotonic()
    with pytest.raises(FetchError, match="took longer than 2 s and was stopped"):
        fetch_image(f"{server.base_url}/{path}", limits=QUICK)
    assert 1.9 < time.monotonic() - started < 3.5


@pytest.mark.parametrize("path", ["gzip-bomb", "deflate-bomb", "huge-json", "huge-chunked"])
def test_huge_and_bomb_bodies_stop_at_the_cap(server: HostileServer, path: str) -> None:
    with pytest.raises(FetchError, match="too large"):
        fetch_image(f"{server.base_url}/{path}", limits=QUICK)


def test_a_redirect_to_another_scheme_is_refused(server: HostileServer) -> None:
    with pytest.raises(FetchError, match=r"Could not download the image from 127\.0\.0\.1"):
        fetch_image(f"{server.base_url}/redirect-ftp", limits=QUICK)


def test_a_redirect_loop_ends(server: HostileServer) -> None:
    with pytest.raises(FetchError, match="Could not download"):
        fetch_image(f"{server.base_url}/redirect-loop", limits=QUICK)
