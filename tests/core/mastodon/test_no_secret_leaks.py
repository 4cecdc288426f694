"""Mastodon's whole command-line flow with --debug (app registration, the pasted code,
upload, failures, revocation, logout), then a search of everything the app wrote for the
app's client secret and every token the instance issued."""

from __future__ import annotations

import io
import logging
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests
from avatar_studio.core.credentials import MemoryBackend
from avatar_studio.core.sandbox.mastodon.server import MastodonSandbox

from tests.core.mastodon.helpers import CODE, approve, png
from tests.core.x.cli_helpers import CliRunner, run_cli
from tests.core.x.helpers import files_under
from tests.core.x.keyrings import using_keyring

__all__ = ["run_cli"]  # the fixture


@pytest.fixture
def memory_keyring() -> Iterator[MemoryBackend]:
    backend = MemoryBackend()
    with using_keyring(backend):
        yield backend


def test_no_secret_in_files_logs_or_output(
        sandbox: MastodonSandbox, run_cli: CliRunner, memory_keyring: MemoryBackend,
        monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str],
        caplog: pytest.LogCaptureFixture, isolated_dirs: dict[str, Path],
        tmp_path: Path) -> None:
    caplog.set_level(logging.DEBUG)
    seen_early: list[str] = []

    class PastesTheCode(io.StringIO):
        """The user opens the printed address, presses Authorize and pastes the code."""

        def readline(self, size: int | None = -1, /) -> str:  # type: ignore[override]
            printed = capsys.readouterr()
            seen_early.append(printed.out + printed.err)
            url = next(line for line in printed.out.splitlines()
                       if "/oauth/authorize?" in line).strip()
            with requests.Session() as web:
                answer = approve(web, url)
                code = CODE.search(web.get(answer.headers["Location"], timeout=10).text)
            assert code is not None
            return code[1] + "\n"

    monkeypatch.setattr(sys, "stdin", PastesTheCode())
    image = tmp_path / "in.png"
    image.write_bytes(png())
    assert run_cli("--debug", "login", "--service", "mastodon", "--instance",
                   sandbox.base_url, "--code", "--no-browser").code == 0
    assert run_cli("--debug", "accounts").code == 0
    assert run_cli("--debug", "whoami").code == 0
    assert run_cli("--debug", "upload", str(image), "--json").code == 0
    sandbox.faults.fail_next(10, 500)  # failures too: no secret in their messages
    assert run_cli("--debug", "whoami").code != 0
    sandbox.faults.reset()
    state = sandbox.state
    with state.lock:
        ours = [t for t in state.tokens if t != state.demo_token]
        apps = [a for a in state.apps.values() if a.client_id != state.demo_client_id]
    assert ours
    assert apps
    assert sandbox.faults.revoke_token(ours[-1])
    assert run_cli("--debug", "whoami").code == 22  # sign in again
    assert run_cli("--debug", "logout").code == 0

    secrets = {f"token {i}": token for i, token in enumerate(ours)}
    secrets.update({f"client secret {i}": app.client_secret for i, app in enumerate(apps)})
    written = files_under(*isolated_dirs.values())
    assert any(p.endswith("settings.json") for p in written)
    assert any(p.endswith(".log") for p in written)
    texts = {p: Path(p).read_bytes().decode("utf-8", "replace") for p in written}
    texts["captured log records"] = caplog.text
    texts["stdout/stderr"] = "\n".join([*seen_early, *(r.out + r.err for r in run_cli.runs)])
    assert "verify_credentials" in texts["captured log records"]
    hits = [(where, name) for where, text in texts.items()
            for name, secret in secrets.items() if secret in text]
    assert hits == []
