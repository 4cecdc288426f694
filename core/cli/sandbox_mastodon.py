"""``avatar-studio-cli sandbox --service mastodon``: the local Mastodon stand-in."""

from __future__ import annotations

import argparse
import json
from typing import Any

from avatar_studio.core.cli.sandbox_runner import apply_basic_faults, refuse_remote, serve
from avatar_studio.core.sandbox.mastodon.config import MastodonSandboxConfig, parse_version
from avatar_studio.core.sandbox.mastodon.server import MastodonSandbox

DEFAULT_PORT = 8401


def add_arguments(parser: argparse.ArgumentParser, faults: Any) -> None:
    group = parser.add_argument_group("Mastodon (with --service mastodon)")
    group.add_argument("--mastodon-version", default=MastodonSandboxConfig.version,
                       metavar="X.Y.Z",
                       help="the release to play (default %(default)s; below 4.3.0 there is "
                       "no OAuth metadata, PKCE or 'profile' scope; alt text from 4.6.0)")
    group.add_argument("--avatar-limit", type=int, default=None, metavar="BYTES",
                       help="avatar files must be smaller (default 8 MB from 4.6, else 2 MB)")
    group.add_argument("--api-rate-limit", type=int, default=300, metavar="N",
                       help="requests per token and 5-minute window (default 300)")
    faults.add_argument("--rate-limit-next", type=int, default=0, metavar="N",
                        help="Mastodon: answer the first N API requests with 429")
    faults.add_argument("--rate-limit-reset", type=float, default=2.0, metavar="SECONDS",
                        help="Mastodon: X-RateLimit-Reset of those 429s, from now (default 2)")


def config_from_args(args: argparse.Namespace) -> MastodonSandboxConfig:
    from avatar_studio.core.cli.sandbox import SandboxArgumentError
    from avatar_studio.core.sandbox.config import SandboxConfig

    # The X sandbox's options mean nothing here: say so rather than ignore them.
    x_only = {"--state": args.state is not None,
              "--processing-delay": args.processing_delay != 5.0,
              "--max-image-bytes": args.max_image_bytes != SandboxConfig.max_image_bytes,
              "--rate-limit": bool(args.rate_limit), "--rate-window": args.rate_window != 900,
              "--timestamp-skew": args.timestamp_skew != 300,
              "--old-url-ttl": args.old_url_ttl != 300.0,
              "--stall-processing": args.stall_processing}
    given = [name for name, used in x_only.items() if used]
    if given:
        raise SandboxArgumentError(
            f"{', '.join(given)} {'is' if len(given) == 1 else 'are'} for the X sandbox, "
            "not --service mastodon",
            hint="For Mastodon: --mastodon-version, --avatar-limit, --api-rate-limit.")
    port = DEFAULT_PORT if args.port is None else args.port
    if port < 0 or port > 65535:
        raise SandboxArgumentError(f"--port must be between 0 and 65535, not {port}")
    try:
        parse_version(args.mastodon_version)
    except ValueError as exc:
        raise SandboxArgumentError(f"--mastodon-version: {exc}") from None
    if args.avatar_limit is not None and args.avatar_limit <= 0:
        raise SandboxArgumentError("--avatar-limit must be positive")
    if args.api_rate_limit <= 0:
        raise SandboxArgumentError("--api-rate-limit must be positive")
    return MastodonSandboxConfig(host=args.host, port=port, version=args.mastodon_version,
                                 avatar_limit_bytes=args.avatar_limit,
                                 rate_limit=args.api_rate_limit,
                                 allow_remote=args.allow_remote)


def run(args: argparse.Namespace) -> int:
    from avatar_studio.core.cli.sandbox import CannotListen, SandboxArgumentError

    config = config_from_args(args)
    refuse_remote(config.host, config.allow_remote, error=SandboxArgumentError)
    sandbox = MastodonSandbox(config)

    def ready() -> None:
        demo = sandbox.demo
        _apply_faults(sandbox, args)
        if args.json:
            print(json.dumps(demo.as_dict()), flush=True)
        else:
            print(f"Mastodon sandbox ({config.version}) running at {demo.base_url}\n"
                  f"  access token:   {demo.access_token}\n"
                  f"  account:        @{demo.username} (id {demo.account_id})\n"
                  f"  client id:      {demo.client_id}\n"
                  f"  client secret:  {demo.client_secret}\n"
                  "Press Ctrl+C to stop.", flush=True)

    return serve(sandbox, host=config.host, port=config.port, as_json=args.json,
                 cannot_listen=CannotListen, ready=ready)


def _apply_faults(sandbox: MastodonSandbox, args: argparse.Namespace) -> None:
    faults = sandbox.faults
    apply_basic_faults(faults, args)
    if args.rate_limit_next:
        faults.rate_limit_next(args.rate_limit_next, args.rate_limit_reset)
    if args.read_only:
        demo = sandbox.demo
        faults.set_scopes(demo.access_token, ["read", "profile"])
