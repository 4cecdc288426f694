"""The command line's stderr: `error:` lines only; a traceback only with --debug, once."""

from __future__ import annotations

import subprocess
import sys
import textwrap
from pathlib import Path

from avatar_studio.core import logsetup

# A command that fails with an unexpected error inside the real process: `render` whose
# crop step has a bug (a ZeroDivisionError), and that warns the way libraries do.
_BROKEN = textwrap.dedent("""
    import sys, warnings
    from avatar_studio.core import cli
    from avatar_studio.core.cli import render

    def broken(args, **kw):
        warnings.warn("a library warning at /usr/lib/python3/site-packages/x.py")
        return 1 / 0

    render.render_from_args = render.render_crop_from_args = broken
    sys.exit(cli.main(sys.argv[1:]))
""")


def _run(tmp_path: Path, *args: str) -> subprocess.CompletedProcess[str]:
    (tmp_path / "in.png").write_bytes(b"")
    return subprocess.run([sys.executable, "-c", _BROKEN, *args, "render",
                           str(tmp_path / "in.png"), "-o", str(tmp_path / "o.png")],
                          capture_output=True, text=True, timeout=60, check=False,
                          cwd=tmp_path)


def test_internal_error_is_one_line_without_debug(tmp_path, isolated_dirs):
    done = _run(tmp_path)
    assert done.returncode == 70
    log = logsetup.log_file()
    assert done.stderr.splitlines() == [
        f"error: unexpected ZeroDivisionError; details are in {log} "
        "(run with --debug to see them here)"]
    text = log.read_text()
    assert "Traceback" in text
    assert "ZeroDivisionError" in text
    assert "a library warning" in text  # the warning went to the log instead


def test_debug_shows_the_traceback_once_and_keeps_exit_70(tmp_path):
    done = _run(tmp_path, "--debug")
    assert done.returncode == 70
    assert done.stderr.count("Traceback (most recent call last)") == 1, done.stderr
    assert done.stderr.count("ZeroDivisionError: division by zero") == 1
    assert done.stderr.splitlines()[-1].startswith("error: unexpected ZeroDivisionError")
