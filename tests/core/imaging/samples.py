"""Test and benchmark inputs, generated at run time (no binaries in the repository).

Includes a tiny ICC v2 writer for matrix/TRC RGB profiles (Adobe RGB (1998), Display
P3) and a lut-based CMYK profile, and the colour maths the tests check conversions with.
"""

from __future__ import annotations

import io
import math
import random
import struct
from collections.abc import Sequence

from PIL import Image, ImageChops, ImageDraw, ImageFilter, ImageStat

Matrix = list[list[float]]
Vec = tuple[float, float, float]

D65: Vec = (0.95047, 1.0, 1.08883)
D50: Vec = (0.96422, 1.0, 0.82521)

ADOBE_RGB_PRIMARIES = ((0.64, 0.33), (0.21, 0.71), (0.15, 0.06))
P3_PRIMARIES = ((0.680, 0.320), (0.265, 0.690), (0.150, 0.060))
SRGB_PRIMARIES = ((0.64, 0.33), (0.30, 0.60), (0.15, 0.06))
ADOBE_GAMMA = 563 / 256  # u8Fixed8 encoding of 2.19921875


# -- small linear algebra ---------------------------------------------------------------
def _mul(m: Matrix, v: Sequence[float]) -> Vec:
    return (sum(m[0][i] * v[i] for i in range(3)), sum(m[1][i] * v[i] for i in range(3)),
            sum(m[2][i] * v[i] for i in range(3)))


def _mm(a: Matrix, b: Matrix) -> Matrix:
    return [[sum(a[r][k] * b[k][c] for k in range(3)) for c in range(3)] for r in range(3)]


def _inv(m: Matrix) -> Matrix:
    (a, b, c), (d, e, f), (g, h, i) = m
    det = a * (e * i - f * h) - b * (d * i - f * g) + c * (d * h - e * g)
    return [[(e * i - f * h) / det, (c * h - b * i) / det, (b * f - c * e) / det],
            [(f * g - d * i) / det, (a * i - c * g) / det, (c * d - a * f) / det],
            [(d * h - e * g) / det, (b * g - a * h) / det, (a * e - b * d) / det]]


def rgb_to_xyz_matrix(primaries: Sequence[tuple[float, float]], white: Vec = D65) -> Matrix:
    cols = [(x / y, 1.0, (1 - x - y) / y) for x, y in primaries]
    p = [[cols[c][r] for c in range(3)] for r in range(3)]
    s = _mul(_inv(p), white)
    return [[p[r][c] * s[c] for c in range(3)] for r in range(3)]


_BRADFORD: Matrix = [[0.8951, 0.2664, -0.1614], [-0.7502, 1.7135, 0.0367],
                     [0.0389, -0.0685, 1.0296]]


def bradford(src: Vec, dst: Vec) -> Matrix:
    s, d = _mul(_BRADFORD, src), _mul(_BRADFORD, dst)
    scale: Matrix = [[d[0] / s[0], 0, 0], [0, d[1] / s[1], 0], [0, 0, d[2] / s[2]]]
    return _mm(_inv(_BRADFORD), _mm(scale, _BRADFORD))


def srgb_encode(v: float) -> float:
    v = min(max(v, 0.0), 1.0)
    return 12.92 * v if v <= 0.0031308 else 1.055 * v ** (1 / 2.4) - 0.055


def srgb_decode(v: float) -> float:
    return v / 12.92 if v <= 0.04045 else ((v + 0.055) / 1.055) ** 2.4


def expected_srgb(rgb: Sequence[int], primaries: Sequence[tuple[float, float]],
                  decode: str | float) -> tuple[int, int, int]:
    """What an RGB triple in the given space should become in sRGB (D65 maths)."""
    def lin(c: int) -> float:
        v = c / 255
        return srgb_decode(v) if decode == "srgb" else v ** float(decode)
    xyz = _mul(rgb_to_xyz_matrix(primaries), [lin(c) for c in rgb])
    r, g, b = _mul(_inv(rgb_to_xyz_matrix(SRGB_PRIMARIES)), xyz)
    return _to8(r), _to8(g), _to8(b)


def _to8(c: float) -> int:
    return round(255 * srgb_encode(c))


def lab_to_srgb(lab: Vec) -> tuple[int, int, int]:
    """CIE Lab (D50, as in ICC) to 8-bit sRGB via Bradford."""
    big_l, a, b = lab
    fy = (big_l + 16) / 116
    fx, fz = fy + a / 500, fy - b / 200

    def finv(t: float) -> float:
        return t ** 3 if t ** 3 > 216 / 24389 else (116 * t - 16) / (24389 / 27)
    xyz50 = (finv(fx) * D50[0], finv(fy) * D50[1], finv(fz) * D50[2])
    xyz65 = _mul(bradford(D50, D65), xyz50)
    r, g, b = _mul(_inv(rgb_to_xyz_matrix(SRGB_PRIMARIES)), xyz65)
    return _to8(r), _to8(g), _to8(b)


