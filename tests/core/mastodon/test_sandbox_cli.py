"""``avatar-studio-cli sandbox --service mastodon`` as a whole process."""

from __future__ import annotations

import json
import signal
import subprocess
import sys

import requests

KEYS = ["service", "base_url", "access_token", "account_id", "username", "client_id",
        "client_secret"]


def test_first_json_line_then_serves_and_stops_on_sigterm():
    proc = subprocess.Popen(
        [sys.executable, "-m", "avatar_studio.core.cli", "sandbox", "--service", "mastodon",
         "--port", "0", "--json", "--fail-next", "1", "--fail-status", "502"],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        assert proc.stdout is not None
        demo = json.loads(proc.stdout.readline())
        assert list(demo) == KEYS
        assert demo["service"] == "mastodon"
        headers = {"Authorization": f"Bearer {demo['access_token']}"}
        url = demo["base_url"] + "/api/v1/accounts/verify_credentials"
        assert requests.get(url, headers=headers, timeout=10).status_code == 502
        me = requests.get(url, headers=headers, timeout=10).json()
        assert (me["id"], me["username"]) == (demo["account_id"], demo["username"])
    finally:
        proc.send_signal(signal.SIGTERM)
        _out, err = proc.communicate(timeout=20)
    assert proc.returncode == 0, err


def test_x_only_options_are_refused():
    run = subprocess.run(
        [sys.executable, "-m", "avatar_studio.core.cli", "sandbox", "--service", "mastodon",
         "--port", "0", "--state", "/tmp/nowhere", "--stall-processing"],
        capture_output=True, text=True, timeout=60, check=False)
    assert run.returncode == 2
    assert "--state, --stall-processing are for the X sandbox" in run.stderr


def test_every_fail_status_is_served():
    from avatar_studio.core.sandbox.mastodon.server import MastodonSandbox

    with MastodonSandbox() as sandbox:
        for status in (500, 502, 503, 504):
            sandbox.faults.fail_next(1, status)
            r = requests.get(sandbox.base_url + "/api/v1/instance", timeout=10)
            assert r.status_code == status
