"""Avatar Studio's app registration per instance, kept in the keyring (never a file).

Keyring service ``avatar-studio``, user ``mastodon-app:<api base>``, value
``{"v": 1, "client_id", "client_secret", "redirect_uris", "scopes"}``.
"""

from __future__ import annotations

import json
import logging
from typing import Protocol

from avatar_studio.core.credentials import SERVICE_NAME, CredentialStore
from avatar_studio.core.services.mastodon.client import AppRegistration

log = logging.getLogger(__name__)

APP_FORMAT = 1


def keyring_user(api_base: str) -> str:
    return f"mastodon-app:{api_base}"


class AppStore(Protocol):
    def load(self, api_base: str) -> AppRegistration | None: ...

    def save(self, app: AppRegistration) -> None: ...

    def delete(self, api_base: str) -> None: ...


class KeyringAppStore:
    """The registrations in the OS keyring, through the app's one CredentialStore."""

    def __init__(self, store: CredentialStore | None = None) -> None:
        self.store = store or CredentialStore()

    def load(self, api_base: str) -> AppRegistration | None:
        text = self.store.backend().get_password(SERVICE_NAME, keyring_user(api_base))
        if not text:
            return None
        try:
            data = json.loads(text)
            return AppRegistration(api_base, str(data["client_id"]),
                                   str(data["client_secret"]),
                                   tuple(data.get("redirect_uris") or ()),
                                   tuple(data.get("scopes") or ()))
        except (ValueError, KeyError, TypeError):
            log.info("Ignoring a damaged app registration for %s", api_base)
            return None

    def save(self, app: AppRegistration) -> None:
        value = json.dumps({"v": APP_FORMAT, "client_id": app.client_id,
                            "client_secret": app.client_secret,
                            "redirect_uris": list(app.redirect_uris),
                            "scopes": list(app.scopes)}, separators=(",", ":"))
        self.store.backend().set_password(SERVICE_NAME, keyring_user(app.api_base), value)

    def delete(self, api_base: str) -> None:
        backend = self.store.backend()
        if backend.get_password(SERVICE_NAME, keyring_user(api_base)) is not None:
            backend.delete_password(SERVICE_NAME, keyring_user(api_base))


class MemoryAppStore:
    """For scripts and tests that must not touch the keyring."""

    def __init__(self) -> None:
        self.apps: dict[str, AppRegistration] = {}

    def load(self, api_base: str) -> AppRegistration | None:
        return self.apps.get(api_base)

    def save(self, app: AppRegistration) -> None:
        self.apps[app.api_base] = app

    def delete(self, api_base: str) -> None:
        self.apps.pop(api_base, None)
