"""What every ``sandbox --service ...`` does around its own sandbox: refuse a remote
address unless asked, start, announce, wait for SIGINT/SIGTERM, stop."""

from __future__ import annotations

import argparse
import signal
import sys
import threading
from collections.abc import Callable
from types import FrameType
from typing import Protocol

from avatar_studio.core.errors import UserFacingError
from avatar_studio.core.net import is_loopback_host
from avatar_studio.core.sandbox.basicfaults import BasicFaults


class Served(Protocol):
    def start(self) -> str: ...

    def stop(self) -> None: ...


def refuse_remote(host: str, allow_remote: bool, *, error: type[UserFacingError]) -> None:
    """A host that is not loopback needs --allow-remote, and gets a warning."""
    if is_loopback_host(host):
        return
    if not allow_remote:
        raise error(f"refusing to listen on {host}: it is not a loopback address",
                    hint="Pass --allow-remote if other machines really should reach it.")
    print(f"warning: listening on {host}; anyone who can reach it can use the "
          "demo account", file=sys.stderr, flush=True)


def apply_basic_faults(faults: BasicFaults, args: argparse.Namespace) -> None:
    """--latency, --fail-next (with --fail-status) and --drop-next, which every sandbox has."""
    if args.latency:
        faults.set_latency(args.latency)
    if args.fail_next:
        faults.fail_next(args.fail_next, status=args.fail_status)
    if args.drop_next:
        faults.drop_next(args.drop_next)


def serve(sandbox: Served, *, host: str, port: int, as_json: bool,
          cannot_listen: type[UserFacingError], ready: Callable[[], None]) -> int:
    """Start ``sandbox``, call ``ready`` (faults, the announcement), run until a signal."""
    try:
        sandbox.start()
    except OSError as exc:
        raise cannot_listen(f"cannot listen on {host}:{port}: "
                            f"{exc.strerror or exc}") from exc
    stop = threading.Event()

    def on_signal(signum: int, frame: FrameType | None) -> None:
        stop.set()

    previous = {sig: signal.signal(sig, on_signal) for sig in (signal.SIGINT, signal.SIGTERM)}
    try:
        ready()
        while not stop.wait(0.5):
            pass
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
        sandbox.stop()
    if not as_json:
        print("sandbox stopped", flush=True)
    return 0
