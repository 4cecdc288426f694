"""Account secrets in the OS keyring, and nowhere else.

One small versioned JSON secret per account (service ``avatar-studio``, user name
:attr:`AccountRecord.key`): ``{"v": 2, "service": key, ...}``, the rest being the
service's own (:class:`~avatar_studio.core.services.base.Secret`). A value an older
release stored is upgraded on reading (:data:`SECRET_UPGRADES`, one function per
version step, then the service's own ``upgrade_secret``) and written back at once.
When the keyring is missing, locked or failing, every call raises
:class:`KeyringUnavailable` naming the problem; the caller may then choose
:meth:`CredentialStore.use_memory_for_session` (secrets kept in this process only).
There is deliberately no file fallback.
"""

from __future__ import annotations

import json
import logging
import threading
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from avatar_studio.core.errors import UserFacingError
from avatar_studio.core.services import registry
from avatar_studio.core.services.base import Secret, Service
from avatar_studio.core.settings import AccountRecord

if TYPE_CHECKING:
    # keyring is imported on first use (the window paints before it needs a secret).
    import keyring.backend
    from avatar_studio.core.keyring_memory import MemoryBackend as MemoryBackend

log = logging.getLogger(__name__)

SERVICE_NAME = "avatar-studio"


class KeyringUnavailable(UserFacingError):
    """The keyring cannot be used; ``problem`` says why in a few words."""

    exit_code = 34

    def __init__(self, problem: str, *, hint: str | None = None) -> None:
        super().__init__(
            f"The system keyring cannot be used: {problem}.",
            hint=hint or "Start or unlock your keyring (GNOME Keyring, KWallet, or another "
                         "Secret Service), or use the account for this session only.")
        self.problem = problem


class SecretsMissing(UserFacingError):
    """The account is listed but its secret is not (or no longer) in the keyring."""

    exit_code = 35


SECRET_FORMAT = 2


def _secret_v1_to_v2(data: dict[str, Any], account: AccountRecord) -> dict[str, Any]:
    """Release 1 stored X's four OAuth values with no service name (X was the only one)."""
    return {**data, "v": 2, "service": data.get("service") or account.service}


#: version N -> the function that turns a version-N keyring value into version N + 1.
SECRET_UPGRADES: dict[int, Callable[[dict[str, Any], AccountRecord], dict[str, Any]]] = {
    1: _secret_v1_to_v2,
}


def upgrade_secret_data(data: dict[str, Any], account: AccountRecord) -> dict[str, Any]:
    version = data.get("v", 1)
    if not isinstance(version, int) or isinstance(version, bool) or version < 1:
        raise ValueError("no version")
    while version < SECRET_FORMAT:
        data = SECRET_UPGRADES[version](data, account)
        version += 1
    return data


