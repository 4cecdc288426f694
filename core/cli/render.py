"""``avatar-studio-cli render``: write exactly the bytes that would be uploaded.

Whole-process speed (issue 15): ``before_parsing`` reads INPUT and starts a JPEG's decode
on a background thread before the parser is even built (``start`` does it for any other
image, and whenever the parsed arguments disagree with that first reading); the imports
of everything else (logging's file handler, the render and encode modules, the colour
transform) then run beside the decoder, which releases the GIL. So the module imports
little at the top.
"""

from __future__ import annotations

import sys
import threading
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, NamedTuple, TypeVar, cast

from avatar_studio.core.errors import UserFacingError
from avatar_studio.core.services import registry

if TYPE_CHECKING:
    import argparse

    from avatar_studio.core.imaging.crop import CropModel, SourceBox
    from avatar_studio.core.imaging.early import EarlyDecode
    from avatar_studio.core.imaging.render import RenderResult
    from avatar_studio.core.imaging.source import ImageSource
    from avatar_studio.core.imaging.spec import RenderSpec

T = TypeVar("T")

EXIT_BAD_ARGUMENT = 2
EXIT_CANNOT_WRITE = 9


class BadRenderArgument(UserFacingError):
    exit_code = EXIT_BAD_ARGUMENT


class CannotWriteOutput(UserFacingError):
    exit_code = EXIT_CANNOT_WRITE


def add_render_arguments(parser: argparse.ArgumentParser) -> None:
    """The options shared by ``render`` and ``upload``: INPUT and how to crop it."""
    parser.add_argument("input", metavar="INPUT", help="image file to crop (JPEG, PNG, GIF, "
                        "WebP, BMP, TIFF, AVIF, HEIC)")
    parser.add_argument("--frame", type=int, default=None, metavar="N",
                        help="frame of an animated image to use (from 0; default 0, or "
                        "every frame for a service that keeps animation, e.g. Mastodon)")
    parser.add_argument("--rotate", type=int, choices=(90, 180, 270), default=0,
                        help="turn the result clockwise by this many degrees")
    parser.add_argument("--flip", choices=("h", "v"), action="append", default=[],
                        help="mirror the result horizontally (h) or vertically (v); "
                        "may be given twice")
    parser.add_argument("--crop", metavar="X,Y,SIZE|centre",
                        help="square to keep, in pixels of the upright image, or 'centre' "
                        "for the largest centred square (default: framed on the face, "
                        "else on the most detailed part, else centred)")
    parser.add_argument("--background", metavar="COLOR",
                        help="flatten transparency onto this colour (name or #rrggbb)")


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser(
        "render", help="crop and encode an image exactly as it would be uploaded",
        description="Crop and encode INPUT exactly as it would be uploaded to a service "
        "(X unless --service says otherwise) and write those bytes to OUTPUT.")
    add_render_arguments(parser)
    parser.add_argument("--service", metavar="NAME", default=None,
                        help="render for this service's limits: "
                        f"{', '.join(registry.keys())} (default {registry.keys()[0]})")
    parser.add_argument("-o", "--output", required=True, metavar="OUTPUT",
                        help="file to write (the name is used as given)")
    parser.add_argument("--json", action="store_true",
                        help='print one JSON line: {"path", "format", "width", "height", '
                        '"bytes", "crop": {"x", "y", "size"}, "crop_source", "crop_reason"}')
    parser.set_defaults(func=run, start=start)


#: --crop words that ask for the largest centred square.
CENTRE_WORDS = ("centre", "center")


class RenderedCrop(NamedTuple):
    """A render and the crop it used, in upright (oriented) source pixels."""

    source: ImageSource
    result: RenderResult
    crop: SourceBox
    #: "face", "saliency" or "centre" for the default crop; "given" for --crop values.
    crop_source: str
    crop_reason: str


def _is_centre(text: str | None) -> bool:
    return text is not None and text.strip().lower() in CENTRE_WORDS


def _parse_crop(text: str) -> tuple[float, float, float]:
    parts = text.split(",")
    try:
        if len(parts) != 3:
            raise ValueError
        x, y, size = (float(p) for p in parts)
    except ValueError:
        raise BadRenderArgument(f"--crop {text!r}: expected X,Y,SIZE, e.g. 100,50,800"
                                ) from None
    if size <= 0 or x < 0 or y < 0:
        raise BadRenderArgument(f"--crop {text!r}: X and Y must be >= 0 and SIZE > 0")
    return x, y, size


