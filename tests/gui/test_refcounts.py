"""PySide6 6.12 on Python 3.11 drops a reference to None per void call; we pin it."""

from __future__ import annotations

import subprocess
import sys
import textwrap

import pytest

SCRIPT = textwrap.dedent("""
    import os, sys
    os.environ["QT_QPA_PLATFORM"] = "offscreen"
    if sys.argv[1] == "pinned":
        import avatar_studio.gui  # pins None/True/False on import
    from PySide6.QtWidgets import QApplication, QLabel
    app = QApplication([])
    label = QLabel()
    for _ in range(300_000):
        label.setText("x")
    print("survived")
""")

needs_311 = pytest.mark.skipif(sys.version_info >= (3, 12),
                               reason="None is immortal from Python 3.12 on")


def _run(mode: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-c", SCRIPT, mode], capture_output=True,
                          text=True, timeout=120, check=False)


def test_the_window_survives_many_void_calls() -> None:
    out = _run("pinned")
    assert out.returncode == 0, out.stderr
    assert "survived" in out.stdout


@needs_311
def test_the_pyside_bug_is_still_there() -> None:
    """If this starts failing, PySide fixed the bug and gui/refcounts.py can go."""
    out = _run("bare")
    assert out.returncode != 0
    assert "none_dealloc" in out.stderr
