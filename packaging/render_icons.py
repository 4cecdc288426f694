"""Render resources/avatar-studio.svg to the hicolor PNG sizes with Qt's SVG renderer.

Usage: python packaging/render_icons.py SVG OUT_DIR SIZE...
Writes OUT_DIR/<size>x<size>/apps/<svg stem>.png (the hicolor theme layout).
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

from PySide6.QtCore import Qt
from PySide6.QtGui import QGuiApplication, QImage, QPainter
from PySide6.QtSvg import QSvgRenderer


def render(svg: Path, out_dir: Path, sizes: list[int]) -> list[Path]:
    renderer = QSvgRenderer(str(svg))
    if not renderer.isValid():
        raise SystemExit(f"render_icons: {svg} is not a valid SVG")
    written = []
    for size in sizes:
        image = QImage(size, size, QImage.Format.Format_ARGB32_Premultiplied)
        image.fill(Qt.GlobalColor.transparent)
        painter = QPainter(image)
        painter.setRenderHint(QPainter.RenderHint.Antialiasing)
        painter.setRenderHint(QPainter.RenderHint.SmoothPixmapTransform)
        renderer.render(painter)
        painter.end()
        target = out_dir / f"{size}x{size}" / "apps" / f"{svg.stem}.png"
        target.parent.mkdir(parents=True, exist_ok=True)
        if not image.save(str(target), "PNG"):
            raise SystemExit(f"render_icons: could not write {target}")
        written.append(target)
    return written


def main(argv: list[str]) -> int:
    if len(argv) < 3:
        print(__doc__, file=sys.stderr)
        return 2
    app = QGuiApplication([sys.argv[0]])  # QPainter on QImage needs fonts set up
    for path in render(Path(argv[0]), Path(argv[1]), [int(s) for s in argv[2:]]):
        print(f"  {path}")
    del app
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
