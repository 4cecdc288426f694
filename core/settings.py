"""Typed settings in one JSON file in the user's config folder (never any secret).

Every setting is declared here with its type and default; the window and the command
line read and write them only through :class:`Settings`. A file an older release wrote
is upgraded on reading by :data:`UPGRADES`, one function per version step; keys this
release does not know (a newer release's, say) are kept and written back unchanged.
"""

from __future__ import annotations

import json
import logging
import os
import threading
import time
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import asdict, dataclass, field, fields, replace
from pathlib import Path
from typing import Any

from avatar_studio.core import jsonlimits, paths, safefile
from avatar_studio.core.errors import UserFacingError

log = logging.getLogger(__name__)

SETTINGS_FILE = "settings.json"
SETTINGS_VERSION = 2
MAX_RECENT_FILES = 10


@dataclass(slots=True)
class AccountRecord:
    """The non-secret half of a signed-in account (secrets live in the keyring)."""

    #: Registry key of the service: "x", "mastodon", "bluesky".
    service: str
    #: API base URL without a trailing slash (X API host, Mastodon instance, PDS).
    api_base: str
    #: Stable id that survives renames (X user id, Mastodon account id, DID).
    account_id: str
    #: As the service writes it: "@name", "@user@instance", "@alice.bsky.social".
    handle: str
    display_name: str = ""
    #: Keys of this entry that this release does not know: written back unchanged.
    unknown: dict[str, Any] = field(default_factory=dict, compare=False, repr=False)

    @property
    def key(self) -> str:
        """Stable identifier, also the keyring user name for this account's secret."""
        return f"{self.service}:{self.api_base}:{self.account_id}"

    @property
    def label(self) -> str:
        """``SERVICE:@name``: what tells two services' same names apart."""
        return f"{self.service}:{self.handle}"

    def matches(self, key_or_name: str) -> bool:
        """True for this account's key, its handle, or ``SERVICE:`` + its handle.

        Any case, "@" optional; a Mastodon-style "@user@instance" also answers to its
        "@user" (Accounts.find refuses a name that fits several accounts).
        """
        wanted = key_or_name.strip()
        if wanted == self.key:
            return True
        service, colon, rest = wanted.partition(":")
        if colon and "://" not in wanted:
            if service.lower() != self.service:
                return False
            wanted = rest
        name = wanted.removeprefix("@").lower()
        handle = self.handle.removeprefix("@").lower()
        return bool(name) and (name == handle or name == handle.split("@")[0])


@dataclass(slots=True)
class Settings:
    version: int = SETTINGS_VERSION
    accounts: list[AccountRecord] = field(default_factory=list)
    last_account: str = ""
    recent_files: list[str] = field(default_factory=list)
    mask_shape: str = "circle"  # "circle" or "square"
    fill_color: str = "#ffffff"
    flatten_alpha: bool = False
    window_geometry: str = ""  # base64 of QWidget.saveGeometry()
    last_open_dir: str = ""
    fit_mode: bool = False
    theme: str = "system"  # "system", "light" or "dark"
    #: Top-level keys this release does not know: written back as they were read.
    unknown: dict[str, Any] = field(default_factory=dict)

    def add_recent(self, path: str) -> None:
        self.recent_files = [path, *(p for p in self.recent_files if p != path)]
        del self.recent_files[MAX_RECENT_FILES:]

    def find_account(self, key_or_name: str) -> AccountRecord | None:
        return next((acc for acc in self.accounts if acc.matches(key_or_name)), None)

    def upsert_account(self, record: AccountRecord) -> None:
        """Add the account, or update it in its place in the list. The keys a newer
        release stored on the entry (``unknown``) stay: signing in again with this
        release must not lose them."""
        for i, old in enumerate(self.accounts):
            if old.key == record.key:
                self.accounts[i] = replace(record, unknown={**old.unknown, **record.unknown})
                return
        self.accounts.append(record)

    def remove_account(self, key: str) -> None:
        self.accounts = [a for a in self.accounts if a.key != key]
        if self.last_account == key:
            self.last_account = ""


def settings_path() -> Path:
    return paths.config_dir() / SETTINGS_FILE


def _v1_to_v2(data: dict[str, Any]) -> dict[str, Any]:
    """Release 1 knew only X: base_url/user_id/screen_name/name become the neutral
    api_base/account_id/handle ("@" + screen name)/display_name. Keys are unchanged
    ("x:<api base>:<user id>"), so last_account and the keyring entries still match."""
    listed = data.get("accounts")
    if isinstance(listed, list):
        upgraded: list[Any] = []
        for raw in listed:
            if isinstance(raw, dict) and "screen_name" in raw:
                raw = dict(raw)
                screen_name = str(raw.pop("screen_name"))
                raw["handle"] = "@" + screen_name.removeprefix("@")
                if "base_url" in raw:
                    raw["api_base"] = raw.pop("base_url")
                if "user_id" in raw:
                    raw["account_id"] = raw.pop("user_id")
                if "name" in raw:
                    raw["display_name"] = raw.pop("name")
                raw.setdefault("service", "x")
            upgraded.append(raw)
        data = {**data, "accounts": upgraded}
    return {**data, "version": 2}


