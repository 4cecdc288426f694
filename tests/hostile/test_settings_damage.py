"""Damaged settings in every form: never a hang, never exit 70, never silently replaced.

An unreadable settings.json is moved aside to ``settings.json.damaged-<time>`` (what it
was: file, FIFO, link or folder, untouched) with a warning naming both; sign-in writes
the settings before the secret; a writer killed with SIGKILL leaves nothing that stays.
"""

from __future__ import annotations

import json
import os
import signal
import stat
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest
from avatar_studio.core import safefile
from avatar_studio.core import settings as st
from avatar_studio.core.accounts import Accounts
from avatar_studio.core.credentials import CredentialStore, MemoryBackend
from avatar_studio.core.services.base import Identity, Secret, SignedInAccount

SAVED = {"version": 2, "accounts": [{"service": "x", "api_base": "http://127.0.0.1:1",
                                     "account_id": "1", "handle": "@alice",
                                     "display_name": "Alice"}],
         "last_account": "x:http://127.0.0.1:1:1", "theme": "dark"}
GOOD = json.dumps(SAVED).encode()


def _file(path: Path, data: bytes) -> None:
    path.write_bytes(data)


def _fifo(path: Path, _: bytes) -> None:
    os.mkfifo(path)


def _zero_link(path: Path, _: bytes) -> None:
    path.symlink_to("/dev/zero")


def _folder(path: Path, _: bytes) -> None:
    path.mkdir()
    (path / "inside.txt").write_text("keep me")


DAMAGE = {
    "truncated": (_file, GOOD[: len(GOOD) // 2]),
    "invalid UTF-8": (_file, GOOD.replace(b"Alice", b"Al\xff\xfece")),
    "deep nesting": (_file, b"[" * 200_000 + b"]" * 200_000),
    "deep object": (_file, b'{"a":' * 50_000 + b"1" + b"}" * 50_000),
    "JSON list": (_file, b"[1, 2, 3]"),
    "JSON null": (_file, b"null"),
    "JSON string": (_file, b'"settings"'),
    "empty": (_file, b""),
    "binary": (_file, bytes(range(256)) * 4),
    "too large": (_file, b'{"a": "' + b"x" * (st.MAX_SETTINGS_BYTES + 10) + b'"}'),
    "FIFO": (_fifo, b""),
    "symlink to /dev/zero": (_zero_link, b""),
    "folder in its place": (_folder, b""),
}


def _backups(folder: Path) -> list[Path]:
    return sorted(p for p in folder.iterdir() if ".damaged-" in p.name)


@pytest.mark.allow_log_warnings
@pytest.mark.parametrize("kind", list(DAMAGE))
def test_damaged_settings_are_moved_aside_never_lost(kind, caplog):
    path = st.settings_path()
    path.parent.mkdir(parents=True)
    make, data = DAMAGE[kind]
    make(path, data)
    with caplog.at_level("WARNING"):
        assert st.load_settings() == st.Settings()
    backups = _backups(path.parent)
    assert len(backups) == 1, backups
    backup = backups[0]
    messages = [r.getMessage() for r in caplog.records if r.levelname == "WARNING"]
    assert any(str(path) in m and str(backup) in m for m in messages), messages
    if make is _file:
        assert backup.read_bytes() == data  # moved, byte for byte
    elif make is _fifo:
        assert stat.S_ISFIFO(os.lstat(backup).st_mode)
    elif make is _zero_link:
        assert os.readlink(backup) == "/dev/zero"
    else:
        assert (backup / "inside.txt").read_text() == "keep me"
    # The next save writes a fresh file and leaves the backup alone.
    st.update_settings(lambda s: setattr(s, "theme", "light"))
    assert st.load_settings().theme == "light"
    assert _backups(path.parent) == [backup]
    assert stat.S_IMODE(path.stat().st_mode) == 0o600


@pytest.mark.allow_log_warnings
def test_config_folder_that_is_a_file(caplog, isolated_dirs):
    config = isolated_dirs["config"]
    config.write_text("I am a file")
    with caplog.at_level("WARNING"):
        assert st.load_settings() == st.Settings()
        st.update_settings(lambda s: setattr(s, "theme", "dark"))
    backups = sorted(p for p in config.parent.iterdir() if ".damaged-" in p.name)
    assert [b.read_text() for b in backups] == ["I am a file"]
    assert st.load_settings().theme == "dark"


def test_a_bom_is_read_not_lost():
    path = st.settings_path()
    path.parent.mkdir(parents=True)
    path.write_bytes(b"\xef\xbb\xbf" + GOOD)
    loaded = st.load_settings()
    assert loaded.theme == "dark"
    assert [a.handle for a in loaded.accounts] == ["@alice"]
    assert _backups(path.parent) == []


@pytest.mark.allow_log_warnings
def test_a_file_damaged_after_loading_is_not_overwritten_by_the_next_save(caplog):
    """The window loaded good settings; meanwhile the file became unreadable: saving
    keeps the damaged file as a backup instead of writing over it."""
    path = st.settings_path()
    path.parent.mkdir(parents=True)
    path.write_bytes(GOOD)
    loaded = st.load_settings()
    path.write_bytes(b"[1, 2")
    with caplog.at_level("WARNING"):
        st.save_settings(loaded)
    assert [b.read_bytes() for b in _backups(path.parent)] == [b"[1, 2"]


def _cli(*args: str, timeout: float = 30) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "avatar_studio.core.cli", *args],
                          capture_output=True, text=True, timeout=timeout, check=False,
                          stdin=subprocess.DEVNULL)


