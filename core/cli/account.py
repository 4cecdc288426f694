"""``login``, ``accounts``, ``logout`` and ``whoami``, plus the credential lookup
``upload`` shares.

Credentials come from the environment (all four ``AVATAR_STUDIO_*`` values, for X:
nothing is stored) or from a signed-in account (settings entry + keyring secret). Every
service is reached through the registry and the interface in core/services/base.py.
"""

from __future__ import annotations

import argparse
import contextlib
import getpass
import json
import logging
import os
import sys
import webbrowser
from dataclasses import dataclass

from avatar_studio.core.accounts import Accounts, identity_for
from avatar_studio.core.credentials import CredentialStore, KeyringUnavailable
from avatar_studio.core.errors import UserFacingError
from avatar_studio.core.net import validate_api_base
from avatar_studio.core.services import registry
from avatar_studio.core.services.base import (
    Identity,
    Secret,
    Service,
    Session,
    SignedInAccount,
    SignInKind,
    SignInRequest,
)
from avatar_studio.core.services.errors import (
    CodeRejected,
    InvalidApiBase,
    SecondFactorRequired,
)
from avatar_studio.core.settings import AccountRecord

log = logging.getLogger(__name__)

ENV_API_KEY = "AVATAR_STUDIO_API_KEY"
ENV_API_SECRET = "AVATAR_STUDIO_API_SECRET"  # noqa: S105 - a variable name, not a secret
ENV_ACCESS_TOKEN = "AVATAR_STUDIO_ACCESS_TOKEN"  # noqa: S105
ENV_ACCESS_SECRET = "AVATAR_STUDIO_ACCESS_SECRET"  # noqa: S105
ENV_API_BASE = "AVATAR_STUDIO_API_BASE"
#: Password services (Bluesky) from the environment, nothing stored:
#: AVATAR_STUDIO_SERVICE=bluesky, AVATAR_STUDIO_HANDLE, AVATAR_STUDIO_APP_PASSWORD.
ENV_SERVICE_NAME = "AVATAR_STUDIO_SERVICE"
ENV_HANDLE = "AVATAR_STUDIO_HANDLE"
ENV_APP_PASSWORD = "AVATAR_STUDIO_APP_PASSWORD"  # noqa: S105 - a variable name
PASSWORD_ENV_VARS = (ENV_SERVICE_NAME, ENV_HANDLE, ENV_APP_PASSWORD)
ENV_VARS = (ENV_API_KEY, ENV_API_SECRET, ENV_ACCESS_TOKEN, ENV_ACCESS_SECRET)
#: The service the environment's four values belong to (the only one with such keys).
ENV_SERVICE = "x"
#: Which service the environment's credentials are for (default x; the same variable
#: as ENV_SERVICE_NAME, read by password_env first).
ENV_SERVICE_VAR = ENV_SERVICE_NAME
#: The credential variables per service (AVATAR_STUDIO_API_BASE is read separately; it
#: is required where the service has no single server).
ENV_VARS_BY_SERVICE: dict[str, tuple[str, ...]] = {
    "x": ENV_VARS,
    "mastodon": (ENV_ACCESS_TOKEN,),
}
NEEDS_ENV_API_BASE = ("mastodon",)
#: Test-only knobs, read by the X service: shorten the documented 5 s minimum wait and
#: the poll interval.
ENV_TEST_MIN_WAIT = "AVATAR_STUDIO_TEST_MIN_WAIT_S"
ENV_TEST_POLL_INTERVAL = "AVATAR_STUDIO_TEST_POLL_INTERVAL_S"


class IncompleteEnvironment(UserFacingError):
    """Some but not all credential variables are set, or a needed one is missing."""

    exit_code = 38


@dataclass(frozen=True)
class Credentials:
    """What a command needs to act as one account."""

    service: Service
    identity: Identity
    secret: Secret
    #: None when the credentials came from the environment (nothing stored).
    record: AccountRecord | None

    @property
    def api_base(self) -> str:
        return self.identity.api_base

    @property
    def label(self) -> str:
        return self.identity.handle if self.record else "the environment's account"


