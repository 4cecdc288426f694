"""``avatar-studio-cli sandbox --service bluesky`` as a real subprocess."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys

import requests

CLI = [sys.executable, "-m", "avatar_studio.core.cli"]


def test_json_first_line_is_exactly_the_demo_account_then_clean_exit():
    proc = subprocess.Popen([*CLI, "sandbox", "--service", "bluesky", "--port", "0", "--json",
                             "--invalid-swap", "1", "--two-factor", "--rate-limit-next", "1"],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            env=os.environ.copy())
    try:
        assert proc.stdout is not None
        first = json.loads(proc.stdout.readline())
        assert list(first) == ["service", "base_url", "handle", "did", "app_password"]
        assert first["service"] == "bluesky"
        assert first["base_url"].startswith("http://127.0.0.1:")
        base = first["base_url"]
        creds = {"identifier": first["handle"], "password": first["app_password"]}
        url = f"{base}/xrpc/com.atproto.server.createSession"
        limited = requests.post(url, json=creds, timeout=10)
        assert limited.status_code == 429  # --rate-limit-next 1
        assert limited.json()["error"] == "RateLimitExceeded"
        response = requests.post(url, json=creds, timeout=10)
        assert response.json()["error"] == "AuthFactorTokenRequired"  # --two-factor
        status = requests.get(f"{base}/_sandbox/status", timeout=10).json()
        assert status["faults"]["invalid_swap_next"] == 1
        assert status["faults"]["rate_limit_next"] == 0
        proc.send_signal(signal.SIGTERM)
        _, err = proc.communicate(timeout=15)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.communicate()
    assert proc.returncode == 0, err
    assert "Traceback" not in err


def test_bad_fail_status_for_x_is_refused():
    result = subprocess.run([*CLI, "sandbox", "--port", "0", "--fail-next", "1",
                             "--fail-status", "504"], capture_output=True, text=True,
                            timeout=30, env=os.environ.copy())
    assert result.returncode == 2
    assert "500 or 503" in result.stderr
