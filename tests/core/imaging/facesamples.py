"""Pictures for the face tests: committed public-domain/CC0 photos (tests/data/faces,
licences in LICENSES.md there), their variants, and negatives drawn here with Pillow.

The labelled face boxes are the detector's boxes on the 512 px originals, checked by eye
(forehead to chin, cheek to cheek); the variants carry them through every paste and scale.
"""

from __future__ import annotations

import io
import math
import random
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from PIL import Image, ImageDraw, ImageFilter

DATA = Path(__file__).resolve().parents[2] / "data" / "faces"

#: Portraits and the face in each, (x, y, w, h) in the committed file's pixels.
PORTRAITS: dict[str, tuple[int, int, int, int]] = {
    "astronaut.jpg": (178, 63, 89, 112),
    "camera.jpg": (195, 113, 60, 80),
}
#: Committed photos without a face (an animal, objects, textures, text, space).
NEGATIVE_FILES = ("chelsea.jpg", "coffee.jpg", "rocket.jpg", "brick.jpg", "coins.jpg",
                  "horse.jpg", "text.jpg", "hubble.jpg")


def load(name: str) -> Image.Image:
    with Image.open(DATA / name) as im:
        return im.convert("RGB")


@dataclass(frozen=True)
class Variant:
    name: str
    image: Image.Image
    #: The face in the variant's (upright) pixels.
    face: tuple[float, float, float, float]


def _background(size: tuple[int, int], seed: int) -> Image.Image:
    """A plain-ish backdrop: a soft gradient with blurred noise, like a wall or sky."""
    rnd = random.Random(seed)
    small = Image.new("RGB", (16, 12))
    base = [rnd.randrange(60, 200) for _ in range(3)]
    small.putdata([tuple(max(0, min(255, c + rnd.randrange(-25, 26))) for c in base)
                   for _ in range(16 * 12)])
    soft = small.resize((64, 48), Image.Resampling.BICUBIC).filter(ImageFilter.GaussianBlur(2))
    return soft.resize(size, Image.Resampling.BICUBIC)


def pasted_variants(name: str) -> Iterator[Variant]:
    """The portrait pasted into larger canvases at several places and scales, plus
    small copies of it alone."""
    src = load(name)
    fx, fy, fw, fh = PORTRAITS[name]
    # Canvases 1.5-2.5x the pasted photo: the face stays at least 1/25 of the long side,
    # about the smallest a 640 px detection copy resolves (about 25 px).
    shapes = [(2.5, 1.6), (1.5, 2.5), (2.0, 2.0)]
    places = [(0.0, 0.0), (0.5, 0.5), (1.0, 1.0), (0.15, 0.8), (0.85, 0.2)]
    scales = [0.6, 1.0, 1.6]
    seed = 0
    for k in scales:
        pw, ph = round(src.width * k), round(src.height * k)
        piece = src.resize((pw, ph), Image.Resampling.LANCZOS)
        for mx, my in shapes:
            cw, ch = round(pw * mx), round(ph * my)
            for px, py in places:
                seed += 1
                canvas = _background((cw, ch), seed)
                ox, oy = round((cw - pw) * px), round((ch - ph) * py)
                canvas.paste(piece, (ox, oy))
                yield Variant(f"{name}@{cw}x{ch},k={k},at={px},{py}", canvas,
                              (ox + fx * k, oy + fy * k, fw * k, fh * k))
    # Mirrored (a new pose for the detector) in a 2:1.4 canvas, at three places.
    mirror = src.transpose(Image.Transpose.FLIP_LEFT_RIGHT)
    for px, py in places[:3]:
        seed += 1
        cw, ch = src.width * 2, round(src.height * 1.4)
        canvas = _background((cw, ch), seed)
        ox, oy = round((cw - src.width) * px), round((ch - src.height) * py)
        canvas.paste(mirror, (ox, oy))
        yield Variant(f"{name}@{cw}x{ch},mirrored,at={px},{py}", canvas,
                      (ox + src.width - fx - fw, oy + fy, fw, fh))
    for side in (400, 320, 256):
        k = side / src.width
        yield Variant(f"{name}@{side}px", src.resize((side, round(src.height * k)),
                                                    Image.Resampling.LANCZOS),
                      (fx * k, fy * k, fw * k, fh * k))


def group(seed: int = 11) -> tuple[Image.Image, tuple[float, float, float, float],
                                    tuple[float, float, float, float]]:
    """Both portraits side by side, the astronaut larger: (picture, her face, his face)."""
    a, c = load("astronaut.jpg"), load("camera.jpg").resize((384, 384))
    canvas = _background((1200, 700), seed)
    canvas.paste(c, (60, 250))
    canvas.paste(a, (620, 90))
    ax, ay, aw, ah = PORTRAITS["astronaut.jpg"]
    cx, cy, cw, ch = (v * 0.75 for v in PORTRAITS["camera.jpg"])
    return canvas, (620 + ax, 90 + ay, aw, ah), (60 + cx, 250 + cy, cw, ch)


