"""The services Avatar Studio knows, by key: the one way in for the window and the CLI.

Concrete services register lazily (their modules import requests, oauthlib, ...), so
listing the keys costs nothing at start-up.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    # Only the services use it at run time (they import it themselves): ``render``
    # needs a spec and no more.
    from avatar_studio.core.imaging.spec import RenderSpec
    from avatar_studio.core.services.base import Service

#: key -> module that defines ``SERVICE``; the order is the order users see.
_MODULES: dict[str, str] = {
    "x": "avatar_studio.core.services.x",
    "mastodon": "avatar_studio.core.services.mastodon",
    "bluesky": "avatar_studio.core.services.bluesky",
}
#: key -> "module:attribute" of the service's default RenderSpec, for callers that need
#: only the spec (``render``, the first previews) and not the client's imports.
_SPECS: dict[str, str] = {
    "x": "avatar_studio.core.services.x.spec:X_SPEC",
    "mastodon": "avatar_studio.core.services.mastodon.spec:DEFAULT_SPEC",
    "bluesky": "avatar_studio.core.services.bluesky.spec:BLUESKY_SPEC",
}
#: key -> the output side of the service's default spec, for the CLI's early decode,
#: which picks its DCT scale before the specs (dataclasses, ~6-12 ms) load. Only a hint:
#: a wrong one costs a second decode, never other pixels (tests/core/test_cli_imports.py
#: checks it against default_spec).
_OUTPUT_SIDES: dict[str, int] = {"x": 400, "mastodon": 400, "bluesky": 1000}
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


def default_spec(key: str) -> RenderSpec:
    """``get(key).default_spec`` without importing the service's client when the spec
    has its own module (tests/core/test_cli_imports.py checks that both agree)."""
    key = key.lower()
    if key not in _MODULES:
        raise UnknownService(f"unknown service {key!r}; known: {', '.join(_MODULES)}")
    target = _SPECS.get(key)
    if target is None:
        return get(key).default_spec
    from avatar_studio.core.imaging.spec import RenderSpec

    module, attribute = target.split(":")
    spec = getattr(importlib.import_module(module), attribute)
    assert isinstance(spec, RenderSpec)
    return spec


def default_output_side(key: str) -> int | None:
    """``default_spec(key).output_side`` without loading the spec (None: not known)."""
    return _OUTPUT_SIDES.get(key.lower())


def default() -> Service:
    """The first service listed: what previews render for before an account is chosen."""
    return get(keys()[0])


def all_services() -> list[Service]:
    return [get(key) for key in _MODULES]
