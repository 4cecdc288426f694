"""The wheel installs avatar_studio.core/.gui/.resources and nothing named plain core or gui."""

from __future__ import annotations

import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


def _source_copy(tmp_path: Path) -> Path:
    """What the wheel is built from, copied: setuptools builds in the source tree
    (build/, *.egg-info), and the suite writes nothing into the checkout."""
    src = tmp_path / "src"
    src.mkdir()
    for name in ("core", "gui", "resources"):
        shutil.copytree(ROOT / name, src / name,
                        ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))
    for name in ("pyproject.toml", "README.md"):
        shutil.copy(ROOT / name, src / name)
    return src


@pytest.mark.slow
def test_wheel_contains_only_namespaced_packages(tmp_path: Path) -> None:
    wheels = tmp_path / "wheels"
    subprocess.run([sys.executable, "-m", "pip", "wheel", "--no-deps", "-q", "-w",
                    str(wheels), str(_source_copy(tmp_path))], check=True, timeout=300,
                   capture_output=True)
    (wheel,) = wheels.glob("avatar_studio-*.whl")
    names = zipfile.ZipFile(wheel).namelist()
    tops = {n.split("/")[0] for n in names}
    assert tops == {"avatar_studio", next(t for t in tops if t.endswith(".dist-info"))}
    assert "avatar_studio/__init__.py" not in names  # stays a namespace package
    for must in ("avatar_studio/core/__init__.py", "avatar_studio/gui/app.py",
                 "avatar_studio/core/services/x/service.py", "avatar_studio/core/publish.py",
                 "avatar_studio/core/py.typed", "avatar_studio/resources/avatar-studio.svg",
                 "avatar_studio/resources/io.github.avatarstudio.AvatarStudio.desktop"):
        assert must in names
    entry_points = next(n for n in names if n.endswith("entry_points.txt"))
    text = zipfile.ZipFile(wheel).read(entry_points).decode()
    assert "avatar-studio = avatar_studio.gui.app:main" in text
    assert "avatar-studio-cli = avatar_studio.core.cli:main" in text


def test_editable_install_uses_the_same_names() -> None:
    import avatar_studio.core
    import avatar_studio.gui

    assert Path(avatar_studio.core.__file__).parent == ROOT / "core"
    assert Path(avatar_studio.gui.__file__).parent == ROOT / "gui"
