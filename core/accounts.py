"""Signed-in accounts: the non-secret list in settings, the secrets in the keyring.

Signing in saves the secret first and only then lists the account, so a failing keyring
never leaves an account without its secret. Signing out deletes both. In
"this session only" mode (the store keeps secrets in memory) accounts are not written to
the settings file either, so nothing outlives the process.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path

from avatar_studio.core.credentials import (
    SERVICE_NAME,
    CredentialStore,
    KeyringUnavailable,
    Secrets,
)
from avatar_studio.core.errors import UserFacingError
from avatar_studio.core.services.x.client import (
    AccessTokens,
    ConsumerKeys,
    RetryPolicy,
    SignedIn,
    XClient,
)
from avatar_studio.core.services.x.refresh import PollPolicy
from avatar_studio.core.settings import AccountRecord, Settings, load_settings, update_settings

log = logging.getLogger(__name__)


class AccountNotFound(UserFacingError):
    """No account, an unknown name, or several accounts and none chosen."""

    exit_code = 36


@dataclass(frozen=True)
class ResolvedAccount:
    record: AccountRecord
    secrets: Secrets


def record_for(signed_in: SignedIn, api_base: str) -> AccountRecord:
    user = signed_in.user
    return AccountRecord(service="x", base_url=api_base, user_id=user.user_id,
                         screen_name=user.screen_name, name=user.name)


def secrets_for(consumer: ConsumerKeys, tokens: AccessTokens) -> Secrets:
    return Secrets(consumer.api_key, consumer.api_secret, tokens.token, tokens.secret)


def client_for(secrets: Secrets, api_base: str, *, poll: PollPolicy | None = None,
               retry: RetryPolicy | None = None, account: str = "") -> XClient:
    return XClient(ConsumerKeys(secrets.api_key, secrets.api_secret),
                   AccessTokens(secrets.access_token, secrets.access_secret),
                   api_base=api_base, poll=poll, retry=retry or RetryPolicy(),
                   account=account)


class Accounts:
    """The account list plus its secrets; every method reads the settings afresh."""

    def __init__(self, store: CredentialStore, *, settings_path: Path | None = None) -> None:
        self.store = store
        self.settings_path = settings_path
        self._session: list[AccountRecord] = []

    def _load(self) -> Settings:
        return load_settings(self.settings_path)

    def list(self) -> list[AccountRecord]:
        saved = self._load().accounts
        keys = {a.key for a in saved}
        return saved + [a for a in self._session if a.key not in keys]

    def add(self, signed_in: SignedIn, consumer: ConsumerKeys, api_base: str) -> AccountRecord:
        record = record_for(signed_in, api_base)
        self.store.save(record, secrets_for(consumer, signed_in.tokens))
        if self.store.in_memory:
            self._session = [a for a in self._session if a.key != record.key] + [record]
            return record
        def change(settings: Settings) -> None:
            settings.upsert_account(record)
            settings.last_account = record.key

        update_settings(change, self.settings_path)
        log.info("Signed in as @%s (%s)", record.screen_name, record.base_url)
        return record

    def find(self, name: str | None = None, *, base_url: str | None = None) -> AccountRecord:
        """By key or @name; without a name the last used account, or the only one.

        ``base_url`` limits the choice to accounts signed in on that API server.
        """
        accounts = self.list()
        if base_url is not None:
            accounts = [a for a in accounts if a.base_url == base_url]
        if not accounts:
            where = f" on {base_url}" if base_url else ""
            raise AccountNotFound(f"No account is signed in{where}.",
                                  hint="Sign in first: avatar-studio-cli login")
        if name:
            for acc in accounts:
                if acc.matches(name):
                    return acc
            raise AccountNotFound(
                f"No signed-in account is called {name}.",
                hint="Signed in: " + ", ".join(f"@{a.screen_name}" for a in accounts))
        if len(accounts) == 1:
            return accounts[0]
        last = self._load().last_account
        for acc in accounts:
            if acc.key == last:
                return acc
        raise AccountNotFound(
            "Several accounts are signed in; say which one.",
            hint="Use --account with one of: "
                 + ", ".join(f"@{a.screen_name}" for a in accounts))

    def resolve(self, name: str | None = None) -> ResolvedAccount:
        record = self.find(name)
        return ResolvedAccount(record, self.store.load(record))

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
        log.info("Signed out @%s", record.screen_name)
        if problem is not None:
            raise KeyringUnavailable(
                f"{problem.problem}; @{record.screen_name} is signed out here, but its "
                f"secret may still be in the keyring",
                hint=f"Remove the keyring entry for service '{SERVICE_NAME}' and user "
                     f"'{record.key}' with your keyring manager once it works.")