def _env(name: str) -> str:
    return os.environ.get(name, "").strip()


def env_service() -> str:
    """The service the environment's credentials are for ($AVATAR_STUDIO_SERVICE)."""
    key = _env(ENV_SERVICE_VAR).lower() or ENV_SERVICE
    if key not in ENV_VARS_BY_SERVICE:
        raise IncompleteEnvironment(
            f"{ENV_SERVICE_VAR}={key!r} is not a service that takes credentials from the "
            f"environment.", hint="Use one of: " + ", ".join(ENV_VARS_BY_SERVICE))
    return key


def env_values() -> dict[str, str] | None:
    """The service's variables -> their values; none -> None; some -> IncompleteEnvironment."""
    key = env_service()
    names = ENV_VARS_BY_SERVICE[key]
    values = {name: _env(name) for name in names}
    if not any(values.values()):
        return None
    missing = [name for name, value in values.items() if not value]
    if key in NEEDS_ENV_API_BASE and not _env(ENV_API_BASE):
        missing.append(ENV_API_BASE)
    if missing:
        every = ", ".join((*names, *((ENV_API_BASE,) if key in NEEDS_ENV_API_BASE else ())))
        raise IncompleteEnvironment(
            "Credentials in the environment are incomplete: " + ", ".join(missing)
            + " not set.", hint=f"For {key}, set {every}, or none of them.")
    return values


def api_base_from(args: argparse.Namespace) -> str | None:
    given = getattr(args, "api_base", None) or _env(ENV_API_BASE)
    if not given:
        return None
    try:
        return validate_api_base(given)
    except ValueError as exc:
        raise InvalidApiBase(str(exc)) from None


def add_api_base_argument(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--api-base", metavar="URL",
        help=f"API base URL (default: the service's own, or ${ENV_API_BASE}); "
             "e.g. http://127.0.0.1:8400 for the sandbox")


def add_account_argument(parser: argparse.ArgumentParser, *, many: bool = False) -> None:
    if many:
        choice = parser.add_mutually_exclusive_group()
        choice.add_argument(
            "--account", metavar="@NAME", action="append", default=None,
            help="which signed-in account: @name, or SERVICE:@name when two services "
                 "share a name; give it again for several (default: the last used or "
                 "only one)")
        choice.add_argument("--all", action="store_true",
                            help="every signed-in account (on --api-base, if given)")
    else:
        parser.add_argument("--account", metavar="@NAME",
                            help="which signed-in account: @name or SERVICE:@name "
                                 "(default: the last used or only one)")


def store() -> CredentialStore:
    return CredentialStore()


def _env_sign_in(values: dict[str, str], api_base: str | None) -> SignedInAccount:
    """The environment's tokens, checked with the service (who they belong to)."""
    service = registry.get(env_service())
    sign_in = service.sign_in(SignInRequest(
        SignInKind.TOKENS, api_base=api_base or service.default_api_base,
        app_key=values.get(ENV_API_KEY, ""), app_secret=values.get(ENV_API_SECRET, "")))
    tokens = {"access_token": values[ENV_ACCESS_TOKEN]}
    if ENV_ACCESS_SECRET in values:
        tokens["access_secret"] = values[ENV_ACCESS_SECRET]
    try:
        return sign_in.with_tokens(tokens)
    finally:
        sign_in.close()


def password_env() -> tuple[Service, str, str] | None:
    """AVATAR_STUDIO_SERVICE (a password service) + _HANDLE + _APP_PASSWORD, or None
    when AVATAR_STUDIO_SERVICE is unset."""
    name = _env(ENV_SERVICE_NAME).lower()
    if not name:
        return None
    try:
        service = registry.get(name)
    except registry.UnknownService:
        raise IncompleteEnvironment(
            f"{ENV_SERVICE_NAME}={name!r} is not a service; known: "
            f"{', '.join(registry.keys())}.") from None
    if SignInKind.PASSWORD not in service.sign_in_kinds:
        if name in ENV_VARS_BY_SERVICE:
            return None  # a token service (Mastodon): env_values() reads its variables
        raise IncompleteEnvironment(
            f"{ENV_SERVICE_NAME}={name} does not sign in with a password.",
            hint=f"For X set {', '.join(ENV_VARS)} instead.")
    handle, password = _env(ENV_HANDLE), os.environ.get(ENV_APP_PASSWORD, "")
    missing = [n for n, v in ((ENV_HANDLE, handle), (ENV_APP_PASSWORD, password)) if not v]
    if missing:
        raise IncompleteEnvironment(
            f"Credentials in the environment are incomplete: {', '.join(missing)} not set.",
            hint=f"Set {', '.join(PASSWORD_ENV_VARS)} (and optionally {ENV_API_BASE}).")
    return service, handle, password