def _parse_colour(text: str) -> tuple[int, int, int]:
    from PIL import ImageColor

    try:
        rgb = ImageColor.getrgb(text)
    except ValueError:
        raise BadRenderArgument(f"--background {text!r} is not a colour; use a name such "
                                "as white or a value such as #ffffff") from None
    return rgb[0], rgb[1], rgb[2]


def source_from_args(args: argparse.Namespace) -> ImageSource:
    """``args.input`` opened, its options checked (every error before any work)."""
    if args.crop and not _is_centre(args.crop):
        _parse_crop(args.crop)
    if args.background:
        _parse_colour(args.background)
    from avatar_studio.core.imaging.source import ImageSource

    source = ImageSource.open_path(args.input)
    source.check_frame(args.frame if args.frame is not None else 0)  # None: the default
    return source


def render_from_args(args: argparse.Namespace, *, spec: RenderSpec | None = None,
                     source: ImageSource | None = None) -> tuple[ImageSource, RenderResult]:
    """Open ``args.input`` (unless ``source`` is it) and render it with the crop options
    of :func:`add_render_arguments` for ``spec`` (default: ``--service``'s, or X's)."""
    done = render_crop_from_args(args, spec=spec, source=source)
    return done.source, done.result


#: The options of a ``render`` command line as before_parsing reads it (tests check them
#: against the parsers' own): those taking one value, by their namespace name ...
_VALUE_OPTIONS = {"--frame": "frame", "--rotate": "rotate", "--flip": "flip",
                  "--crop": "crop", "--background": "background", "--service": "service",
                  "-o": "output", "--output": "output"}
#: ... and the flags, of the top-level parser (before the command) and of render's.
_TOP_FLAGS = frozenset({"--debug"})
_RENDER_FLAGS = frozenset({"--json"})


class Begun(NamedTuple):
    """INPUT read and, for a plain JPEG, its decode started, for these arguments."""

    input: str
    crop: str
    service: str | None
    frame: int | None
    data: bytes
    name: str
    decode: EarlyDecode | None

    def matches(self, args: argparse.Namespace) -> bool:
        return (self.input, self.crop, self.service, self.frame) == (
            args.input, args.crop, getattr(args, "service", None), args.frame)


def read_command_line(argv: Sequence[str]) -> dict[str, str] | None:
    """INPUT and the option values of a ``render`` command line, read the way argparse
    reads them (the last of a repeated option wins); None when this plain reading is
    not sure (an abbreviated or unknown option, ``--``, help), which the parser then
    handles alone. Its result is only a guess to start early on: ``start`` compares it
    with what the parser made of the same arguments."""
    values: dict[str, str] = {}
    positionals: list[str] = []
    i = 0
    while i < len(argv):
        arg = argv[i]
        i += 1
        if arg in (_RENDER_FLAGS if positionals else _TOP_FLAGS):
            continue
        name, eq, value = arg.partition("=") if arg.startswith("--") else (arg, "", "")
        if positionals and name in _VALUE_OPTIONS:
            if not eq:
                if i == len(argv):
                    return None
                value = argv[i]
                i += 1
            values[_VALUE_OPTIONS[name]] = value
        elif arg.startswith("-"):
            return None
        else:
            positionals.append(arg)
    if len(positionals) != 2 or positionals[0] != "render":
        return None
    values["input"] = positionals[1]
    return values


def before_parsing(argv: Sequence[str]) -> Begun | None:
    """``main`` calls this with the raw arguments, before it builds the parser: for a
    given or centred crop, read INPUT and start a plain JPEG's decode (core.imaging.early)
    as soon as Pillow has loaded. Nothing is raised or printed here."""
    values = read_command_line(argv)
    if values is None or "crop" not in values:
        return None
    try:
        frame = int(values["frame"]) if "frame" in values else None
        return _begin(values["input"], values["crop"], values.get("service"), frame)
    except Exception:  # noqa: BLE001 - run() meets the same error and reports it
        return None


def _begin(path: str, crop: str, service: str | None, frame: int | None) -> Begun:
    """Read ``path`` and start its decode for this crop, service and frame if it is a
    plain JPEG whose decode can start before the rest has loaded."""
    crop_side = None if _is_centre(crop) else _parse_crop(crop)[2]
    from avatar_studio.core.imaging.files import MAX_PIXELS, read_source

    reading = _in_background(read_source, path)  # read while Pillow loads
    from avatar_studio.core.imaging import early

    data, name = reading()
    side = registry.default_output_side(service or registry.keys()[0])
    decode = None
    if side is not None and frame in (None, 0):
        decode = early.begin(data, crop_side=crop_side, service_side=side,
                             max_pixels=MAX_PIXELS)
    return Begun(path, crop, service, frame, data, name, decode)


