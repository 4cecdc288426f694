from __future__ import annotations

import subprocess
import sys

import pytest
from avatar_studio.core import cli
from avatar_studio.core.version import __version__


def test_version(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exc:
        cli.main(["--version"])
    assert exc.value.code == 0
    assert capsys.readouterr().out.strip() == f"avatar-studio-cli {__version__}"


def test_no_command_prints_help_and_exits_2(capsys: pytest.CaptureFixture[str]) -> None:
    assert cli.main([]) == cli.EXIT_USAGE
    assert "usage: avatar-studio-cli" in capsys.readouterr().err


def test_console_script_runs_without_qt() -> None:
    code = ("import sys; from avatar_studio.core.cli import main\n"
            "try:\n    main(['--version'])\nexcept SystemExit:\n    pass\n"
            "print(any(m.startswith('PySide6') for m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True, timeout=60)
    assert out.stdout.strip().splitlines()[-1] == "False"


def test_ctrl_c_during_a_start_hook_is_one_line(monkeypatch: pytest.MonkeyPatch,
                                                capsys: pytest.CaptureFixture[str]) -> None:
    from avatar_studio.core.cli import render

    def interrupted(args: object) -> None:
        raise KeyboardInterrupt
    monkeypatch.setattr(render, "start", interrupted)
    assert cli.main(["render", "in.jpg", "--crop", "centre", "-o", "out.jpg"]) == 130
    assert capsys.readouterr().err == "interrupted\n"
