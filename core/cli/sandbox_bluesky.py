"""``avatar-studio-cli sandbox --service bluesky``: the local PDS sandbox's options and loop."""

from __future__ import annotations

import argparse
import json
from typing import Any

from avatar_studio.core.cli.sandbox_runner import apply_basic_faults, serve
from avatar_studio.core.errors import UserFacingError
from avatar_studio.core.sandbox.bluesky import BlueskySandbox, BlueskySandboxConfig
from avatar_studio.core.sandbox.bluesky.faults import FAIL_STATUSES


def add_arguments(parser: Any) -> None:
    group = parser.add_argument_group("bluesky (with --service bluesky)")
    group.add_argument("--handle", default=BlueskySandboxConfig.handle,
                       help=f"the demo account's handle (default {BlueskySandboxConfig.handle})")
    group.add_argument("--app-password", default="", metavar="XXXX-XXXX-XXXX-XXXX",
                       help="the demo account's app password (default: a fresh one)")
    group.add_argument("--two-factor", action="store_true",
                       help="sign-ins need the code e-mailed to the account "
                       "(AuthFactorTokenRequired; read it at GET /_sandbox/outbox)")
    group.add_argument("--access-lifetime", type=float, default=None, metavar="SECONDS",
                       help="access token lifetime (default 7200)")
    group.add_argument("--refresh-lifetime", type=float, default=None, metavar="SECONDS",
                       help="refresh token lifetime (default 90 days)")
    group.add_argument("--refresh-grace", type=float, default=None, metavar="SECONDS",
                       help="how long a used refresh token still works (default 7200; "
                       "0 revokes it when used)")
    group.add_argument("--appview-lag", type=float, default=0.0, metavar="SECONDS",
                       help="delay before others see a profile change (the owner sees it "
                       "at once: read-after-write)")
    group.add_argument("--cdn-suffix", choices=("", "@jpeg"), default="",
                       help="suffix of avatar URLs ('' as today, '@jpeg' as before 2026-03)")
    group.add_argument("--invalid-swap", type=int, default=0, metavar="N",
                       help="the first N putRecord calls fail with InvalidSwap")
    group.add_argument("--takedown", action="store_true",
                       help="the demo account is taken down (AccountTakedown)")


class _BadArgument(UserFacingError):
    exit_code = 2


DEFAULT_PORT = 8402


def config_from_args(args: argparse.Namespace) -> BlueskySandboxConfig:
    port = DEFAULT_PORT if args.port is None else args.port
    if port < 0 or port > 65535:
        raise _BadArgument(f"--port must be between 0 and 65535, not {port}")
    config = BlueskySandboxConfig(host=args.host, port=port,
                                  allow_remote=args.allow_remote, handle=args.handle.lower(),
                                  app_password=args.app_password, two_factor=args.two_factor,
                                  appview_lag_s=max(0.0, args.appview_lag),
                                  cdn_suffix=args.cdn_suffix)
    for name, attr in (("access_lifetime", "access_lifetime_s"),
                       ("refresh_lifetime", "refresh_lifetime_s"),
                       ("refresh_grace", "refresh_grace_s")):
        value = getattr(args, name)
        if value is not None:
            if value < 0 or (value == 0 and name != "refresh_grace"):
                raise _BadArgument(f"--{name.replace('_', '-')} must be positive")
            setattr(config, attr, value)
    return config


def run(args: argparse.Namespace, *, cannot_listen: type[UserFacingError]) -> int:
    config = config_from_args(args)
    if args.fail_next and args.fail_status not in FAIL_STATUSES:
        raise _BadArgument(f"--fail-status must be one of {sorted(FAIL_STATUSES)}")
    sandbox = BlueskySandbox(config)

    def ready() -> None:
        faults = sandbox.faults
        apply_basic_faults(faults, args)
        if args.invalid_swap:
            faults.invalid_swap_next(args.invalid_swap)
        if args.rate_limit_next:
            faults.rate_limit_next(args.rate_limit_next)
        if args.takedown:
            faults.set_takedown(True)
        demo = sandbox.demo
        if args.json:
            print(json.dumps(demo.as_dict()), flush=True)
        else:
            print(f"Bluesky PDS sandbox running at {demo.base_url}\n"
                  f"  handle:        {demo.handle}\n"
                  f"  DID:           {demo.did}\n"
                  f"  app password:  {demo.app_password}\n"
                  f"  e-mail:        {demo.email}"
                  + ("  (sign-in codes: GET /_sandbox/outbox)" if config.two_factor else "")
                  + "\nPress Ctrl+C to stop.", flush=True)

    return serve(sandbox, host=config.host, port=config.port, as_json=args.json,
                 cannot_listen=cannot_listen, ready=ready)
