"""The import-linter contracts (pyproject.toml, `make contracts`) keep the boundaries, and
each of them fails when a forbidden import appears (checked on a copy of the tree)."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
LINT_IMPORTS = Path(sys.executable).with_name("lint-imports")

#: file (in the installed layout) -> the import that must break the named contract.
VIOLATIONS = {
    "avatar_studio/gui/errors.py": (
        "from avatar_studio.core.services.x import errors as _x_errors\n",
        "gui, cli and the publish use case import no concrete service"),
    "avatar_studio/core/services/x/refresh.py": (
        "from avatar_studio.core.services.mastodon import spec as _other\n",
        "concrete services are independent of each other"),
    "avatar_studio/core/sandbox/images.py": (
        "from avatar_studio.core.services.x import client as _client\n",
        "sandboxes do not import service clients"),
    "avatar_studio/core/services/x/spec.py": (
        "from avatar_studio.core.sandbox import images as _images\n",
        "service clients do not import sandboxes"),
}


def _tree(tmp_path: Path) -> Path:
    """core/, gui/, resources/ under their installed names, hard-linked (as the Makefile
    does), plus the pyproject.toml holding the contracts."""
    top = tmp_path / "avatar_studio"
    top.mkdir()
    for name in ("core", "gui", "resources"):
        shutil.copytree(ROOT / name, top / name, copy_function=os.link,
                        ignore=shutil.ignore_patterns("__pycache__"))
    shutil.copy(ROOT / "pyproject.toml", tmp_path / "pyproject.toml")
    return tmp_path


def _lint(tree: Path) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PYTHONPATH": str(tree)}
    return subprocess.run([str(LINT_IMPORTS), "--no-cache"], cwd=tree, env=env,
                          capture_output=True, text=True, timeout=300, check=False)


def test_contracts_hold_and_each_fails_on_a_forbidden_import(tmp_path: Path) -> None:
    tree = _tree(tmp_path)
    clean = _lint(tree)
    assert clean.returncode == 0, clean.stdout + clean.stderr
    for name in {contract for _, contract in VIOLATIONS.values()}:
        assert f"{name} KEPT" in clean.stdout

    for relative, (line, _) in VIOLATIONS.items():
        path = tree / relative
        text = path.read_text(encoding="utf-8")
        path.unlink()  # a hard link to the checkout: replace it, never write through it
        head, sep, rest = text.partition("\nfrom ")
        path.write_text(head + "\n" + line + sep.lstrip("\n") + rest, encoding="utf-8")
    broken = _lint(tree)
    assert broken.returncode != 0
    for relative, (_, contract) in VIOLATIONS.items():
        assert f"{contract} BROKEN" in broken.stdout, (relative, broken.stdout)
    assert "core is Qt-free and never imports gui KEPT" in broken.stdout
    # The checkout itself was not touched.
    assert "_x_errors" not in (ROOT / "gui" / "errors.py").read_text(encoding="utf-8")
