"""Every error class, produced by the sandbox's fault injection over real HTTP."""

from __future__ import annotations

import socket
import time
from datetime import UTC, datetime

import pytest
from avatar_studio.core.sandbox.config import SandboxConfig
from avatar_studio.core.sandbox.server import SandboxServer
from avatar_studio.core.services.x.client import AccessTokens, ConsumerKeys, XClient
from avatar_studio.core.services.x.errors import (
    ClockSkew,
    CredentialsRejected,
    NetworkError,
    RateLimited,
    ReadOnlyApp,
    ServerError,
    TokenRevoked,
    UnexpectedResponse,
)

from tests.core.x.helpers import FAST_RETRY, demo_client, noise_png


def test_revoked_token(sandbox: SandboxServer) -> None:
    client = demo_client(sandbox, account="@sandbox_user")
    assert client.tokens is not None
    # (sandbox.demo would issue a fresh token once this one is revoked: keep the old one)
    assert sandbox.faults.revoke_token(client.tokens.token)
    with pytest.raises(TokenRevoked) as exc:
        client.verify_credentials()
    assert exc.value.status == 401
    assert exc.value.codes == (89,)
    assert "@sandbox_user" in exc.value.message
    assert exc.value.hint is not None
    assert "Sign in again" in exc.value.hint


def test_wrong_consumer_secret_is_code_32(sandbox: SandboxServer) -> None:
    demo = sandbox.demo
    client = XClient(ConsumerKeys(demo.api_key, "bad-secret"),
                     AccessTokens(demo.access_token, demo.access_secret),
                     api_base=sandbox.base_url, retry=FAST_RETRY)
    with pytest.raises(CredentialsRejected) as exc:
        client.verify_credentials()
    assert (exc.value.status, exc.value.codes) == (401, (32,))


def test_clock_skew_is_code_135_and_says_fix_the_clock(sandbox: SandboxServer) -> None:
    client = demo_client(sandbox, clock=lambda: time.time() - 3600)
    with pytest.raises(ClockSkew) as exc:
        client.verify_credentials()
    assert exc.value.codes == (135,)
    assert "clock" in exc.value.message
    assert "behind" in exc.value.message  # measured against the server's Date header
    assert exc.value.hint is not None
    assert "NTP" in exc.value.hint


def test_read_only_app_cannot_upload(sandbox: SandboxServer) -> None:
    assert sandbox.faults.set_read_only(sandbox.demo.api_key)
    client = demo_client(sandbox)
    client.verify_credentials()  # reading still works
    with pytest.raises(ReadOnlyApp) as exc:
        client.upload_profile_image(noise_png(32), mime_type="image/png", filename="a.png")
    assert exc.value.hint is not None
    assert "Read and Write" in exc.value.hint
    assert "regenerate" in exc.value.hint


def test_rate_limit_is_never_exceeded_and_429_carries_the_reset() -> None:
    config = SandboxConfig(processing_delay=0.3,
                           rate_limits={"verify_credentials": 75, "users_show": 2})
    with SandboxServer(config) as server:
        client = demo_client(server)
        user_id = server.demo.user_id
        client.show_user(user_id)
        client.show_user(user_id)
        limit = client.rate_limit("/1.1/users/show.json")
        assert limit is not None
        assert limit.remaining == 0
        # The client refuses to make a call it knows is over the limit...
        with pytest.raises(RateLimited) as local:
            client.show_user(user_id)
        assert local.value.status is None
        assert local.value.reset_at == datetime.fromtimestamp(limit.reset_epoch, UTC)
        # ...and a client that did not know gets X's 429 with the reset time.
        fresh = demo_client(server)
        with pytest.raises(RateLimited) as remote:
            fresh.show_user(user_id)
        assert remote.value.status == 429
        assert remote.value.codes == (88,)
        assert remote.value.reset_at is not None
        assert remote.value.reset_at.timestamp() > time.time()
        assert f"{remote.value.reset_at.astimezone():%H:%M:%S}" in remote.value.message


@pytest.mark.parametrize("status", [500, 503])
def test_get_retries_a_server_error_once(sandbox: SandboxServer, status: int) -> None:
    sandbox.faults.fail_next(1, status)
    assert demo_client(sandbox).verify_credentials().screen_name == sandbox.demo.screen_name


@pytest.mark.parametrize("status", [500, 503])
def test_persistent_server_error(sandbox: SandboxServer, status: int) -> None:
    sandbox.faults.fail_next(10, status)
    with pytest.raises(ServerError) as exc:
        demo_client(sandbox).verify_credentials()
    assert exc.value.status == status
    # Three attempts were made (the retry policy), no more.
    assert sandbox.faults.snapshot().fail_next == 7


def test_upload_is_never_retried(sandbox: SandboxServer) -> None:
    client = demo_client(sandbox)
    before = client.verify_credentials()
    sandbox.faults.fail_next(1, 503)
    with pytest.raises(ServerError):
        client.upload_profile_image(noise_png(32), mime_type="image/png", filename="a.png")
    assert sandbox.faults.snapshot().fail_next == 0
    assert client.verify_credentials().profile_image_url_https == \
        before.profile_image_url_https
    assert sandbox.processor.pending == 0


def test_dropped_connection_is_retried_for_get(sandbox: SandboxServer) -> None:
    sandbox.faults.drop_next(1)
    assert demo_client(sandbox).verify_credentials().user_id == sandbox.demo.user_id


def test_dropped_connections_become_network_error(sandbox: SandboxServer) -> None:
    sandbox.faults.drop_next(5)
    with pytest.raises(NetworkError) as exc:
        demo_client(sandbox).verify_credentials()
    assert "127.0.0.1" in exc.value.message


def test_dropped_upload_is_network_error_not_retried(sandbox: SandboxServer) -> None:
    sandbox.faults.drop_next(1)
    with pytest.raises(NetworkError):
        demo_client(sandbox).upload_profile_image(noise_png(32), mime_type="image/png",
                                                  filename="a.png")
    assert sandbox.faults.snapshot().drop_next == 0


def test_connection_refused_is_network_error() -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    client = XClient(ConsumerKeys("k", "s"), AccessTokens("t", "s"),
                     api_base=f"http://127.0.0.1:{port}", retry=FAST_RETRY)
    with pytest.raises(NetworkError, match="refused"):
        client.verify_credentials()


def test_read_timeout_is_network_error(sandbox: SandboxServer) -> None:
    from avatar_studio.core.services.x.client import Timeouts
    sandbox.faults.set_latency(0.5)
    client = demo_client(sandbox, timeouts=Timeouts(connect_s=2, read_s=0.1),
                         retry=FAST_RETRY)
    with pytest.raises(NetworkError, match="did not answer in time"):
        client.verify_credentials()


def test_wrong_base_path_is_unexpected_response(sandbox: SandboxServer) -> None:
    client = demo_client(sandbox, api_base=sandbox.base_url + "/not-x")
    with pytest.raises(UnexpectedResponse) as exc:
        client.verify_credentials()
    assert exc.value.status == 404