#: version N -> the function that turns a version-N dict into version N + 1.
UPGRADES: dict[int, Callable[[dict[str, Any]], dict[str, Any]]] = {1: _v1_to_v2}


def upgrade(data: dict[str, Any]) -> dict[str, Any]:
    """``data`` (as read from any release's file) brought to :data:`SETTINGS_VERSION`."""
    version = data.get("version", 1)
    if not isinstance(version, int) or isinstance(version, bool) or version < 1:
        version = 1
    while version < SETTINGS_VERSION:
        data = UPGRADES[version](data)
        log.info("Settings upgraded from version %d to %d", version, version + 1)
        version += 1
    return data


def _from_dict(data: dict[str, Any]) -> Settings:
    data = upgrade(data)
    known = {f.name for f in fields(Settings)} - {"unknown"}
    values = {k: v for k, v in data.items() if k in known}
    defaults = Settings()
    accounts = []
    listed = values.pop("accounts", [])
    for raw in listed if isinstance(listed, list) else [listed]:
        try:
            if not isinstance(raw, dict):
                raise TypeError("not an object")
            names = set(AccountRecord.__dataclass_fields__) - {"unknown"}
            accounts.append(AccountRecord(
                **{k: str(v) for k, v in raw.items() if k in names},
                unknown={k: v for k, v in raw.items() if k not in names}))
        except TypeError:
            log.warning("Ignoring a malformed account entry in the settings file")
    settings = Settings(accounts=accounts,
                        unknown={k: v for k, v in data.items() if k not in known})
    for f in fields(Settings):
        if f.name in values and f.name not in ("accounts", "version"):
            value = values[f.name]
            if isinstance(value, type(getattr(defaults, f.name))):
                setattr(settings, f.name, value)
    return settings


#: A settings file is a few KB; anything this large is not ours (a link to /dev/zero).
MAX_SETTINGS_BYTES = 1024 * 1024
#: Deeper JSON is not a settings file (and would exhaust the parser's recursion).
MAX_SETTINGS_DEPTH = 32


class SettingsNotSaved(UserFacingError):
    """The settings could not be written (the change is not kept)."""

    exit_code = 55


def backup_path(path: Path, when: float | None = None) -> Path:
    """Where an unreadable ``path`` is moved: ``settings.json.damaged-20261201-173000``."""
    stamp = time.strftime("%Y%m%d-%H%M%S", time.localtime(when))
    candidate = path.with_name(f"{path.name}.damaged-{stamp}")
    n = 1
    while os.path.lexists(candidate):
        n += 1
        candidate = path.with_name(f"{path.name}.damaged-{stamp}-{n}")
    return candidate


def _move_aside(path: Path, reason: str, *, strict: bool) -> Path | None:
    """Rename the unreadable ``path`` (file, FIFO, link, folder) to a timestamped backup
    beside it; the user is told both names. Never deletes anything. When it cannot be
    moved: a warning, and with ``strict`` (about to write) SettingsNotSaved."""
    target = backup_path(path)
    try:
        os.rename(path, target)
    except FileNotFoundError:
        return None  # another process moved it first
    except OSError as exc:
        log.warning("Settings file %s is unreadable (%s) and could not be moved aside "
                    "(%s); using defaults without saving over it", path, reason,
                    exc.strerror or exc)
        if not strict:
            return None
        raise SettingsNotSaved(f"{path} is unreadable ({reason}) and cannot be moved "
                               f"aside: {exc.strerror or exc}",
                               hint="Move or delete it yourself, then try again.") from None
    then = ("the new settings are saved in its place" if strict else
            "the defaults are used (signed-in accounts must be added again)")
    log.warning("Settings file %s was unreadable (%s): it is kept as %s, and %s",
                path, reason, target, then)
    return target


def _read(path: Path) -> dict[str, Any] | str | None:
    """The settings dict, None when there is no file, or why it cannot be used."""
    try:
        raw = safefile.read_file(path, MAX_SETTINGS_BYTES)
    except FileNotFoundError:
        return None
    except NotADirectoryError:
        return "its folder is a file"
    except safefile.NotARegularFile as exc:
        return exc.kind
    except safefile.TooLarge:
        return f"larger than {MAX_SETTINGS_BYTES:,} bytes"
    except OSError as exc:
        return exc.strerror or str(exc)
    try:
        # utf-8-sig: a BOM (added by some editors) is no reason to lose the settings.
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError:
        return "not UTF-8 text"
    try:
        if not jsonlimits.depth_ok(text, MAX_SETTINGS_DEPTH):
            return "nested too deeply"
        data = json.loads(text)
    except (ValueError, RecursionError) as exc:
        return f"not valid JSON: {str(exc)[:80]}"
    if not isinstance(data, dict):
        return f"JSON {type(data).__name__ if data is not None else 'null'}, not an object"
    return data


