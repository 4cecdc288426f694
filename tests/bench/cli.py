"""Whole-process render benchmark: ``avatar-studio-cli render`` against its peers.

What users run is a process: start Python, import, decode, resample, encode, write the
file, exit. So every figure here is one whole process, timed from outside, with the peak
RSS the kernel accounts for it (``/usr/bin/time``'s maximum resident set size). Each round
runs every command once, in turn, so a machine whose speed drifts (it is shared) slows
all of them alike; the ratios ours / peer are taken pair by pair within a round and the
medians printed.

Peers (``make bench`` installs them with packaging/sysdeps.sh bench): ``vipsthumbnail``
(libvips, shrink-on-load), ImageMagick's ``convert`` with ``-define jpeg:size`` (DCT
scaling) and a naive Pillow script (full decode, exif_transpose, ImageCms, one Lanczos).
Floors: a process that only DCT-decodes at 1/8 scale (JPEG), one that only inflates the
PNG's IDAT data (zlib).

Inputs are generated deterministically in a temporary folder: 24 MP and 47 MP JPEGs
stored sideways (EXIF orientation 6) with an Adobe RGB (1998) profile, fine photo-like
detail and saturated colours outside sRGB, and a 4000×4000 RGBA PNG. Every output is the
centred square at 400×400 (ours with ``--crop`` naming it; ``ours-default``, the command
without a crop option, frames the first crop on a face instead and is timed only).
Quality is the PSNR of the *encoded output file* against an exact reference: the
full-resolution decode, oriented, converted to sRGB, the square resampled with Lanczos
once in floating point (for RGBA compared premultiplied).

Run: ``python -m tests.bench cli`` (``AVATAR_BENCH_ROUNDS`` rounds, default 7).
"""

from __future__ import annotations

import json
import math
import os
import random
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from PIL import Image

ROUNDS = int(os.environ.get("AVATAR_BENCH_ROUNDS", "7"))
SIDE = 400
JPEG_24 = "photo-24mp.jpg"  # stored 6000×4000, upright 4000×6000: a 4000 square, /10
JPEG_48 = "photo-47mp.jpg"  # stored 8400×5600, upright 5600×8400: a 5600 square, /14
PNG_RGBA = "rgba-4000.png"
#: Amplitudes of the texture at 4 px and at 2 px (1.0 = the full byte range).
TEXTURE = (0.22, 0.05)
SRGB_ICC = "srgb.icc"


