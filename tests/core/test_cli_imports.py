"""Which modules a CLI process imports: ``render`` must not load the network, keyring,
OAuth or sandbox code (issue 15: a third of its run time). Not a timing test: it checks
the import graph in a real process."""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
from pathlib import Path

import pytest
from avatar_studio.core import cli
from avatar_studio.core.services import registry
from PIL import Image

from tests.core.imaging import samples

#: Top-level packages and our modules that only sign-in, upload and the sandbox need.
NOT_FOR_RENDER = ("requests", "requests_oauthlib", "oauthlib", "keyring", "werkzeug",
                  "urllib3", "PySide6", "avatar_studio.core.services.x.client",
                  "avatar_studio.core.sandbox", "avatar_studio.core.credentials",
                  "avatar_studio.core.accounts",
                  # Formats the input is not in: Pillow's other plugins, pillow-heif.
                  "pillow_heif", "PIL._avif", "PIL._webp")


def _imported_by(argv: list[str]) -> tuple[int, set[str]]:
    code = ("import json, sys\n"
            "from avatar_studio.core.cli import main\n"
            f"rc = main({argv!r})\n"
            "print(json.dumps([rc, sorted(sys.modules)]))\n")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True, timeout=120)
    rc, modules = json.loads(out.stdout.strip().splitlines()[-1])
    return rc, set(modules)


def _late(modules: set[str]) -> list[str]:
    return sorted(m for m in modules
                  if any(m == p or m.startswith(p + ".") for p in NOT_FOR_RENDER))


def test_render_imports_no_network_keyring_or_sandbox_code(tmp_path: Path) -> None:
    src = tmp_path / "in.jpg"
    src.write_bytes(samples.encode(samples.photo_like(300, 200), "JPEG", quality=90,
                                   exif=samples.exif_bytes(6),
                                   icc_profile=samples.adobe_rgb_profile()))
    rc, modules = _imported_by(["render", str(src), "-o", str(tmp_path / "out.jpg")])
    assert rc == 0
    assert (tmp_path / "out.jpg").stat().st_size > 0
    assert "avatar_studio.core.imaging.render" in modules  # the probe saw the real work
    assert _late(modules) == []


def test_a_command_word_selects_only_its_module() -> None:
    # The map main() uses to import one command module must name every command the
    # modules register, and each of them must parse with its module alone.
    registered = _choices(cli.build_parser())
    assert registered == set(cli.COMMANDS)
    for command in registered:
        assert command in _choices(cli.build_parser(command))


def test_the_light_default_spec_is_the_services_own() -> None:
    for key in tuple(registry.keys()):
        assert registry.default_spec(key) == registry.get(key).default_spec


def _choices(parser: argparse.ArgumentParser) -> set[str]:
    subs = [a for a in parser._actions if isinstance(a, argparse._SubParsersAction)]
    return set(subs[0].choices)


@pytest.mark.parametrize(("argv", "expected"), [
    (["render", "a.jpg"], "render"), (["--debug", "whoami"], "whoami"),
    (["--version"], None), ([], None), (["--", "render"], None),
])
def test_command_name(argv: list[str], expected: str | None) -> None:
    assert cli.command_name(argv) == expected


def test_an_unknown_command_still_lists_every_command(capsys: pytest.CaptureFixture[str]
                                                      ) -> None:
    with pytest.raises(SystemExit) as exc:
        cli.main(["bogus"])
    assert exc.value.code == 2
    err = capsys.readouterr().err
    for command in cli.COMMANDS:
        assert command in err


#: What ``render`` loads only after its input's decode has started (its ``start`` hook):
#: the log file's handler, the encoder, animation and the colour engine load beside the
#: decoder, not before it (issue 15: the decode is the longest step of a render).
AFTER_THE_DECODE_STARTS = ("logging.handlers", "platformdirs", "avatar_studio.core.safefile",
                           "avatar_studio.core.logfile", "avatar_studio.core.paths",
                           "avatar_studio.core.imaging.encode",
                           "avatar_studio.core.imaging.animation", "PIL.ImageCms", "ctypes")
#: ... and for a JPEG, whose decode starts as soon as Pillow has loaded, before the
#: arguments are parsed (render.before_parsing, core.imaging.early), also argparse (and
#: the shutil its help formatter imports), the value types (dataclasses, inspect), the
#: source, render and crop modules and the service's spec.
AFTER_A_JPEG_DECODE_STARTS = (*AFTER_THE_DECODE_STARTS, "argparse", "shutil",
                              "dataclasses", "inspect",
                              "avatar_studio.core.imaging.source",
                              "avatar_studio.core.imaging.render",
                              "avatar_studio.core.imaging.crop",
                              "avatar_studio.core.imaging.spec",
                              "avatar_studio.core.services.x.spec")