def __getattr__(name: str) -> Any:
    # MemoryBackend subclasses keyring's backend class: importing it imports keyring.
    if name in ("MemoryBackend", "NotViable"):
        from avatar_studio.core import keyring_memory

        return getattr(keyring_memory, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def _refuse_insecure(backend: keyring.backend.KeyringBackend) -> None:
    """Backends that would write secrets to a plain file, or silently drop them."""
    module = type(backend).__module__
    name = type(backend).__name__
    if module == "keyring.backends.fail":
        raise KeyringUnavailable("no keyring service is running (no Secret Service found)")
    if module == "keyring.backends.null":
        raise KeyringUnavailable("the keyring is disabled (null backend)")
    if module.startswith("keyrings.alt") or "plaintext" in name.lower():
        raise KeyringUnavailable(f"only a file-based keyring ({name}) is available, and "
                                 "Avatar Studio does not store secrets in files")


def _problem(exc: Exception) -> KeyringUnavailable:
    import keyring.errors

    if isinstance(exc, KeyringUnavailable):
        return exc
    if isinstance(exc, keyring.errors.NoKeyringError):
        return KeyringUnavailable("no keyring service is running (no Secret Service found)")
    if isinstance(exc, keyring.errors.KeyringLocked):
        return KeyringUnavailable("the keyring is locked",
                                  hint="Unlock it (log in to the desktop session or open "
                                       "your keyring manager), or use the account for this "
                                       "session only.")
    if isinstance(exc, keyring.errors.InitError):
        return KeyringUnavailable("the keyring could not be opened")
    # Backends also raise their own errors (D-Bus, SecretStorage): name the kind only;
    # the text could in theory echo what we tried to store.
    return KeyringUnavailable(f"the keyring failed ({type(exc).__name__})")


class CredentialStore:
    """Save, load and delete account secrets through one keyring backend."""

    def __init__(self, backend: keyring.backend.KeyringBackend | None = None, *,
                 services: Callable[[str], Service] = registry.get) -> None:
        self._backend = backend
        self._session_only = False
        self._memory: MemoryBackend | None = None  # made on first use (imports keyring)
        self._memory_lock = threading.Lock()
        #: key -> Service, whose upgrade_secret checks (and upgrades) what is read.
        self._services = services

    @property
    def in_memory(self) -> bool:
        """True after :meth:`use_memory_for_session`: nothing outlives this process."""
        return self._session_only

    def use_memory_for_session(self) -> None:
        if not self._session_only:
            self._session_only = True
            log.info("Keeping account secrets in memory for this session only")

    def backend(self) -> keyring.backend.KeyringBackend:
        if self._session_only:
            with self._memory_lock:  # workers call this: one memory for all of them
                if self._memory is None:
                    from avatar_studio.core.keyring_memory import MemoryBackend

                    self._memory = MemoryBackend()
                return self._memory
        import keyring

        try:
            backend = self._backend or keyring.get_keyring()
        except Exception as exc:  # noqa: BLE001 - any backend init failure means "unavailable"
            raise _problem(exc) from None
        _refuse_insecure(backend)
        return backend

    def check(self) -> None:
        """Fail early (KeyringUnavailable) if secrets could not be read or saved now.

        A read of a name that does not exist is harmless, but it makes a locked Secret
        Service ask to be unlocked, before the user goes through sign-in for nothing.
        """
        backend = self.backend()
        try:
            backend.get_password(SERVICE_NAME, "availability-check")
        except Exception as exc:  # noqa: BLE001 - see _problem
            raise _problem(exc) from None

    def describe(self) -> str:
        """Which backend is used, for messages and --debug (never any secret)."""
        import keyring

        if self._session_only:
            return "memory (this session only)"
        backend = self._backend or keyring.get_keyring()
        return f"{type(backend).__module__}.{type(backend).__name__}"

    def save(self, account: AccountRecord, secret: Secret) -> None:
        backend = self.backend()
        try:
            backend.set_password(SERVICE_NAME, account.key, secret.to_json())
        except Exception as exc:  # noqa: BLE001 - see _problem
            log.info("Keyring save failed: %s", type(exc).__name__)
            raise _problem(exc) from None
        log.info("Saved the secret for %s in %s", account.label, self.describe())

    def load(self, account: AccountRecord) -> Secret:
        backend = self.backend()
        try:
            text = backend.get_password(SERVICE_NAME, account.key)
        except Exception as exc:  # noqa: BLE001 - see _problem
            log.info("Keyring read failed: %s", type(exc).__name__)
            raise _problem(exc) from None
        if text is None:
            raise SecretsMissing(
                f"The keyring has no saved sign-in for {account.handle}.",
                hint="Sign in again (avatar-studio-cli login).")
        try:
            data: Any = json.loads(text)
            if not isinstance(data, dict):
                raise ValueError("not an object")
            stored = data.get("v")
            data = upgrade_secret_data(data, account)
            if data.get("service") != account.service:
                raise ValueError("another service's secret")
            secret = self._services(account.service).upgrade_secret(data)
        except (ValueError, registry.UnknownService):
            raise SecretsMissing(
                f"The saved sign-in for {account.handle} in the keyring is damaged.",
                hint="Sign in again (avatar-studio-cli login).") from None
        if stored != secret.version:
            # Upgraded: store the new form now, so the next read is plain.
            try:
                self.save(account, secret)
            except KeyringUnavailable as exc:
                log.info("Could not write the upgraded secret back: %s", exc.problem)
            else:
                log.info("Upgraded the keyring secret for %s from version %s to %d",
                         account.label, stored, secret.version)
        return secret

    def delete(self, account: AccountRecord) -> bool:
        """Remove the secret; False if there was none. KeyringUnavailable if it failed."""
        import keyring.errors

        backend = self.backend()
        try:
            if backend.get_password(SERVICE_NAME, account.key) is None:
                return False
            backend.delete_password(SERVICE_NAME, account.key)
        except keyring.errors.PasswordDeleteError:
            return False
        except Exception as exc:  # noqa: BLE001 - see _problem
            log.info("Keyring delete failed: %s", type(exc).__name__)
            raise _problem(exc) from None
        return True
