"""Bluesky sessions: refresh before expiry and on ExpiredToken, write-back before use,
revoked tokens, sign-out."""

from __future__ import annotations

import dataclasses
import json
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from avatar_studio.core.sandbox.bluesky import BlueskySandboxConfig
from avatar_studio.core.services import errors as seam
from avatar_studio.core.services.base import Secret

from tests.core.bluesky.clients import open_session, service_for, sign_in
from tests.core.bluesky.conftest import xrpc


def test_refresh_before_expiry_rotates_and_writes_back_first(pds, http):
    # The clock says the 2-hour token is nearly over: the session refreshes first.
    service = service_for(pds, clock=lambda: time.time() + 7200 - 60)
    account = sign_in(service, pds, api_base=pds.base_url)
    seen: list[Secret] = []

    def write_back(rotated: Secret) -> None:
        # Nothing has used the new token yet when it is handed over.
        check = xrpc(http, pds, "com.atproto.server.getSession",
                     token=rotated["access_jwt"])
        assert check.status_code == 200
        assert session.secret()["refresh_jwt"] == account.secret["refresh_jwt"]
        seen.append(rotated)

    session = service.open_session(account.identity, account.secret,
                                   on_secret_changed=write_back)
    session.whoami()
    assert len(seen) == 1
    assert seen[0]["refresh_jwt"] != account.secret["refresh_jwt"]
    assert session.secret() == seen[0]


def test_expired_token_answer_refreshes_and_retries(pds):
    seen: list[Secret] = []
    session = open_session(pds, on_secret_changed=seen.append)
    pds.control("expire_access")
    identity = session.whoami()
    assert identity.account_id == pds.demo.did
    assert len(seen) == 1


def test_a_failed_write_back_leaves_the_new_token_unused_and_the_old_one_working(pds):
    def broken_keyring(rotated: Secret) -> None:
        raise OSError("keyring locked")

    session = open_session(pds, on_secret_changed=broken_keyring)
    old = session.secret()
    pds.control("expire_access")
    with pytest.raises(OSError, match="keyring locked"):
        session.whoami()
    assert session.secret() == old
    # The stored (old) refresh token is within the PDS's grace period: not lost.
    again = service_for(pds).open_session(session.identity, old)
    pds.control("expire_access")
    assert again.whoami().account_id == pds.demo.did


@pytest.mark.parametrize("when", ["before", "after"])
def test_killed_between_refresh_and_write_back_keeps_the_account(pds, tmp_path: Path, when):
    session = open_session(pds)
    secret_file = tmp_path / "secret.json"
    secret_file.write_text(session.secret().to_json())
    identity = json.dumps(dataclasses.asdict(session.identity))
    child = subprocess.run(
        [sys.executable, "-m", "tests.core.bluesky.kill_during_refresh", str(secret_file),
         identity, when], capture_output=True, text=True, timeout=60,
        cwd=Path(__file__).parents[3])
    assert child.returncode == -signal.SIGKILL, child.stderr
    stored = json.loads(secret_file.read_text())
    if when == "after":
        assert stored["refresh_jwt"] != session.secret()["refresh_jwt"]
    kept = Secret("bluesky", {k: v for k, v in stored.items() if k not in ("v", "service")},
                  stored["v"])
    revived = service_for(pds).open_session(session.identity, kept)
    pds.control("expire_access")
    assert revived.whoami().account_id == pds.demo.did


def test_revoked_refresh_token_means_sign_in_again(pds):
    session = open_session(pds)
    pds.control("revoke_refresh")
    pds.control("expire_access")
    with pytest.raises(seam.TokenRevoked) as info:
        session.whoami()
    assert info.value.server_message == "ExpiredToken: Token has been revoked"
    assert info.value.exit_code == 22


@pytest.mark.parametrize("pds_config", [BlueskySandboxConfig(refresh_grace_s=0)])
def test_sign_out_deletes_the_server_session(pds, http):
    session = open_session(pds)
    refresh = session.secret()["refresh_jwt"]
    session.sign_out()
    answer = xrpc(http, pds, "com.atproto.server.refreshSession", token=refresh,
                  method="POST")
    assert answer.json() == {"error": "ExpiredToken", "message": "Token has been revoked"}
    session.sign_out()  # a second time is harmless


def test_secret_upgrade_refuses_a_damaged_value(pds):
    service = service_for(pds)
    with pytest.raises(ValueError, match="refresh_jwt"):
        service.upgrade_secret({"v": 1, "did": "did:plc:x", "handle": "a.test",
                                "pds": pds.base_url, "access_jwt": "a"})