#: Runs main(argv) with spies: the modules loaded when each decode started (early or
#: not) and the number of pixel decodes made, early or not.
_SPIED_MAIN = """\
import json, sys
from avatar_studio.core.imaging import early
from avatar_studio.core.imaging.source import ImageSource
seen, decodes = [], []
early_run, start, load = early.EarlyDecode._run, ImageSource.start_render_base, \\
    ImageSource._load_stored
def spy_early(self):
    decodes.append("early")
    return early_run(self)
def spy_start(self, *a):
    if self._early is None:
        seen.append(sorted(sys.modules))
    return start(self, *a)
def spy_load(self, *a):
    decodes.append("source")
    return load(self, *a)
early.EarlyDecode._run = spy_early
ImageSource.start_render_base, ImageSource._load_stored = spy_start, spy_load
early_init = early.EarlyDecode.__init__
def spy_early_init(self, *a):
    seen.append(sorted(m for m in sys.modules if m not in KEEP))
    return early_init(self, *a)
early.EarlyDecode.__init__ = spy_early_init
from avatar_studio.core.cli import main
rc = main(ARGV)
print(json.dumps([rc, seen, decodes]))
"""


def _spied_render(argv: list[str]) -> tuple[int, list[list[str]], list[str]]:
    """``main(argv)`` in a fresh process, with what _SPIED_MAIN records. The modules the
    spies themselves load (the source module, for its class) are left out of what the
    early decode saw."""
    keep = ("avatar_studio.core.imaging.source", "dataclasses", "inspect",
            "avatar_studio.core.imaging.colour", "avatar_studio.core.imaging.pngpipe")
    code = (_SPIED_MAIN.replace("ARGV", repr(argv))
            .replace("KEEP", repr(keep)))
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True, timeout=120)
    rc, seen, decodes = json.loads(out.stdout.strip().splitlines()[-1])
    return rc, seen, decodes


def test_render_starts_a_jpeg_decode_as_soon_as_pillow_has_loaded(tmp_path: Path) -> None:
    src = tmp_path / "in.jpg"
    src.write_bytes(samples.encode(samples.photo_like(1600, 1000), "JPEG", quality=90,
                                   exif=samples.exif_bytes(6),
                                   icc_profile=samples.adobe_rgb_profile()))
    argv = ["render", str(src), "--crop", "0,0,1000", "-o", str(tmp_path / "out.jpg")]
    rc, seen, decodes = _spied_render(argv)
    assert rc == 0
    assert len(seen) == 1  # started once (early), before logging was set up ...
    assert "PIL.JpegImagePlugin" in seen[0]
    assert sorted(m for m in AFTER_A_JPEG_DECODE_STARTS if m in seen[0]) == []
    assert decodes == ["early"]  # ... and the render used that decode, and no other
    with Image.open(tmp_path / "out.jpg") as im:
        assert im.size == (400, 400)


def test_render_starts_any_other_decode_before_the_rest_loads(tmp_path: Path) -> None:
    src = tmp_path / "in.png"
    src.write_bytes(samples.encode(samples.photo_like(1600, 1000), "PNG"))
    argv = ["render", str(src), "--crop", "0,0,1000", "-o", str(tmp_path / "out.png")]
    rc, seen, decodes = _spied_render(argv)
    assert rc == 0
    assert len(seen) == 1  # started once (ImageSource.start_render_base) ...
    assert sorted(m for m in AFTER_THE_DECODE_STARTS if m in seen[0]) == []
    assert decodes == ["source"]  # ... and that decode was the one the render used
    with Image.open(tmp_path / "out.png") as im:
        assert im.size == (400, 400)


@pytest.mark.parametrize("key", registry.keys())
def test_the_early_decodes_output_side_is_the_services_own(key: str) -> None:
    assert registry.default_output_side(key) == registry.default_spec(key).output_side


def test_an_unknown_service_has_no_output_side() -> None:
    assert registry.default_output_side("myspace") is None


def test_the_early_decode_module_needs_only_pillow() -> None:
    # What it imports is on the way to every JPEG render's decode: no value types
    # (dataclasses pulls in inspect), no source, render or spec modules.
    code = ("import json, sys\n"
            "before = set(sys.modules)\n"
            "import avatar_studio.core.imaging.early\n"
            "print(json.dumps(sorted(set(sys.modules) - before)))\n")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True, timeout=60)
    loaded = set(json.loads(out.stdout))
    ours = {m for m in loaded if m.startswith("avatar_studio")}
    assert ours == {"avatar_studio", "avatar_studio.core", "avatar_studio.core.imaging",
                    "avatar_studio.core.imaging.early", "avatar_studio.core.imaging.scale"}
    assert "PIL.Image" in loaded
    assert not loaded & {"dataclasses", "inspect", "PIL.ImageCms"}
