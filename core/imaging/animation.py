"""Animated avatars for services that keep them (``RenderSpec.keeps_animation``).

Every frame goes through the same pipeline as a still (``render.render_image``: one
Lanczos resample of the crop, orientation, rotation, flips, sRGB, alpha), so frame N of
the animation is exactly what ``--frame N`` renders. Durations, loop count and disposal
are kept. When the GIF does not fit the byte limit: fewer palette colours first (unless
it is twice over: halving the palette never saves that much), then smaller sides (aimed
at the limit, down to a quarter of the service's side), and only then frames merged in
pairs (their durations added). Frames are decoded once, in order.
"""

from __future__ import annotations

import io
import logging
import math
from collections.abc import Iterator
from dataclasses import dataclass, replace
from typing import cast

from avatar_studio.core.imaging.colour import to_device_rgb
from avatar_studio.core.imaging.crop import CropState
from avatar_studio.core.imaging.errors import CannotMeetByteLimit, DamagedImage
from avatar_studio.core.imaging.render import RenderOptions, RenderResult, render_image
from avatar_studio.core.imaging.source import ImageSource, RenderBase, SourceInfo
from avatar_studio.core.imaging.spec import RenderSpec
from PIL import Image, ImageSequence

log = logging.getLogger(__name__)

#: Palette sizes tried at each size, most colours first.
PALETTE_STEPS = (256, 128, 64, 32)
#: Sides shrink by at least this factor per round, at most this often, before frames
#: are merged (more when the bytes say so: they grow with the area).
SHRINK = 0.8
#: A GIF this many times over the limit is not tried with fewer colours (halving the
#: palette saves far less): the size goes down first.
PALETTE_REACH = 2.0
SHRINK_ROUNDS = 4
#: Frames are merged in pairs at most this often (16 -> 1 frame in 4 rounds).
MERGE_ROUNDS = 4
#: GIF stores centiseconds; browsers treat shorter frames as 100 ms.
MIN_DURATION_MS = 20


@dataclass(frozen=True)
class Timing:
    durations: tuple[int, ...]
    loop: int | None
    disposal: tuple[int, ...]


@dataclass(frozen=True)
class AnimationResult(RenderResult):
    """An animated GIF ready to upload; ``image`` is its first frame decoded back."""

    frames: tuple[Image.Image, ...] = ()
    durations: tuple[int, ...] = ()
    loop: int | None = 0

    @property
    def frame_count(self) -> int:
        return len(self.frames)


def should_animate(source: ImageSource, spec: RenderSpec, frame: int | None) -> bool:
    """Animate when the service keeps animation, the source has frames and the user did
    not pick one (``--frame N`` / a chosen frame always renders a still)."""
    return spec.keeps_animation and source.info.animated and frame is None \
        and spec.accepts("GIF")


def read_timing(source: ImageSource) -> Timing:
    durations: list[int] = []
    disposal: list[int] = []
    try:
        with Image.open(io.BytesIO(source.data)) as im:
            loop = im.info.get("loop")
            for frame in ImageSequence.Iterator(im):
                durations.append(max(MIN_DURATION_MS, int(frame.info.get("duration") or 100)))
                disposal.append(int(getattr(frame, "disposal_method", 0) or 0))
    except (OSError, ValueError, EOFError) as exc:
        raise DamagedImage(f"{source.info.name}: its frames cannot be read ({exc})") from None
    return Timing(tuple(durations), loop if isinstance(loop, int) else None,
                  tuple(disposal))


class _FrameSource:
    """One frame, decoded already, standing in for the ImageSource in ``render_image``:
    seeking a GIF from its start for every frame would cost O(frames²) decodes."""

    def __init__(self, info: SourceInfo, base: RenderBase) -> None:
        self.info = info
        self._base = base

    def render_base(self, frame: int, min_scale: float) -> RenderBase:
        return self._base


def _decoded_frames(source: ImageSource) -> Iterator[RenderBase]:
    """Every frame in order, composited as Pillow shows it, in the source's colours."""
    try:
        with Image.open(io.BytesIO(source.data)) as im:
            icc = im.info.get("icc_profile")
            for index, frame in enumerate(ImageSequence.Iterator(im)):
                pixels, transform = to_device_rgb(frame.copy(), icc)
                yield RenderBase(index, pixels, transform, source.orientation, 1.0)
    except (OSError, ValueError, EOFError, SyntaxError) as exc:
        raise DamagedImage(f"{source.info.name}: a frame cannot be decoded ({exc})") from None


def render_frames(source: ImageSource, crop: CropState, spec: RenderSpec,
                  options: RenderOptions) -> list[Image.Image]:
    """Each frame exactly as ``render_image`` renders it for ``--frame N``."""
    out = []
    for base in _decoded_frames(source):
        frame_source = cast(ImageSource, _FrameSource(source.info, base))
        out.append(render_image(frame_source, crop, spec=spec,
                                options=replace(options, frame=base.frame)))
    return out


def _to_palette(frame: Image.Image, colours: int) -> tuple[Image.Image, int | None]:
    """A P image with at most ``colours`` entries, and the transparent index if any."""
    if frame.mode != "RGBA":
        return frame.convert("RGB").quantize(colours, method=Image.Quantize.MEDIANCUT), None
    alpha = frame.getchannel("A")
    if alpha.getextrema()[0] == 255:
        return frame.convert("RGB").quantize(colours, method=Image.Quantize.MEDIANCUT), None
    # GIF transparency is on or off: one index for "clear", the rest for colour.
    pal = frame.convert("RGB").quantize(colours - 1, method=Image.Quantize.MEDIANCUT)
    clear = colours - 1
    palette = pal.getpalette() or []
    palette = (palette + [0] * 768)[:768]
    pal.putpalette(palette)
    pal.paste(clear, mask=alpha.point(lambda a: 255 if a < 128 else 0))
    return pal, clear


