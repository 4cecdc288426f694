"""Locate files shipped in resources/ (installed as avatar_studio.resources)."""

from __future__ import annotations

from importlib import resources
from pathlib import Path

from PySide6.QtGui import QIcon

ICON_FILE = "avatar-studio.svg"


def resource_path(name: str) -> Path:
    # Editable installs, wheels and the frozen bundle all expose real files here.
    return Path(str(resources.files("avatar_studio.resources").joinpath(name)))


def app_icon() -> QIcon:
    return QIcon(str(resource_path(ICON_FILE)))