def password_sign_in(service: Service, handle: str, password: str, api_base: str | None,
                     *, ask_code: bool) -> SignedInAccount:
    """A password sign-in; a second factor is asked on the terminal when ``ask_code``."""
    warning = getattr(service, "password_warning", None)
    if callable(warning) and warning(password):
        print(f"warning: {warning(password)}", file=sys.stderr)
    sign_in = service.sign_in(SignInRequest(SignInKind.PASSWORD, api_base=api_base,
                                            identifier=handle))
    try:
        try:
            return sign_in.with_password(handle, password)
        except SecondFactorRequired as exc:
            if not ask_code:
                raise
            print(f"{exc} Code: ", end="", file=sys.stderr, flush=True)
            code = sys.stdin.readline().strip()
            if not code:
                raise CodeRejected("No code was entered.", hint="Run login again.",
                                   service=service.key, help_url=service.help_url) from None
            return sign_in.with_password(handle, password, second_factor=code)
    finally:
        sign_in.close()


def resolve_credentials(args: argparse.Namespace) -> Credentials:
    base = api_base_from(args)
    from_password_env = password_env()
    if from_password_env is not None:
        service, handle, password = from_password_env
        signed = password_sign_in(service, handle, password, base, ask_code=False)
        return Credentials(service, signed.identity, signed.secret, None)
    from_env = env_values()
    if from_env is not None:
        account = _env_sign_in(from_env, base)
        return Credentials(registry.get(env_service()), account.identity, account.secret,
                           None)
    accounts = Accounts(store())
    record = accounts.find(getattr(args, "account", None), api_base=base)
    return saved_credentials(accounts, record)


def saved_credentials(accounts: Accounts, record: AccountRecord) -> Credentials:
    return Credentials(accounts.services(record.service), identity_for(record),
                       accounts.store.load(record), record)


def open_session(creds: Credentials) -> Session:
    if creds.record is not None:
        return Accounts(store()).open_session(creds.record, creds.secret)
    return creds.service.open_session(creds.identity, creds.secret)


def identity_json(identity: Identity) -> dict[str, object]:
    return {"user_id": identity.account_id, "screen_name": identity.handle.removeprefix("@"),
            "name": identity.display_name, "profile_image_url_https": identity.avatar_url,
            "service": identity.service}


# -- login -------------------------------------------------------------------------------

def _app_keys(interactive: bool) -> tuple[str, str]:
    key, secret = _env(ENV_API_KEY), _env(ENV_API_SECRET)
    if (not key or not secret) and interactive:
        print("Enter your X app's API key and secret (developer portal › your app › "
              "Keys and tokens).", file=sys.stderr)
        key = key or input("API key: ").strip()
        secret = secret or getpass.getpass("API secret: ").strip()
    if not key or not secret:
        raise IncompleteEnvironment(
            f"The X app's API key and secret are needed: set {ENV_API_KEY} and "
            f"{ENV_API_SECRET}.", hint="Find them in the developer portal under your app's "
                                       "Keys and tokens.")
    return key, secret


def _has_graphical_browser() -> bool:
    """Without a desktop, webbrowser would start a text browser in this very terminal."""
    if sys.platform in ("darwin", "win32"):
        return True
    return bool(os.environ.get("DISPLAY") or os.environ.get("WAYLAND_DISPLAY"))


