"""The signed-in accounts: which one is current, its picture, sign-out.

:class:`AccountManager` holds the logic (keyring and network work through the task
runner); :class:`AccountPanel` shows picture, name and @handle, the switcher, and the
Sign in…/Sign out buttons. Sandbox accounts live for this session only: their server
goes away with the process, so they never reach the settings file or the keyring.
When the keyring is missing, locked or failing, the user may keep an account for this
session only too: its secrets then stay in memory, and it is not written to settings.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from dataclasses import dataclass

from avatar_studio.core.accounts import Accounts, account_name, identity_for
from avatar_studio.core.credentials import CredentialStore, KeyringUnavailable
from avatar_studio.core.errors import UserFacingError
from avatar_studio.core.services import registry
from avatar_studio.core.services.base import Identity, Secret, Service, Session, SignedInAccount
from avatar_studio.core.settings import AccountRecord, Settings, update_settings
from avatar_studio.gui.qtimage import scaled_pixmap
from avatar_studio.gui.tasks import TaskContext, TaskRunner
from PySide6.QtCore import QObject, Qt, Signal, Slot
from PySide6.QtGui import QImage
from PySide6.QtWidgets import (
    QComboBox,
    QGridLayout,
    QHBoxLayout,
    QLabel,
    QMessageBox,
    QPushButton,
    QWidget,
)

log = logging.getLogger(__name__)

#: Service key -> Service (the registry; tests pass services with fast policies).
ServiceLookup = Callable[[str], Service]

AVATAR_SIDE = 48


def sharp_variant(url: str) -> str:
    """A 200×200 picture instead of a 48 px ``_normal`` one (X's size suffixes), so the
    panel's picture is crisp at any scale; other services' URLs stay as they are."""
    head, dot, ext = url.rpartition(".")
    if dot and head.endswith("_normal"):
        return f"{head[:-len('_normal')]}_200x200.{ext}"
    return url


@dataclass(frozen=True)
class Current:
    """The account in use, with what the app knows of its profile."""

    record: AccountRecord
    secret: Secret
    #: Who the service says it is (with the current avatar URL), once asked.
    identity: Identity | None = None


def _end_server_session(accounts: Accounts, current: Current) -> None:
    """Where the service has one, end the session on the server first (Mastodon revokes
    the token, Bluesky deletes the session); signing out here goes on whatever happens."""
    try:
        session = accounts.open_session(current.record, current.secret)
        try:
            session.sign_out()
        finally:
            session.close()
    except UserFacingError as exc:
        log.info("The server session of %s was not ended: %s", current.record.label,
                 type(exc).__name__)


class AccountManager(QObject):
    """Signals:
        accounts_changed(): the list changed (sign-in, sign-out).
        current_changed(object): the Current account, or None.
        user_loaded(object): the current account's Identity (after whoami).
        avatar_loaded(QImage): its profile picture.
        failed(object, object): an error for the banner, and what "Retry" should call
            (or None).
        keyring_failed(object, object, object): a KeyringUnavailable, what "Retry"
            calls, and what "Keep for this session only" calls.
        sign_in_needed(): the keyring was given up on: sign in again for this session.
    """

    accounts_changed = Signal()
    current_changed = Signal(object)
    user_loaded = Signal(object)
    avatar_loaded = Signal(QImage)
    failed = Signal(object, object)
    keyring_failed = Signal(object, object, object)
    sign_in_needed = Signal()

    def __init__(self, store: CredentialStore, runner: TaskRunner,
                 services: ServiceLookup = registry.get,
                 parent: QObject | None = None, *,
                 write_settings: Callable[[Callable[[Settings], None]], object]
                 = update_settings) -> None:
        """``write_settings(change)``: how the chosen account is remembered (the window
        passes its SettingsWriter's, which writes off the GUI thread)."""
        super().__init__(parent)
        self._runner = runner
        self._write_settings = write_settings
        self.services = services
        self.saved = Accounts(store, services=services)
        session_store = CredentialStore(services=services)
        session_store.use_memory_for_session()
        self.session = Accounts(session_store, services=services)
        #: The user chose "Keep for this session only": later sign-ins skip the keyring.
        self.keyring_declined = False
        #: Keys of accounts kept in memory because the keyring failed (not sandbox ones).
        self.kept_for_session: set[str] = set()
        self._session_records: dict[str, AccountRecord] = {}
        self.current: Current | None = None
        #: The account select() is reading secrets for; a later choice or sign-in
        #: replaces it, so an earlier, slower read never wins.
        self._selecting: str | None = None
        self.avatar = QImage()
        #: Secrets a session rotated (Bluesky's refresh token), by account key: the next
        #: session starts from these, not from the one read at selection (written from
        #: worker threads, hence the lock).
        self._rotated: dict[str, Secret] = {}
        self._rotated_lock = threading.Lock()

    def _fail(self, retry: Callable[[], None] | None) -> Callable[[BaseException], None]:
        return lambda exc: self.failed.emit(exc, retry)

    # -- list ---------------------------------------------------------------------
    def records(self) -> list[AccountRecord]:
        # Accounts.list() also reads the settings file, so the session's own records are
        # tracked here (else every saved account would be listed twice).
        return ([r for r in self.saved.list() if r.key not in self._session_records]
                + list(self._session_records.values()))

    def _accounts_for(self, record: AccountRecord) -> Accounts:
        return self.session if record.key in self._session_records else self.saved

    def is_kept_for_session(self, record: AccountRecord) -> bool:
        return record.key in self.kept_for_session

    def is_sandbox(self, record: AccountRecord) -> bool:
        return (self._accounts_for(record) is self.session
                and not self.is_kept_for_session(record))

    def session_opener(self, record: AccountRecord) -> Callable[[], Session]:
        """For a publish lane: reads the account's secret (the keyring) and opens its
        session on the lane's own thread, so several accounts never wait on the GUI."""
        current = self.current if (self.current is not None
                                   and self.current.record.key == record.key) else None
        accounts = self._accounts_for(record)

        def open_on_lane() -> Session:
            with self._rotated_lock:
                rotated = self._rotated.get(record.key)
            secret = (rotated or (current.secret if current is not None
                                  else accounts.store.load(record)))
            return self.open_session(Current(record, secret,
                                             current.identity if current else None))

        return open_on_lane

    def open_session(self, current: Current | None = None) -> Session:
        """A session for ``current`` (built at once; it talks only when used). Rotated
        secrets are written back to where the account's secret lives."""
        current = current or self.current
        if current is None:
            raise RuntimeError("no account")
        identity = current.identity or identity_for(current.record)
        accounts = self._accounts_for(current.record)

        key = current.record.key

        def keep(new: Secret) -> None:
            accounts.store.save(current.record, new)
            with self._rotated_lock:
                self._rotated[key] = new

        with self._rotated_lock:
            secret = self._rotated.get(key, current.secret)
        return self.services(current.record.service).open_session(
            identity, secret, on_secret_changed=keep)

    # -- sign in / out ------------------------------------------------------------
    def add(self, signed_in: SignedInAccount, *, session_only: bool = False,
            on_done: Callable[[AccountRecord], None] | None = None,
            on_error: Callable[[BaseException], None] | None = None,
            remember: bool = True) -> None:
        """Store the account (keyring write off the GUI thread) and make it current.

        If the keyring cannot take it, :attr:`keyring_failed` offers
        :meth:`keep_for_session`; once chosen, later sign-ins go to memory directly.
        With ``on_error`` (the sign-in dialog, which stays open until this is done) the
        error goes there instead. ``remember=False``: the user chose "this session only"
        for this account: kept in memory, marked so, the keyring left alone.
        """
        kept = not session_only and (self.keyring_declined or not remember)
        target = self.session if session_only or kept else self.saved
        self._selecting = None

        def work(ctx: TaskContext) -> tuple[AccountRecord, Secret]:
            record = target.add(signed_in)
            return record, target.store.load(record)

        def done(result: tuple[AccountRecord, Secret]) -> None:
            record, secret = result
            if target is self.session:
                self._session_records[record.key] = record
            if kept:
                self.kept_for_session.add(record.key)
            self.accounts_changed.emit()
            self._set_current(Current(record, secret, signed_in.identity))
            if on_done is not None:
                on_done(record)

        def retry() -> None:
            self.add(signed_in, session_only=session_only, on_done=on_done,
                     remember=remember)

        def keep() -> None:
            self.keep_for_session(signed_in, on_done=on_done)

        def failed(exc: BaseException) -> None:
            if on_error is not None:
                on_error(exc)
            elif isinstance(exc, KeyringUnavailable) and target is self.saved:
                self.keyring_failed.emit(exc, retry, keep)
            else:
                self.failed.emit(exc, retry)

        self._runner.run(work, on_success=done, on_error=failed)

    def keep_for_session(self, signed_in: SignedInAccount, *,
                         on_done: Callable[[AccountRecord], None] | None = None) -> None:
        """Finish a sign-in the keyring refused: secrets in memory, until the app quits."""
        self.keyring_declined = True
        self.add(signed_in, on_done=on_done)

    def decline_keyring(self) -> None:
        """A saved account's secrets cannot be read: sign in again, for this session."""
        self.keyring_declined = True
        self.sign_in_needed.emit()

    def select(self, key: str) -> None:
        """Make the account with ``key`` current (secrets read off the GUI thread)."""
        record = next((r for r in self.records() if r.key == key), None)
        if record is None:
            return
        if self.current is not None and self.current.record.key == key:
            self._selecting = None
            return
        self._selecting = key
        accounts = self._accounts_for(record)

        def work(ctx: TaskContext) -> Secret:
            return accounts.store.load(record)

        def done(secret: Secret) -> None:
            if self._selecting != key:
                return  # another account was chosen (or signed in) meanwhile
            self._selecting = None
            self._set_current(Current(record, secret))

        def failed(exc: BaseException) -> None:
            if self._selecting != key:
                return
            self._selecting = None
            if isinstance(exc, KeyringUnavailable) and accounts is self.saved:
                self.keyring_failed.emit(exc, lambda: self.select(key), self.decline_keyring)
            else:
                self.failed.emit(exc, lambda: self.select(key))

        self._runner.run(work, on_success=done, on_error=failed)

    def select_initial(self, preferred_key: str) -> None:
        records = self.records()
        if not records:
            return
        keys = [r.key for r in records]
        self.select(preferred_key if preferred_key in keys else keys[-1])

    def sign_out(self) -> None:
        current = self.current
        if current is None:
            return
        accounts = self._accounts_for(current.record)

        def work(ctx: TaskContext) -> KeyringUnavailable | None:
            _end_server_session(accounts, current)
            try:
                accounts.remove(current.record)
            except KeyringUnavailable as exc:
                # remove() drops the entry even then: the account IS signed out here and
                # only its keyring secret is left (the message says how to delete it).
                return exc
            return None

        def done(problem: KeyringUnavailable | None) -> None:
            self._session_records.pop(current.record.key, None)
            self.kept_for_session.discard(current.record.key)
            self.current = None
            self.avatar = QImage()
            self.accounts_changed.emit()
            self.current_changed.emit(None)
            if problem is not None:
                self.failed.emit(problem, None)  # retrying cannot help until it works
            rest = self.records()
            if rest:
                self.select(rest[-1].key)

        self._runner.run(work, on_success=done, on_error=self._fail(self.sign_out))

    def _set_current(self, current: Current) -> None:
        with self._rotated_lock:  # a sign-in or a keyring read: the newest secret
            self._rotated.pop(current.record.key, None)
        self.current = current
        self.avatar = QImage()
        if self._accounts_for(current.record) is self.saved:
            key = current.record.key
            self._write_settings(lambda s: setattr(s, "last_account", key))
        self.current_changed.emit(current)
        if current.identity is not None:
            self.user_loaded.emit(current.identity)
        self.refresh()

    # -- profile ------------------------------------------------------------------
    def refresh(self) -> None:
        """Ask the service who the current account is and fetch its picture."""
        current = self.current
        if current is None:
            return
        session = self.open_session(current)

        def work(ctx: TaskContext) -> tuple[Identity, QImage]:
            try:
                identity = session.whoami(cancel=ctx.cancel_event)
                image = QImage()
                if identity.avatar_url:
                    data = session.download(sharp_variant(identity.avatar_url),
                                            cancel=ctx.cancel_event)
                    image = QImage.fromData(data)
            finally:
                session.close()
            return identity, image

        def done(result: tuple[Identity, QImage]) -> None:
            self.show_profile(current.record.key, *result)

        self._runner.run(work, on_success=done, on_error=self._fail(self.refresh))

    def show_profile(self, key: str, identity: Identity, image: QImage) -> None:
        """The profile the service reported for account ``key`` (after a refresh or an
        upload); ignored when another account (or none) has become current meanwhile."""
        current = self.current
        if current is None or current.record.key != key:
            return
        self.current = Current(current.record, current.secret, identity)
        self.user_loaded.emit(identity)
        self.set_avatar(image)

    def set_avatar(self, image: QImage) -> None:
        self.avatar = image
        self.avatar_loaded.emit(image)


class AccountPanel(QWidget):
    """Picture, name and @handle; the switcher; Sign in… and Sign out.

    Signals:
        sign_in_requested(): open the sign-in dialog.
    """

    sign_in_requested = Signal()

    def __init__(self, manager: AccountManager, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._manager = manager
        self.setObjectName("accountPanel")
        self.picture = QLabel(self)
        self.picture.setFixedSize(AVATAR_SIDE, AVATAR_SIDE)
        self.picture.setAccessibleName("Profile picture")
        self.name = QLabel("Not signed in", self)
        self.name.setObjectName("accountName")
        self.name.setAccessibleName("Account name")
        # A bold font, not a style sheet: a style sheet would pin the colours of the
        # theme it was polished in.
        bold = self.name.font()
        bold.setBold(True)
        self.name.setFont(bold)
        self.sandbox_badge = QLabel("SANDBOX", self)
        self.sandbox_badge.setObjectName("sandboxBadge")
        self.sandbox_badge.setAccessibleName("Sandbox account")
        self.sandbox_badge.setToolTip("A local stand-in: nothing is sent to a real service")
        self.sandbox_badge.setStyleSheet(
            "QLabel#sandboxBadge { background: palette(highlight); color:"
            " palette(highlighted-text); border-radius: 3px; padding: 1px 5px;"
            " font-weight: 600; }")
        self.sandbox_badge.hide()
        self.handle = QLabel("", self)
        self.handle.setObjectName("accountHandle")
        self.handle.setAccessibleName("Account handle")
        self.session_note = QLabel(self)
        self.session_note.setObjectName("sessionOnlyNote")
        self.session_note.setAccessibleName("Kept for this session only")
        self.session_note.setWordWrap(True)
        self.session_note.setText("Kept for this session only: the keyring could not be "
                                  "used, so this sign-in is forgotten when you quit.")
        self.session_note.hide()
        self.switcher = QComboBox(self)
        self.switcher.setAccessibleName("Switch account")
        self.switcher.setToolTip("Choose which signed-in account to update")
        self.switcher.activated.connect(self.on_switcher_activated)
        self.sign_in = QPushButton("Sign in…", self)
        self.sign_in.setAccessibleName("Sign in")
        self.sign_in.setToolTip("Sign in to an account, or try the built-in sandbox")
        self.sign_in.clicked.connect(self.sign_in_requested)
        self.sign_out = QPushButton("Sign out", self)
        self.sign_out.setAccessibleName("Sign out")
        self.sign_out.setToolTip("Forget this account and delete its keys from the keyring")
        self.sign_out.clicked.connect(self.confirm_sign_out)
        #: The open "Sign out?" question, if any (tests answer it).
        self.sign_out_box: QMessageBox | None = None
        grid = QGridLayout(self)
        grid.setContentsMargins(0, 0, 0, 0)
        grid.addWidget(self.picture, 0, 0, 2, 1)
        name_row = QHBoxLayout()
        name_row.addWidget(self.name)
        name_row.addWidget(self.sandbox_badge)
        name_row.addStretch(1)
        grid.addLayout(name_row, 0, 1)
        grid.addWidget(self.handle, 1, 1)
        grid.addWidget(self.session_note, 2, 0, 1, 3)
        grid.addWidget(self.switcher, 3, 0, 1, 2)
        grid.addWidget(self.sign_in, 0, 2)
        grid.addWidget(self.sign_out, 1, 2)
        grid.setColumnStretch(1, 1)
        manager.accounts_changed.connect(self.refill)
        manager.current_changed.connect(self.on_manager_current_changed)
        manager.user_loaded.connect(self.on_manager_user_loaded)
        manager.avatar_loaded.connect(self.on_manager_avatar_loaded)
        self.refill()
        self.on_manager_current_changed(manager.current)

    @Slot()
    def confirm_sign_out(self) -> None:
        """Ask first: signing out deletes the account's keys from the keyring."""
        current = self._manager.current
        if current is None:
            return
        who = current.record.handle
        box = QMessageBox(QMessageBox.Icon.Question, f"Sign out of {who}?",
                          f"Sign out of {who}? Avatar Studio forgets the account and deletes "
                          "its keys from this computer's keyring; you can sign in again "
                          "later.", QMessageBox.StandardButton.Cancel, self)
        box.setObjectName("signOutQuestion")
        sign_out = box.addButton("Sign Out", QMessageBox.ButtonRole.DestructiveRole)
        box.setDefaultButton(QMessageBox.StandardButton.Cancel)
        box.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)

        def answered(_result: int) -> None:
            self.sign_out_box = None
            if box.clickedButton() is sign_out:
                self._manager.sign_out()

        box.finished.connect(answered)
        self.sign_out_box = box
        box.open()

    @Slot()
    def refill(self) -> None:
        records = self._manager.records()
        self.switcher.blockSignals(True)
        self.switcher.clear()
        for record in records:
            note = (" (this session only)" if self._manager.is_kept_for_session(record)
                    else " (sandbox)" if self._manager.is_sandbox(record) else "")
            self.switcher.addItem(f"{account_name(record, records)}{note}", record.key)
        current = self._manager.current
        if current is not None:
            self.switcher.setCurrentIndex(self.switcher.findData(current.record.key))
        self.switcher.blockSignals(False)
        # The window's target list (one line per account, with Show) replaces it.
        self.switcher.setVisible(False)


    @Slot(object)
    def on_manager_current_changed(self, current: Current | None) -> None:
        self.sign_out.setEnabled(current is not None)
        self.sandbox_badge.setVisible(current is not None
                                      and self._manager.is_sandbox(current.record))
        self.session_note.setVisible(
            current is not None and self._manager.is_kept_for_session(current.record))
        if current is None:
            self.name.setText("Not signed in")
            self.handle.setText("Sign in to upload")
            self.picture.setPixmap(scaled_pixmap(QImage(), AVATAR_SIDE, round_mask=True))
        else:
            self.name.setText(current.record.display_name or current.record.handle)
            self.handle.setText(current.record.handle)
        self.refill()

    @Slot(object)
    def on_manager_user_loaded(self, identity: Identity) -> None:
        self.name.setText(identity.display_name or identity.handle)
        self.handle.setText(identity.handle)

    @Slot(QImage)
    def on_manager_avatar_loaded(self, image: QImage) -> None:
        # Drawn for this label's screen, so it is sharp at 2× too.
        self.picture.setPixmap(scaled_pixmap(image, AVATAR_SIDE, round_mask=True,
                                             dpr=self.picture.devicePixelRatioF()))

    @Slot(int)
    def on_switcher_activated(self, index: int) -> None:
        key = self.switcher.itemData(index)
        if isinstance(key, str):
            self._manager.select(key)