@pytest.mark.parametrize("kind", ["FIFO", "symlink to /dev/zero", "deep nesting",
                                  "folder in its place", "JSON list"])
def test_accounts_command_never_hangs_nor_exits_70(kind):
    path = st.settings_path()
    path.parent.mkdir(parents=True)
    make, data = DAMAGE[kind]
    make(path, data)
    started = time.monotonic()
    done = _cli("accounts", timeout=20)
    assert time.monotonic() - started < 10
    assert done.returncode not in (70, 1), done.stderr
    assert "Traceback" not in done.stderr
    backup = _backups(path.parent)[0]
    assert f"warning: Settings file {path} was unreadable" in done.stderr
    assert str(backup) in done.stderr


def test_config_folder_as_a_file_through_the_cli(isolated_dirs):
    isolated_dirs["config"].write_text("x")
    done = _cli("accounts", timeout=20)
    assert done.returncode not in (70, 1), done.stderr
    assert "Traceback" not in done.stderr


# -- sign-in: the settings first, the secret second -----------------------------------
SECRET = Secret("x", {"api_key": "k", "api_secret": "s", "access_token": "t",
                      "access_secret": "u"})


def _account() -> SignedInAccount:
    return SignedInAccount(Identity("x", "http://127.0.0.1:1", "7", "@bob", "Bob",
                                    "https://x/p.png"), SECRET)


class _BrokenKeyring(MemoryBackend):
    def set_password(self, service: str, username: str, password: str) -> None:
        import keyring.errors

        raise keyring.errors.PasswordSetError("the keyring is locked")


def test_settings_that_cannot_be_written_leave_no_secret_behind(tmp_path):
    backend = MemoryBackend()
    blocked = tmp_path / "file"
    blocked.write_text("not a folder")
    os.chmod(tmp_path, 0o500)  # the blocker cannot be moved aside either (non-root)
    accounts = Accounts(CredentialStore(backend), settings_path=blocked / "settings.json")
    try:
        if os.geteuid() == 0:
            # root ignores the folder's mode: make the write fail where root fails too.
            accounts.settings_path = Path("/proc/avatar-studio-test/settings.json")
        with pytest.raises(st.SettingsNotSaved):
            accounts.add(_account())
    finally:
        os.chmod(tmp_path, 0o700)
    assert backend.get_password("avatar-studio", "x:http://127.0.0.1:1:7") is None


@pytest.mark.allow_log_warnings
def test_a_keyring_failure_rolls_the_settings_back():
    path = st.settings_path()
    path.parent.mkdir(parents=True)
    path.write_bytes(GOOD)
    accounts = Accounts(CredentialStore(_BrokenKeyring()))
    with pytest.raises(Exception, match="keyring"):
        accounts.add(_account())
    after = st.load_settings()
    assert [a.handle for a in after.accounts] == ["@alice"]
    assert after.last_account == SAVED["last_account"]


# -- kill -9 during writes --------------------------------------------------------------
_WRITER = textwrap.dedent("""
    import sys
    from avatar_studio.core import settings as st
    s = st.Settings()
    s.recent_files = ["x" * 200] * 10
    s.window_geometry = "g" * 400_000  # a large file (under the 1 MB cap): writes take a while
    st.save_settings(s)  # one whole file exists before the first kill can land
    print("ready", flush=True)
    n = 0
    while True:
        s.theme = ("light", "dark")[n % 2]
        st.save_settings(s)
        n += 1
""")


def test_kill_9_during_writes_never_leaves_half_a_file_and_temps_are_cleaned():
    path = st.settings_path()
    kills = 8
    for _ in range(kills):
        proc = subprocess.Popen([sys.executable, "-c", _WRITER], stdout=subprocess.PIPE,
                                text=True)
        assert proc.stdout is not None
        assert proc.stdout.readline().strip() == "ready"
        time.sleep(0.25)  # a few writes in: the kill lands mid-write or mid-rename
        proc.send_signal(signal.SIGKILL)
        proc.wait()
        proc.stdout.close()
        data = json.loads(path.read_bytes())  # always a whole file, never half of one
        assert data["theme"] in ("light", "dark")
    leftovers = [p for p in path.parent.iterdir() if p.name.endswith(safefile.TEMP_SUFFIX)]
    print(f"kill -9: {kills} kills, {len(leftovers)} temp files left behind")
    # Temp files younger than the stale age survive one write; age them, then write.
    past = time.time() - 60
    for p in leftovers:
        os.utime(p, (past, past))
    st.save_settings(st.Settings())
    assert sorted(p.name for p in path.parent.iterdir()) == ["settings.json"]
