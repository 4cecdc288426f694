"""Animated avatars: every frame cropped/turned/flipped, timing kept, the byte limit met
by palette, then size, then merged frames; ``--frame N`` still renders one frame."""

from __future__ import annotations

import dataclasses
import io
from pathlib import Path

import pytest
from avatar_studio.core import cli
from avatar_studio.core.imaging.animation import AnimationResult, render_animation
from avatar_studio.core.imaging.crop import CropModel
from avatar_studio.core.imaging.errors import CannotMeetByteLimit
from avatar_studio.core.imaging.render import RenderOptions, render
from avatar_studio.core.imaging.source import ImageSource
from avatar_studio.core.services.mastodon.spec import DEFAULT_SPEC
from PIL import Image, ImageSequence

W, H = 600, 400
DURATIONS = (70, 110, 150, 190, 230)
#: Per frame: the colour of the left and right halves (distinct in every frame).
LEFT = [(200, 20 + 40 * i, 20) for i in range(5)]
RIGHT = [(20, 20, 200 - 40 * i) for i in range(5)]


def quadrant_gif(loop: int = 3) -> bytes:
    """Left half / right half in per-frame colours, a white top band (y < 40)."""
    frames = []
    for i in range(len(DURATIONS)):
        im = Image.new("RGB", (W, H), LEFT[i])
        im.paste(RIGHT[i], (W // 2, 0, W, H))
        im.paste((255, 255, 255), (0, 0, W, 40))
        frames.append(im)
    buf = io.BytesIO()
    frames[0].save(buf, "GIF", save_all=True, append_images=frames[1:],
                   duration=list(DURATIONS), loop=loop, disposal=1)
    return buf.getvalue()


def noise_gif(frames: int = 8, side: int = 200) -> bytes:
    images = [Image.effect_noise((side, side), 80 + 10 * i).convert("RGB")
              for i in range(frames)]
    buf = io.BytesIO()
    images[0].save(buf, "GIF", save_all=True, append_images=images[1:],
                   duration=[40] * frames, loop=0)
    return buf.getvalue()


def close(a: object, b: object, tol: int = 24) -> bool:
    assert isinstance(a, tuple)
    assert isinstance(b, tuple)
    return all(abs(x - y) <= tol for x, y in zip(a, b, strict=False))


@pytest.fixture
def source() -> ImageSource:
    return ImageSource.open_bytes(quadrant_gif(), name="anim.gif")


def stored_frames(data: bytes) -> list[Image.Image]:
    with Image.open(io.BytesIO(data)) as im:
        return [f.convert("RGB") for f in ImageSequence.Iterator(im)]


def test_every_frame_cropped_and_timing_kept(source):
    model = CropModel(W, H)
    model.set_source_box(0, 0, 400)  # left 300 px are LEFT, the rest RIGHT, band on top
    result = render_animation(source, model.state, spec=DEFAULT_SPEC)
    assert isinstance(result, AnimationResult)
    assert (result.format, result.width, result.height) == ("GIF", 400, 400)
    assert result.frame_count == 5
    assert result.durations == DURATIONS
    assert result.loop == 3
    frames = stored_frames(result.data)
    assert len(frames) == 5
    for i, frame in enumerate(frames):
        assert close(frame.getpixel((100, 200)), LEFT[i])
        assert close(frame.getpixel((350, 200)), RIGHT[i])
        assert close(frame.getpixel((100, 10)), (255, 255, 255))
        # The decoded frames the preview plays are the uploaded bytes' frames.
        assert result.frames[i].convert("RGB").tobytes() == frame.tobytes()


def test_rotation_and_flip_apply_to_every_frame(source):
    model = CropModel(W, H)
    model.set_source_box(0, 0, 400)
    model.rotate(1)  # clockwise: the white band moves to the right edge
    model.flip_vertical()
    result = render_animation(source, model.state, spec=DEFAULT_SPEC)
    for i, frame in enumerate(stored_frames(result.data)):
        assert close(frame.getpixel((390, 200)), (255, 255, 255))
        # After the turn LEFT is at the top; the vertical flip puts it at the bottom.
        assert close(frame.getpixel((200, 350)), LEFT[i])
        assert close(frame.getpixel((200, 50)), RIGHT[i])


def test_frame_n_matches_the_still_render_of_that_frame(source):
    model = CropModel(W, H)
    model.set_source_box(100, 0, 400)
    anim = render_animation(source, model.state, spec=DEFAULT_SPEC)
    still = render(source, model.state, spec=DEFAULT_SPEC, options=RenderOptions(frame=2))
    assert close(anim.frames[2].getpixel((50, 200)), still.image.getpixel((50, 200)))
    assert close(anim.frames[2].getpixel((350, 200)), still.image.getpixel((350, 200)))


def test_limit_met_by_palette_first():
    src = ImageSource.open_bytes(noise_gif(), name="noise.gif")
    model = CropModel(200, 200)
    full = render_animation(src, model.state, spec=DEFAULT_SPEC)
    spec = dataclasses.replace(DEFAULT_SPEC, max_bytes_exclusive=int(len(full.data) * 0.8))
    fitted = render_animation(src, model.state, spec=spec)
    assert len(fitted.data) < spec.max_bytes_exclusive
    assert (fitted.width, fitted.frame_count) == (200, 8)  # same size, same frames
    with Image.open(io.BytesIO(fitted.data)) as im:
        assert len(im.getpalette() or []) // 3 < 256


def test_limit_met_by_size_then_by_merging_frames():
    src = ImageSource.open_bytes(noise_gif(), name="noise.gif")
    model = CropModel(200, 200)
    full = render_animation(src, model.state, spec=DEFAULT_SPEC)
    # Half the bytes: fewer colours cannot save that much, a smaller size can.
    spec = dataclasses.replace(DEFAULT_SPEC, max_bytes_exclusive=len(full.data) // 2)
    fitted = render_animation(src, model.state, spec=spec)
    assert len(fitted.data) < spec.max_bytes_exclusive
    assert fitted.width < 200
    assert fitted.frame_count == 8  # smaller before any frame is merged
    tiny = dataclasses.replace(DEFAULT_SPEC, max_bytes_exclusive=12_000)
    merged = render_animation(src, model.state, spec=tiny)
    assert len(merged.data) < 12_000
    assert merged.frame_count < 8
    # Frames merge only near the smallest useful size (a quarter of Mastodon's 400 px).
    assert 100 <= merged.width <= 110
    assert sum(merged.durations) == 8 * 40  # the animation keeps its length


def test_impossible_limit_is_a_clear_error():
    src = ImageSource.open_bytes(noise_gif(2, 64), name="noise.gif")
    spec = dataclasses.replace(DEFAULT_SPEC, max_bytes_exclusive=50)
    with pytest.raises(CannotMeetByteLimit, match="animation cannot be made smaller"):
        render_animation(src, CropModel(64, 64).state, spec=spec)


def test_cli_render_keeps_animation_for_mastodon_and_frame_picks_one(tmp_path: Path, capsys):
    path = tmp_path / "anim.gif"
    path.write_bytes(quadrant_gif())
    out = tmp_path / "out.gif"
    assert cli.main(["render", str(path), "--service", "mastodon", "-o", str(out)]) == 0
    assert len(stored_frames(out.read_bytes())) == 5
    still = tmp_path / "still.png"
    assert cli.main(["render", str(path), "--service", "mastodon", "--frame", "3",
                     "-o", str(still)]) == 0
    with Image.open(still) as im:
        assert getattr(im, "n_frames", 1) == 1
        assert close(im.convert("RGB").getpixel((20, 200)), LEFT[3])
    x_out = tmp_path / "x.gif"
    assert cli.main(["render", str(path), "-o", str(x_out)]) == 0  # X keeps one frame
    with Image.open(x_out) as im:
        assert getattr(im, "n_frames", 1) == 1
    capsys.readouterr()
