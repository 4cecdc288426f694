"""Everything the sandbox remembers: apps, users, tokens, profile images.

One lock guards it all (requests are short); with a state folder every change is written
to ``state.json`` (atomically) and images to ``images/``, so a restart finds them again.
"""

from __future__ import annotations

import json
import secrets
import string
import threading
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from avatar_studio.core import safefile

_ALNUM = string.ascii_letters + string.digits
#: Characters X uses in profile image file names (they may start with "_").
_IMAGE_NAME_CHARS = _ALNUM + "_-"

STATE_FILE = "state.json"
STATE_VERSION = 1


class StateError(Exception):
    """The --state folder cannot be read or written (message names the file)."""


def random_token(length: int) -> str:
    return "".join(secrets.choice(_ALNUM) for _ in range(length))


def snowflake_id() -> int:
    """A 19-digit id shaped like X's (fits in int64, like the recorded ids)."""
    return secrets.randbelow(9 * 10**17) + 10**18


@dataclass
class App:
    api_key: str
    api_secret: str
    name: str
    read_only: bool = False


@dataclass
class ImageRecord:
    image_id: int
    name: str
    ext: str
    width: int
    height: int
    #: When a newer image replaced this one (epoch seconds); None while current.
    retired_at: float | None = None

    def base_path(self) -> str:
        return f"/profile_images/{self.image_id}/{self.name}"


@dataclass
class User:
    user_id: int
    screen_name: str
    name: str
    created_at: float
    description: str = ""
    location: str = ""
    url: str | None = None
    email: str | None = None
    statuses_count: int = 1
    followers_count: int = 0
    friends_count: int = 0
    image: ImageRecord | None = None
    #: Earlier images, kept until their old URLs expire.
    old_images: list[ImageRecord] = field(default_factory=list)

    @property
    def id_str(self) -> str:
        return str(self.user_id)


@dataclass
class AccessToken:
    token: str
    secret: str
    api_key: str
    user_id: int
    #: "read-write" or "read", fixed when the token is issued (as on X: changing the app
    #: to read-write later needs new tokens).
    access_level: str = "read-write"
    revoked: bool = False


@dataclass
class RequestToken:
    token: str
    secret: str
    api_key: str
    callback: str
    created_at: float
    access_type: str | None = None
    verifier: str | None = None
    user_id: int | None = None
    denied: bool = False


@dataclass(frozen=True)
class DemoAccount:
    """The pre-registered app and user (the JSON line of ``avatar-studio-cli sandbox --json``)."""

    base_url: str
    api_key: str
    api_secret: str
    access_token: str
    access_secret: str
    user_id: str
    screen_name: str

    def as_dict(self) -> dict[str, str]:
        return asdict(self)


def _user_from_json(raw: dict[str, Any]) -> User:
    raw = dict(raw)
    image = raw.pop("image", None)
    old = raw.pop("old_images", [])
    return User(**raw, image=ImageRecord(**image) if image else None,
                old_images=[ImageRecord(**o) for o in old])


