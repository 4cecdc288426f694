"""The account and upload commands: output, exit codes, what they store."""

from __future__ import annotations

import io
import json
import os
import subprocess
import sys
from pathlib import Path

import keyring
import keyring.errors
import pytest
from avatar_studio.core.accounts import AccountNotFound
from avatar_studio.core.cli.account import ENV_API_KEY, ENV_API_SECRET, IncompleteEnvironment
from avatar_studio.core.cli.upload import ProgressBar
from avatar_studio.core.credentials import SERVICE_NAME, KeyringUnavailable, MemoryBackend
from avatar_studio.core.sandbox.server import SandboxServer
from avatar_studio.core.services.x import errors as xe
from avatar_studio.core.settings import load_settings

from tests.core.x.cli_helpers import CliRunner, run_cli, set_env_credentials
from tests.core.x.helpers import authorize_in_browser, noise_png
from tests.core.x.keyrings import NoBackend, using_keyring
from tests.secret_service import in_session

__all__ = ["run_cli"]  # the fixture



@pytest.fixture
def image(tmp_path: Path) -> Path:
    path = tmp_path / "photo.png"
    path.write_bytes(noise_png(200))
    return path


def test_login_tokens_accounts_whoami_upload_logout(
        sandbox: SandboxServer, run_cli: CliRunner, memory_keyring: MemoryBackend,
        monkeypatch: pytest.MonkeyPatch, image: Path) -> None:
    set_env_credentials(monkeypatch, sandbox)
    run = run_cli("login", "--tokens", "--api-base", sandbox.base_url)
    assert run.code == 0, run.err
    assert "Signed in as @sandbox_user" in run.err
    for name in ("AVATAR_STUDIO_API_KEY", "AVATAR_STUDIO_API_SECRET",
                 "AVATAR_STUDIO_ACCESS_TOKEN", "AVATAR_STUDIO_ACCESS_SECRET"):
        monkeypatch.delenv(name)
    record = load_settings().accounts[0]
    assert record.handle == "@sandbox_user"
    assert record.api_base == sandbox.base_url
    assert record.service == "x"
    stored = json.loads(memory_keyring.get_password(SERVICE_NAME, record.key) or "{}")
    assert stored["access_token"] == sandbox.demo.access_token

    run = run_cli("accounts")
    assert run.out.startswith("@sandbox_user\t")
    run = run_cli("accounts", "--json")
    assert json.loads(run.out)[0]["api_base"] == sandbox.base_url

    run = run_cli("whoami")
    assert run.code == 0
    old_url = run.out.splitlines()[1]
    assert "@sandbox_user" in run.out

    run = run_cli("upload", str(image), "--json")
    assert run.code == 0, run.err
    summary = json.loads(run.out)
    # Today's keys first, then the multi-account ones.
    assert list(summary) == ["screen_name", "old_url", "new_url", "bytes", "format",
                             "service", "account", "ok"]
    assert (summary["service"], summary["account"], summary["ok"]) == (
        "x", "@sandbox_user", True)
    assert summary["screen_name"] == "sandbox_user"
    assert summary["old_url"] == old_url
    assert summary["new_url"] not in (None, old_url)
    assert summary["format"] in ("JPEG", "PNG")
    assert 0 < summary["bytes"] < 700_000
    assert json.loads(run_cli("whoami", "--json").out)["profile_image_url_https"] == \
        summary["new_url"]

    run = run_cli("upload", str(image))
    assert run.code == 0
    assert run.out.strip().startswith(sandbox.base_url + "/profile_images/")

    run = run_cli("logout", "@sandbox_user")
    assert run.code == 0
    assert load_settings().accounts == []
    assert memory_keyring.get_password(SERVICE_NAME, record.key) is None
    assert run_cli("accounts", "--json").out.strip() == "[]"


def test_environment_credentials_store_nothing(
        sandbox: SandboxServer, run_cli: CliRunner, memory_keyring: MemoryBackend,
        monkeypatch: pytest.MonkeyPatch, image: Path, isolated_dirs: dict[str, Path]) -> None:
    set_env_credentials(monkeypatch, sandbox)
    monkeypatch.setenv("AVATAR_STUDIO_API_BASE", sandbox.base_url)
    run = run_cli("upload", str(image), "--no-wait", "--json")
    assert run.code == 0, run.err
    summary = json.loads(run.out)
    assert summary["new_url"] is None  # not published yet, and we did not wait
    assert summary["old_url"].startswith(sandbox.base_url) or summary["old_url"]
    assert memory_keyring._values == {}
    assert not (isolated_dirs["config"] / "settings.json").exists()


@pytest.mark.parametrize(("env", "argv", "expected"), [
    ({}, ["whoami"], AccountNotFound),
    ({ENV_API_KEY: "k"}, ["whoami"], IncompleteEnvironment),
    ({}, ["whoami", "--api-base", "http://api.example.com"], xe.InvalidApiBase),
    ({}, ["login", "--tokens"], IncompleteEnvironment),
])
def test_usage_errors(run_cli: CliRunner, memory_keyring: MemoryBackend,
                      monkeypatch: pytest.MonkeyPatch, env: dict[str, str], argv: list[str],
                      expected: type[Exception]) -> None:
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    run = run_cli(*argv)
    assert run.code == expected.exit_code  # type: ignore[attr-defined]
    assert run.err.startswith("error: ")
    assert 1 <= len(run.err.strip().splitlines()) <= 2
    assert run.out == ""


