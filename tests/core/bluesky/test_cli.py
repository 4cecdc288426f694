"""The command line with Bluesky: login by handle (app password, e-mailed code), upload
through the environment with nothing stored, logout ending the server session."""

from __future__ import annotations

import io
import json
import os
import random
import signal
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import keyring
import pytest
import requests
from avatar_studio.core.credentials import SERVICE_NAME, MemoryBackend
from avatar_studio.core.sandbox.bluesky import BlueskySandboxConfig
from avatar_studio.core.settings import load_settings
from PIL import Image

from tests.core.bluesky.conftest import xrpc
from tests.core.x.cli_helpers import CliRunner, run_cli
from tests.core.x.keyrings import using_keyring
from tests.secret_service import in_session

__all__ = ["run_cli"]  # the fixture

CLI = [sys.executable, "-m", "avatar_studio.core.cli"]
BLUESKY_ENV = ("AVATAR_STUDIO_SERVICE", "AVATAR_STUDIO_HANDLE", "AVATAR_STUDIO_APP_PASSWORD",
               "AVATAR_STUDIO_API_BASE")


@pytest.fixture
def memory_keyring() -> Iterator[MemoryBackend]:
    backend = MemoryBackend()
    with using_keyring(backend):
        yield backend


@pytest.fixture(autouse=True)
def clean_env(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in BLUESKY_ENV:
        monkeypatch.delenv(name, raising=False)


@pytest.fixture
def photo(tmp_path: Path) -> Path:
    rng = random.Random(3)
    path = tmp_path / "photo.jpg"
    Image.frombytes("RGB", (1600, 1200), rng.randbytes(1600 * 1200 * 3)).save(
        path, "JPEG", quality=95)
    return path


def _status(base: str) -> Any:
    return requests.get(f"{base}/_sandbox/status", timeout=10).json()


def test_done_when_upload_with_the_environment_against_the_sandbox_process(photo: Path):
    """`upload photo.jpg --json` with the Bluesky variables against `sandbox --service
    bluesky`, both as real processes."""
    sandbox = subprocess.Popen([*CLI, "sandbox", "--service", "bluesky", "--port", "0",
                                "--json"], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                               text=True, env=os.environ.copy())
    try:
        assert sandbox.stdout is not None
        demo = json.loads(sandbox.stdout.readline())
        before = _status(demo["base_url"])["profile"]
        env = {**os.environ, "AVATAR_STUDIO_SERVICE": "bluesky",
               "AVATAR_STUDIO_HANDLE": demo["handle"],
               "AVATAR_STUDIO_APP_PASSWORD": demo["app_password"],
               "AVATAR_STUDIO_API_BASE": demo["base_url"]}
        upload = subprocess.run([*CLI, "upload", str(photo), "--json"], capture_output=True,
                                text=True, timeout=120, env=env)
        assert upload.returncode == 0, upload.stderr
        assert "Traceback" not in upload.stderr
        report = json.loads(upload.stdout.strip().splitlines()[-1])
        assert report["ok"] is True
        assert report["service"] == "bluesky"
        assert report["format"] in ("JPEG", "PNG")
        assert report["bytes"] < 1_000_000
        after = _status(demo["base_url"])["profile"]
        cid = after["avatar"]["ref"]["$link"]
        assert report["new_url"] == (f"{demo['base_url']}/img/avatar/plain/{demo['did']}/"
                                     f"{cid}")
        for name in ("displayName", "description", "banner", "createdAt",
                     "sandbox.customField"):
            assert after[name] == before[name]
        image = requests.get(report["new_url"], timeout=10)
        with Image.open(io.BytesIO(image.content)) as shown:
            assert max(shown.size) <= 1000
        sandbox.send_signal(signal.SIGTERM)
        sandbox.communicate(timeout=15)
    finally:
        if sandbox.poll() is None:
            sandbox.kill()
            sandbox.communicate()
    assert sandbox.returncode == 0


def test_login_by_handle_upload_with_rotation_and_logout(
        pds, run_cli: CliRunner, memory_keyring: MemoryBackend,
        monkeypatch: pytest.MonkeyPatch, photo: Path, http: requests.Session):
    demo = pds.demo
    monkeypatch.setenv("AVATAR_STUDIO_APP_PASSWORD", demo.app_password)
    run = run_cli("login", "--service", "bluesky", "--handle", demo.handle,
                  "--api-base", pds.base_url)
    assert run.code == 0, run.err
    assert f"Signed in as @{demo.handle}" in run.err
    assert "warning" not in run.err
    monkeypatch.delenv("AVATAR_STUDIO_APP_PASSWORD")
    record = load_settings().accounts[0]
    assert (record.service, record.account_id, record.api_base) == (
        "bluesky", demo.did, pds.base_url)
    stored = json.loads(memory_keyring.get_password(SERVICE_NAME, record.key) or "{}")
    assert stored["service"] == "bluesky"
    assert stored["did"] == demo.did
    assert demo.app_password not in json.dumps(stored)  # only the session's tokens

    pds.control("expire_access")  # the upload must refresh, and write the new token back
    run = run_cli("upload", str(photo), "--json")
    assert run.code == 0, run.err
    report = json.loads(run.out.strip().splitlines()[-1])
    assert report["new_url"].endswith(_status(pds.base_url)["profile"]["avatar"]["ref"][
        "$link"])
    rotated = json.loads(memory_keyring.get_password(SERVICE_NAME, record.key) or "{}")
    assert rotated["refresh_jwt"] != stored["refresh_jwt"]

    run = run_cli("logout")
    assert run.code == 0, run.err
    assert memory_keyring.get_password(SERVICE_NAME, record.key) is None
    gone = xrpc(http, pds, "com.atproto.server.refreshSession",
                token=rotated["refresh_jwt"], method="POST")
    assert gone.json()["message"] == "Token has been revoked"


@pytest.mark.parametrize("pds_config", [BlueskySandboxConfig(two_factor=True)])
def test_login_asks_for_the_emailed_code(pds, run_cli: CliRunner,
                                         memory_keyring: MemoryBackend,
                                         monkeypatch: pytest.MonkeyPatch):
    demo = pds.demo

    class ReadsTheEmail(io.StringIO):
        def readline(self, size: int | None = -1, /) -> str:  # type: ignore[override]  # the user types the code
            messages = requests.get(f"{pds.base_url}/_sandbox/outbox", timeout=5).json()
            return str(messages["messages"][-1]["code"]) + "\n"

    monkeypatch.setattr(sys, "stdin", ReadsTheEmail())
    monkeypatch.setenv("AVATAR_STUDIO_APP_PASSWORD", demo.app_password)
    run = run_cli("login", "--service", "bluesky", "--handle", demo.handle,
                  "--api-base", pds.base_url)
    assert run.code == 0, run.err
    assert "sign-in code" in run.err


def test_environment_errors_and_exit_codes(pds, run_cli: CliRunner,
                                           memory_keyring: MemoryBackend,
                                           monkeypatch: pytest.MonkeyPatch, photo: Path):
    monkeypatch.setenv("AVATAR_STUDIO_SERVICE", "bluesky")
    monkeypatch.setenv("AVATAR_STUDIO_HANDLE", pds.demo.handle)
    monkeypatch.setenv("AVATAR_STUDIO_API_BASE", pds.base_url)
    run = run_cli("upload", str(photo))
    assert run.code == 38
    assert "AVATAR_STUDIO_APP_PASSWORD" in run.err
    monkeypatch.setenv("AVATAR_STUDIO_APP_PASSWORD", "my-main-password")
    run = run_cli("whoami")
    assert run.code == 21
    assert "does not look like an app password" in run.err
    assert "my-main-password" not in run.err
    monkeypatch.setenv("AVATAR_STUDIO_APP_PASSWORD", pds.demo.app_password)
    run = run_cli("whoami", "--json")
    assert run.code == 0
    assert json.loads(run.out)["user_id"] == pds.demo.did
    pds.control("takedown")
    assert run_cli("whoami").code == 51
    assert memory_keyring._values == {}


@in_session
def test_login_upload_logout_with_the_real_keyring(pds, photo: Path, http):
    """As a user runs it: the app password from the environment, the real Secret Service
    holding only the session, the rotated token written back to it, logout removing it."""
    demo = pds.demo
    env = {**os.environ, "AVATAR_STUDIO_APP_PASSWORD": demo.app_password}
    login = subprocess.run([*CLI, "login", "--service", "bluesky", "--handle", demo.handle,
                            "--api-base", pds.base_url], capture_output=True, text=True,
                           timeout=60, env=env)
    assert login.returncode == 0, login.stderr
    record = load_settings().accounts[0]
    try:
        first = json.loads(keyring.get_password(SERVICE_NAME, record.key) or "{}")
        assert first["did"] == demo.did
        pds.control("expire_access")
        upload = subprocess.run([*CLI, "upload", str(photo), "--json"], capture_output=True,
                                text=True, timeout=120, env=os.environ.copy())
        assert upload.returncode == 0, upload.stderr
        second = json.loads(keyring.get_password(SERVICE_NAME, record.key) or "{}")
        assert second["refresh_jwt"] != first["refresh_jwt"]
    finally:
        done = subprocess.run([*CLI, "logout"], capture_output=True, text=True, timeout=60,
                              env=os.environ.copy())
    assert done.returncode == 0, done.stderr
    assert keyring.get_password(SERVICE_NAME, record.key) is None
    answer = xrpc(http, pds, "com.atproto.server.refreshSession",
                  token=second["refresh_jwt"], method="POST")
    assert answer.json()["message"] == "Token has been revoked"
