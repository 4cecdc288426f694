"""The services Avatar Studio knows, by key: the one way in for the window and the CLI.

Concrete services register lazily (their modules import requests, oauthlib, ...), so
listing the keys costs nothing at start-up.
"""

from __future__ import annotations

import importlib

from avatar_studio.core.services.base import Service

#: key -> module that defines ``SERVICE``; the order is the order users see.
_MODULES: dict[str, str] = {
    "x": "avatar_studio.core.services.x",
    "bluesky": "avatar_studio.core.services.bluesky",
}
_loaded: dict[str, Service] = {}


class UnknownService(KeyError):
    pass


def keys() -> tuple[str, ...]:
    return tuple(_MODULES)


def get(key: str) -> Service:
    key = key.lower()
    if key not in _MODULES:
        raise UnknownService(f"unknown service {key!r}; known: {', '.join(_MODULES)}")
    if key not in _loaded:
        module = importlib.import_module(_MODULES[key])
        _loaded[key] = module.SERVICE
    return _loaded[key]


def default() -> Service:
    """The first service listed: what previews render for before an account is chosen."""
    return get(keys()[0])


def all_services() -> list[Service]:
    return [get(key) for key in _MODULES]