def _read_code(service: Service) -> str:
    print("PIN: ", end="", file=sys.stderr, flush=True)
    line = sys.stdin.readline()
    if not line:
        raise CodeRejected("No PIN was entered.", hint="Run login again.",
                           service=service.key, help_url=service.help_url)
    return line.strip()


def _without_keyring(exc: KeyringUnavailable, note: str) -> KeyringUnavailable:
    """The command line's version of "use for this session only": the environment."""
    return KeyringUnavailable(
        f"{exc.problem}{note}",
        hint=f"Start or unlock the keyring and sign in again, or set {', '.join(ENV_VARS)} "
             "to use the account without storing anything.")


def cmd_login(args: argparse.Namespace) -> int:
    service = registry.get(args.service)
    if service.key == "mastodon":
        from avatar_studio.core.cli import login_mastodon

        return login_mastodon.cmd_login(args, service, Accounts(store()))
    api_base = api_base_from(args) or service.default_api_base
    interactive = sys.stdin.isatty()
    accounts = Accounts(store())
    # Fail before the browser dance if the secrets could not be kept afterwards.
    try:
        accounts.store.check()
    except KeyringUnavailable as exc:
        raise _without_keyring(exc, "") from None
    if SignInKind.PASSWORD in service.sign_in_kinds:
        signed_in = _password_login(service, args, interactive)
    elif args.tokens:
        values = env_values()
        if values is None:
            raise IncompleteEnvironment(
                f"login --tokens reads {', '.join(ENV_VARS)} from the environment.",
                hint="Copy them from the developer portal (your app › Keys and tokens).")
        signed_in = _env_sign_in(values, api_base)
    else:
        key, secret = _app_keys(interactive)
        sign_in = service.sign_in(SignInRequest(SignInKind.BROWSER_CODE, api_base=api_base,
                                                app_key=key, app_secret=secret))
        try:
            auth = sign_in.start_browser()
            print("Open this address in a browser, authorize the app, then type the PIN "
                  "it shows:", file=sys.stderr)
            print(auth.url, flush=True)
            if not args.no_browser and _has_graphical_browser():
                try:
                    webbrowser.open(auth.url, new=2)
                except webbrowser.Error:
                    log.info("No browser could be opened")
            signed_in = sign_in.finish_browser(auth, _read_code(service))
        finally:
            sign_in.close()
    try:
        record = accounts.add(signed_in)
    except KeyringUnavailable as exc:
        raise _without_keyring(exc, "; nothing was saved") from None
    who = signed_in.identity
    print(f"Signed in as {who.handle} ({who.display_name}) on {record.api_base}.",
          file=sys.stderr)
    return 0


def _password_login(service: Service, args: argparse.Namespace,
                    interactive: bool) -> SignedInAccount:
    """Bluesky: --handle (or AVATAR_STUDIO_HANDLE) and the app password, typed or from
    AVATAR_STUDIO_APP_PASSWORD; no --api-base = discover the handle's PDS."""
    handle = (getattr(args, "handle", None) or _env(ENV_HANDLE)).strip()
    if not handle and interactive:
        handle = input(f"{service.display_name} handle or e-mail: ").strip()
    if not handle:
        raise IncompleteEnvironment(f"login --service {service.key} needs --handle.",
                                    hint=f"Or set {ENV_HANDLE}.")
    password = os.environ.get(ENV_APP_PASSWORD, "")
    if not password and interactive:
        print(f"Use an app password (Settings › Privacy and security › App passwords on "
              f"{service.display_name}), not your main password.", file=sys.stderr)
        password = getpass.getpass("App password: ")
    if not password:
        raise IncompleteEnvironment(f"No app password: set {ENV_APP_PASSWORD} or run "
                                    "login on a terminal.")
    return password_sign_in(service, handle, password, api_base_from(args), ask_code=True)


# -- accounts / logout / whoami ----------------------------------------------------------

