"""``login --service mastodon --instance URL|@user@host``: the browser sign-in (loopback
redirect, or ``--code`` for the pasted out-of-band code) or ``--token``.

Reaches Mastodon only through the registry's Service and core/services/base.py.
"""

from __future__ import annotations

import argparse
import getpass
import logging
import os
import sys
import threading
import webbrowser

from avatar_studio.core.accounts import Accounts
from avatar_studio.core.credentials import KeyringUnavailable
from avatar_studio.core.services.base import (
    Service,
    SignedInAccount,
    SignInKind,
    SignInRequest,
)
from avatar_studio.core.services.errors import CodeRejected, InvalidApiBase

log = logging.getLogger(__name__)

ENV_ACCESS_TOKEN = "AVATAR_STUDIO_ACCESS_TOKEN"  # noqa: S105 - a variable name
ENV_API_BASE = "AVATAR_STUDIO_API_BASE"
#: How long the loopback listener waits for the browser.
BROWSER_TIMEOUT_S = 300.0


def _instance(args: argparse.Namespace, service: Service) -> SignInRequest:
    given = (getattr(args, "instance", None) or getattr(args, "api_base", None)
             or os.environ.get(ENV_API_BASE, "").strip())
    if not given:
        raise InvalidApiBase("Which Mastodon instance? Give --instance.",
                             hint="For example: --instance mastodon.social, or "
                                  "--instance @you@example.org.",
                             service=service.key, help_url=service.help_url)
    kind = (SignInKind.TOKENS if args.token else
            SignInKind.BROWSER_CODE if args.code else SignInKind.BROWSER_LOOPBACK)
    return SignInRequest(kind, identifier=given)


def _read_line(prompt: str, *, secret: bool = False) -> str:
    if sys.stdin.isatty():
        return (getpass.getpass(prompt) if secret else input(prompt)).strip()
    print(prompt, end="", file=sys.stderr, flush=True)
    return sys.stdin.readline().strip()


def _open_browser(url: str, args: argparse.Namespace) -> None:
    if args.no_browser:
        return
    # webbrowser honours $BROWSER; without it, only open one on a desktop (otherwise
    # it would start a text browser in this terminal).
    if not (os.environ.get("BROWSER") or sys.platform in ("darwin", "win32")
            or os.environ.get("DISPLAY") or os.environ.get("WAYLAND_DISPLAY")):
        return
    try:
        webbrowser.open(url, new=2)
    except webbrowser.Error:
        log.info("No browser could be opened")


def sign_in(args: argparse.Namespace, service: Service) -> SignedInAccount:
    request = _instance(args, service)
    attempt = service.sign_in(request)
    try:
        if request.kind is SignInKind.TOKENS:
            token = os.environ.get(ENV_ACCESS_TOKEN, "").strip() or _read_line(
                "Access token (Preferences › Development › your application): ",
                secret=True)
            if not token:
                raise CodeRejected("No access token was given.", service=service.key,
                                   help_url=service.help_url)
            return attempt.with_tokens({"access_token": token})
        auth = attempt.start_browser()
        if auth.kind is SignInKind.BROWSER_CODE:
            print("Open this address in a browser, press Authorize, then paste the code "
                  "the instance shows:", file=sys.stderr)
            print(auth.url, flush=True)
            _open_browser(auth.url, args)
            return attempt.finish_browser(auth, _read_line("Code: "))
        print("Open this address in a browser and press Authorize; Avatar Studio waits "
              "for the answer here:", file=sys.stderr)
        print(auth.url, flush=True)
        _open_browser(auth.url, args)
        cancel = threading.Event()
        try:
            return attempt.finish_browser(auth, timeout_s=BROWSER_TIMEOUT_S, cancel=cancel)
        except KeyboardInterrupt:
            cancel.set()
            raise
    finally:
        attempt.close()


def cmd_login(args: argparse.Namespace, service: Service, accounts: Accounts) -> int:
    try:
        accounts.store.check()  # before the browser: the secret must be keepable
    except KeyringUnavailable as exc:
        raise KeyringUnavailable(
            exc.problem, hint=f"Start or unlock the keyring, or set AVATAR_STUDIO_SERVICE="
                              f"mastodon, {ENV_API_BASE} and {ENV_ACCESS_TOKEN} to use a "
                              "token without storing anything.") from None
    signed_in = sign_in(args, service)
    record = accounts.add(signed_in)
    who = signed_in.identity
    print(f"Signed in as {who.handle} ({who.display_name}) on {record.api_base}.",
          file=sys.stderr)
    return 0
