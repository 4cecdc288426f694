"""Signed-in accounts of any service: the non-secret list in settings, the secrets in the
keyring.

Signing in saves the secret first and only then lists the account, so a failing keyring
never leaves an account without its secret. Signing out deletes both. In
"this session only" mode (the store keeps secrets in memory) accounts are not written to
the settings file either, so nothing outlives the process.

Accounts are named by ``@name`` (the handle as the service writes it; a Mastodon
``@user@instance`` also by ``@user``) or, when two services share a name, by
``SERVICE:@name`` (``x:@alice``, ``mastodon:@alice@example.social``).
"""

from __future__ import annotations

import builtins
import logging
import os
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

from avatar_studio.core.credentials import (
    SERVICE_NAME,
    CredentialStore,
    KeyringUnavailable,
)
from avatar_studio.core.errors import UserFacingError
from avatar_studio.core.services import registry
from avatar_studio.core.services.base import Identity, Secret, Service, Session, SignedInAccount
from avatar_studio.core.settings import (
    AccountRecord,
    Settings,
    load_settings,
    settings_path,
    update_settings,
)

log = logging.getLogger(__name__)


class AccountNotFound(UserFacingError):
    """No account, an unknown name, or several accounts and none chosen."""

    exit_code = 36


@dataclass(frozen=True)
class ResolvedAccount:
    record: AccountRecord
    secret: Secret


def record_for(identity: Identity) -> AccountRecord:
    return AccountRecord(service=identity.service, api_base=identity.api_base,
                         account_id=identity.account_id, handle=identity.handle,
                         display_name=identity.display_name)


def identity_for(record: AccountRecord) -> Identity:
    """What the settings know of the account (the avatar URL is not kept)."""
    return Identity(service=record.service, api_base=record.api_base,
                    account_id=record.account_id, handle=record.handle,
                    display_name=record.display_name)


def account_name(record: AccountRecord, records: Sequence[AccountRecord]) -> str:
    """The handle, or ``SERVICE:@name`` where the plain handle would fit several."""
    fits = sum(1 for other in records if other.matches(record.handle))
    return record.label if fits > 1 else record.handle


def _names(records: Sequence[AccountRecord]) -> str:
    return ", ".join(account_name(r, records) for r in records)


class Accounts:
    """The account list plus its secrets; every method reads the settings afresh."""

    def __init__(self, store: CredentialStore, *, settings_path: Path | None = None,
                 services: Callable[[str], Service] = registry.get) -> None:
        self.store = store
        self.settings_path = settings_path
        self.services = services
        self._session: list[AccountRecord] = []

    def _load(self) -> Settings:
        return load_settings(self.settings_path)

    def list(self) -> list[AccountRecord]:
        saved = self._load().accounts
        keys = {a.key for a in saved}
        return saved + [a for a in self._session if a.key not in keys]

    def add(self, account: SignedInAccount) -> AccountRecord:
        """Save the account: the settings entry first, the secret second. Settings that
        cannot be written raise before any secret is stored (no orphan in the keyring);
        a keyring that then fails gets the settings rolled back to what they were."""
        record = record_for(account.identity)
        if self.store.in_memory:
            self.store.save(record, account.secret)
            self._session = [a for a in self._session if a.key != record.key] + [record]
            return record
        path = self.settings_path or settings_path()
        existed = os.path.lexists(path)
        before = self._load()
        previous = next((a for a in before.accounts if a.key == record.key), None)
        previous_last = before.last_account

        def change(settings: Settings) -> None:
            settings.upsert_account(record)
            settings.last_account = record.key

        update_settings(change, self.settings_path)
        try:
            self.store.save(record, account.secret)
        except BaseException:
            def undo(settings: Settings) -> None:
                settings.remove_account(record.key)
                if previous is not None:
                    settings.upsert_account(previous)
                if settings.last_account in ("", record.key):
                    settings.last_account = previous_last

            try:
                if existed:
                    update_settings(undo, self.settings_path)
                else:
                    path.unlink(missing_ok=True)  # as before: no settings file at all
            except Exception as exc:  # noqa: BLE001 - the keyring's error is the one to show
                log.warning("Could not undo the settings entry for %s: %s", record.label, exc)
            raise
        log.info("Signed in as %s (%s)", record.label, record.api_base)
        return record

    def find(self, name: str | None = None, *, api_base: str | None = None,
             service: str | None = None) -> AccountRecord:
        """By key, @name or SERVICE:@name; without a name the last used account, or the
        only one. ``api_base`` / ``service`` limit the choice."""
        accounts = self.list()
        if service is not None:
            accounts = [a for a in accounts if a.service == service]
        if api_base is not None:
            accounts = [a for a in accounts if a.api_base == api_base]
        if not accounts:
            where = f" on {api_base}" if api_base else ""
            raise AccountNotFound(f"No account is signed in{where}.",
                                  hint="Sign in first: avatar-studio-cli login")
        if name:
            exact = [a for a in accounts if a.key == name]
            found = exact or [a for a in accounts if a.matches(name)]
            if len(found) == 1:
                return found[0]
            if found:
                raise AccountNotFound(
                    f"{name} could mean several accounts: {_names(found)}.",
                    hint="Say which with SERVICE:@name, e.g. --account "
                         f"{found[0].label}")
            raise AccountNotFound(
                f"No signed-in account is called {name}.",
                hint="Signed in: " + _names(accounts))
        if len(accounts) == 1:
            return accounts[0]
        last = self._load().last_account
        for acc in accounts:
            if acc.key == last:
                return acc
        raise AccountNotFound(
            "Several accounts are signed in; say which one.",
            hint="Use --account with one of: " + _names(accounts))

    def find_many(self, names: Sequence[str]) -> builtins.list[AccountRecord]:
        """Each name resolved (AccountNotFound for the first that is not); no repeats."""
        found: builtins.list[AccountRecord] = []
        for name in names:
            record = self.find(name)
            if record.key not in {r.key for r in found}:
                found.append(record)
        return found

    def resolve(self, name: str | None = None) -> ResolvedAccount:
        record = self.find(name)
        return ResolvedAccount(record, self.store.load(record))

    def open_session(self, record: AccountRecord, secret: Secret | None = None) -> Session:
        """A session for a saved account; rotated secrets are written back at once."""
        secret = secret if secret is not None else self.store.load(record)

        def keep(new: Secret) -> None:
            self.store.save(record, new)

        return self.services(record.service).open_session(
            identity_for(record), secret, on_secret_changed=keep)

    def remember_used(self, record: AccountRecord) -> None:
        settings = self._load()
        if settings.last_account == record.key or not any(a.key == record.key
                                                           for a in settings.accounts):
            return

        def change(fresh: Settings) -> None:
            fresh.last_account = record.key

        update_settings(change, self.settings_path)

    def remove(self, record: AccountRecord) -> None:
        """Delete the secret and the entry; the entry goes even if the keyring fails."""
        problem: KeyringUnavailable | None = None
        try:
            self.store.delete(record)
        except KeyringUnavailable as exc:
            problem = exc
        self._session = [a for a in self._session if a.key != record.key]
        if any(a.key == record.key for a in self._load().accounts):
            update_settings(lambda fresh: fresh.remove_account(record.key), self.settings_path)
        log.info("Signed out %s", record.label)
        if problem is not None:
            raise KeyringUnavailable(
                f"{problem.problem}; {record.handle} is signed out here, but its "
                f"secret may still be in the keyring",
                hint=f"Remove the keyring entry for service '{SERVICE_NAME}' and user "
                     f"'{record.key}' with your keyring manager once it works.")
