"""Upgrades lose nothing: release 1's own settings.json and keyring value (made by that
release's writers, tests/core/fixtures/v1/README.md) give a signed-in account whose
upload works, and are migrated one version step at a time."""

from __future__ import annotations

import json
import time
import uuid
from pathlib import Path

import keyring
import pytest
from avatar_studio.core import settings as st
from avatar_studio.core.credentials import SERVICE_NAME, CredentialStore, MemoryBackend
from avatar_studio.core.sandbox.server import SandboxServer
from avatar_studio.core.sandbox.state import AccessToken, App, User

from tests.core.x.cli_helpers import CliRunner, run_cli
from tests.core.x.helpers import noise_png
from tests.secret_service import in_session

__all__ = ["run_cli"]

V1 = Path(__file__).resolve().parents[1] / "fixtures" / "v1"
V1_BASE = "http://127.0.0.1:8400"
SECRET = json.loads((V1 / "secret-alice.json").read_text())


def _release_1_files(sandbox: SandboxServer, keyring: MemoryBackend) -> str:
    """The v1 files in place, pointing at this test's sandbox; the key of @alice."""
    text = (V1 / "settings.json").read_text().replace(V1_BASE, sandbox.base_url)
    path = st.settings_path()
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    key = f"x:{sandbox.base_url}:1001"
    keyring.set_password(SERVICE_NAME, key, (V1 / "secret-alice.json").read_text())
    state = sandbox.state
    with state.lock:  # the sandbox knows alice and her app, as X would
        state.apps[SECRET["api_key"]] = App(SECRET["api_key"], SECRET["api_secret"], "v1 app")
        state.users[1001] = User(1001, "alice", "Alice A.", time.time())
        state.access_tokens[SECRET["access_token"]] = AccessToken(
            SECRET["access_token"], SECRET["access_secret"], SECRET["api_key"], 1001)
    return key


def test_the_fixtures_are_release_1_files() -> None:
    data = json.loads((V1 / "settings.json").read_text())
    assert data["version"] == 1
    assert {"screen_name", "base_url", "user_id", "name"} <= set(data["accounts"][0])
    assert SECRET["v"] == 1
    assert "service" not in SECRET


def test_v1_settings_and_secret_give_a_signed_in_account_and_a_working_upload(
        sandbox: SandboxServer, run_cli: CliRunner, memory_keyring: MemoryBackend,
        tmp_path: Path) -> None:
    key = _release_1_files(sandbox, memory_keyring)
    run = run_cli("accounts", "--json")
    listed = json.loads(run.out)
    assert [(a["service"], a["handle"], a["key"]) for a in listed] == [
        ("x", "@alice", key), ("x", "@Bob_B", "x:https://api.x.com:2002")]

    run = run_cli("whoami", "--account", "@alice", "--json")  # nothing asks to sign in
    assert run.code == 0, run.err
    assert json.loads(run.out)["screen_name"] == "alice"
    # Read once, the secret is stored again in the new form, under the same key.
    stored = json.loads(memory_keyring.get_password(SERVICE_NAME, key) or "{}")
    assert stored == {**SECRET, "v": 2, "service": "x"}

    photo = tmp_path / "photo.png"
    photo.write_bytes(noise_png(160))
    run = run_cli("upload", str(photo), "--account", "x:@alice", "--json")
    assert run.code == 0, run.err
    line = json.loads(run.out)
    assert line["ok"] is True
    assert line["new_url"].startswith(sandbox.base_url + "/profile_images/")

    # The window's settings survive, and the file becomes version 2 on the next write.
    loaded = st.load_settings()
    assert (loaded.mask_shape, loaded.fill_color, loaded.theme, loaded.fit_mode,
            loaded.flatten_alpha) == ("square", "#202830", "dark", True, True)
    assert loaded.recent_files == ["/home/user/Pictures/me.jpg"]
    assert loaded.last_account == key
    st.update_settings(lambda s: s.add_recent("/tmp/new.png"))
    written = json.loads(st.settings_path().read_text())
    assert written["version"] == 2
    assert written["accounts"][0] == {"service": "x", "api_base": sandbox.base_url,
                                      "account_id": "1001", "handle": "@alice",
                                      "display_name": "Alice A."}


def test_upgrade_steps_are_one_per_version_and_keep_unknown_keys() -> None:
    data = json.loads((V1 / "settings.json").read_text())
    data["from_a_newer_release"] = {"nested": [1, 2]}
    data["accounts"][0]["unknown_field"] = "kept"
    assert sorted(st.UPGRADES) == list(range(1, st.SETTINGS_VERSION))
    upgraded = st.upgrade(data)
    assert upgraded["version"] == st.SETTINGS_VERSION
    assert upgraded["accounts"][0]["unknown_field"] == "kept"
    assert data["version"] == 1  # the input is not changed in place
    path = st.settings_path()
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(data), encoding="utf-8")
    settings = st.load_settings()
    assert settings.unknown == {"from_a_newer_release": {"nested": [1, 2]}}
    assert settings.accounts[0].unknown == {"unknown_field": "kept"}
    st.save_settings(settings)
    written = json.loads(path.read_text())
    assert written["from_a_newer_release"] == {"nested": [1, 2]}
    assert written["accounts"][0]["unknown_field"] == "kept"
    assert written["accounts"][0]["handle"] == "@alice"
    assert "unknown" not in written["accounts"][0]


@pytest.mark.parametrize("version", [None, "1", 0, True])
def test_a_missing_or_odd_version_is_read_as_version_1(version: object) -> None:
    data: dict[str, object] = {"accounts": [{"service": "x", "base_url": "https://api.x.com",
                                             "user_id": "7", "screen_name": "carol"}]}
    if version is not None:
        data["version"] = version
    assert st.upgrade(data)["accounts"] == [{"service": "x", "api_base": "https://api.x.com",
                                             "account_id": "7", "handle": "@carol"}]


def test_secret_upgrade_steps_and_damage() -> None:
    from avatar_studio.core import credentials

    assert sorted(credentials.SECRET_UPGRADES) == list(range(1, credentials.SECRET_FORMAT))
    record = st.AccountRecord("x", "https://api.x.com", "1001", "@alice")
    backend = MemoryBackend()
    store = CredentialStore(backend)
    for damaged in ('{"v": "x"}', "[1]", '{"v": 2, "service": "mastodon", "token": "abcd"}',
                    '{"v": 2, "service": "nosuch"}', "not json"):
        backend.set_password(SERVICE_NAME, record.key, damaged)
        with pytest.raises(credentials.SecretsMissing, match="damaged"):
            store.load(record)
    backend.set_password(SERVICE_NAME, record.key, json.dumps({**SECRET, "v": 2,
                                                                "service": "x"}))
    assert store.load(record)["access_token"] == SECRET["access_token"]


@in_session
def test_v1_secret_in_the_real_secret_service_is_upgraded_in_place() -> None:
    record = st.AccountRecord("x", "http://127.0.0.1:8400", f"v1-{uuid.uuid4().hex}",
                              "@alice")
    keyring.set_password(SERVICE_NAME, record.key, (V1 / "secret-alice.json").read_text())
    try:
        store = CredentialStore()
        assert store.load(record)["access_secret"] == SECRET["access_secret"]
        raw = keyring.get_password(SERVICE_NAME, record.key)
        assert raw is not None
        assert json.loads(raw) == {**SECRET, "v": 2, "service": "x"}
    finally:
        assert CredentialStore().delete(record) is True