# -- inputs (child process) -------------------------------------------------------------
def _photo(w: int, h: int, seed: int) -> Image.Image:
    """Saturated soft shapes (Adobe RGB values outside sRGB), texture at a few pixels'
    scale (it survives a 10× reduction only partly: aliasing shows) and fine grain."""
    from PIL import Image, ImageChops, ImageDraw, ImageFilter

    rnd = random.Random(seed)
    sw, sh = max(8, w // 16), max(8, h // 16)
    small = Image.new("RGB", (sw, sh))
    d = ImageDraw.Draw(small)
    for i in range(sh):
        d.line((0, i, sw, i), fill=(30 + 180 * i // sh, 200 - 150 * i // sh, 60 + 60 * i // sh))
    vivid = [(0, 230, 40), (250, 10, 60), (20, 40, 250), (250, 200, 0), (0, 200, 220),
             (200, 0, 230), (255, 110, 0)]
    for _ in range(90):
        x, y, r = rnd.uniform(0, sw), rnd.uniform(0, sh), rnd.uniform(sw / 40, sw / 7)
        d.ellipse((x - r, y - r, x + r, y + r), fill=rnd.choice(vivid))
    for _ in range(40):  # hard straight edges, as buildings and text have
        x, y = rnd.uniform(0, sw), rnd.uniform(0, sh)
        d.rectangle((x, y, x + rnd.uniform(2, sw / 5), y + rnd.uniform(2, sh / 5)),
                    fill=rnd.choice(vivid))
    big = small.filter(ImageFilter.GaussianBlur(0.6)).resize((w, h), Image.Resampling.BICUBIC)

    def texture(div: int, amount: float, seed2: int) -> Image.Image:
        tw, th = w // div, h // div
        t = Image.frombytes("RGB", (tw, th), random.Random(seed2).randbytes(tw * th * 3))
        t = t.resize((w, h), Image.Resampling.BICUBIC)
        return t.point(lambda v: round(128 + (v - 128) * amount))

    big = ImageChops.add(big, texture(4, TEXTURE[0], seed + 1), scale=1.0, offset=-128)
    big = ImageChops.add(big, texture(2, TEXTURE[1], seed + 2), scale=1.0, offset=-128)
    return big


def generate(folder: Path) -> None:
    from PIL import Image, ImageCms, ImageDraw, ImageFilter

    from tests.core.imaging import samples

    icc = samples.adobe_rgb_profile()
    exif = samples.exif_bytes(6)
    for name, (w, h), seed in ((JPEG_24, (6000, 4000), 3), (JPEG_48, (8400, 5600), 4)):
        _photo(w, h, seed).save(folder / name, "JPEG", quality=92, exif=exif,
                                icc_profile=icc)
    art = _photo(4000, 4000, 5).convert("RGBA")
    mask = Image.new("L", (1000, 1000), 0)
    ImageDraw.Draw(mask).ellipse((80, 80, 920, 920), fill=255)
    art.putalpha(mask.filter(ImageFilter.GaussianBlur(6)).resize((4000, 4000)))
    art.save(folder / PNG_RGBA, "PNG")
    profile = ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB"))
    (folder / SRGB_ICC).write_bytes(profile.tobytes())


# -- quality (child process) ------------------------------------------------------------
def _float_bands(im: Image.Image) -> list[Image.Image]:
    """Float bands, RGBA premultiplied (colour under zero alpha is not seen)."""
    from PIL import Image, ImageMath

    bands = [b.convert("F") for b in im.split()]
    if im.mode != "RGBA":
        return bands
    alpha = bands[3]
    out = []
    for c in bands[:3]:
        pre = ImageMath.lambda_eval(lambda a: a["c"] * a["k"] / 255.0, c=c, k=alpha)
        assert isinstance(pre, Image.Image)
        out.append(pre)
    return [*out, alpha]


def _to_srgb(im: Image.Image, icc: bytes) -> Image.Image:
    import io

    from PIL import ImageCms

    src = ImageCms.ImageCmsProfile(io.BytesIO(icc))
    srgb = ImageCms.createProfile("sRGB")
    alpha = im.getchannel("A") if im.mode == "RGBA" else None
    out = ImageCms.profileToProfile(im.convert("RGB"), src, srgb, outputMode="RGB")
    assert out is not None
    if alpha is not None:
        out.putalpha(alpha)
    return out


def reference(path: Path) -> list[Image.Image]:
    """Full-resolution decode, EXIF orientation, ICC -> sRGB, then the centred square
    resampled once with Lanczos in floating point."""
    from PIL import Image, ImageOps

    with Image.open(path) as im:
        im.load()
        icc = im.info.get("icc_profile")
        up = ImageOps.exif_transpose(im)
    if icc:
        up = _to_srgb(up, icc)
    w, h = up.size
    s = min(w, h)
    box = ((w - s) / 2, (h - s) / 2, (w + s) / 2, (h + s) / 2)
    return [b.resize((SIDE, SIDE), Image.Resampling.LANCZOS, box=box)
            for b in _float_bands(up)]


def psnr_file(ref: list[Image.Image], path: Path) -> float:
    from PIL import Image, ImageMath

    with Image.open(path) as im:
        im.load()
        mode = "RGBA" if len(ref) == 4 else "RGB"
        got = im.convert(mode)
    if got.size != (SIDE, SIDE):
        return float("nan")
    total = 0.0
    for r, g in zip(ref, _float_bands(got), strict=True):
        sq = ImageMath.lambda_eval(lambda a: (a["r"] - a["g"]) * (a["r"] - a["g"]), r=r, g=g)
        assert isinstance(sq, Image.Image)
        values = sq.get_flattened_data()  # one float per pixel (mode F)
        total += sum(float(v) for v in values if isinstance(v, float | int)) / (SIDE * SIDE)
    mse = total / len(ref)
    return math.inf if mse == 0 else 10 * math.log10(255 ** 2 / mse)


def _exact_path_psnr(ref: list[Image.Image], path: Path, folder: Path) -> float:
    """What the pipeline could reach at best: the full-resolution oriented sRGB image,
    one 8-bit Lanczos, encoded as ours encodes photos (JPEG q95 4:4:4)."""
    from PIL import Image, ImageOps

    with Image.open(path) as im:
        im.load()
        icc = im.info.get("icc_profile")
        up = ImageOps.exif_transpose(im)
    if icc:
        up = _to_srgb(up, icc)
    w, h = up.size
    s = min(w, h)
    out = up.resize((SIDE, SIDE), Image.Resampling.LANCZOS,
                    box=((w - s) / 2, (h - s) / 2, (w + s) / 2, (h + s) / 2))
    target = folder / "exact-path.jpg"
    out.save(target, "JPEG", quality=95, subsampling=0)
    return psnr_file(ref, target)


def quality(args: Sequence[str]) -> None:
    """argv: INPUT OUTPUT... -> JSON {output: psnr} (plus "exact_path" for JPEGs)."""
    src = Path(args[0])
    ref = reference(src)
    out: dict[str, float] = {}
    for name in args[1:]:
        out[name] = round(psnr_file(ref, Path(name)), 2)
    if src.suffix == ".jpg":
        out["exact_path"] = round(_exact_path_psnr(ref, src, src.parent), 2)
    print(json.dumps(out))


# -- commands ------------------------------------------------------------------------------
NAIVE = """\
import io, sys
from PIL import Image, ImageCms, ImageOps
src, dst = sys.argv[1], sys.argv[2]
with Image.open(src) as im:
    im.load()
    icc = im.info.get("icc_profile")
    up = ImageOps.exif_transpose(im)
if icc:
    p = ImageCms.ImageCmsProfile(io.BytesIO(icc))
    if up.mode == "RGBA":
        a = up.getchannel("A")
        up = ImageCms.profileToProfile(up.convert("RGB"), p, ImageCms.createProfile("sRGB"))
        up.putalpha(a)
    else:
        up = ImageCms.profileToProfile(up, p, ImageCms.createProfile("sRGB"))
w, h = up.size
s = min(w, h)
out = up.resize((400, 400), Image.Resampling.LANCZOS,
                box=((w - s) / 2, (h - s) / 2, (w + s) / 2, (h + s) / 2))
out.save(dst, quality=95, subsampling=0) if dst.endswith(".jpg") else out.save(dst)
"""

JPEG_FLOOR = """\
import sys
from PIL import Image
with Image.open(sys.argv[1]) as im:
    im.draft("RGB", (im.width // 8, im.height // 8))
    im.load()
"""

INFLATE_FLOOR = """\
import struct, sys, zlib
data = open(sys.argv[1], "rb").read()
pos, d = 8, zlib.decompressobj()
while pos < len(data):
    n, kind = struct.unpack(">I4s", data[pos:pos + 8])
    if kind == b"IDAT":
        d.decompress(data[pos + 8:pos + 8 + n])
    pos += 12 + n
"""


@dataclass
class Command:
    name: str
    argv: list[str]
    #: The file it writes (None for floors).
    output: Path | None
    wall_ms: list[float] = field(default_factory=list)
    rss_mb: list[float] = field(default_factory=list)
    failures: list[str] = field(default_factory=list)


def _imagemagick() -> str | None:
    # The real binaries by their own names: a `convert` earlier on PATH may be a wrapper.
    for name in ("magick", "convert-im6.q16", "convert-im6"):
        for folder in ("/usr/bin", "/usr/local/bin"):
            candidate = Path(folder) / name
            if candidate.is_file() and os.access(candidate, os.X_OK):
                return str(candidate)
    return None


def _commands(folder: Path, source: Path, kind: str) -> list[Command]:
    ext = "jpg" if kind == "jpeg" else "png"
    py = sys.executable
    cli = str(Path(py).with_name("avatar-studio-cli"))
    out = folder / "out"
    # The peers make the centred square; so does "ours" (--crop with that square), so the
    # same job is timed and the same reference applies. "ours-default" is the command
    # with no crop option, which frames the first crop on a face (face detection).
    w, h = _upright_size(source)
    side = min(w, h)
    centre = f"{(w - side) // 2},{(h - side) // 2},{side}"
    cmds = [Command("ours", [cli, "render", str(source), "--crop", centre,
                             "-o", str(out / f"ours.{ext}")], out / f"ours.{ext}"),
            Command("ours-default", [cli, "render", str(source),
                                     "-o", str(out / f"ours-default.{ext}")], None)]
    vips = shutil.which("vipsthumbnail")
    if vips:
        opts = "[Q=95,strip]" if ext == "jpg" else "[strip]"
        # -e srgb converts a tagged JPEG; on the untagged PNG it would misread colours.
        export = ["-e", "srgb"] if kind == "jpeg" else []
        cmds.append(Command("vipsthumbnail", [
            vips, str(source), "-s", f"{SIDE}x{SIDE}", "-m", "centre", *export,
            "-o", str(out / f"vips.{ext}{opts}")], out / f"vips.{ext}"))
    magick = _imagemagick()
    if magick:
        pre = ["-define", f"jpeg:size={2 * SIDE}x{2 * SIDE}"] if kind == "jpeg" else []
        profile = ["-profile", str(folder / SRGB_ICC)]
        cmds.append(Command("imagemagick", [
            magick, *pre, str(source), "-auto-orient", *profile, "-filter", "Lanczos",
            "-resize", f"{SIDE}x{SIDE}^", "-background", "none", "-gravity", "center",
            "-extent", f"{SIDE}x{SIDE}", "-strip",
            *(["-quality", "95", "-sampling-factor", "1x1"] if ext == "jpg" else []),
            str(out / f"magick.{ext}")], out / f"magick.{ext}"))
    cmds.append(Command("naive-pillow", [py, str(folder / "naive.py"), str(source),
                                         str(out / f"naive.{ext}")], out / f"naive.{ext}"))
    floor = "jpeg_floor.py" if kind == "jpeg" else "inflate_floor.py"
    cmds.append(Command("floor", [py, str(folder / floor), str(source)], None))
    return cmds


def _upright_size(path: Path) -> tuple[int, int]:
    """Width and height after EXIF orientation, read from the header in a child (this
    process stays small: its peak would count in the children's, see _run_once)."""
    code = ("import sys; from PIL import Image\n"
            "im = Image.open(sys.argv[1]); w, h = im.size\n"
            "print(h, w) if im.getexif().get(0x0112, 1) in (5, 6, 7, 8) else print(w, h)")
    out = subprocess.run([sys.executable, "-c", code, str(path)], capture_output=True,
                         text=True, check=True, timeout=60).stdout.split()
    return int(out[0]), int(out[1])


def _run_once(cmd: Command, folder: Path) -> None:
    """One whole process under /usr/bin/time: wall clock here, peak RSS from the kernel
    (not getrusage in this process: Linux carries a parent's peak across fork and exec)."""
    stats = folder / "time.txt"
    env = dict(os.environ)
    # Users run bytecode (pip writes it at install, the .deb's PyInstaller bundle carries
    # it): PYTHONDONTWRITEBYTECODE, set in some sandboxes, would make every timed run of
    # an editable install compile the project's modules again (40 ms of a render), and
    # the warm-up below would not leave the .pyc files it is there for.
    env.pop("PYTHONDONTWRITEBYTECODE", None)
    started = time.perf_counter()
    proc = subprocess.run(["/usr/bin/time", "-f", "%M", "-o", str(stats), *cmd.argv],
                          stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, env=env,
                          timeout=300, check=False)
    wall = (time.perf_counter() - started) * 1000
    if proc.returncode != 0:
        cmd.failures.append(proc.stderr.decode(errors="replace").strip()[-300:])
        return
    cmd.wall_ms.append(wall)
    cmd.rss_mb.append(int(stats.read_text().split()[-1]) / 1024)


def _load() -> str:
    one, five, fifteen = os.getloadavg()
    return f"load average {one:.2f} {five:.2f} {fifteen:.2f} on {os.cpu_count()} CPUs"


def measure(folder: Path, source: Path, kind: str, rounds: int) -> dict[str, dict[str, float]]:
    cmds = _commands(folder, source, kind)
    for cmd in cmds:  # warm-up: page cache, .pyc files
        _run_once(cmd, folder)
        cmd.wall_ms.clear()
        cmd.rss_mb.clear()
    ratios: dict[str, list[float]] = {c.name: [] for c in cmds}
    for i in range(rounds):
        order = cmds if i % 2 == 0 else cmds[::-1]  # nobody always runs first
        for cmd in order:
            _run_once(cmd, folder)
        ours = cmds[0].wall_ms[-1] if cmds[0].wall_ms else math.nan
        for cmd in cmds[1:]:
            if cmd.wall_ms and len(cmd.wall_ms) == i + 1:
                ratios[cmd.name].append(ours / cmd.wall_ms[-1])
    outputs = [str(c.output) for c in cmds if c.output is not None and c.output.exists()]
    q = json.loads(_child("--quality", str(source), *outputs))
    figures: dict[str, dict[str, float]] = {}
    for cmd in cmds:
        if cmd.failures:
            print(f"  {cmd.name} FAILED: {cmd.failures[0]}")
        if not cmd.wall_ms:
            continue
        entry = {"wall_ms": statistics.median(cmd.wall_ms),
                 "wall_min_ms": min(cmd.wall_ms), "rss_mb": max(cmd.rss_mb)}
        if cmd.output is not None and str(cmd.output) in q:
            entry["psnr_db"] = q[str(cmd.output)]
        if ratios.get(cmd.name):
            entry["ours_over_this"] = statistics.median(ratios[cmd.name])
        figures[cmd.name] = entry
    if "exact_path" in q:
        figures["exact_path"] = {"psnr_db": q["exact_path"]}
    return figures


def _child(*args: str) -> str:
    out = subprocess.run([sys.executable, "-m", "tests.bench.cli", *args],
                         capture_output=True, text=True, check=True, timeout=900)
    return out.stdout


CASES = (("jpeg24", JPEG_24, "jpeg", "24 MP JPEG (EXIF 6, Adobe RGB)"),
         ("jpeg48", JPEG_48, "jpeg", "47 MP JPEG (EXIF 6, Adobe RGB)"),
         ("png", PNG_RGBA, "png", "4000×4000 RGBA PNG"))


def run() -> dict[str, float]:
    flat: dict[str, float] = {}
    with tempfile.TemporaryDirectory(prefix="avatar-bench-cli-") as tmp:
        folder = Path(tmp)
        (folder / "out").mkdir()
        (folder / "naive.py").write_text(NAIVE)
        (folder / "jpeg_floor.py").write_text(JPEG_FLOOR)
        (folder / "inflate_floor.py").write_text(INFLATE_FLOOR)
        t0 = time.perf_counter()
        _child("--generate", str(folder))
        print(f"inputs generated in {time.perf_counter() - t0:.1f} s; {ROUNDS} rounds, "
              f"each command once per round, whole processes", flush=True)
        for key, name, kind, label in CASES:
            print(f"-- {label}: {(folder / name).stat().st_size / 1e6:.1f} MB; "
                  f"{_load()} before", flush=True)
            figures = measure(folder, folder / name, kind, ROUNDS)
            print(f"{'command':<15} {'wall ms':>8} {'min':>6} {'peak MB':>8} {'PSNR dB':>8} "
                  f"{'ours / it':>10}")
            for cmd, f in figures.items():
                if cmd == "exact_path":
                    continue
                print(f"{cmd:<15} {f['wall_ms']:>8.0f} {f['wall_min_ms']:>6.0f} "
                      f"{f['rss_mb']:>8.1f} {f.get('psnr_db', math.nan):>8.2f} "
                      f"{f.get('ours_over_this', math.nan):>10.2f}")
                for k, v in f.items():
                    flat[f"cli_{key}_{cmd.replace('-', '_')}_{k}"] = round(v, 3)
            if "exact_path" in figures:
                print(f"exact path (full decode, one Lanczos, q95 4:4:4): "
                      f"{figures['exact_path']['psnr_db']:.2f} dB")
                flat[f"cli_{key}_exact_path_psnr_db"] = figures["exact_path"]["psnr_db"]
            print(f"   {_load()} after", flush=True)
    flat["cli_load_1min"] = round(os.getloadavg()[0], 2)
    return flat


def main(argv: Sequence[str] | None = None) -> int:
    args = list(sys.argv[1:] if argv is None else argv)
    if args[:1] == ["--generate"]:
        generate(Path(args[1]))
        return 0
    if args[:1] == ["--quality"]:
        quality(args[1:])
        return 0
    print(json.dumps(run()))
    return 0


if __name__ == "__main__":
    sys.exit(main())
