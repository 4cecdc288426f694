"""Where the app keeps its files: config, state (logs), cache.

Each folder can be redirected with an environment variable; the tests use that so they
never touch a developer's real folders.
"""

from __future__ import annotations

import os
from pathlib import Path

import platformdirs
from avatar_studio.core.version import DIST_NAME

CONFIG_ENV = "AVATAR_STUDIO_CONFIG_DIR"
STATE_ENV = "AVATAR_STUDIO_STATE_DIR"
CACHE_ENV = "AVATAR_STUDIO_CACHE_DIR"


def _dir(env: str, default: str) -> Path:
    override = os.environ.get(env)
    path = Path(override) if override else Path(default)
    return path


def config_dir() -> Path:
    """Settings (no secrets: those live in the OS keyring)."""
    return _dir(CONFIG_ENV, platformdirs.user_config_dir(DIST_NAME, appauthor=False))


def state_dir() -> Path:
    """Logs and other state that is not configuration."""
    return _dir(STATE_ENV, platformdirs.user_state_dir(DIST_NAME, appauthor=False))


def log_dir() -> Path:
    return state_dir() / "log"


def cache_dir() -> Path:
    return _dir(CACHE_ENV, platformdirs.user_cache_dir(DIST_NAME, appauthor=False))
