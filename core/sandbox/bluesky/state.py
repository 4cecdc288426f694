"""Everything one Bluesky sandbox holds, in memory: accounts, sessions, blobs, records."""

from __future__ import annotations

import base64
import hashlib
import secrets
import string
import threading
import time
from dataclasses import dataclass, field
from typing import Any

from avatar_studio.core.sandbox.bluesky.cids import blob_cid, record_cid
from avatar_studio.core.sandbox.bluesky.config import BlueskySandboxConfig
from avatar_studio.core.sandbox.bluesky.lexicon import PROFILE_NSID

PROFILE_RKEY = "self"


def plc_did(handle: str) -> str:
    """A did:plc-shaped DID (24 base32 characters), stable for a handle."""
    digest = hashlib.sha256(f"sandbox:{handle}".encode()).digest()
    return "did:plc:" + base64.b32encode(digest).decode("ascii").lower()[:24]


def new_app_password() -> str:
    alphabet = string.ascii_lowercase + string.digits
    return "-".join("".join(secrets.choice(alphabet) for _ in range(4)) for _ in range(4))


def new_email_code() -> str:
    alphabet = string.ascii_uppercase + string.digits
    return "-".join("".join(secrets.choice(alphabet) for _ in range(5)) for _ in range(2))


@dataclass
class Account:
    did: str
    handle: str
    email: str
    password: str = field(repr=False)
    app_passwords: dict[str, str] = field(default_factory=dict, repr=False)
    takendown: bool = False
    two_factor: bool = False


@dataclass
class RefreshToken:
    jti: str
    did: str
    expires_at: float
    app_password: str | None
    next_id: str | None = None


@dataclass
class Blob:
    cid: str
    mime_type: str
    data: bytes = field(repr=False)
    did: str
    permanent: bool = False
    uploaded_at: float = 0.0

    @property
    def size(self) -> int:
        return len(self.data)


@dataclass
class Record:
    uri: str
    cid: str
    value: dict[str, Any]
    rev: str
    #: time.time() of the write; the AppView sees it appview_lag_s later.
    written_at: float


@dataclass
class Email:
    to: str
    subject: str
    body: str
    code: str
    sent_at: float

    def as_dict(self) -> dict[str, object]:
        return {"to": self.to, "subject": self.subject, "body": self.body,
                "code": self.code, "sent_at": self.sent_at}


class BlueskyState:
    """Thread-safe through ``lock``; every method expects the caller to hold it."""

    def __init__(self, config: BlueskySandboxConfig) -> None:
        self.lock = threading.RLock()
        self.accounts: dict[str, Account] = {}
        self.refresh_tokens: dict[str, RefreshToken] = {}
        self.blobs: dict[tuple[str, str], Blob] = {}
        self.records: dict[tuple[str, str, str], Record] = {}
        #: did -> profile records in the order written (the AppView indexes them late).
        self.profile_history: dict[str, list[Record]] = {}
        self.outbox: list[Email] = []
        #: Every access token issued (the expire_access fault expires them all).
        self.access_issued: list[str] = []
        #: did -> the e-mailed sign-in code still valid.
        self.pending_codes: dict[str, str] = {}
        self._rev = 0
        #: did -> the CID of the repo's latest commit (what swapCommit compares with).
        self.commits: dict[str, str] = {}
        self.demo = self._make_demo(config)

    def _make_demo(self, config: BlueskySandboxConfig) -> Account:
        did = plc_did(config.handle)
        account = Account(did=did, handle=config.handle.lower(), email=config.email.lower(),
                          password=config.password or secrets.token_urlsafe(12),
                          app_passwords={"avatar-studio": config.app_password
                                         or new_app_password()},
                          two_factor=config.two_factor)
        self.accounts[did] = account
        banner = _demo_banner()
        self.blobs[(did, banner.cid)] = Blob(banner.cid, "image/png", banner.data, did,
                                             permanent=True)
        value: dict[str, Any] = {
            "$type": PROFILE_NSID,
            "displayName": config.display_name,
            "description": config.description,
            "banner": {"$type": "blob", "ref": {"$link": banner.cid},
                       "mimeType": "image/png", "size": len(banner.data)},
            "createdAt": "2026-01-01T00:00:00.000Z",
            # Fields this app does not know must survive an avatar change too.
            "sandbox.customField": {"kept": True},
        }
        self.write_record(did, PROFILE_NSID, PROFILE_RKEY, value, at=0.0)
        return account

    @property
    def demo_app_password(self) -> str:
        return next(iter(self.demo.app_passwords.values()))

    def next_rev(self) -> str:
        self._rev += 1
        return f"3sandbox{self._rev:09d}"

    def find_account(self, identifier: str) -> Account | None:
        ident = identifier.strip().lower()
        for account in self.accounts.values():
            if ident in (account.did, account.handle) or ("@" in ident and
                                                          ident == account.email):
                return account
        return None

    def write_record(self, did: str, collection: str, rkey: str, value: dict[str, Any],
                     at: float | None = None) -> Record:
        record = Record(uri=f"at://{did}/{collection}/{rkey}", cid=record_cid(value),
                        value=value, rev=self.next_rev(),
                        written_at=time.time() if at is None else at)
        self.records[(did, collection, rkey)] = record
        self.commits[did] = record_cid({"did": did, "version": 3, "rev": record.rev,
                                        "data": {"$link": record.cid}})
        if collection == PROFILE_NSID and rkey == PROFILE_RKEY:
            self.profile_history.setdefault(did, []).append(record)
        return record

    def appview_profile(self, did: str, lag_s: float, now: float) -> Record | None:
        """The newest profile write the AppView has indexed ``lag_s`` after it was made."""
        seen = None
        for record in self.profile_history.get(did, []):
            if record.written_at + lag_s <= now:
                seen = record
        return seen


@dataclass(frozen=True)
class _Image:
    cid: str
    data: bytes


def _demo_banner() -> _Image:
    from io import BytesIO

    from PIL import Image

    out = BytesIO()
    Image.new("RGB", (300, 100), (40, 90, 160)).save(out, "PNG")
    data = out.getvalue()
    return _Image(blob_cid(data), data)
