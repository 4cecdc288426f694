"""``login``, ``accounts``, ``logout`` and ``whoami``, plus the credential lookup
``upload`` shares.

Credentials come from the environment (all four ``AVATAR_STUDIO_*`` values: nothing is
stored) or from a signed-in account (settings entry + keyring secret).
"""

from __future__ import annotations

import argparse
import getpass
import json
import logging
import os
import sys
import webbrowser
from dataclasses import dataclass

from avatar_studio.core.accounts import Accounts, client_for
from avatar_studio.core.credentials import CredentialStore, KeyringUnavailable, Secrets
from avatar_studio.core.errors import UserFacingError
from avatar_studio.core.services.x import spec as x_spec
from avatar_studio.core.services.x.client import (
    AccessTokens,
    ConsumerKeys,
    XClient,
    XUser,
    validate_api_base,
)
from avatar_studio.core.services.x.errors import PinRejected
from avatar_studio.core.services.x.refresh import PollPolicy
from avatar_studio.core.settings import AccountRecord

log = logging.getLogger(__name__)

ENV_API_KEY = "AVATAR_STUDIO_API_KEY"
ENV_API_SECRET = "AVATAR_STUDIO_API_SECRET"  # noqa: S105 - a variable name, not a secret
ENV_ACCESS_TOKEN = "AVATAR_STUDIO_ACCESS_TOKEN"  # noqa: S105
ENV_ACCESS_SECRET = "AVATAR_STUDIO_ACCESS_SECRET"  # noqa: S105
ENV_API_BASE = "AVATAR_STUDIO_API_BASE"
ENV_VARS = (ENV_API_KEY, ENV_API_SECRET, ENV_ACCESS_TOKEN, ENV_ACCESS_SECRET)
#: Test-only knobs: shorten the documented 5 s minimum wait and the poll interval.
ENV_TEST_MIN_WAIT = "AVATAR_STUDIO_TEST_MIN_WAIT_S"
ENV_TEST_POLL_INTERVAL = "AVATAR_STUDIO_TEST_POLL_INTERVAL_S"


class IncompleteEnvironment(UserFacingError):
    """Some but not all credential variables are set, or a needed one is missing."""

    exit_code = 38


@dataclass(frozen=True)
class Credentials:
    """What a command needs to talk to X as one user."""

    secrets: Secrets
    api_base: str
    #: None when the credentials came from the environment (nothing stored).
    record: AccountRecord | None

    @property
    def label(self) -> str:
        return f"@{self.record.screen_name}" if self.record else "the environment's account"


def _env(name: str) -> str:
    return os.environ.get(name, "").strip()


def secrets_from_env() -> Secrets | None:
    """All four variables → Secrets; none → None; some → IncompleteEnvironment."""
    values = {name: _env(name) for name in ENV_VARS}
    if not any(values.values()):
        return None
    missing = [name for name, value in values.items() if not value]
    if missing:
        raise IncompleteEnvironment(
            "Credentials in the environment are incomplete: " + ", ".join(missing)
            + " not set.", hint="Set all four AVATAR_STUDIO_* variables, or none of them.")
    return Secrets(*values.values())


def api_base_from(args: argparse.Namespace) -> str | None:
    given = getattr(args, "api_base", None) or _env(ENV_API_BASE)
    return validate_api_base(given) if given else None


def add_api_base_argument(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--api-base", metavar="URL",
        help=f"X API base URL (default {x_spec.DEFAULT_API_BASE}, or ${ENV_API_BASE}); "
             "e.g. http://127.0.0.1:8400 for the sandbox")


def add_account_argument(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--account", metavar="@NAME",
                        help="which signed-in account (default: the last used or only one)")


def store() -> CredentialStore:
    return CredentialStore()


def resolve_credentials(args: argparse.Namespace) -> Credentials:
    base = api_base_from(args)
    from_env = secrets_from_env()
    if from_env is not None:
        return Credentials(from_env, base or x_spec.DEFAULT_API_BASE, None)
    accounts = Accounts(store())
    record = accounts.find(getattr(args, "account", None), base_url=base)
    return Credentials(accounts.store.load(record), record.base_url, record)


def poll_policy(timeout_s: float | None = None) -> PollPolicy:
    default = PollPolicy()
    min_wait = _env(ENV_TEST_MIN_WAIT)
    interval = _env(ENV_TEST_POLL_INTERVAL)
    return PollPolicy(
        min_wait_s=float(min_wait) if min_wait else default.min_wait_s,
        first_interval_s=float(interval) if interval else default.first_interval_s,
        timeout_s=timeout_s if timeout_s is not None else default.timeout_s)


def make_client(creds: Credentials, *, timeout_s: float | None = None) -> XClient:
    return client_for(creds.secrets, creds.api_base, poll=poll_policy(timeout_s),
                      account=creds.label if creds.record else "")


def user_json(user: XUser) -> dict[str, object]:
    return {"user_id": user.user_id, "screen_name": user.screen_name, "name": user.name,
            "profile_image_url_https": user.profile_image_url_https}


