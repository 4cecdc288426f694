"""``avatar-studio-cli``: the Qt-free command line.

Each subcommand lives in its own module with a ``register(subparsers)`` function that
adds its parser and sets ``func`` (a callable taking the parsed namespace and returning
an exit code). Errors derived from :class:`UserFacingError` print their message and exit
with their own code; anything else prints one line (the traceback only with --debug).

Two hooks let a command begin work in the background while the rest loads (``render``
starts decoding its input, the longest step of a render). A command module may define
``before_parsing(argv)``: called with the raw arguments before the parser is even built
(building and running it is ~10 ms); what it returns is set on the parsed namespace as
``begun``, for the command to use if the parsed arguments agree. And a command may set
``start``: called with the parsed namespace before logging is set up and before ``func``.
Neither may raise or print; whatever goes wrong is ``func``'s to report. Only what
``main`` needs before them is imported at module level: that is on the critical path of
a render.
"""

from __future__ import annotations

import gc
import importlib
import sys
import warnings
from collections.abc import Sequence
from typing import TYPE_CHECKING

from avatar_studio.core.logsetup import route_warnings_to_log
from avatar_studio.core.version import __version__

if TYPE_CHECKING:
    import argparse

#: Subcommand modules, in the order their commands appear in --help.
COMMAND_MODULES: tuple[str, ...] = ("render", "upload", "account", "sandbox")
#: The module that registers each command. ``main`` imports only the module of the
#: command it runs: ``render`` must not pay for requests, oauthlib, keyring and werkzeug
#: (a third of its run time). A command missing here still works (every module is
#: imported then); tests/core/test_cli_base.py checks this map against the modules.
COMMANDS: dict[str, str] = {
    "render": "render", "upload": "upload", "login": "account", "accounts": "account",
    "logout": "account", "whoami": "account", "sandbox": "sandbox",
}

EXIT_OK = 0
EXIT_USAGE = 2
EXIT_INTERRUPTED = 130
EXIT_INTERNAL = 70


def command_name(argv: Sequence[str]) -> str | None:
    """The command word of ``argv``: the first argument that is not an option (the
    top-level options take no values)."""
    for arg in argv:
        if arg == "--":
            return None
        if not arg.startswith("-"):
            return arg
    return None


def build_parser(command: str | None = None) -> argparse.ArgumentParser:
    """The parser with every command, or only ``command``'s module when it is known."""
    import argparse

    parser = argparse.ArgumentParser(
        prog="avatar-studio-cli",
        description="Render, upload and manage profile pictures without the window.",
    )
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    parser.add_argument("--debug", action="store_true",
                        help="verbose logs on stderr, and tracebacks for unexpected errors")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    module_name = COMMANDS.get(command or "")
    for name in (module_name,) if module_name else COMMAND_MODULES:
        module = importlib.import_module(f"{__name__}.{name}")
        module.register(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command in ``argv`` (default: this process's own arguments) and return
    its exit code."""
    whole_process = argv is None
    argv = list(sys.argv[1:] if argv is None else argv)
    command = command_name(argv)
    # Library warnings carry file paths: they belong in the log, not beside `error:`.
    with warnings.catch_warnings():
        route_warnings_to_log()
        try:
            begun = _before_parsing(command, argv)
            parser = build_parser(command)
            args = parser.parse_args(argv)
            args.begun = begun
            start = getattr(args, "start", None)
            if start is not None:
                start(args)
        except KeyboardInterrupt:
            print("interrupted", file=sys.stderr)
            return EXIT_INTERRUPTED
        code = _run(parser, args)
    if whole_process:
        # The process exits next: the interpreter's last garbage collection would walk
        # every object only to free memory the exit frees anyway (10 ms of a render).
        gc.freeze()
    return code


def _before_parsing(command: str | None, argv: Sequence[str]) -> object | None:
    """What ``command``'s module began in its ``before_parsing(argv)`` hook, if it has
    one; None when nothing was begun."""
    module_name = COMMANDS.get(command or "")
    if module_name is None:
        return None
    module = importlib.import_module(f"{__name__}.{module_name}")
    hook = getattr(module, "before_parsing", None)
    if hook is None:
        return None
    try:
        begun: object = hook(argv)
    except Exception:  # noqa: BLE001 - the command meets the same error and reports it
        return None
    return begun


def _run(parser: argparse.ArgumentParser, args: argparse.Namespace) -> int:
    import logging
    import traceback

    from avatar_studio.core.errors import UserFacingError
    from avatar_studio.core.logsetup import file_only, setup_logging

    log = logging.getLogger(__name__)
    log_path = setup_logging(debug=args.debug)
    func = getattr(args, "func", None)
    if func is None:
        parser.print_help(sys.stderr)
        return EXIT_USAGE
    try:
        return int(func(args))
    except UserFacingError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return exc.exit_code
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return EXIT_INTERRUPTED
    except Exception as exc:
        # The traceback goes to the log file; stderr gets it only with --debug, once.
        log.error("Unexpected error in %s", args.command, exc_info=True, extra=file_only())
        if args.debug:
            traceback.print_exception(exc, file=sys.stderr)
        where = f"details are in {log_path}" if log_path else "details are in the log"
        hint = "" if args.debug else " (run with --debug to see them here)"
        print(f"error: unexpected {type(exc).__name__}; {where}{hint}", file=sys.stderr)
        return EXIT_INTERNAL


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
