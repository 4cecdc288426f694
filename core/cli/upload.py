"""``upload IMAGE``: render, upload with progress, wait until each service shows the new
picture, print the URL; for one account or several at once (``--account`` again, or
``--all``), through the publish use case (core/publish.py).

Exit codes: 0 when every account succeeded; with one account the code of its error (as
before); with several accounts and any failure :data:`EXIT_SOME_FAILED` (40).
"""

from __future__ import annotations

import argparse
import json
import logging
import sys
import threading
from typing import Any, TextIO

from avatar_studio.core.accounts import Accounts
from avatar_studio.core.cli import account
from avatar_studio.core.cli.render import (
    add_render_arguments,
    render_from_args,
    source_from_args,
)
from avatar_studio.core.errors import UserFacingError
from avatar_studio.core.imaging.render import RenderResult
from avatar_studio.core.imaging.spec import RenderSpec
from avatar_studio.core.publish import LaneEvent, LaneResult, Phase, Publisher, Target

log = logging.getLogger(__name__)

#: Several accounts, and at least one of them failed (each JSON line says which and why).
EXIT_SOME_FAILED = 40
#: As core.cli.EXIT_INTERNAL: an error that is not a UserFacingError.
EXIT_INTERNAL = 70


class ProgressBar:
    """A one-line bar on a terminal; silent otherwise (scripts read stdout only)."""

    WIDTH = 30

    def __init__(self, stream: TextIO) -> None:
        self.stream = stream
        self.enabled = stream.isatty()
        self._last = -1

    def __call__(self, sent: int, total: int) -> None:
        if not self.enabled or total <= 0:
            return
        percent = min(100, sent * 100 // total)
        if percent == self._last:
            return
        self._last = percent
        filled = self.WIDTH * percent // 100
        self.stream.write(f"\rUploading [{'#' * filled}{'.' * (self.WIDTH - filled)}] "
                          f"{percent:3d}%  {sent / 1024:.0f}/{total / 1024:.0f} KiB")
        if sent >= total:
            self.stream.write("\n")
        self.stream.flush()

    def waiting(self, poll: int) -> None:
        if self.enabled:
            self.stream.write(f"\rWaiting for the service to show the new picture (check {poll})…")
            self.stream.flush()

    def end_line(self) -> None:
        if self.enabled and self._last >= 0:
            self.stream.write("\n")
            self.stream.flush()


class _Display:
    """Progress for one account on a terminal; one line per account when there are more."""

    def __init__(self, stream: TextIO, labels: dict[str, str]) -> None:
        self.single = len(labels) == 1
        self.labels = labels
        self.bar = ProgressBar(stream) if self.single else None
        self.stream = stream
        self.enabled = stream.isatty()
        self._lock = threading.Lock()

    def __call__(self, event: LaneEvent) -> None:
        with self._lock:
            if self.bar is not None:
                if event.phase is Phase.UPLOADING and event.total:
                    self.bar(event.sent, event.total)
                elif event.phase is Phase.CHECKING:
                    self.bar.waiting(event.check)
                elif event.phase in (Phase.DONE, Phase.FAILED, Phase.CANCELLED):
                    self.bar.end_line()
            elif self.enabled and event.phase in (Phase.UPLOADING, Phase.CHECKING,
                                                  Phase.DONE, Phase.FAILED):
                if event.phase is Phase.UPLOADING and event.sent not in (0, event.total):
                    return
                self.stream.write(f"{self.labels[event.key]}: {event.phase.value}\n")
                self.stream.flush()


def _size(result: RenderResult) -> str:
    n = len(result.data)
    return f"{n / 1024:.0f} KiB" if n >= 1024 else f"{n} bytes"


def _targets(args: argparse.Namespace) -> list[account.Credentials]:
    names: list[str] = args.account or []
    if account.password_env() is not None or account.env_values() is not None:
        if names or args.all:
            raise account.IncompleteEnvironment(
                "--account and --all choose saved accounts; the environment's credentials "
                "are one account.", hint=f"Unset {', '.join(account.ENV_VARS)} to use "
                                         "the saved accounts.")
        return [account.resolve_credentials(args)]
    base = account.api_base_from(args)
    accounts = Accounts(account.store())
    if args.all:
        records = [r for r in accounts.list() if base is None or r.api_base == base]
        if not records:
            records = [accounts.find(None, api_base=base)]  # raises AccountNotFound
    elif len(names) > 1:
        records = accounts.find_many(names)
    else:
        records = [accounts.find(names[0] if names else None, api_base=base)]
    return [account.saved_credentials(accounts, r) for r in records]


def cmd_upload(args: argparse.Namespace) -> int:
    targets = _targets(args)
    source = source_from_args(args)  # a bad INPUT fails here, before any network

    specs: list[RenderSpec] = []

    def renderer(spec: RenderSpec) -> RenderResult:
        specs.append(spec)
        return render_from_args(args, spec=spec, source=source)[1]

    publisher = Publisher()
    cache = publisher.render_cache(("cli", args.input), renderer)
    lanes = [Target(c.record.key if c.record else "environment",
                    c.identity.handle if c.record else "the environment's account",
                    _opener(c)) for c in targets]
    display = _Display(sys.stderr, {t.key: t.label for t in lanes})
    alt_text = (args.alt_text or "").strip()
    run = publisher.start(cache, lanes, on_event=display, confirm=not args.no_wait,
                          confirm_timeout_s=args.wait_timeout, alt_text=alt_text)
    try:
        results = run.wait()
    except KeyboardInterrupt:
        run.cancel()
        run.wait()
        raise
    finally:
        publisher.close()
    if alt_text:
        for spec in specs:
            if not spec.alt_text_max:
                print(f"note: {spec.name} does not store alt text for avatars here; the "
                      "picture was uploaded without it.", file=sys.stderr)
    by_key = {t.key: c for t, c in zip(lanes, targets, strict=True)}
    for result in results:
        _report(args, result, by_key[result.key], single=len(results) == 1)
    failed = [r for r in results if not r.ok]
    if not failed:
        return 0
    if len(results) == 1:
        assert failed[0].error is not None
        raise failed[0].error
    return EXIT_SOME_FAILED


def _opener(creds: account.Credentials) -> Any:
    def open_session() -> Any:
        return account.open_session(creds)
    return open_session


def _report(args: argparse.Namespace, result: LaneResult, creds: account.Credentials, *,
            single: bool) -> None:
    receipt = result.receipt
    identity = receipt.identity if receipt is not None else creds.identity
    old_url = receipt.old_avatar_url if receipt is not None else (identity.avatar_url or None)
    new_url: str | None = None
    if result.confirmed is not None:
        new_url = result.confirmed.avatar_url
    elif receipt is not None and args.no_wait and result.ok and receipt.token:
        new_url = receipt.token
    rendered = result.rendered
    if receipt is not None and rendered is not None:
        print(f"Uploaded {_size(rendered)} {rendered.format} as {identity.handle}"
              f"{'' if single else f' ({identity.service})'}.", file=sys.stderr)
        if result.ok and args.no_wait and not args.json and single:
            print(f"{creds.service.display_name} publishes the new picture within a few "
                  "seconds to minutes.", file=sys.stderr)
    summary: dict[str, object] = {
        "screen_name": identity.handle.removeprefix("@"), "old_url": old_url,
        "new_url": new_url, "bytes": len(rendered.data) if rendered else None,
        "format": rendered.format if rendered else None,
        "service": identity.service, "account": identity.handle, "ok": result.ok}
    error = result.error
    if error is not None:
        summary["error"] = str(error).replace("\n", " ")
        summary["exit_code"] = (error.exit_code if isinstance(error, UserFacingError)
                                else EXIT_INTERNAL)
        if not single:
            if not isinstance(error, UserFacingError):
                # Alone it would reach main()'s handler; here its traceback goes to the log.
                log.error("Unexpected error publishing to %s", identity.handle,
                          exc_info=error)
            print(f"error: {identity.handle} ({identity.service}): {error}", file=sys.stderr)
    if args.json:
        print(json.dumps(summary), flush=True)
    elif new_url:
        print(new_url if single else f"{identity.service}:{identity.handle}\t{new_url}")


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = subparsers.add_parser(
        "upload", help="render an image and make it the profile picture of one or more "
                       "accounts",
        description="Render INPUT with the render options for each account's service, "
                    "upload it, wait until the service shows it and print the new "
                    "picture's URL.")
    add_render_arguments(p)
    account.add_account_argument(p, many=True)
    account.add_api_base_argument(p)
    p.add_argument("--no-wait", action="store_true",
                   help="return after the upload, without waiting for X to publish it")
    p.add_argument("--wait-timeout", type=float, default=None, metavar="SECONDS",
                   help="give up waiting for the new picture after this long (default 120)")
    p.add_argument("--alt-text", metavar="TEXT", default="",
                   help="describe the picture for people who cannot see it (Mastodon 4.6 "
                        "and later store it; elsewhere a note says it was not sent)")
    p.add_argument("--json", action="store_true",
                   help='print one JSON line per account: {"screen_name", "old_url", '
                        '"new_url", "bytes", "format", "service", "account", "ok"} plus '
                        '"error" and "exit_code" when it failed')
    p.set_defaults(func=cmd_upload)