class SandboxState:
    """The sandbox's data; safe to use from the server's request threads."""

    def __init__(self, state_dir: Path | None = None) -> None:
        self.lock = threading.RLock()
        self.state_dir = state_dir
        self.apps: dict[str, App] = {}
        self.users: dict[int, User] = {}
        self.access_tokens: dict[str, AccessToken] = {}
        self.request_tokens: dict[str, RequestToken] = {}
        self.demo_keys: dict[str, str] = {}
        self._images: dict[str, bytes] = {}
        if state_dir is not None:
            self._load()

    # --- persistence -------------------------------------------------------------------

    def _load(self) -> None:
        assert self.state_dir is not None
        path = self.state_dir / STATE_FILE
        if not path.exists():
            return
        try:
            raw = json.loads(path.read_text(encoding="utf-8"))
            self.apps = {a["api_key"]: App(**a) for a in raw.get("apps", [])}
            self.users = {u["user_id"]: _user_from_json(u) for u in raw.get("users", [])}
            self.access_tokens = {t["token"]: AccessToken(**t)
                                  for t in raw.get("access_tokens", [])}
            self.request_tokens = {t["token"]: RequestToken(**t)
                                   for t in raw.get("request_tokens", [])}
            self.demo_keys = dict(raw.get("demo", {}))
        except (OSError, ValueError, TypeError, KeyError, AttributeError) as exc:
            raise StateError(f"cannot read the sandbox state {path}: {exc}") from exc

    def save(self) -> None:
        """Write the state file (no-op in memory mode). Call with the lock held."""
        if self.state_dir is None:
            return
        try:
            self._write()
        except OSError as exc:
            raise StateError(f"cannot write the sandbox state in {self.state_dir}: "
                             f"{exc.strerror or exc}") from exc

    def _write(self) -> None:
        assert self.state_dir is not None
        self.state_dir.mkdir(parents=True, exist_ok=True)
        raw = {
            "version": STATE_VERSION,
            "apps": [asdict(a) for a in self.apps.values()],
            "users": [asdict(u) for u in self.users.values()],
            "access_tokens": [asdict(t) for t in self.access_tokens.values()],
            "request_tokens": [asdict(t) for t in self.request_tokens.values()],
            "demo": self.demo_keys,
        }
        # The file holds the sandbox's consumer secrets and tokens: owner-only, written
        # atomically and fsync'ed, never through a FIFO or device (core.safefile).
        safefile.write_text(self.state_dir / STATE_FILE, json.dumps(raw, indent=1),
                            private=True)

    # --- image bytes -------------------------------------------------------------------

    def _image_path(self, key: str) -> Path:
        assert self.state_dir is not None
        return self.state_dir / "images" / key

    def put_image_file(self, key: str, data: bytes) -> None:
        """Store one served file, ``key`` being ``<image_id>/<file name>``."""
        if self.state_dir is None:
            with self.lock:
                self._images[key] = data
            return
        safefile.write_file(self._image_path(key), data, private=True)

    def get_image_file(self, key: str) -> bytes | None:
        if self.state_dir is None:
            with self.lock:
                return self._images.get(key)
        path = self._image_path(key)
        try:
            return path.read_bytes()
        except OSError:
            return None

    def delete_image_files(self, image_id: int) -> None:
        prefix = f"{image_id}/"
        if self.state_dir is None:
            with self.lock:
                for key in [k for k in self._images if k.startswith(prefix)]:
                    del self._images[key]
            return
        folder = self._image_path(str(image_id))
        if folder.is_dir():
            for child in folder.iterdir():
                child.unlink(missing_ok=True)
            folder.rmdir()

    # --- apps, users, tokens ---------------------------------------------------------

    def add_app(self, name: str, *, read_only: bool = False) -> App:
        with self.lock:
            app = App(api_key=random_token(25), api_secret=random_token(50), name=name,
                      read_only=read_only)
            self.apps[app.api_key] = app
            self.save()
            return app

    def add_user(self, screen_name: str, name: str, **extra: Any) -> User:
        with self.lock:
            user = User(user_id=snowflake_id(), screen_name=screen_name, name=name,
                        created_at=time.time(), **extra)
            self.users[user.user_id] = user
            self.save()
            return user

    def issue_access_token(self, api_key: str, user_id: int, *,
                           access_level: str = "read-write") -> AccessToken:
        with self.lock:
            token = AccessToken(token=f"{user_id}-{random_token(40)}", secret=random_token(45),
                                api_key=api_key, user_id=user_id, access_level=access_level)
            self.access_tokens[token.token] = token
            self.save()
            return token

    def user_by_screen_name(self, screen_name: str) -> User | None:
        wanted = screen_name.lower()
        with self.lock:
            for user in self.users.values():
                if user.screen_name.lower() == wanted:
                    return user
        return None

    def ensure_demo(self) -> tuple[App, User, AccessToken]:
        """The demo app, user and token; created once (and persisted with --state)."""
        with self.lock:
            app = self.apps.get(self.demo_keys.get("api_key", ""))
            user = self.users.get(int(self.demo_keys.get("user_id", "0")))
            token = self.access_tokens.get(self.demo_keys.get("access_token", ""))
            if app is None:
                app = self.add_app("Avatar Studio Sandbox")
            if user is None:
                user = self.add_user(
                    "sandbox_user", "Sandbox User",
                    description="A demo account of the local X API sandbox",
                    location="127.0.0.1", email="sandbox_user@example.invalid",
                    url="https://example.com/avatar-studio")
            if token is None or token.revoked or token.api_key != app.api_key:
                token = self.issue_access_token(app.api_key, user.user_id)
            self.demo_keys = {"api_key": app.api_key, "user_id": str(user.user_id),
                              "access_token": token.token}
            self.save()
            return app, user, token

    def new_image_name(self) -> str:
        return "".join(secrets.choice(_IMAGE_NAME_CHARS) for _ in range(8))