def test_login_without_keyring_saves_nothing(
        sandbox: SandboxServer, run_cli: CliRunner, monkeypatch: pytest.MonkeyPatch,
        isolated_dirs: dict[str, Path]) -> None:
    with using_keyring(NoBackend()):
        set_env_credentials(monkeypatch, sandbox)
        run = run_cli("login", "--tokens", "--api-base", sandbox.base_url)
    assert run.code == KeyringUnavailable.exit_code
    assert "no keyring service" in run.err
    assert "AVATAR_STUDIO_ACCESS_TOKEN" in run.err
    assert not (isolated_dirs["config"] / "settings.json").exists()


def test_keyring_failing_only_on_save_says_nothing_was_saved(
        sandbox: SandboxServer, run_cli: CliRunner, monkeypatch: pytest.MonkeyPatch,
        isolated_dirs: dict[str, Path]) -> None:
    class ReadOnlyKeyring(MemoryBackend):
        def set_password(self, service: str, username: str, password: str) -> None:
            raise keyring.errors.PasswordSetError("refused")

    with using_keyring(ReadOnlyKeyring()):
        set_env_credentials(monkeypatch, sandbox)
        run = run_cli("login", "--tokens", "--api-base", sandbox.base_url)
    assert run.code == KeyringUnavailable.exit_code
    assert "nothing was saved" in run.err
    assert "AVATAR_STUDIO_ACCESS_TOKEN" in run.err  # the way to go on without storing
    assert not (isolated_dirs["config"] / "settings.json").exists()


def test_upload_exit_codes_for_faults(
        sandbox: SandboxServer, run_cli: CliRunner, monkeypatch: pytest.MonkeyPatch,
        image: Path) -> None:
    set_env_credentials(monkeypatch, sandbox)
    base = ["--api-base", sandbox.base_url]

    sandbox.faults.stall_processing(True)
    run = run_cli("upload", str(image), *base, "--wait-timeout", "0.3", "--json")
    assert run.code == xe.NotPublishedYet.exit_code
    assert json.loads(run.out)["new_url"] is None
    assert "not published the new image yet" in run.err
    sandbox.faults.stall_processing(False)

    sandbox.faults.fail_next(10, 503)
    run = run_cli("whoami", *base)
    assert run.code == xe.ServerError.exit_code
    sandbox.faults.reset()

    demo = sandbox.demo
    sandbox.faults.set_read_only(demo.api_key)
    run = run_cli("upload", str(image), *base)
    assert run.code == xe.ReadOnlyApp.exit_code
    assert "Read and Write" in run.err
    sandbox.faults.reset()

    sandbox.faults.revoke_token(demo.access_token)
    run = run_cli("whoami", *base)
    assert run.code == xe.TokenRevoked.exit_code
    assert "Sign in again" in run.err

    run = run_cli("whoami", "--api-base", "http://127.0.0.1:9")
    assert run.code == xe.NetworkError.exit_code


def test_progress_bar_draws_only_on_a_terminal() -> None:
    class Tty(io.StringIO):
        def isatty(self) -> bool:
            return True

    tty = Tty()
    bar = ProgressBar(tty)
    for sent in (0, 16384, 32768, 40000):
        bar(sent, 40000)
    text = tty.getvalue()
    assert "100%" in text
    assert " 40%" in text
    assert text.endswith("\n")
    plain = io.StringIO()
    ProgressBar(plain)(40000, 40000)
    assert plain.getvalue() == ""


@in_session
def test_interactive_pin_login_stores_in_the_real_keyring(sandbox: SandboxServer) -> None:
    demo = sandbox.demo
    env = {**os.environ, ENV_API_KEY: demo.api_key, ENV_API_SECRET: demo.api_secret}
    proc = subprocess.Popen(
        [sys.executable, "-m", "avatar_studio.core.cli", "login", "--api-base",
         sandbox.base_url, "--no-browser"],
        stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        env=env)
    try:
        assert proc.stdout is not None
        assert proc.stdin is not None
        url = proc.stdout.readline().strip()
        assert url.startswith(f"{sandbox.base_url}/oauth/authorize?oauth_token=")
        pin = authorize_in_browser(url, sandbox.base_url)
        proc.stdin.write(pin + "\n")
        proc.stdin.flush()
        _, err = proc.communicate(timeout=60)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.communicate()
    assert proc.returncode == 0, err
    assert "PIN:" in err
    assert "Signed in as @sandbox_user" in err
    record = load_settings().accounts[0]
    raw = keyring.get_password(SERVICE_NAME, record.key)
    try:
        assert raw is not None
        assert json.loads(raw)["api_key"] == demo.api_key
    finally:
        done = subprocess.run([sys.executable, "-m", "avatar_studio.core.cli", "logout"],
                              capture_output=True, text=True, timeout=60, env=env)
    assert done.returncode == 0, done.stderr
    assert keyring.get_password(SERVICE_NAME, record.key) is None
    assert load_settings().accounts == []
