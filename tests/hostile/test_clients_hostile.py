"""The X, Mastodon and Bluesky clients against the hostile loopback server.

Every attack ends in the service's own typed error (a ServiceError the CLI prints as one
line), within its deadline: never a hang, a MemoryError, a RecursionError or a ValueError.
"""

from __future__ import annotations

import base64
import json
import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from typing import Any

import pytest
from avatar_studio.core import http
from avatar_studio.core.services import errors as seam
from avatar_studio.core.services.base import Identity, Receipt, Secret
from avatar_studio.core.services.bluesky.errors import Context, XrpcFailure, map_failure
from avatar_studio.core.services.bluesky.service import BlueskyService, BlueskySession
from avatar_studio.core.services.bluesky.xrpc import Xrpc
from avatar_studio.core.services.mastodon.client import MastodonClient
from avatar_studio.core.services.x import refresh
from avatar_studio.core.services.x.client import AccessTokens, ConsumerKeys, XClient

from tests.hostile.hostile_server import HostileServer, hostile_server

QUICK = http.Limits(connect_s=2, read_s=5, total_s=2.0, max_body_bytes=4 * 1024 * 1024)
#: An attack, and the longest a client may take to give up on it (retries included).
ATTACKS = [("drip", 4.0), ("drip-headers", 4.0), ("gzip-bomb", 5.0), ("huge-json", 5.0),
           ("huge-chunked", 5.0), ("deep-json", 5.0), ("redirect-http", 5.0),
           ("huge-reset", 5.0), ("huge-retry-after", 5.0)]


@pytest.fixture(scope="module")
def server() -> Iterator[HostileServer]:
    with hostile_server() as running:
        yield running


def _x(base_url: str) -> XClient:
    return XClient(ConsumerKeys("key", "secret"), AccessTokens("token", "tsecret"),
                   api_base=base_url, session=http.BoundedSession(QUICK))


def _mastodon(base_url: str) -> MastodonClient:
    return MastodonClient(base_url, "token", session=http.BoundedSession(QUICK))


def _bluesky(base_url: str) -> Xrpc:
    return Xrpc(base_url, http=http.BoundedSession(QUICK))


CLIENTS: dict[str, Callable[[str], Callable[[], Any]]] = {
    "x": lambda base: _x(base).verify_credentials,
    "mastodon": lambda base: _mastodon(base).verify_credentials,
    "bluesky": lambda base: lambda: _bluesky_call(base),
}


def _bluesky_call(base_url: str) -> Any:
    # Xrpc raises its XrpcFailure; the Bluesky service maps it onto the seam's errors.
    try:
        return _bluesky(base_url).call("com.atproto.server.getSession", token="jwt")
    except XrpcFailure as failure:
        raise map_failure(failure, Context.API) from None


@pytest.mark.parametrize("client", sorted(CLIENTS))
@pytest.mark.parametrize(("attack", "budget"), ATTACKS, ids=[a for a, _ in ATTACKS])
def test_every_attack_is_a_typed_error_in_time(server, client, attack, budget):
    server.default_attack = attack
    call = CLIENTS[client](server.base_url)
    started = time.monotonic()
    with pytest.raises(seam.ServiceError) as caught:
        call()
    took = time.monotonic() - started
    assert took < budget, f"{client} took {took:.1f} s on {attack}"
    if attack == "huge-reset" or attack == "huge-retry-after":
        assert isinstance(caught.value, seam.RateLimited), caught.value
    if attack == "redirect-http":
        assert not any("stolen" in hit for hit in server.hits)


def test_x_rate_limit_reset_of_10_13_is_clamped(server):
    server.default_attack = "huge-reset"
    client = _x(server.base_url)
    with pytest.raises(seam.RateLimited) as caught:
        client.verify_credentials()
    reset_at = caught.value.reset_at
    assert reset_at is not None
    assert reset_at <= datetime.fromtimestamp(time.time() + http.MAX_RESET_AHEAD_S + 5, UTC)


def test_x_picture_download_refuses_a_plain_http_redirect(server):
    client = _x(server.base_url)
    with pytest.raises(seam.ServiceError, match="only https or the same origin"):
        client.download_image(f"{server.base_url}/redirect-http")
    assert not any("stolen" in hit for hit in server.hits)


def test_upload_wait_timeout_is_honoured_against_a_dripping_server(server):
    """`upload --wait-timeout 2`: the client's own total deadline is 60 s, but the
    wait's deadline ends every request inside it."""
    server.default_attack = "drip"
    client = XClient(ConsumerKeys("key", "secret"), AccessTokens("token", "tsecret"),
                     api_base=server.base_url)  # the default session: 60 s per exchange
    policy = refresh.PollPolicy(timeout_s=2.0, min_wait_s=0.0)
    started = time.monotonic()
    with pytest.raises(seam.NotPublishedYet):
        refresh.wait_for_new_image(client, "12", "https://old", policy=policy)
    took = time.monotonic() - started
    assert took < 4.5, f"waited {took:.1f} s"


def _jwt() -> str:
    def part(doc: dict[str, Any]) -> str:
        return base64.urlsafe_b64encode(json.dumps(doc).encode()).decode().rstrip("=")

    now = int(time.time())
    return f"{part({'alg': 'HS256'})}.{part({'exp': now + 3600, 'iat': now})}.c2ln"


def test_bluesky_confirm_timeout_is_honoured_against_a_dripping_pds(server):
    server.default_attack = "drip"
    service = BlueskyService()  # the default session: 120 s per exchange
    identity = Identity("bluesky", server.base_url, "did:plc:abc", "@a.test", "", "")
    secret = Secret("bluesky", {"did": "did:plc:abc", "handle": "a.test",
                                "pds": server.base_url, "access_jwt": _jwt(),
                                "refresh_jwt": _jwt()})
    session = BlueskySession(service, identity, secret, None)
    started = time.monotonic()
    with pytest.raises(seam.NotPublishedYet):
        session.confirm(Receipt(identity, "", "bafkrei" + "a" * 52), timeout_s=2.0)
    took = time.monotonic() - started
    assert took < 4.5, f"waited {took:.1f} s"
