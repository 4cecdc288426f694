"""The command line against ``sandbox --service mastodon``, as whole processes."""

from __future__ import annotations

import io
import json
import os
import signal
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests
from PIL import Image, ImageSequence

from tests.core.mastodon.browser import needs_chromium
from tests.core.mastodon.helpers import animated_gif
from tests.secret_service import in_session

ROOT = Path(__file__).resolve().parents[3]
ENV_NAMES = ("AVATAR_STUDIO_SERVICE", "AVATAR_STUDIO_API_BASE", "AVATAR_STUDIO_ACCESS_TOKEN",
             "AVATAR_STUDIO_API_KEY", "AVATAR_STUDIO_API_SECRET",
             "AVATAR_STUDIO_ACCESS_SECRET", "BROWSER")


def clean_env(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in ENV_NAMES}
    env["PYTHONPATH"] = str(ROOT)
    env.update(extra)
    return env


def cli(*args: str, env: dict[str, str], stdin: str | None = None, timeout: float = 120
        ) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "avatar_studio.core.cli", *args],
                          env=env, input=stdin, capture_output=True, text=True,
                          timeout=timeout, check=False)


@pytest.fixture
def sandbox_process(request: pytest.FixtureRequest) -> Iterator[dict[str, str]]:
    extra = getattr(request, "param", [])
    proc = subprocess.Popen(
        [sys.executable, "-m", "avatar_studio.core.cli", "sandbox", "--service", "mastodon",
         "--port", "0", "--json", *extra],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=clean_env())
    try:
        assert proc.stdout is not None
        yield json.loads(proc.stdout.readline())
    finally:
        proc.send_signal(signal.SIGTERM)
        proc.communicate(timeout=20)


def token_env(demo: dict[str, str], **extra: str) -> dict[str, str]:
    return clean_env(AVATAR_STUDIO_SERVICE="mastodon", AVATAR_STUDIO_API_BASE=demo["base_url"],
                     AVATAR_STUDIO_ACCESS_TOKEN=demo["access_token"], **extra)


def test_upload_animated_gif_with_the_three_variables(sandbox_process, tmp_path):
    """Done when: the new avatar URL printed, an animated GIF <= 400x400 stored."""
    demo = sandbox_process
    gif = tmp_path / "anim.gif"
    gif.write_bytes(animated_gif((640, 480), 4, (80, 120, 160, 200)))
    run = cli("upload", str(gif), "--json", env=token_env(demo))
    assert run.returncode == 0, run.stderr
    summary = json.loads(run.stdout.strip().splitlines()[-1])
    assert summary["ok"] is True
    assert summary["format"] == "GIF"
    new_url = summary["new_url"]
    assert new_url.startswith(demo["base_url"] + "/system/accounts/avatars/")
    status = requests.get(demo["base_url"] + "/_sandbox/status", timeout=10).json()
    held = status["accounts"][demo["account_id"]]
    assert held["uploads"] == 1
    assert new_url.split("/")[-1].startswith(held["avatar"])
    with Image.open(io.BytesIO(requests.get(new_url, timeout=10).content)) as im:
        assert im.format == "GIF"
        assert im.width <= 400
        assert im.height <= 400
        durations = [f.info["duration"] for f in ImageSequence.Iterator(im)]
    assert durations == [80, 120, 160, 200]


def test_frame_option_uploads_one_frame(sandbox_process, tmp_path):
    gif = tmp_path / "anim.gif"
    gif.write_bytes(animated_gif((300, 300), 3, (50, 60, 70)))
    run = cli("upload", str(gif), "--frame", "1", "--json", env=token_env(sandbox_process))
    assert run.returncode == 0, run.stderr
    assert json.loads(run.stdout)["format"] in ("PNG", "JPEG")


@pytest.mark.parametrize("sandbox_process", [["--mastodon-version", "4.2.10"]],
                         indirect=True)
def test_alt_text_note_where_the_server_cannot_store_it(sandbox_process, tmp_path):
    png = tmp_path / "a.png"
    Image.new("RGB", (300, 300), (9, 99, 199)).save(png)
    run = cli("upload", str(png), "--alt-text", "Blue", env=token_env(sandbox_process))
    assert run.returncode == 0, run.stderr
    assert "does not store alt text for avatars here" in run.stderr


