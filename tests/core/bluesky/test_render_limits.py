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
