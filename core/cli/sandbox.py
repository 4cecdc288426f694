"""``avatar-studio-cli sandbox``: run a local service sandbox (X by default) until
SIGINT/SIGTERM. ``--service mastodon`` / ``bluesky`` run theirs (sandbox_<service>.py)."""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any

from avatar_studio.core.cli import sandbox_bluesky, sandbox_mastodon
from avatar_studio.core.cli.sandbox_runner import apply_basic_faults, refuse_remote, serve
from avatar_studio.core.errors import UserFacingError
from avatar_studio.core.sandbox.config import SandboxConfig, default_rate_limits
from avatar_studio.core.sandbox.server import SandboxServer
from avatar_studio.core.sandbox.state import StateError

EXIT_BAD_ARGUMENT = 2
EXIT_CANNOT_LISTEN = 10
EXIT_BAD_STATE = 11


class SandboxArgumentError(UserFacingError):
    exit_code = EXIT_BAD_ARGUMENT


class CannotListen(UserFacingError):
    exit_code = EXIT_CANNOT_LISTEN


class BadStateDir(UserFacingError):
    exit_code = EXIT_BAD_STATE


RATE_LIMITED = ("verify_credentials", "users_show", "update_profile_image")


def _rate_limit(text: str) -> tuple[str, int]:
    name, sep, value = text.partition("=")
    if not sep or not value.isdigit():
        raise argparse.ArgumentTypeError("expected NAME=N, e.g. users_show=5")
    if name.strip() not in RATE_LIMITED:
        raise argparse.ArgumentTypeError(
            f"unknown endpoint {name.strip()!r}; known: {', '.join(RATE_LIMITED)}")
    return name.strip(), int(value)


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser(
        "sandbox", help="run a local stand-in for a service's API (X by default, or "
        "--service mastodon|bluesky)",
        description="Run a faithful local stand-in for the API parts this app uses (X API "
        "v1.1, Mastodon with --service mastodon, a Bluesky PDS with --service bluesky), "
        "with a pre-registered demo app and user. It runs until Ctrl+C or SIGTERM.")
    parser.add_argument("--service", choices=("x", "mastodon", "bluesky"), default="x",
                        help="which service to play (default x)")
    parser.add_argument("--host", default="127.0.0.1",
                        help="address to listen on (default 127.0.0.1; loopback only unless "
                        "--allow-remote)")
    parser.add_argument("--port", type=int, default=None,
                        help="port (default 8400 for X, 8401 for Mastodon, 8402 for Bluesky; "
                        "0 picks a free one)")
    parser.add_argument("--processing-delay", type=float, default=5.0, metavar="SECONDS",
                        help="seconds before an uploaded image shows up (default 5)")
    parser.add_argument("--state", type=Path, metavar="DIR",
                        help="keep apps, users, tokens and images in DIR across restarts "
                        "(default: in memory)")
    parser.add_argument("--json", action="store_true",
                        help="print the demo credentials as ONE JSON line first")
    parser.add_argument("--allow-remote", action="store_true",
                        help="allow a non-loopback --host (anyone who can reach it can use "
                        "the demo account)")
    limits = parser.add_argument_group("limits")
    limits.add_argument("--max-image-bytes", type=int, default=SandboxConfig.max_image_bytes,
                        metavar="N", help="largest accepted image in decoded bytes "
                        f"(default {SandboxConfig.max_image_bytes}; X in 2021: 2097152)")
    limits.add_argument("--rate-limit", type=_rate_limit, action="append", default=[],
                        metavar="NAME=N", help="requests per window for an endpoint "
                        "(verify_credentials, users_show, update_profile_image); repeatable")
    limits.add_argument("--rate-window", type=int, default=900, metavar="SECONDS",
                        help="rate-limit window (default 900)")
    limits.add_argument("--timestamp-skew", type=int, default=300, metavar="SECONDS",
                        help="accepted clock difference before code 135 (default 300)")
    limits.add_argument("--old-url-ttl", type=float, default=300.0, metavar="SECONDS",
                        help="how long a replaced image stays reachable (default 300)")
    faults = parser.add_argument_group("faults (for tests and demos)")
    faults.add_argument("--latency", type=float, default=0.0, metavar="SECONDS",
                        help="delay every API response")
    faults.add_argument("--fail-next", type=int, default=0, metavar="N",
                        help="answer the first N API requests with an error")
    faults.add_argument("--fail-status", type=int, choices=(500, 502, 503, 504), default=500,
                        help="status for --fail-next: 500 (X: code 131) or 503 (X: code "
                        "130); Mastodon also 502; Bluesky 502 and 504 too")
    faults.add_argument("--drop-next", type=int, default=0, metavar="N",
                        help="drop the connection of the first N API requests")
    faults.add_argument("--stall-processing", action="store_true",
                        help="accept uploads but never finish processing them")
    faults.add_argument("--read-only", action="store_true",
                        help="make the demo app read-only (its POSTs fail; Mastodon: the "
                        "demo token loses its write scopes)")
    sandbox_mastodon.add_arguments(parser, faults)
    sandbox_bluesky.add_arguments(parser)
    parser.set_defaults(func=run)


