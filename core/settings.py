"""Typed settings in one JSON file in the user's config folder (never any secret).

Every setting is declared here with its type and default; the window and the command
line read and write them only through :class:`Settings`.
"""

from __future__ import annotations

import json
import logging
import os
import tempfile
from collections.abc import Callable
from dataclasses import asdict, dataclass, field, fields
from pathlib import Path
from typing import Any

from avatar_studio.core import paths

log = logging.getLogger(__name__)

SETTINGS_FILE = "settings.json"
SETTINGS_VERSION = 1
MAX_RECENT_FILES = 10


@dataclass(slots=True)
class AccountRecord:
    """The non-secret half of a signed-in account (secrets live in the keyring)."""

    service: str
    base_url: str
    user_id: str
    screen_name: str
    name: str = ""

    @property
    def key(self) -> str:
        """Stable identifier, also the keyring user name for this account's secret."""
        return f"{self.service}:{self.base_url}:{self.user_id}"

    def matches(self, key_or_name: str) -> bool:
        """True for this account's key or its @name (any case, "@" optional)."""
        wanted = key_or_name.removeprefix("@").lower()
        return self.key == key_or_name or self.screen_name.lower() == wanted


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

    def add_recent(self, path: str) -> None:
        self.recent_files = [path, *(p for p in self.recent_files if p != path)]
        del self.recent_files[MAX_RECENT_FILES:]

    def find_account(self, key_or_name: str) -> AccountRecord | None:
        return next((acc for acc in self.accounts if acc.matches(key_or_name)), None)

    def upsert_account(self, record: AccountRecord) -> None:
        self.accounts = [a for a in self.accounts if a.key != record.key] + [record]

    def remove_account(self, key: str) -> None:
        self.accounts = [a for a in self.accounts if a.key != key]
        if self.last_account == key:
            self.last_account = ""


def settings_path() -> Path:
    return paths.config_dir() / SETTINGS_FILE


def _from_dict(data: dict[str, Any]) -> Settings:
    known = {f.name for f in fields(Settings)}
    values = {k: v for k, v in data.items() if k in known}
    defaults = Settings()
    accounts = []
    listed = values.pop("accounts", [])
    for raw in listed if isinstance(listed, list) else [listed]:
        try:
            if not isinstance(raw, dict):
                raise TypeError("not an object")
            accounts.append(AccountRecord(**{k: str(v) for k, v in raw.items()
                                              if k in AccountRecord.__dataclass_fields__}))
        except TypeError:
            log.warning("Ignoring a malformed account entry in the settings file")
    settings = Settings(accounts=accounts)
    for f in fields(Settings):
        if f.name in values and f.name != "accounts":
            value = values[f.name]
            if isinstance(value, type(getattr(defaults, f.name))):
                setattr(settings, f.name, value)
    return settings


def load_settings(path: Path | None = None) -> Settings:
    """Read the settings; a missing or damaged file gives defaults (and is logged)."""
    path = path or settings_path()
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        return Settings()
    except (OSError, ValueError) as exc:
        log.warning("Settings file %s unreadable (%s); using defaults", path, exc)
        return Settings()
    if not isinstance(data, dict):
        return Settings()
    return _from_dict(data)


def update_settings(change: Callable[[Settings], None], path: Path | None = None) -> Settings:
    """Read the file afresh, apply ``change`` and write it back.

    The window and the account list (core.accounts) both write the one file; changing
    only what you own on fresh data keeps one writer from undoing the other's change.
    """
    settings = load_settings(path)
    change(settings)
    save_settings(settings, path)
    return settings


def save_settings(settings: Settings, path: Path | None = None) -> None:
    """Write atomically so a crash never leaves half a settings file."""
    path = path or settings_path()
    path.parent.mkdir(parents=True, exist_ok=True)
    text = json.dumps(asdict(settings), indent=2, sort_keys=True)
    fd, tmp = tempfile.mkstemp(prefix=".settings-", dir=path.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            fh.write(text)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