# -- ICC writer --------------------------------------------------------------------------
def _s15(v: float) -> bytes:
    return struct.pack(">i", round(v * 65536))


def _xyz_tag(v: Sequence[float]) -> bytes:
    return b"XYZ \0\0\0\0" + b"".join(_s15(c) for c in v)


def _desc_tag(text: str) -> bytes:
    ascii_ = text.encode("ascii") + b"\0"
    return (b"desc\0\0\0\0" + struct.pack(">I", len(ascii_)) + ascii_
            + b"\0" * 8 + b"\0\0" + b"\0" + b"\0" * 67)


def _text_tag(text: str) -> bytes:
    return b"text\0\0\0\0" + text.encode("ascii") + b"\0"


def _profile(device_class: bytes, space: bytes, pcs: bytes,
             tags: list[tuple[bytes, bytes]]) -> bytes:
    offset = 128 + 4 + 12 * len(tags)
    table, body = b"", b""
    for sig, data in tags:
        while (offset + len(body)) % 4:
            body += b"\0"
        table += sig + struct.pack(">II", offset + len(body), len(data))
        body += data
    size = offset + len(body)
    header = (struct.pack(">I", size) + b"\0" * 4 + bytes([2, 0x40, 0, 0]) + device_class
              + space + pcs + b"\0" * 12 + b"acsp" + b"\0" * 24 + struct.pack(">I", 0)
              + b"".join(_s15(c) for c in D50) + b"\0" * 4)
    header += b"\0" * (128 - len(header))
    return header + struct.pack(">I", len(tags)) + table + body


def rgb_profile(name: str, primaries: Sequence[tuple[float, float]],
                trc: str | float) -> bytes:
    """A matrix/TRC display profile (v2.4); ``trc`` is a gamma or "srgb" (sampled)."""
    m = _mm(bradford(D65, D50), rgb_to_xyz_matrix(primaries))
    if trc == "srgb":
        table = [round(65535 * srgb_decode(i / 1023)) for i in range(1024)]
        curve = b"curv\0\0\0\0" + struct.pack(">I", len(table)) + struct.pack(
            f">{len(table)}H", *table)
    else:
        curve = b"curv\0\0\0\0" + struct.pack(">IH", 1, round(float(trc) * 256))
    tags = [(b"desc", _desc_tag(name)), (b"cprt", _text_tag("No copyright, test data")),
            (b"wtpt", _xyz_tag(D50))]
    for i, sig in enumerate((b"rXYZ", b"gXYZ", b"bXYZ")):
        tags.append((sig, _xyz_tag([m[0][i], m[1][i], m[2][i]])))
    tags += [(b"rTRC", curve), (b"gTRC", curve), (b"bTRC", curve)]
    return _profile(b"mntr", b"RGB ", b"XYZ ", tags)


def adobe_rgb_profile() -> bytes:
    return rgb_profile("Test Adobe RGB (1998)", ADOBE_RGB_PRIMARIES, ADOBE_GAMMA)


def display_p3_profile() -> bytes:
    return rgb_profile("Test Display P3", P3_PRIMARIES, "srgb")


def cmyk_profile(paper: Vec = (94.0, 1.0, 8.0)) -> bytes:
    """A crude CMYK output profile (lut8 A2B0, 2-point grid): the paper is warm, so a
    blank CMYK pixel is not pure white once converted; inks are subtractive."""
    inks = {"c": (-38.0, -48.0, -8.0), "m": (-42.0, 74.0, -10.0), "y": (-8.0, -14.0, 88.0)}

    def corner(c: int, m: int, y: int, k: int) -> Vec:
        big_l, a, b = paper
        for on, (dl, da, db) in zip((c, m, y), inks.values(), strict=True):
            if on:
                big_l, a, b = big_l + dl, a + da, b + db
        if k:
            big_l, a, b = big_l * 0.12, a * 0.1, b * 0.1
        return max(0.0, big_l), max(-128.0, min(127.0, a)), max(-128.0, min(127.0, b))

    grid = b""
    for c in (0, 1):
        for m in (0, 1):
            for y in (0, 1):
                for k in (0, 1):
                    big_l, a, b = corner(c, m, y, k)
                    grid += bytes((round(big_l * 255 / 100), round(a + 128), round(b + 128)))
    identity = bytes(range(256))
    ident_m = b"".join(_s15(v) for v in (1, 0, 0, 0, 1, 0, 0, 0, 1))
    lut = (b"mft1\0\0\0\0" + bytes((4, 3, 2, 0)) + ident_m + identity * 4 + grid
           + identity * 3)
    tags = [(b"desc", _desc_tag("Test CMYK")), (b"cprt", _text_tag("No copyright")),
            (b"wtpt", _xyz_tag(D50)), (b"A2B0", lut)]
    return _profile(b"prtr", b"CMYK", b"Lab ", tags)


