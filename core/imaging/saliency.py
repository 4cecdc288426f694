"""Where the interest is when there is no face: a small saliency measure, Pillow only.

Detail (edges) and colour that stands out (the distance from the picture's mean colour,
after Achanta et al.'s frequency-tuned saliency) are averaged into a map on a copy of
about 128 px;
the largest square slides along the picture's long side to the place with the most of
both, with a slight pull to the centre so that flat or even pictures stay centred.
"""

from __future__ import annotations

from avatar_studio.core.imaging.faces import detection_copy
from PIL import Image, ImageChops, ImageFilter, ImageStat

SALIENCY_SIDE = 128
#: A position this far from the centre (at the end of its range) must be this much more
#: interesting than the centre to win.
CENTRE_BIAS = 0.10
#: Mean saliency (0–255) below which the picture counts as flat: nothing stands out.
FLAT = 4.0


def saliency_profile(image: Image.Image) -> tuple[list[float], bool]:
    """Mean saliency of each column (landscape) or row (portrait) of a small copy, and
    whether the picture is landscape."""
    small = detection_copy(image, SALIENCY_SIDE)
    edges = small.convert("L").filter(ImageFilter.FIND_EDGES)
    mean = tuple(round(v) for v in ImageStat.Stat(small).mean)
    blurred = small.filter(ImageFilter.GaussianBlur(1))
    apart = ImageChops.difference(blurred, Image.new("RGB", small.size, mean))
    r, g, b = apart.split()
    distinct = ImageChops.add(ImageChops.add(r, g, scale=2.0), b, scale=1.0)
    sal = ImageChops.add(edges, distinct, scale=2.0)
    if sal.width > 2 and sal.height > 2:
        # The edge filter leaves a frame of false detail around the picture.
        sal = sal.crop((1, 1, sal.width - 1, sal.height - 1))
    landscape = sal.width >= sal.height
    n = sal.width if landscape else sal.height
    profile = sal.resize((n, 1) if landscape else (1, n), Image.Resampling.BOX)
    # An "L" image: its bytes are the values.
    return [float(v) for v in profile.tobytes()], landscape


def saliency_square(image: Image.Image, width: int, height: int
                    ) -> tuple[float, float, float] | None:
    """The largest square (x, y, size in ``width`` × ``height`` pixels) on the most
    salient part, or None when the picture is square or nothing stands out."""
    side = min(width, height)
    if width == height:
        return None
    values, landscape = saliency_profile(image)
    n = len(values)
    if n < 2 or sum(values) / n < FLAT:
        return None
    window = max(1, round(n * side / max(width, height)))
    if window >= n:
        return None
    prefix = [0.0]
    for v in values:
        prefix.append(prefix[-1] + v)
    last = n - window
    middle = last / 2
    best_pos, best = 0, -1.0
    for pos in range(last + 1):
        pull = 1.0 - CENTRE_BIAS * abs(pos - middle) / middle if middle else 1.0
        score = (prefix[pos + window] - prefix[pos]) * pull
        if score > best + 1e-9 or (abs(score - best) <= 1e-9
                                   and abs(pos - middle) < abs(best_pos - middle)):
            best_pos, best = pos, score
    room = max(width, height) - side
    offset = float(min(max(round(best_pos / last * room), 0), room))
    return (offset, 0.0, float(side)) if landscape else (0.0, offset, float(side))