# -- login -------------------------------------------------------------------------------

def _consumer_keys(interactive: bool) -> ConsumerKeys:
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
    return ConsumerKeys(key, secret)


def _has_graphical_browser() -> bool:
    """Without a desktop, webbrowser would start a text browser in this very terminal."""
    if sys.platform in ("darwin", "win32"):
        return True
    return bool(os.environ.get("DISPLAY") or os.environ.get("WAYLAND_DISPLAY"))


def _read_pin() -> str:
    print("PIN: ", end="", file=sys.stderr, flush=True)
    line = sys.stdin.readline()
    if not line:
        raise PinRejected("No PIN was entered.", hint="Run login again.")
    return line.strip()


def _without_keyring(exc: KeyringUnavailable, note: str) -> KeyringUnavailable:
    """The command line's version of "use for this session only": the environment."""
    return KeyringUnavailable(
        f"{exc.problem}{note}",
        hint=f"Start or unlock the keyring and sign in again, or set {', '.join(ENV_VARS)} "
             "to use the account without storing anything.")


def cmd_login(args: argparse.Namespace) -> int:
    api_base = api_base_from(args) or x_spec.DEFAULT_API_BASE
    interactive = sys.stdin.isatty()
    accounts = Accounts(store())
    # Fail before the browser dance if the secrets could not be kept afterwards.
    try:
        accounts.store.check()
    except KeyringUnavailable as exc:
        raise _without_keyring(exc, "") from None
    if args.tokens:
        secrets = secrets_from_env()
        if secrets is None:
            raise IncompleteEnvironment(
                f"login --tokens reads {', '.join(ENV_VARS)} from the environment.",
                hint="Copy them from the developer portal (your app › Keys and tokens).")
        consumer = ConsumerKeys(secrets.api_key, secrets.api_secret)
        with XClient(consumer, AccessTokens(secrets.access_token, secrets.access_secret),
                     api_base=api_base) as client:
            signed_in = client.sign_in_with_tokens()
    else:
        consumer = _consumer_keys(interactive)
        with XClient(consumer, api_base=api_base) as client:
            auth = client.start_pin_sign_in()
            print("Open this address in a browser, authorize the app, then type the PIN "
                  "it shows:", file=sys.stderr)
            print(auth.authorize_url, flush=True)
            if not args.no_browser and _has_graphical_browser():
                try:
                    webbrowser.open(auth.authorize_url, new=2)
                except webbrowser.Error:
                    log.info("No browser could be opened")
            signed_in = client.finish_pin_sign_in(auth, _read_pin())
    try:
        record = accounts.add(signed_in, consumer, api_base)
    except KeyringUnavailable as exc:
        raise _without_keyring(exc, "; nothing was saved") from None
    user = signed_in.user
    print(f"Signed in as @{user.screen_name} ({user.name}) on {record.base_url}.",
          file=sys.stderr)
    return 0


# -- accounts / logout / whoami ----------------------------------------------------------

def cmd_accounts(args: argparse.Namespace) -> int:
    accounts = Accounts(store())
    listed = accounts.list()
    if args.json:
        print(json.dumps([{"screen_name": a.screen_name, "name": a.name,
                           "user_id": a.user_id, "api_base": a.base_url, "key": a.key}
                          for a in listed]))
        return 0
    if not listed:
        print("No account is signed in (avatar-studio-cli login).", file=sys.stderr)
        return 0
    for acc in listed:
        print(f"@{acc.screen_name}\t{acc.name}\t{acc.base_url}\t{acc.user_id}")
    return 0


def cmd_logout(args: argparse.Namespace) -> int:
    accounts = Accounts(store())
    record = accounts.find(args.account_name)
    accounts.remove(record)
    print(f"Signed out @{record.screen_name}; its secret was removed from the keyring.",
          file=sys.stderr)
    return 0


def cmd_whoami(args: argparse.Namespace) -> int:
    creds = resolve_credentials(args)
    with make_client(creds) as client:
        user = client.verify_credentials()
    if args.json:
        print(json.dumps({**user_json(user), "api_base": creds.api_base}))
    else:
        print(f"@{user.screen_name} ({user.name}), user id {user.user_id}, "
              f"on {creds.api_base}")
        print(user.profile_image_url_https)
    return 0


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = subparsers.add_parser(
        "login", help="sign in to X (PIN in the browser, or tokens from the environment)",
        description="Sign in with the PIN flow (needs the app's API key and secret in "
                    f"{ENV_API_KEY}/{ENV_API_SECRET}, or typed in), or with --tokens: "
                    "all four values from the environment. Secrets go to the keyring only.")
    add_api_base_argument(p)
    p.add_argument("--tokens", action="store_true",
                   help=f"use {', '.join(ENV_VARS)} instead of the PIN flow")
    p.add_argument("--no-browser", action="store_true",
                   help="only print the authorization address")
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