# -- images ------------------------------------------------------------------------------
def encode(im: Image.Image, fmt: str, **params: object) -> bytes:
    buf = io.BytesIO()
    im.save(buf, fmt, **params)
    return buf.getvalue()


def exif_bytes(orientation: int | None = None, *, gps: bool = False,
               maker: bool = False) -> bytes:
    exif = Image.Exif()
    if orientation is not None:
        exif[0x0112] = orientation
    exif[0x010F] = "TestCam"
    if gps:
        exif[0x8825] = {1: "N", 2: (52.0, 31.0, 12.0), 3: "E", 4: (13.0, 24.0, 36.0)}
    if maker:
        exif.get_ifd(0x8769)[0x927C] = b"MAKERNOTE-SECRET"
    return exif.tobytes()


def quadrants(w: int = 60, h: int = 40) -> Image.Image:
    """Four flat colours, so every orientation and flip is unambiguous."""
    im = Image.new("RGB", (w, h))
    d = ImageDraw.Draw(im)
    d.rectangle((0, 0, w // 2 - 1, h // 2 - 1), fill=(230, 30, 30))
    d.rectangle((w // 2, 0, w - 1, h // 2 - 1), fill=(30, 200, 40))
    d.rectangle((0, h // 2, w // 2 - 1, h - 1), fill=(40, 60, 220))
    d.rectangle((w // 2, h // 2, w - 1, h - 1), fill=(240, 220, 40))
    return im


def photo_like(w: int, h: int, *, seed: int = 1, noise: float = 10.0) -> Image.Image:
    """Smooth colour regions with soft edges and sensor-like grain."""
    rnd = random.Random(seed)
    sw, sh = max(8, w // 16), max(8, h // 16)
    small = Image.new("RGB", (sw, sh))
    d = ImageDraw.Draw(small)
    for i in range(sh):
        d.line((0, i, sw, i), fill=(40 + 150 * i // sh, 90 + 60 * i // sh, 200 - 120 * i // sh))
    for _ in range(60):
        x, y, r = rnd.uniform(0, sw), rnd.uniform(0, sh), rnd.uniform(sw / 30, sw / 6)
        d.ellipse((x - r, y - r, x + r, y + r),
                  fill=(rnd.randrange(256), rnd.randrange(256), rnd.randrange(256)))
    small = small.filter(ImageFilter.GaussianBlur(1.2))
    big = small.resize((w, h), Image.Resampling.BICUBIC)
    if noise:
        grain = Image.effect_noise((w, h), noise).convert("RGB")
        big = ImageChops.add(big, grain, scale=1.0, offset=-128)
    return big


def noise(side: int, mode: str = "RGBA", seed: int = 0) -> Image.Image:
    """Uniform random bytes: the worst case for every encoder."""
    data = random.Random(seed).randbytes(side * side * len(mode))
    return Image.frombytes(mode, (side, side), data)


def noise_rgba(side: int, seed: int = 0) -> Image.Image:
    return noise(side, "RGBA", seed)


def white_disc_on_transparent(side: int) -> Image.Image:
    im = Image.new("RGBA", (side, side), (0, 0, 0, 0))
    ImageDraw.Draw(im).ellipse((side // 10, side // 10, side * 9 // 10, side * 9 // 10),
                               fill=(255, 255, 255, 255))
    return im


def psnr(a: Image.Image, b: Image.Image) -> float:
    """Peak signal-to-noise ratio in dB over all channels of two same-size images."""
    if a.size != b.size or a.mode != b.mode:
        raise ValueError(f"cannot compare {a.mode} {a.size} with {b.mode} {b.size}")
    stat = ImageStat.Stat(ImageChops.difference(a, b))
    mse = sum(s2 / n for s2, n in zip(stat.sum2, stat.count, strict=True)) / len(stat.count)
    return math.inf if mse == 0 else 10 * math.log10(255 ** 2 / mse)


def max_channel_diff(a: Sequence[int], b: Sequence[int]) -> int:
    return max(abs(x - y) for x, y in zip(a, b, strict=True))


def pixel(im: Image.Image, xy: tuple[int, int]) -> tuple[int, ...]:
    """A multi-band pixel as a tuple (typed for mypy)."""
    p = im.getpixel(xy)
    assert isinstance(p, tuple)
    return p


def psnr_visible(a: Image.Image, b: Image.Image) -> float:
    """PSNR of what is seen: RGBA compared premultiplied (colour under zero alpha is
    invisible and not counted); other modes as :func:`psnr`."""
    if a.mode == b.mode == "RGBA":
        return psnr(a.convert("RGBa"), b.convert("RGBa"))
    return psnr(a, b)
