"""``avatar-studio-cli sandbox`` as a real subprocess."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest
import requests
from requests_oauthlib import OAuth1

from tests.core.sandbox.helpers import VERIFY

CLI = [sys.executable, "-m", "avatar_studio.core.cli"]
KEYS = {"base_url", "api_key", "api_secret", "access_token", "access_secret", "user_id",
        "screen_name"}


def run_sandbox(*args: str) -> subprocess.Popen[str]:
    return subprocess.Popen([*CLI, "sandbox", *args], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True, env=os.environ.copy())


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGINT])
def test_json_first_line_then_clean_exit_on_signal(tmp_path: Path, sig):
    proc = run_sandbox("--port", "0", "--json", "--processing-delay", "0.1",
                       "--rate-limit", "verify_credentials=7")
    try:
        assert proc.stdout is not None
        first = json.loads(proc.stdout.readline())
        assert set(first) == KEYS
        assert first["base_url"].startswith("http://127.0.0.1:")
        auth = OAuth1(first["api_key"], first["api_secret"], first["access_token"],
                      first["access_secret"])
        me = requests.get(f"{first['base_url']}{VERIFY}", auth=auth, timeout=10)
        assert me.status_code == 200
        assert me.json()["screen_name"] == first["screen_name"]
        assert me.headers["x-rate-limit-limit"] == "7"
        proc.send_signal(sig)
        _, err = proc.communicate(timeout=15)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.communicate()
    assert proc.returncode == 0, err
    assert "Traceback" not in err


def test_readable_output_and_state_dir(tmp_path: Path):
    proc = run_sandbox("--port", "0", "--state", str(tmp_path / "st"), "--fail-next", "1",
                       "--fail-status", "503")
    try:
        assert proc.stdout is not None
        lines = [proc.stdout.readline() for _ in range(7)]
        text = "".join(lines)
        assert "X API sandbox running at http://127.0.0.1:" in text
        base = text.split("running at ", 1)[1].split()[0]
        values = {line.split(":", 1)[0].strip(): line.split(":", 1)[1].strip()
                  for line in lines[1:5]}
        auth = OAuth1(values["API key"], values["API secret"], values["access token"],
                      values["access secret"])
        failed = requests.get(f"{base}{VERIFY}", auth=auth, timeout=10)
        assert failed.status_code == 503
        assert failed.json() == {"errors": [{"code": 130, "message": "Over capacity"}]}
        assert requests.get(f"{base}{VERIFY}", auth=auth, timeout=10).status_code == 200
        proc.send_signal(signal.SIGTERM)
        out, err = proc.communicate(timeout=15)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.communicate()
    assert proc.returncode == 0, err
    assert "sandbox stopped" in out
    assert (tmp_path / "st" / "state.json").is_file()


def test_non_loopback_host_is_refused():
    result = subprocess.run([*CLI, "sandbox", "--host", "0.0.0.0", "--port", "0"],  # noqa: S104
                            capture_output=True, text=True, timeout=30, check=False)
    assert result.returncode == 2
    assert "not a loopback address" in result.stderr
    assert "--allow-remote" in result.stderr
    assert "Traceback" not in result.stderr


def test_allow_remote_warns(tmp_path: Path):
    proc = run_sandbox("--host", "0.0.0.0", "--port", "0", "--json",  # noqa: S104
                       "--allow-remote")
    try:
        assert proc.stdout is not None
        first = json.loads(proc.stdout.readline())
        assert set(first) == KEYS
        proc.send_signal(signal.SIGTERM)
        _, err = proc.communicate(timeout=15)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.communicate()
    assert proc.returncode == 0
    assert "warning: listening on 0.0.0.0" in err


def test_port_in_use_is_a_clean_error():
    import socket

    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen(1)
        port = busy.getsockname()[1]
        result = subprocess.run([*CLI, "sandbox", "--port", str(port)], capture_output=True,
                                text=True, timeout=30, check=False)
    assert result.returncode == 10
    assert f"cannot listen on 127.0.0.1:{port}" in result.stderr
    assert "Traceback" not in result.stderr


def test_unreadable_state_dir_is_a_clean_error(tmp_path: Path):
    state = tmp_path / "st"
    state.mkdir()
    (state / "state.json").write_text("{not json", encoding="utf-8")
    result = subprocess.run([*CLI, "sandbox", "--port", "0", "--state", str(state)],
                            capture_output=True, text=True, timeout=30, check=False)
    assert result.returncode == 11
    assert "cannot read the sandbox state" in result.stderr
    assert "Traceback" not in result.stderr