@pytest.mark.parametrize("sandbox_process", [["--read-only"]], indirect=True)
def test_missing_scope_exit_code_and_the_servers_words(sandbox_process, tmp_path):
    png = tmp_path / "a.png"
    Image.new("RGB", (300, 300), (9, 99, 199)).save(png)
    run = cli("upload", str(png), env=token_env(sandbox_process))
    assert run.returncode == 25
    assert "This action is outside the authorized scopes" in run.stderr
    assert "Traceback" not in run.stderr


def test_incomplete_environment(tmp_path):
    env = clean_env(AVATAR_STUDIO_SERVICE="mastodon", AVATAR_STUDIO_ACCESS_TOKEN="t" * 20)
    run = cli("whoami", env=env)
    assert run.returncode == 38
    assert "AVATAR_STUDIO_API_BASE" in run.stderr


@in_session
def test_token_login_then_upload_then_logout_revokes(sandbox_process, tmp_path):
    demo = sandbox_process
    env = clean_env()
    run = cli("login", "--service", "mastodon", "--instance", demo["base_url"], "--token",
              env=env, stdin=demo["access_token"] + "\n")
    assert run.returncode == 0, run.stderr
    assert "Signed in as @demo@" in run.stderr
    listed = json.loads(cli("accounts", "--json", env=env).stdout)
    assert [a["service"] for a in listed] == ["mastodon"]
    png = tmp_path / "a.png"
    Image.new("RGB", (300, 300), (9, 99, 199)).save(png)
    up = cli("upload", str(png), "--json", env=env)
    assert up.returncode == 0, up.stderr
    out = cli("logout", env=env)
    assert out.returncode == 0, out.stderr
    assert json.loads(cli("accounts", "--json", env=env).stdout) == []
    # A pasted token has no app registration here: it stays valid (said in the README).
    assert live_tokens(demo) == 1


@in_session
@needs_chromium
def test_browser_login_through_dollar_browser_and_logout_revokes(sandbox_process):
    demo = sandbox_process
    browser = f"{sys.executable} -m tests.core.mastodon.open_in_chromium %s"
    env = clean_env(BROWSER=browser)
    run = cli("login", "--service", "mastodon", "--instance", demo["base_url"], env=env,
              timeout=180)
    assert run.returncode == 0, run.stderr
    assert "Signed in as @demo@" in run.stderr
    assert run.stdout.startswith(demo["base_url"] + "/oauth/authorize?")
    listed = json.loads(cli("accounts", "--json", env=env).stdout)
    assert len(listed) == 1
    whoami = cli("whoami", "--json", env=env)
    assert whoami.returncode == 0, whoami.stderr
    assert live_tokens(demo) == 2  # the demo token and the browser sign-in's
    assert cli("logout", env=env).returncode == 0
    assert live_tokens(demo) == 1  # logout revoked the browser sign-in's token


def live_tokens(demo: dict[str, str]) -> int:
    status = requests.get(demo["base_url"] + "/_sandbox/status", timeout=10).json()
    return int(status["accounts"][demo["account_id"]]["live_tokens"])


def test_alt_text_stored_on_4_6(sandbox_process, tmp_path):
    png = tmp_path / "a.png"
    Image.new("RGB", (300, 300), (9, 99, 199)).save(png)
    run = cli("upload", str(png), "--alt-text", "A blue square",
              env=token_env(sandbox_process))
    assert run.returncode == 0, run.stderr
    assert "does not store alt text" not in run.stderr
    status = requests.get(sandbox_process["base_url"] + "/_sandbox/status", timeout=10).json()
    assert status["accounts"][sandbox_process["account_id"]]["avatar_description"] == \
        "A blue square"


@in_session
def test_code_login_reads_the_pasted_code(sandbox_process):
    from tests.core.mastodon.helpers import CODE, approve

    demo = sandbox_process
    proc = subprocess.Popen(
        [sys.executable, "-m", "avatar_studio.core.cli", "login", "--service", "mastodon",
         "--instance", demo["base_url"], "--code", "--no-browser"],
        stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        env=clean_env())
    try:
        assert proc.stdout is not None
        assert proc.stdin is not None
        url = proc.stdout.readline().strip()
        assert "redirect_uri=urn%3Aietf%3Awg%3Aoauth%3A2.0%3Aoob" in url
        with requests.Session() as web:
            answer = approve(web, url)
            code = CODE.search(web.get(answer.headers["Location"], timeout=10).text)
        assert code is not None
        proc.stdin.write(code[1] + "\n")
        proc.stdin.flush()
        _, err = proc.communicate(timeout=60)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.communicate()
    assert proc.returncode == 0, err
    assert "Signed in as @demo@" in err