def encode_gif(frames: list[Image.Image], durations: list[int], loop: int | None,
               disposal: list[int], colours: int) -> bytes:
    converted = [_to_palette(f, colours) for f in frames]
    images = [im for im, _ in converted]
    transparent = [t for _, t in converted]
    buf = io.BytesIO()
    extra: dict[str, object] = {}
    if loop is not None:
        extra["loop"] = loop
    if any(t is not None for t in transparent):
        extra["transparency"] = transparent[0] if transparent[0] is not None else colours - 1
        # Frames with clear pixels must not show the previous frame through them.
        disposal = [2] * len(frames)
    if len(images) == 1:  # Pillow wants plain numbers for a single frame
        images[0].save(buf, "GIF", duration=durations[0], disposal=disposal[0],
                       optimize=False, **extra)
    else:
        images[0].save(buf, "GIF", save_all=True, append_images=images[1:],
                       duration=durations, disposal=disposal, optimize=False, **extra)
    return buf.getvalue()


def _merge_pairs(frames: list[Image.Image], durations: list[int], disposal: list[int]
                 ) -> tuple[list[Image.Image], list[int], list[int]]:
    """Every second frame dropped, its time given to the one before."""
    out_f, out_d, out_p = [], [], []
    for i in range(0, len(frames), 2):
        out_f.append(frames[i])
        out_d.append(sum(durations[i:i + 2]))
        out_p.append(disposal[i])
    return out_f, out_d, out_p


def fit_animation(frames: list[Image.Image], timing: Timing, spec: RenderSpec
                  ) -> tuple[bytes, list[int]]:
    """GIF bytes strictly under the limit and the durations written."""
    limit = spec.max_bytes_exclusive
    durations, disposal = list(timing.durations), list(timing.disposal)
    smallest = None
    # Below a quarter of the service's side an avatar stops being a picture: merge frames
    # rather than shrink further.
    floor = min(frames[0].width, max(16, spec.output_side // 4))
    for merge in range(MERGE_ROUNDS + 1):
        side = frames[0].width
        for _round in range(SHRINK_ROUNDS + 1):
            sized = frames if side == frames[0].width else [
                f.resize((side, side), Image.Resampling.LANCZOS) for f in frames]
            at_this_size = None
            for colours in PALETTE_STEPS:
                data = encode_gif(sized, durations, timing.loop, disposal, colours)
                if len(data) < limit:
                    if merge or side != frames[0].width or colours != 256:
                        log.info("Animation fitted %s's limit: %d colours, %d px, %d "
                                 "frames", spec.name, colours, side, len(sized))
                    return data, durations
                at_this_size = min(at_this_size or len(data), len(data))
                smallest = min(smallest or len(data), len(data))
                if len(data) >= limit * PALETTE_REACH:
                    break  # fewer colours cannot save that much: go to a smaller size
            # Bytes grow with the area: aim at the limit, shrinking at least by SHRINK.
            aim = math.sqrt(limit / (at_this_size or limit)) * 0.95
            smaller = max(floor, int(side * min(SHRINK, aim)))
            if smaller >= side:
                break  # at the smallest useful size: merge frames next
            side = smaller
        if len(frames) == 1:
            break
        frames, durations, disposal = _merge_pairs(frames, durations, disposal)
    raise CannotMeetByteLimit(
        f"The animation cannot be made smaller than {spec.name}'s limit of "
        f"{limit / 1024:.0f} KiB (smallest try: {(smallest or 0) / 1024:.0f} KiB).")


def decode_frames(data: bytes) -> tuple[tuple[Image.Image, ...], tuple[int, ...]]:
    frames: list[Image.Image] = []
    durations: list[int] = []
    with Image.open(io.BytesIO(data)) as im:
        for frame in ImageSequence.Iterator(im):
            durations.append(int(frame.info.get("duration") or 0))
            frames.append(frame.convert("RGBA"))
    return tuple(frames), tuple(durations)


def _min_alpha(frame: Image.Image) -> int:
    low = frame.getchannel("A").getextrema()[0]
    return int(low) if isinstance(low, (int, float)) else 0


def render_animation(source: ImageSource, crop: CropState, *, spec: RenderSpec,
                     options: RenderOptions | None = None) -> AnimationResult:
    """Every frame cropped, turned and flipped like a still, as one GIF under the limit;
    decoded back so a preview can play exactly the uploaded animation."""
    options = options or RenderOptions()
    timing = read_timing(source)
    frames = render_frames(source, crop, spec, options)
    if len(timing.durations) != len(frames):
        timing = Timing(tuple(timing.durations[:len(frames)]) or (100,) * len(frames),
                        timing.loop, (0,) * len(frames))
    data, _ = fit_animation(frames, timing, spec)
    decoded, durations = decode_frames(data)
    with Image.open(io.BytesIO(data)) as im:
        loop = im.info.get("loop")
    first = decoded[0]
    clear = any(_min_alpha(f) < 255 for f in decoded)
    image = first if clear else first.convert("RGB")
    return AnimationResult(data=data, format="GIF", mime_type="image/gif", extension="gif",
                           width=first.width, height=first.height, decoded=image,
                           frames=decoded, durations=durations,
                           loop=loop if isinstance(loop, int) else None)
