"""The first crop: framed on the primary face like a profile picture, else on the most
salient part, else the centred square, always saying which and why.

The rule, in oriented ("upright") source pixels:

- primary face: the largest ``area × score``; faces within 5 % of the best count as a
  tie, won by the one whose centre is nearest the picture's centre;
- the square is twice the face's width (the face fills about half of it), with the eyes
  40 % from its top and centred between them (without landmarks: the face's centre, the
  eyes at 38 % of its box, where libfacedetection's boxes put them);
- never smaller than the service's output side when the picture has that many pixels (so
  the upload is never enlarged), never larger than the picture's short side, and shifted
  inside the picture.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

from avatar_studio.core.imaging.crop import SourceBox
from avatar_studio.core.imaging.faces import (
    DetectorUnavailable,
    Face,
    FaceFinder,
    find_faces,
)
from avatar_studio.core.imaging.saliency import saliency_square
from PIL import Image

log = logging.getLogger(__name__)

CropSource = Literal["face", "saliency", "centre"]

#: Face width as a share of the square's side.
FACE_SHARE = 0.5
#: Height of the eye line from the square's top, as a share of its side.
EYE_LINE = 0.40
#: Where the eyes sit in a face box when the detector gives no landmarks.
EYE_LINE_IN_BOX = 0.38
#: Faces whose area × score is within this share of the best are tied.
TIE = 0.05


@dataclass(frozen=True, slots=True)
class Framing:
    """The chosen first crop and where it came from."""

    x: float
    y: float
    size: float
    source: CropSource
    #: Why this source: "1 face found", "no face found", "this CPU lacks AVX2 …".
    reason: str
    #: Every face found (oriented source pixels), the primary one first.
    faces: tuple[Face, ...] = ()

    @property
    def box(self) -> SourceBox:
        return SourceBox(self.x, self.y, self.size)


def centre_square(width: int, height: int) -> tuple[float, float, float]:
    """The largest centred square (the same as the crop model's reset)."""
    s = float(min(width, height))
    return (width - s) / 2, (height - s) / 2, s


def primary_face(faces: Sequence[Face], width: int, height: int) -> Face | None:
    if not faces:
        return None
    best = max(f.area * f.score for f in faces)
    tied = [f for f in faces if f.area * f.score >= best * (1 - TIE)]
    cx, cy = width / 2, height / 2

    def distance(f: Face) -> float:
        fx, fy = f.centre
        return (fx - cx) ** 2 + (fy - cy) ** 2

    return min(tied, key=distance)


def eye_point(face: Face) -> tuple[float, float]:
    """Between the eyes (estimated from the box without landmarks)."""
    if face.eyes is not None:
        (ax, ay), (bx, by) = face.eyes
        return (ax + bx) / 2, (ay + by) / 2
    return face.x + face.width / 2, face.y + face.height * EYE_LINE_IN_BOX


def face_square(face: Face, width: int, height: int, *, min_side: int = 0
                ) -> tuple[int, int, int]:
    """The profile-picture square for ``face`` in a ``width`` × ``height`` picture, in
    whole pixels."""
    short = min(width, height)
    size = round(face.width / FACE_SHARE)
    size = min(max(size, min(min_side, short), 1), short)
    ex, ey = eye_point(face)
    x = round(ex - size / 2)
    y = round(ey - EYE_LINE * size)
    x = min(max(x, 0), width - size)
    y = min(max(y, 0), height - size)
    return x, y, size


def frame(image: Image.Image, width: int, height: int, *,
          finder: FaceFinder | DetectorUnavailable, min_side: int = 0) -> Framing:
    """The first crop for a ``width`` × ``height`` oriented picture, given any reduced
    copy of it (``image``). Never raises for the detector's sake: it degrades."""
    faces: list[Face] = []
    if isinstance(finder, DetectorUnavailable):
        reason = finder.reason
    else:
        try:
            faces = list(find_faces(finder, image, width, height))
        except Exception as exc:
            log.warning("face detection failed", exc_info=True)
            reason = f"the face detector failed ({type(exc).__name__}: {exc})"
        else:
            reason = "no face found"
    primary = primary_face(faces, width, height)
    if primary is not None:
        x, y, size = face_square(primary, width, height, min_side=min_side)
        ordered = (primary, *(f for f in faces if f is not primary))
        found = f"{len(faces)} face{'s' if len(faces) != 1 else ''} found"
        return Framing(x, y, size, "face", found, ordered)
    salient = saliency_square(image, width, height)
    if salient is not None:
        return Framing(*salient, "saliency", reason)
    x_, y_, s_ = centre_square(width, height)
    why = "the picture is square" if width == height else "nothing stands out"
    return Framing(x_, y_, s_, "centre", f"{reason}; {why}")