def _config_folder_problem(path: Path) -> Path | None:
    """The first folder on the way to ``path`` that exists but is not a folder."""
    for parent in reversed(path.parents):
        if os.path.lexists(parent) and not parent.is_dir():
            return parent
    return None


def load_settings(path: Path | None = None) -> Settings:
    """Read the settings. A missing file gives defaults. An unreadable one (damaged,
    not JSON, not an object, a FIFO, a device, a folder, ...) is moved aside to
    :func:`backup_path` with a warning naming both files, and defaults are used: it is
    never read forever, hung on, or silently overwritten."""
    path = path or settings_path()
    blocker = _config_folder_problem(path)
    if blocker is not None:
        _move_aside(blocker, f"it should be the folder holding {path.name}", strict=False)
        return Settings()
    found = _read(path)
    if found is None:
        return Settings()
    if isinstance(found, str):
        _move_aside(path, found, strict=False)
        return Settings()
    return _from_dict(found)


#: One read-change-write at a time in this process: the window's writer and the account
#: list's workers (core.accounts) write the one file from different threads.
_updating = threading.RLock()


def update_settings(change: Callable[[Settings], None], path: Path | None = None) -> Settings:
    """Read the file afresh, apply ``change`` and write it back.

    The window and the account list (core.accounts) both write the one file; changing
    only what you own on fresh data keeps one writer from undoing the other's change.
    """
    with _updating:
        settings = load_settings(path)
        change(settings)
        save_settings(settings, path)
    return settings


class SettingsWriter:
    """:func:`update_settings` on a background thread, one change at a time in the order
    they were asked for. A write fsyncs the file and its folder, which on a slow or busy
    disk takes long enough to freeze a window: the window hands its changes to one of
    these. ``on_error`` is called (on the writer's thread) with what a write raised,
    SettingsNotSaved for a disk that refuses. ``flush`` waits for the changes asked for
    so far; the interpreter also waits for them at exit."""

    def __init__(self, path: Path | None = None, *,
                 on_error: Callable[[BaseException], None] | None = None) -> None:
        self.path = path
        self.on_error = on_error
        self._pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="avatar-settings")
        self._last: Future[None] | None = None
        self._lock = threading.Lock()

    def update(self, change: Callable[[Settings], None]) -> None:
        # The file is the one named now (tests and the CLI name it by the environment).
        path = self.path or settings_path()
        with self._lock:
            self._last = self._pool.submit(self._write, change, path)

    def _write(self, change: Callable[[Settings], None], path: Path) -> None:
        try:
            update_settings(change, path)
        except Exception as exc:  # noqa: BLE001 - handed to on_error, the window shows it
            log.warning("Settings not saved: %s", exc)
            if self.on_error is not None:
                self.on_error(exc)

    def flush(self, timeout: float | None = None) -> bool:
        """Wait until every change asked for so far is written (or failed); False if
        that took longer than ``timeout`` seconds."""
        with self._lock:
            last = self._last
        if last is None:
            return True
        try:
            last.result(timeout)
        except TimeoutError:
            return False
        return True


def save_settings(settings: Settings, path: Path | None = None) -> None:
    """Write atomically (core.safefile: fsync, 0600 in a 0700 folder, stale temp files
    of a killed writer removed); an unreadable file in the way is moved aside first.
    Raises SettingsNotSaved (exit 55) when the disk refuses."""
    path = path or settings_path()
    data = asdict(settings)
    unknown = data.pop("unknown")
    for entry in data["accounts"]:
        entry.update({k: v for k, v in entry.pop("unknown").items() if k not in entry})
    data["version"] = SETTINGS_VERSION
    text = json.dumps({**unknown, **data}, indent=2, sort_keys=True)
    blocker = _config_folder_problem(path)
    if blocker is not None:
        _move_aside(blocker, f"it should be the folder holding {path.name}", strict=True)
    elif os.path.lexists(path) and isinstance(problem := _read(path), str):
        _move_aside(path, problem, strict=True)
    try:
        safefile.write_text(path, text, private=True)
    except OSError as exc:
        raise SettingsNotSaved(f"cannot save the settings to {path}: {exc.strerror or exc}",
                               hint="Check that the folder exists and is writable.") from None
