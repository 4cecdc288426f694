"""Sharp zoom: after a pause at high zoom the editor shows the full image, not the proxy.

The picture is a 4000×3000 checkerboard of 2-px squares tinted by quadrant: its proxy
(2000×1500, every 2×2 block averaged) has no checkerboard left, the full image does.
A second editor on the same document without a runner draws the proxy as before, so
"the proxy drawing" is always at hand to compare with.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from io import BytesIO
from pathlib import Path

import pytest
from avatar_studio.core.imaging.crop import CropModel
from avatar_studio.gui.cropeditor import CropEditor
from avatar_studio.gui.document import CropDocument
from avatar_studio.gui.loader import ImageLoader
from avatar_studio.gui.qtimage import qimage_to_png
from avatar_studio.gui.tasks import TaskContext, TaskRunner
from PIL import Image, ImageChops, ImageFilter, ImageStat
from PySide6.QtCore import QPoint, Qt
from PySide6.QtGui import QImage
from PySide6.QtWidgets import QHBoxLayout, QWidget

from tests.gui.helpers import BL, BR, TL, TR, save_artifact

SIZE = (4000, 3000)
SIDE = 360  # each editor


def checker(path: Path) -> Path:
    """2-px black/white squares multiplied onto four coloured quadrants.

    The squares start one pixel off the grid, so every 2×2 block the proxy averages
    holds both colours equally: the proxy is flat where the source is a checkerboard.
    """
    w, h = SIZE
    row_a, row_b = bytes([255, 40]) * (w // 4 + 1), bytes([40, 255]) * (w // 4 + 1)
    fine = Image.frombytes("L", (w // 2 + 2, h // 2 + 2), (row_a + row_b) * (h // 4 + 1))
    fine = fine.resize((w + 4, h + 4), Image.Resampling.NEAREST).crop((1, 1, w + 1, h + 1))
    fine = fine.convert("RGB")
    tint = Image.new("RGB", SIZE)
    tint.paste(TL, (0, 0, w // 2, h // 2))
    tint.paste(TR, (w // 2, 0, w, h // 2))
    tint.paste(BL, (0, h // 2, w // 2, h))
    tint.paste(BR, (w // 2, h // 2, w, h))
    ImageChops.multiply(fine, tint).save(path, "PNG", compress_level=1)
    return path


@pytest.fixture(scope="module")
def big_checker(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return checker(tmp_path_factory.mktemp("sharp") / "checker.png")


@dataclass
class Rig:
    doc: CropDocument
    editor: CropEditor
    #: Same document, no runner: always the proxy drawing.
    plain: CropEditor
    runner: TaskRunner
    loader: ImageLoader
    host: QWidget


@pytest.fixture
def rig(qtbot, big_checker: Path):
    runner = TaskRunner(max_workers=1)
    host = QWidget()
    doc = CropDocument(host)
    editor = CropEditor(doc, host, runner=runner, refine_delay_ms=30)
    plain = CropEditor(doc, host)
    for widget in (editor, plain):
        widget.setFixedSize(SIDE, SIDE)
    row = QHBoxLayout(host)
    row.addWidget(editor)
    row.addWidget(plain)
    loader = ImageLoader(runner, host)
    loader.loaded.connect(doc.set_image)
    qtbot.addWidget(host)
    host.show()
    qtbot.waitExposed(host)
    with qtbot.waitSignal(loader.loaded, timeout=10_000):
        loader.open_path(big_checker)
    yield Rig(doc, editor, plain, runner, loader, host)
    runner.shutdown()


def to_pil(image: QImage) -> Image.Image:
    return Image.open(BytesIO(qimage_to_png(image))).convert("RGB")


def inside_frame(editor: CropEditor) -> Image.Image:
    """What the editor shows inside the crop frame (no mask there)."""
    frame = editor.frame_rect().toRect().adjusted(2, 2, -2, -2)
    return to_pil(editor.grab(frame).toImage())


def detail(image: Image.Image) -> float:
    """High-frequency energy: mean absolute Laplacian of the luminance."""
    edges = image.convert("L").filter(ImageFilter.Kernel((3, 3), [0, -1, 0, -1, 4, -1, 0, -1, 0],
                                                         scale=1))
    return float(ImageStat.Stat(edges).mean[0])


def difference(a: Image.Image, b: Image.Image) -> float:
    return float(sum(ImageStat.Stat(ImageChops.difference(a, b)).mean) / 3)


def zoom_to(rig: Rig, side: float, rotation: int = 0, flip_h: bool = False) -> None:
    """Show a ``side``-pixel square of the source centred on (cx, cy) of the picture."""
    def change(model: CropModel) -> None:
        model.reset()
        model.rotate(rotation // 90)
        if flip_h:
            model.flip_horizontal()
        vw, vh = model.view_size
        model.zoom(min(vw, vh) / side)
        # Off centre, so the four quadrants show unequally and turns are visible.
        model.pan(-side / 3, -side / 4)

    rig.doc.edit(change)


def refined(qtbot, rig: Rig) -> None:
    refiner = rig.editor.refiner
    assert refiner is not None
    with qtbot.waitSignal(refiner.refined, timeout=5_000):
        pass
    qtbot.waitUntil(lambda: rig.editor.showing_refined, timeout=5_000)


def test_pause_at_high_zoom_shows_the_full_image(qtbot, rig: Rig, big_checker: Path) -> None:
    zoom_to(rig, 120)  # 2.5 screen px per source px: a proxy px covers 5
    refiner = rig.editor.refiner
    assert refiner is not None
    assert refiner.pending
    proxy_view = inside_frame(rig.editor)
    assert difference(proxy_view, inside_frame(rig.plain)) < 1.0
    refined(qtbot, rig)
    sharp = inside_frame(rig.editor)
    save_artifact(rig.host, "30-editor-sharp-zoom")
    # The proxy averaged the 2-px squares away; the sharp tile has them back.
    assert detail(sharp) > 3 * detail(proxy_view) + 3
    # Same place, same colours: blurred to the proxy's level of detail they agree.
    small = (sharp.width // 12, sharp.height // 12)
    assert difference(sharp.resize(small, Image.Resampling.BOX),
                      proxy_view.resize(small, Image.Resampling.BOX)) < 12
    # And it is the source itself, square by square: the same part of the picture cut
    # from the file and scaled to the frame matches the tile far better than the proxy.
    reference = source_crop(rig, big_checker)
    assert difference(sharp, reference) < 0.4 * difference(proxy_view, reference)


def source_crop(rig: Rig, path: Path) -> Image.Image:
    """The part of the picture inside the frame (as ``inside_frame`` cuts it), taken
    from the file and scaled to the screen (rotation 0, no flips)."""
    state = rig.doc.state
    assert state is not None
    assert state.rotation == 0
    frame = rig.editor.frame_rect()
    inner = frame.toRect().adjusted(2, 2, -2, -2)
    k = frame.width() / state.size

    def to_source(px: float, py: float) -> tuple[float, float]:
        return state.x + (px - frame.left()) / k, state.y + (py - frame.top()) / k

    x0, y0 = to_source(inner.left(), inner.top())
    x1, y1 = to_source(inner.left() + inner.width(), inner.top() + inner.height())
    with Image.open(path) as im:
        return im.convert("RGB").resize((inner.width(), inner.height()),
                                        Image.Resampling.LANCZOS, box=(x0, y0, x1, y1))


@pytest.mark.parametrize(("rotation", "flip_h"), [(90, False), (270, True), (180, True)])
def test_turned_and_flipped_views_map_like_the_proxy(qtbot, rig: Rig, rotation: int,
                                                     flip_h: bool) -> None:
    zoom_to(rig, 200, rotation, flip_h)
    proxy_view = inside_frame(rig.plain)
    refined(qtbot, rig)
    sharp = inside_frame(rig.editor)
    assert detail(sharp) > 3 * detail(proxy_view) + 3
    small = (sharp.width // 12, sharp.height // 12)
    assert difference(sharp.resize(small, Image.Resampling.BOX),
                      proxy_view.resize(small, Image.Resampling.BOX)) < 12


def test_a_view_change_drops_the_tile_until_refined_again(qtbot, rig: Rig) -> None:
    zoom_to(rig, 120)
    refined(qtbot, rig)
    assert difference(inside_frame(rig.editor), inside_frame(rig.plain)) > 20
    rig.editor.pan_pixels(7, 0)
    # Straight away the editor draws exactly what the proxy drawing shows.
    assert difference(inside_frame(rig.editor), inside_frame(rig.plain)) < 1.0
    assert not rig.editor.showing_refined
    refined(qtbot, rig)
    assert difference(inside_frame(rig.editor), inside_frame(rig.plain)) > 20
    # A resize is a view change too.
    rig.editor.setFixedSize(SIDE - 20, SIDE)
    rig.plain.setFixedSize(SIDE - 20, SIDE)
    qtbot.waitUntil(lambda: rig.editor.width() == SIDE - 20, timeout=5_000)
    assert difference(inside_frame(rig.editor), inside_frame(rig.plain)) < 1.0


def test_a_result_for_an_old_view_is_ignored(qtbot, rig: Rig) -> None:
    zoom_to(rig, 120)
    refiner = rig.editor.refiner
    assert refiner is not None
    # Hold the single worker, so the refinement is in flight when the view changes.
    gate = threading.Event()

    def hold(ctx: TaskContext) -> None:
        gate.wait(5)

    rig.runner.run(hold)
    assert refiner.refine_now()
    old = refiner.generation
    rig.editor.pan_pixels(-9, 4)
    assert refiner.generation != old
    refiner.stop()  # no new refinement for the new view: only the old one could land
    gate.set()
    qtbot.waitUntil(lambda: not rig.runner.busy, timeout=5_000)
    rig.editor.repaint()
    assert not rig.editor.showing_refined
    assert difference(inside_frame(rig.editor), inside_frame(rig.plain)) < 1.0
    # Once the view is left alone, the new view does get its tile.
    assert refiner.refine_now()
    refined(qtbot, rig)


def test_no_refinement_at_low_zoom(qtbot, rig: Rig) -> None:
    refiner = rig.editor.refiner
    assert refiner is not None
    zoom_to(rig, 2400)  # the proxy is reduced on screen: it is already sharp
    assert not refiner.pending
    assert not refiner.refine_now()
    assert not rig.runner.busy
    rig.editor.repaint()
    assert not rig.editor.showing_refined
    assert difference(inside_frame(rig.editor), inside_frame(rig.plain)) < 1.0


def test_no_refinement_while_dragging_then_sharp_after_release(qtbot, rig: Rig) -> None:
    refiner = rig.editor.refiner
    assert refiner is not None
    zoom_to(rig, 120)
    refined(qtbot, rig)
    start = rig.editor.frame_rect().center().toPoint()
    qtbot.mousePress(rig.editor, Qt.MouseButton.LeftButton, pos=start)
    qtbot.mouseMove(rig.editor, pos=start + QPoint(15, 5))
    # Moving: the proxy, and no refinement waiting even though the zoom is high.
    waiting_while_moving = refiner.pending
    assert not waiting_while_moving
    assert not refiner.refine_now()
    rig.editor.repaint()
    assert not rig.editor.showing_refined
    qtbot.mouseRelease(rig.editor, Qt.MouseButton.LeftButton, pos=start + QPoint(15, 5))
    assert refiner.pending
    refined(qtbot, rig)
