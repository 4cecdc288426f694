"""The whole flow with known secret strings, then a search of everything the app wrote."""

from __future__ import annotations

import logging
from pathlib import Path

import pytest
from avatar_studio.core.cli.account import ENV_VARS
from avatar_studio.core.credentials import MemoryBackend
from avatar_studio.core.sandbox.server import SandboxServer
from avatar_studio.core.services.x.client import ConsumerKeys, XClient

from tests.core.x.cli_helpers import CliRunner, run_cli
from tests.core.x.helpers import (
    FAST_POLL,
    FAST_RETRY,
    KNOWN,
    add_known_account,
    authorize_in_browser,
    files_under,
    noise_png,
)

__all__ = ["run_cli"]


def test_no_secret_in_files_logs_or_output(
        sandbox: SandboxServer, run_cli: CliRunner, memory_keyring: MemoryBackend,
        monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture,
        isolated_dirs: dict[str, Path], tmp_path: Path) -> None:
    caplog.set_level(logging.DEBUG)
    add_known_account(sandbox)
    secrets = dict(KNOWN)

    # PIN sign-in with the known app keys (the request token secret and the new access
    # token and secret are secrets too).
    client = XClient(ConsumerKeys(KNOWN["api_key"], KNOWN["api_secret"]),
                     api_base=sandbox.base_url, retry=FAST_RETRY, poll=FAST_POLL)
    auth = client.start_pin_sign_in()
    secrets["request_secret"] = auth.request_secret
    signed_in = client.finish_pin_sign_in(auth, authorize_in_browser(auth.authorize_url,
                                                                     sandbox.base_url))
    secrets["pin_access_token"] = signed_in.tokens.token
    secrets["pin_access_secret"] = signed_in.tokens.secret

    for name, key in zip(ENV_VARS, ("api_key", "api_secret", "access_token", "access_secret"),
                         strict=True):
        monkeypatch.setenv(name, KNOWN[key])
    image = tmp_path / "in.png"
    image.write_bytes(noise_png(200))
    base = ["--api-base", sandbox.base_url]
    assert run_cli("--debug", "login", "--tokens", *base).code == 0
    for name in ENV_VARS:
        monkeypatch.delenv(name)
    assert run_cli("--debug", "accounts").code == 0
    assert run_cli("--debug", "whoami").code == 0
    assert run_cli("--debug", "upload", str(image), "--json").code == 0
    # Failures too: their messages must not repeat anything secret.
    sandbox.faults.fail_next(10, 500)
    assert run_cli("--debug", "whoami").code != 0
    sandbox.faults.reset()
    sandbox.faults.revoke_token(KNOWN["access_token"])
    assert run_cli("--debug", "whoami").code != 0
    assert run_cli("--debug", "logout").code == 0

    written = files_under(*isolated_dirs.values())
    assert any(p.endswith("settings.json") for p in written)
    assert any(p.endswith(".log") for p in written)
    texts = {p: Path(p).read_bytes().decode("utf-8", "replace") for p in written}
    texts["captured log records"] = caplog.text
    texts["stdout/stderr"] = "\n".join(r.out + r.err for r in run_cli.runs)
    assert "GET /1.1/account/verify_credentials.json" in texts["captured log records"]
    hits = [(where, name) for where, text in texts.items()
            for name, secret in secrets.items() if secret in text]
    assert hits == []
