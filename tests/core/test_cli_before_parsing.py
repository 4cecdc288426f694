"""``render``'s first reading of its raw arguments (core/cli/render.py, before_parsing):
the same INPUT, crop, service and frame as argparse, or no guess at all; and what it
began is used only when the parser agrees."""

from __future__ import annotations

import argparse
from pathlib import Path

import pytest
from avatar_studio.core import cli
from avatar_studio.core.cli import render as render_cli
from PIL import Image

from tests.core.imaging import samples


def _render_parser(parser: argparse.ArgumentParser) -> argparse.ArgumentParser:
    subs = [a for a in parser._actions if isinstance(a, argparse._SubParsersAction)]
    sub = subs[0].choices["render"]
    assert isinstance(sub, argparse.ArgumentParser)
    return sub


def _options(parser: argparse.ArgumentParser) -> tuple[dict[str, str], set[str]]:
    """The parser's options taking one value (by dest), and its flags."""
    values: dict[str, str] = {}
    flags: set[str] = set()
    for action in parser._actions:
        for option in action.option_strings:
            if action.nargs == 0:
                flags.add(option)
            else:
                assert action.nargs is None  # one value each
                values[option] = action.dest
    return values, flags


def test_the_option_tables_are_the_parsers_own() -> None:
    top = cli.build_parser("render")
    values, flags = _options(_render_parser(top))
    assert values == render_cli._VALUE_OPTIONS
    assert flags - {"-h", "--help"} == set(render_cli._RENDER_FLAGS)
    top_values, top_flags = _options(top)
    assert top_values == {}
    assert top_flags - {"-h", "--help", "--version"} == set(render_cli._TOP_FLAGS)


ARGVS = [
    ["render", "in.jpg", "--crop", "0,0,100", "-o", "out.jpg"],
    ["render", "--crop=centre", "in.jpg", "--output=out.jpg"],
    ["--debug", "render", "in.jpg", "--crop", "1,2,3", "-o", "o.jpg", "--json"],
    ["render", "in.jpg", "--crop", "1,2,3", "--crop", "centre", "-o", "o.jpg"],
    ["render", "in.jpg", "--crop", "1,2,3", "--service", "bluesky", "-o", "o.jpg"],
    ["render", "in.jpg", "--crop", "1,2,3", "--frame", "0", "-o", "o.jpg"],
    ["render", "in.jpg", "--crop", "1,2,3", "--frame", "2", "--rotate", "90", "--flip",
     "h", "--flip", "v", "--background", "white", "-o", "o.jpg"],
    ["render", "in.jpg", "-o", "o.jpg"],
    ["render", "-o", "render", "render"],
    ["render", "in.jpg", "--cro", "1,2,3", "-o", "o.jpg"],       # abbreviated
    ["render", "in.jpg", "--crop", "1,2,3", "-oo.jpg"],          # attached value
    ["render", "--", "in.jpg", "--crop", "1,2,3", "-o", "o.jpg"],
    ["render", "a.jpg", "b.jpg", "--crop", "1,2,3", "-o", "o.jpg"],
    ["render", "in.jpg", "--crop"],
    ["render", "in.jpg", "--help"],
    ["--debug", "--version"],
    ["upload", "in.jpg", "--crop", "1,2,3"],
    [],
]


@pytest.mark.parametrize("argv", ARGVS)
def test_the_first_reading_agrees_with_argparse_or_makes_no_guess(argv: list[str]) -> None:
    guess = render_cli.read_command_line(argv)
    if guess is None:
        return
    args = cli.build_parser("render").parse_args(argv)
    assert args.command == "render"
    assert guess["input"] == args.input
    assert guess.get("crop") == args.crop
    assert guess.get("service") == args.service
    assert (int(guess["frame"]) if "frame" in guess else None) == args.frame


def test_the_plain_command_lines_are_read() -> None:
    # Not all of ARGVS may come back None: the first ones are what users type.
    guesses = [render_cli.read_command_line(argv) for argv in ARGVS[:7]]
    assert None not in guesses


@pytest.fixture
def photo(tmp_path: Path) -> Path:
    path = tmp_path / "in.jpg"
    path.write_bytes(samples.encode(samples.photo_like(1200, 800), "JPEG", quality=90))
    return path


def test_a_jpeg_with_a_crop_starts_decoding(photo: Path) -> None:
    begun = render_cli.before_parsing(["render", str(photo), "--crop", "0,0,800",
                                       "-o", "out.jpg"])
    assert begun is not None
    assert begun.decode is not None
    assert begun.data == photo.read_bytes()
    assert begun.decode.scale == 1  # 800 px for 400: half resolution at least
    assert begun.decode.result().size == (1200, 800)


@pytest.mark.parametrize("extra", [[], ["--frame", "1"], ["--frame", "x"],
                                   ["--service", "myspace", "--crop", "centre"]])
def test_nothing_is_decoded_without_a_crop_frame_0_or_a_known_service(
        photo: Path, extra: list[str]) -> None:
    argv = ["render", str(photo), "-o", "out.jpg", *extra]
    begun = render_cli.before_parsing(argv)
    assert begun is None or begun.decode is None


def test_a_png_is_read_but_not_decoded_early(tmp_path: Path) -> None:
    path = tmp_path / "in.png"
    path.write_bytes(samples.encode(samples.photo_like(600, 400), "PNG"))
    begun = render_cli.before_parsing(["render", str(path), "--crop", "centre", "-o", "o"])
    assert begun is not None
    assert begun.decode is None
    assert begun.data == path.read_bytes()


def test_a_missing_input_begins_nothing(tmp_path: Path) -> None:
    argv = ["render", str(tmp_path / "nope.jpg"), "--crop", "centre", "-o", "o.jpg"]
    assert render_cli.before_parsing(argv) is None  # run() says what is wrong


def test_what_was_begun_is_used_only_for_the_same_arguments(photo: Path) -> None:
    argv = ["render", str(photo), "--crop", "0,0,800", "-o", "out.jpg"]
    begun = render_cli.before_parsing(argv)
    assert begun is not None
    parser = cli.build_parser("render")
    assert begun.matches(parser.parse_args(argv))
    for other in (["--crop", "centre"], ["--service", "bluesky"], ["--frame", "0"]):
        assert not begun.matches(parser.parse_args([*argv, *other]))
    assert not begun.matches(parser.parse_args(
        ["render", str(photo) + "x", "--crop", "0,0,800", "-o", "out.jpg"]))


def test_a_render_whose_arguments_disagree_decodes_for_the_parsed_ones(
        capsys: pytest.CaptureFixture[str], photo: Path, tmp_path: Path) -> None:
    # A guess for another crop stands for any reading the parser did not share.
    out = tmp_path / "out.jpg"
    argv = ["render", str(photo), "--crop", "0,0,800", "-o", str(out)]
    parser = cli.build_parser("render")
    args = parser.parse_args(argv)
    begun = render_cli.before_parsing(
        ["render", str(photo), "--crop", "0,0,400", "-o", str(out)])
    assert begun is not None
    assert begun.decode is not None
    args.begun = begun
    render_cli.start(args)
    source = args.started_source
    assert source is not None
    # Not the guessed decode: one started for the parsed arguments.
    assert source._early is not None
    assert source._early is not begun.decode
    assert render_cli.run(args) == 0
    with Image.open(out) as im:
        assert im.size == (400, 400)
    capsys.readouterr()
