"""core/ must load without Qt: checked in a fresh interpreter, module by module."""

from __future__ import annotations

import json
import pkgutil
import subprocess
import sys

import avatar_studio.core

SCRIPT = r"""
import importlib, json, pkgutil, sys
import avatar_studio.core as core
names = ["avatar_studio.core"]
for info in pkgutil.walk_packages(core.__path__, "avatar_studio.core."):
    if not info.name.endswith("__main__"):
        names.append(info.name)
for name in names:
    importlib.import_module(name)
qt = sorted(m for m in sys.modules if m.split(".")[0] in ("PySide6", "shiboken6")
            or m.startswith("avatar_studio.gui"))
print(json.dumps({"modules": names, "qt": qt}))
"""


def test_every_core_module_imports_without_qt() -> None:
    out = subprocess.run([sys.executable, "-c", SCRIPT], capture_output=True, text=True,
                         check=True, timeout=120)
    result = json.loads(out.stdout.strip().splitlines()[-1])
    expected = {"avatar_studio.core"} | {
        i.name for i in pkgutil.walk_packages(avatar_studio.core.__path__, "avatar_studio.core.")
        if not i.name.endswith("__main__")}
    assert set(result["modules"]) == expected
    assert len(result["modules"]) >= 8
    assert result["qt"] == []