def cmd_accounts(args: argparse.Namespace) -> int:
    accounts = Accounts(store())
    listed = accounts.list()
    if args.json:
        print(json.dumps([{"screen_name": a.handle.removeprefix("@"),
                           "name": a.display_name, "user_id": a.account_id,
                           "api_base": a.api_base, "key": a.key, "service": a.service,
                           "handle": a.handle} for a in listed]))
        return 0
    if not listed:
        print("No account is signed in (avatar-studio-cli login).", file=sys.stderr)
        return 0
    for acc in listed:
        print(f"{acc.handle}\t{acc.display_name}\t{acc.api_base}\t{acc.account_id}"
              f"\t{acc.service}")
    return 0


def _end_server_session(accounts: Accounts, record: AccountRecord) -> None:
    """Where the service has one, end the session on the server too (Bluesky deletes
    it, Mastodon revokes the token); a failure there never keeps the secret."""
    try:
        with contextlib.closing(accounts.open_session(record)) as session:
            session.sign_out()
    except UserFacingError as exc:
        log.info("Could not end the server session of %s: %s", record.label,
                 type(exc).__name__)
        print(f"warning: the server session could not be ended ({exc}); the secret is "
              "removed anyway.", file=sys.stderr)


def cmd_logout(args: argparse.Namespace) -> int:
    accounts = Accounts(store())
    record = accounts.find(args.account_name)
    _end_server_session(accounts, record)
    accounts.remove(record)
    print(f"Signed out {record.handle}; its secret was removed from the keyring.",
          file=sys.stderr)
    return 0


def cmd_whoami(args: argparse.Namespace) -> int:
    creds = resolve_credentials(args)
    with contextlib.closing(open_session(creds)) as session:
        identity = session.whoami()
    if args.json:
        print(json.dumps({**identity_json(identity), "api_base": creds.api_base}))
    else:
        print(f"{identity.handle} ({identity.display_name}), user id {identity.account_id}, "
              f"on {creds.api_base}")
        print(identity.avatar_url)
    return 0


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = subparsers.add_parser(
        "login", help="sign in to X (PIN in the browser, or tokens from the environment), "
                      "to Mastodon (--service mastodon --instance URL|@you@host), or to "
                      "Bluesky (--service bluesky --handle H, app password)",
        description="Sign in with the PIN flow (needs the app's API key and secret in "
                    f"{ENV_API_KEY}/{ENV_API_SECRET}, or typed in), or with --tokens: "
                    "all four values from the environment. Secrets go to the keyring only.")
    add_api_base_argument(p)
    p.add_argument("--service", default=ENV_SERVICE, choices=registry.keys(),
                   help="the service to sign in to (default x)")
    p.add_argument("--handle", metavar="HANDLE",
                   help="Bluesky: your handle (alice.bsky.social) or e-mail; the app "
                        f"password is asked for, or read from ${ENV_APP_PASSWORD}")
    p.add_argument("--tokens", action="store_true",
                   help=f"use {', '.join(ENV_VARS)} instead of the PIN flow")
    p.add_argument("--no-browser", action="store_true",
                   help="only print the authorization address")
    p.add_argument("--instance", metavar="URL|@USER@HOST",
                   help="Mastodon: the instance (mastodon.social, https://example.org) or "
                        "your handle (@you@example.org)")
    p.add_argument("--code", action="store_true",
                   help="Mastodon: the instance shows a code to paste here, instead of "
                        "redirecting to this computer")
    p.add_argument("--token", action="store_true",
                   help=f"Mastodon: store an access token (from ${ENV_ACCESS_TOKEN} or "
                        "typed in) after checking it")
    p.set_defaults(func=cmd_login)

    p = subparsers.add_parser("accounts", help="list signed-in accounts")
    p.add_argument("--json", action="store_true", help="one JSON array")
    p.set_defaults(func=cmd_accounts)

    p = subparsers.add_parser("logout", help="sign out: delete the secret and the entry")
    p.add_argument("account_name", nargs="?", metavar="ACCOUNT",
                   help="@name (default: the last used or only account)")
    p.set_defaults(func=cmd_logout)

    p = subparsers.add_parser("whoami", help="show the account and its current picture")
    add_account_argument(p)
    add_api_base_argument(p)
    p.add_argument("--json", action="store_true", help="one JSON line")
    p.set_defaults(func=cmd_whoami)