def start(args: argparse.Namespace) -> None:
    """Begin decoding INPUT for the render :func:`run` does (``main`` calls this right
    after parsing, before logging and the rest load); ``run`` then renders that source.
    The decode ``before_parsing`` began is taken if the parser read the same INPUT,
    crop, service and frame; else a JPEG's starts here the same way (core.imaging.early),
    before the source and render modules import, and any other image's once it is
    opened (``ImageSource.start_render_base``), at the scale the crop and the service's
    side ask for. Only for a given or centred crop: the default one decodes a proxy for
    the face finder first. Nothing is raised or printed here; ``run`` reports every
    error in its order.
    """
    try:
        args.started_source = _start_decode(args)
    except Exception:  # noqa: BLE001 - run() meets the same error and reports it
        args.started_source = None


def _start_decode(args: argparse.Namespace) -> ImageSource | None:
    if not args.crop:
        return None
    begun = getattr(args, "begun", None)
    if not (isinstance(begun, Begun) and begun.matches(args)):
        begun = _begin(args.input, args.crop, getattr(args, "service", None), args.frame)
    # From here on, beside the decoder when it has started.
    from avatar_studio.core.imaging.source import ImageSource

    source = ImageSource.open_bytes(begun.data, name=begun.name)
    if begun.decode is not None:
        source.adopt_early(begun.decode)
    frame_no = args.frame if args.frame is not None else 0
    source.check_frame(frame_no)
    if source.info.animated:
        return source  # animations decode frame by frame (core.imaging.animation)
    from avatar_studio.core.imaging.render import base_scale

    model, _, _ = _chosen_crop(args, source)
    info = source.info
    spec = spec_from_args(args)
    source.start_render_base(frame_no, base_scale(model.state, info.width, info.height,
                                                  spec))
    return source


def _in_background(func: Callable[..., T], *args: Any) -> Callable[[], T]:
    """Start ``func(*args)`` on a thread; the returned callable waits for it and returns
    its result or raises its exception."""
    done: list[tuple[T | None, BaseException | None]] = []

    def work() -> None:
        try:
            done.append((func(*args), None))
        except BaseException as exc:  # noqa: BLE001 - raised by result()
            done.append((None, exc))

    thread = threading.Thread(target=work, name="read", daemon=True)
    thread.start()

    def result() -> T:
        thread.join()
        value, error = done[0]
        if error is not None:
            raise error
        return cast(T, value)
    return result


def _chosen_crop(args: argparse.Namespace, source: ImageSource
                 ) -> tuple[CropModel, str, str]:
    """The crop model of a given (``--crop X,Y,SIZE``) or centred crop, with how and why,
    rotated and flipped as the options say."""
    from avatar_studio.core.imaging.crop import CropModel

    info = source.info
    model = CropModel(info.width, info.height)
    if _is_centre(args.crop):
        from avatar_studio.core.imaging.smartcrop import centre_square

        x, y, size = centre_square(info.width, info.height)
        how, why = "centre", f"--crop {args.crop.strip()}"
    else:
        x, y, size = _parse_crop(args.crop)
        if x + size > info.width or y + size > info.height:
            raise BadRenderArgument(
                f"--crop {args.crop}: the square does not fit in the "
                f"{info.width}×{info.height} image")
        how, why = "given", "--crop X,Y,SIZE"
    _place(model, args, x, y, size)
    return model, how, why


