"""Bluesky's render spec on a worst case: a 3 MB noise PNG still ends under 1,000,000 bytes."""

from __future__ import annotations

import json
import random
from pathlib import Path

from avatar_studio.core.cli import main
from PIL import Image


def test_a_3mb_png_source_fits_bluesky(tmp_path: Path, capsys):
    rng = random.Random(7)
    source = tmp_path / "noise.png"
    Image.frombytes("RGB", (1100, 1100), rng.randbytes(1100 * 1100 * 3)).save(source)
    assert source.stat().st_size > 3_000_000
    out = tmp_path / "out"
    assert main(["render", str(source), "--service", "bluesky", "-o", str(out), "--json"]) == 0
    report = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert report["format"] in ("JPEG", "PNG")
    assert report["bytes"] < 1_000_000
    assert max(report["width"], report["height"]) <= 1000
    written = Path(report["path"])
    assert written.stat().st_size == report["bytes"]
    with Image.open(written) as image:
        assert image.size == (report["width"], report["height"])
        assert getattr(image, "n_frames", 1) == 1


def test_an_animation_says_one_frame_is_used(tmp_path: Path, capsys):
    frames = [Image.new("RGB", (120, 120), (40 * i, 10, 10)) for i in range(4)]
    source = tmp_path / "anim.gif"
    frames[0].save(source, save_all=True, append_images=frames[1:], duration=80, loop=0)
    out = tmp_path / "out"
    assert main(["render", str(source), "--service", "bluesky", "-o", str(out), "--json"]) == 0
    captured = capsys.readouterr()
    assert "Bluesky keeps one frame of an animation; frame 0 is used" in captured.err
    report = json.loads(captured.out.strip().splitlines()[-1])
    assert report["format"] in ("PNG", "JPEG")
