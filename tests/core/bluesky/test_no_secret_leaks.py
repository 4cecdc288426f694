"""Bluesky's whole command-line flow with --debug, then a search of everything the app
wrote (settings, log files, captured log records, stdout/stderr) for the app password and
every session token the PDS issued, rotated ones included."""

from __future__ import annotations

import json
import logging
from collections.abc import Iterator
from pathlib import Path

import pytest
from avatar_studio.core.credentials import SERVICE_NAME, MemoryBackend
from avatar_studio.core.sandbox.bluesky import BlueskySandbox
from avatar_studio.core.settings import load_settings

from tests.core.bluesky.test_cli import photo  # the fixture
from tests.core.x.cli_helpers import CliRunner, run_cli
from tests.core.x.helpers import files_under
from tests.core.x.keyrings import using_keyring

__all__ = ["photo", "run_cli"]  # fixtures


@pytest.fixture
def memory_keyring() -> Iterator[MemoryBackend]:
    backend = MemoryBackend()
    with using_keyring(backend):
        yield backend


def _tokens(pds: BlueskySandbox) -> set[str]:
    state = pds.app.state
    with state.lock:
        return set(state.access_issued) | set(state.refresh_tokens)


def test_no_secret_in_files_logs_or_output(
        pds: BlueskySandbox, run_cli: CliRunner, memory_keyring: MemoryBackend,
        monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture,
        isolated_dirs: dict[str, Path], photo: Path) -> None:
    caplog.set_level(logging.DEBUG)
    demo = pds.demo
    issued: set[str] = set()
    stored: list[str] = []

    def step(*argv: str) -> int:
        code = run_cli("--debug", *argv).code
        issued.update(_tokens(pds))
        stored.extend(memory_keyring.get_password(SERVICE_NAME, account.key) or ""
                      for account in load_settings().accounts)
        return code

    monkeypatch.setenv("AVATAR_STUDIO_APP_PASSWORD", demo.app_password)
    assert step("login", "--service", "bluesky", "--handle", demo.handle,
                "--api-base", pds.base_url) == 0
    monkeypatch.delenv("AVATAR_STUDIO_APP_PASSWORD")
    assert step("accounts") == 0
    assert step("whoami") == 0
    pds.control("expire_access")  # the next call refreshes and rotates both tokens
    assert step("upload", str(photo), "--json") == 0
    # Failures too: their messages must not repeat anything secret.
    pds.control("fail_next", n="10", status="500")
    assert step("whoami") != 0
    pds.control("fail_next", n="0")
    pds.control("expire_access")
    pds.control("revoke_refresh")
    assert step("whoami") == 22  # sign in again
    assert step("logout") == 0

    secrets = {"app password": demo.app_password}
    secrets.update({f"token {i}": token for i, token in enumerate(sorted(issued))})
    for value in stored:  # and whatever the keyring held at any step
        for name, field in json.loads(value or "{}").items():
            if isinstance(field, str) and name.endswith("jwt"):
                secrets[f"keyring {name}"] = field
    assert len(issued) >= 4  # two sign-ins' worth: the login's and the rotated pair
    written = files_under(*isolated_dirs.values())
    assert any(p.endswith("settings.json") for p in written)
    assert any(p.endswith(".log") for p in written)
    texts = {p: Path(p).read_bytes().decode("utf-8", "replace") for p in written}
    texts["captured log records"] = caplog.text
    texts["stdout/stderr"] = "\n".join(r.out + r.err for r in run_cli.runs)
    assert "com.atproto.server.refreshSession" in texts["captured log records"]
    hits = [(where, name) for where, text in texts.items()
            for name, secret in secrets.items() if secret in text]
    assert hits == []