def upright_variants() -> list[Variant]:
    return [v for name in PORTRAITS for v in pasted_variants(name)]


# -- EXIF -------------------------------------------------------------------------------------
#: How to store an upright picture so that the EXIF orientation turns it back upright.
_STORE = {6: Image.Transpose.ROTATE_90, 8: Image.Transpose.ROTATE_270,
          3: Image.Transpose.ROTATE_180}


def exif_jpeg(image: Image.Image, orientation: int) -> bytes:
    """JPEG bytes whose pixels are stored turned, with the EXIF tag that turns them back
    (so the upright picture equals ``image``)."""
    stored = image.transpose(_STORE[orientation]) if orientation in _STORE else image
    exif = Image.Exif()
    exif[0x0112] = orientation
    out = io.BytesIO()
    stored.save(out, "JPEG", quality=90, exif=exif.tobytes())
    return out.getvalue()


# -- negatives drawn here ---------------------------------------------------------------------
def landscape(seed: int = 1, size: tuple[int, int] = (1200, 800)) -> Image.Image:
    """Sky, hills and a lake."""
    rnd = random.Random(seed)
    w, h = size
    im = Image.new("RGB", size)
    draw = ImageDraw.Draw(im)
    for y in range(h):
        t = y / h
        draw.line([(0, y), (w, y)], fill=(int(90 + 100 * t), int(150 + 60 * t), 235))
    for layer in range(3):
        base = h * (0.45 + 0.12 * layer)
        pts: list[tuple[float, float]] = [(0, h)]
        for x in range(0, w + 40, 40):
            pts.append((x, base + 60 * math.sin(x / (120 + 40 * layer) + rnd.random())
                        + rnd.randrange(-15, 16)))
        pts.append((w, h))
        g = 110 - 25 * layer
        draw.polygon(pts, fill=(40 + 10 * layer, g + rnd.randrange(20), 50))
    draw.rectangle([0, int(h * 0.82), w, h], fill=(60, 110, 170))
    draw.ellipse([w * 0.7, h * 0.1, w * 0.7 + 90, h * 0.1 + 90], fill=(255, 240, 180))
    return im.filter(ImageFilter.GaussianBlur(1))


def logo(size: tuple[int, int] = (900, 600)) -> Image.Image:
    """Flat shapes on white, like a company logo (two circles and a bar: an easy "face")."""
    im = Image.new("RGB", size, "white")
    draw = ImageDraw.Draw(im)
    w, h = size
    draw.rounded_rectangle([w * 0.2, h * 0.2, w * 0.8, h * 0.8], radius=60,
                           fill=(30, 90, 200))
    draw.ellipse([w * 0.33, h * 0.33, w * 0.43, h * 0.48], fill="white")
    draw.ellipse([w * 0.57, h * 0.33, w * 0.67, h * 0.48], fill="white")
    draw.rectangle([w * 0.38, h * 0.6, w * 0.62, h * 0.66], fill=(250, 200, 40))
    return im


def text_page(size: tuple[int, int] = (800, 1100)) -> Image.Image:
    """Lines of text (Pillow's own font) on paper."""
    im = Image.new("RGB", size, (250, 248, 240))
    draw = ImageDraw.Draw(im)
    rnd = random.Random(3)
    words = ["avatar", "studio", "profile", "picture", "crop", "frame", "face", "square",
             "upload", "service", "window", "detect"]
    y = 40
    while y < size[1] - 60:
        line = " ".join(rnd.choice(words) for _ in range(8))
        draw.text((50, y), line, fill=(20, 20, 20), font_size=28)
        y += 44
    return im


def drawn_negatives() -> list[tuple[str, Image.Image]]:
    return [("landscape", landscape()), ("landscape-tall", landscape(2, (700, 1200))),
            ("logo", logo()), ("text-page", text_page()),
            ("flat-grey", Image.new("RGB", (1000, 700), (128, 128, 128)))]


def negatives() -> list[tuple[str, Image.Image]]:
    return [(n, load(n)) for n in NEGATIVE_FILES] + drawn_negatives()


def iou(a: tuple[float, float, float, float], b: tuple[float, float, float, float]
        ) -> float:
    ax, ay, aw, ah = a
    bx, by, bw, bh = b
    ix = max(0.0, min(ax + aw, bx + bw) - max(ax, bx))
    iy = max(0.0, min(ay + ah, by + bh) - max(ay, by))
    inter = ix * iy
    return inter / (aw * ah + bw * bh - inter)
