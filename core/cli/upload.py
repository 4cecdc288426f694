"""``upload IMAGE``: render, upload with progress, wait for X to publish, print the URL."""

from __future__ import annotations

import argparse
import json
import sys
from typing import TextIO

from avatar_studio.core.accounts import Accounts
from avatar_studio.core.cli import account
from avatar_studio.core.cli.render import add_render_arguments, render_from_args
from avatar_studio.core.imaging.render import RenderResult
from avatar_studio.core.services.x.client import XClient
from avatar_studio.core.services.x.errors import NotPublishedYet


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
            self.stream.write(f"\rWaiting for X to publish the new picture (check {poll})…")
            self.stream.flush()

    def end_line(self) -> None:
        if self.enabled and self._last >= 0:
            self.stream.write("\n")
            self.stream.flush()


def cmd_upload(args: argparse.Namespace) -> int:
    creds = account.resolve_credentials(args)
    _, result = render_from_args(args)
    with account.make_client(creds, timeout_s=args.wait_timeout) as client:
        return _upload(args, creds, client, result)


def _upload(args: argparse.Namespace, creds: account.Credentials, client: XClient,
            result: RenderResult) -> int:
    # The "before" picture: by id for a saved account (900 calls per window), otherwise
    # verify_credentials, which also tells us who the environment's tokens belong to.
    before = (client.show_user(creds.record.user_id) if creds.record is not None
              else client.verify_credentials())
    bar = ProgressBar(sys.stderr)
    filename = f"avatar.{result.extension.lstrip('.')}"
    uploaded = client.upload_profile_image(result.data, mime_type=result.mime_type,
                                           filename=filename, progress=bar)
    if creds.record is not None:
        Accounts(account.store()).remember_used(creds.record)
    summary: dict[str, object] = {
        "screen_name": before.screen_name, "old_url": before.profile_image_url_https,
        "new_url": None, "bytes": len(result.data), "format": result.format}
    size = (f"{len(result.data) / 1024:.0f} KiB" if len(result.data) >= 1024
            else f"{len(result.data)} bytes")
    print(f"Uploaded {size} {result.format} as @{before.screen_name}.", file=sys.stderr)
    if args.no_wait:
        if uploaded.profile_image_url_https != before.profile_image_url_https:
            summary["new_url"] = uploaded.profile_image_url_https
        _finish(args, summary)
        if not args.json:
            print("X publishes the new picture within a few seconds to minutes.",
                  file=sys.stderr)
        return 0
    try:
        refreshed = client.wait_for_new_image(before.user_id, before.profile_image_url_https,
                                              on_attempt=bar.waiting)
    except NotPublishedYet:
        bar.end_line()
        if args.json:
            _finish(args, summary)
        raise
    bar.end_line()
    summary["new_url"] = refreshed.new_url
    _finish(args, summary)
    return 0


def _finish(args: argparse.Namespace, summary: dict[str, object]) -> None:
    if args.json:
        print(json.dumps(summary))
    elif summary["new_url"]:
        print(summary["new_url"])


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = subparsers.add_parser(
        "upload", help="render an image and make it the X profile picture",
        description="Render INPUT with the render options, upload it, wait until X "
                    "publishes it and print the new profile_image_url_https.")
    add_render_arguments(p)
    account.add_account_argument(p)
    account.add_api_base_argument(p)
    p.add_argument("--no-wait", action="store_true",
                   help="return after the upload, without waiting for X to publish it")
    p.add_argument("--wait-timeout", type=float, default=None, metavar="SECONDS",
                   help="give up waiting for the new picture after this long (default 120)")
    p.add_argument("--json", action="store_true",
                   help='print one JSON line: {"screen_name", "old_url", "new_url", '
                        '"bytes", "format"}')
    p.set_defaults(func=cmd_upload)