def _place(model: CropModel, args: argparse.Namespace, x: float, y: float, size: float
           ) -> None:
    model.set_source_box(x, y, size)
    if args.rotate:
        model.rotate(args.rotate // 90)
    for axis in args.flip:
        if axis == "h":
            model.flip_horizontal()
        else:
            model.flip_vertical()


def render_crop_from_args(args: argparse.Namespace, *, spec: RenderSpec | None = None,
                          source: ImageSource | None = None) -> RenderedCrop:
    """:func:`render_from_args`, also telling which crop was used and why."""
    from avatar_studio.core.imaging.animation import render_animation, should_animate
    from avatar_studio.core.imaging.crop import CropModel
    from avatar_studio.core.imaging.render import RenderOptions, render
    from avatar_studio.core.imaging.source import ImageSource

    if args.crop and not _is_centre(args.crop):
        _parse_crop(args.crop)  # a bad value is reported before the input is opened
    background = _parse_colour(args.background) if args.background else None
    if source is None:
        source = ImageSource.open_path(args.input)
    info = source.info
    frame_no = args.frame if args.frame is not None else 0
    source.check_frame(frame_no)
    spec = spec or spec_from_args(args)
    if info.animated and not spec.keeps_animation and args.frame is None:
        # Said once per render, as the window says it: the service takes one still frame.
        print(f"warning: {spec.name} keeps one frame of an animation; frame 0 is used "
              "(--frame N picks another).", file=sys.stderr)
    if args.crop:
        model, how, why = _chosen_crop(args, source)
    else:
        # Imported here: a render with --crop does not load the detector (ctypes, ...).
        from avatar_studio.core.imaging.faces import DETECT_SIDE, default_face_finder
        from avatar_studio.core.imaging.smartcrop import frame

        # The detector looks at a reduced copy: a DCT-scaled decode is plenty.
        proxy = source.proxy(frame_no, max_side=2 * DETECT_SIDE)
        framing = frame(proxy.image, info.width, info.height,
                        finder=default_face_finder(), min_side=spec.output_side)
        how, why = framing.source, framing.reason
        model = CropModel(info.width, info.height)
        _place(model, args, framing.x, framing.y, framing.size)
    options = RenderOptions(frame=frame_no, background=background)
    result: RenderResult
    if should_animate(source, spec, args.frame):
        result = render_animation(source, model.state, spec=spec, options=options)
    else:
        result = render(source, model.state, spec=spec, options=options)
    return RenderedCrop(source, result, model.source_box(), how, why)


def _number(v: float) -> int | float:
    return int(v) if float(v).is_integer() else round(v, 2)


def spec_from_args(args: argparse.Namespace) -> RenderSpec:
    """The default render spec of ``--service`` (x when the command has no such option)."""
    key = getattr(args, "service", None) or registry.keys()[0]
    try:
        return registry.default_spec(key)
    except registry.UnknownService:
        raise BadRenderArgument(f"--service {key!r}: known services are "
                                f"{', '.join(registry.keys())}") from None


def check_output(path: Path, input_path: Path) -> None:
    """Refuse an OUTPUT that is the input file, a folder, a device, a FIFO or a link to
    one of those (before any work): only regular files are written, and never replaced
    by something else (``-o /dev/null`` leaves /dev/null alone and exits 9)."""
    from avatar_studio.core import safefile

    try:
        same = path.exists() and path.resolve() == input_path.resolve()
    except OSError:
        same = False
    if same:
        raise CannotWriteOutput(f"{path} is the input file; choose another OUTPUT")
    if path.is_dir():
        raise CannotWriteOutput(f"{path} is a folder; give a file name for OUTPUT")
    try:
        safefile.resolve_target(path)
    except safefile.NotARegularFile as exc:
        raise CannotWriteOutput(f"{exc}; give the name of a file to write",
                                hint="(to check a render without keeping it, write "
                                "it to a file in a temporary folder)") from None
    except OSError:
        pass  # reported when writing, with the reason


def write_output(path: Path, data: bytes, input_path: Path) -> None:
    """Write ``data`` to ``path`` atomically (core.safefile); never over the input file."""
    from avatar_studio.core import safefile

    check_output(path, input_path)
    try:
        safefile.write_file(path, data)
    except safefile.NotARegularFile as exc:
        raise CannotWriteOutput(f"{exc}; give the name of a file to write") from None
    except OSError as exc:
        raise CannotWriteOutput(f"cannot write {path}: {exc.strerror or exc}") from None


def run(args: argparse.Namespace) -> int:
    import json

    out = Path(args.output)
    check_output(out, Path(args.input))
    done = render_crop_from_args(args, source=getattr(args, "started_source", None))
    result, box = done.result, done.crop
    write_output(out, result.data, Path(args.input))
    if args.json:
        print(json.dumps({"path": args.output, "format": result.format,
                          "width": result.width, "height": result.height,
                          "bytes": len(result.data),
                          "crop": {"x": _number(box.x), "y": _number(box.y),
                                   "size": _number(box.size)},
                          "crop_source": done.crop_source,
                          "crop_reason": done.crop_reason}))
    else:
        print(f"wrote {args.output}: {result.format} {result.width}×{result.height}, "
              f"{len(result.data):,} bytes; crop {_number(box.x)},{_number(box.y)},"
              f"{_number(box.size)} ({done.crop_source}: {done.crop_reason})",
              file=sys.stdout)
    return 0
