"""Guard against a Qt binding that leaks references to None/True/False.

PySide6 6.12.0 on CPython 3.11 drops one reference to None per call of a void Qt method
(QLabel.setText, QTimer.start, ...): a busy window aborts with "Fatal Python error:
none_dealloc" after about 100 000 calls. pyproject.toml therefore takes 6.11 on Python
3.11 (6.12 only from 3.12 on, where None is immortal). This test fails if a version bump
brings the leak back.
"""

from __future__ import annotations

import subprocess
import sys
import textwrap

SCRIPT = textwrap.dedent("""
    import os, sys
    os.environ["QT_QPA_PLATFORM"] = "offscreen"
    from PySide6.QtWidgets import QApplication, QLabel
    app = QApplication([])
    label = QLabel()
    counts = {name: sys.getrefcount(obj) for name, obj in
              (("None", None), ("True", True), ("False", False))}
    for _ in range(200_000):
        label.setText("x")
        label.update()
        label.isVisible()
        label.setVisible(False)
    for name, obj in (("None", None), ("True", True), ("False", False)):
        delta = sys.getrefcount(obj) - counts[name]
        print(name, delta)
""")


def test_void_and_bool_calls_keep_singleton_references() -> None:
    out = subprocess.run([sys.executable, "-c", SCRIPT], capture_output=True, text=True,
                         timeout=180, check=False)
    assert out.returncode == 0, out.stderr[-2000:]
    deltas = {line.split()[0]: int(line.split()[1]) for line in out.stdout.splitlines()}
    assert set(deltas) == {"None", "True", "False"}
    for name, delta in deltas.items():
        # A leak would show as about -200 000; a few references come and go legitimately.
        assert abs(delta) < 1000, f"{name} refcount changed by {delta}"