def config_from_args(args: argparse.Namespace) -> SandboxConfig:
    if args.port is None:
        args.port = 8400
    if args.fail_status in (502, 504):
        raise SandboxArgumentError(f"--fail-status {args.fail_status} is not for the X "
                                   "sandbox (500 or 503)")
    if args.port < 0 or args.port > 65535:
        raise SandboxArgumentError(f"--port must be between 0 and 65535, not {args.port}")
    if args.processing_delay < 0:
        raise SandboxArgumentError("--processing-delay cannot be negative")
    if args.max_image_bytes <= 0:
        raise SandboxArgumentError("--max-image-bytes must be positive")
    rate_limits = default_rate_limits()
    rate_limits.update(dict(args.rate_limit))
    return SandboxConfig(
        host=args.host, port=args.port, processing_delay=args.processing_delay,
        max_image_bytes=args.max_image_bytes, rate_limits=rate_limits,
        rate_window_s=args.rate_window, timestamp_skew_s=args.timestamp_skew,
        state_dir=args.state, old_url_ttl_s=args.old_url_ttl,
        allow_remote=args.allow_remote)


def run(args: argparse.Namespace) -> int:
    if args.service == "mastodon":
        return sandbox_mastodon.run(args)
    if args.service == "bluesky":
        return sandbox_bluesky.run(args, cannot_listen=CannotListen)
    config = config_from_args(args)
    refuse_remote(config.host, config.allow_remote, error=SandboxArgumentError)
    try:
        server = SandboxServer(config)
    except StateError as exc:
        raise BadStateDir(str(exc), hint="Pick another --state folder, or move this one "
                          "away to start afresh.") from exc

    def ready() -> None:
        _apply_faults(server, args)
        demo = server.demo
        if args.json:
            print(json.dumps(demo.as_dict()), flush=True)
        else:
            print(f"X API sandbox running at {demo.base_url}\n"
                  f"  API key:        {demo.api_key}\n"
                  f"  API secret:     {demo.api_secret}\n"
                  f"  access token:   {demo.access_token}\n"
                  f"  access secret:  {demo.access_secret}\n"
                  f"  user:           @{demo.screen_name} (id {demo.user_id})\n"
                  "Press Ctrl+C to stop.", flush=True)

    return serve(server, host=config.host, port=config.port, as_json=args.json,
                 cannot_listen=CannotListen, ready=ready)


def _apply_faults(server: SandboxServer, args: argparse.Namespace) -> None:
    faults = server.faults
    apply_basic_faults(faults, args)
    if args.stall_processing:
        faults.stall_processing(True)
    if args.read_only:
        faults.set_read_only(server.demo.api_key, True)
