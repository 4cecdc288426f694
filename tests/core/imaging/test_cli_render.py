"""``avatar-studio-cli render``: bytes written, JSON line, exit codes, short errors."""

from __future__ import annotations

import io
import json
import subprocess
import sys
from pathlib import Path

import pytest
from avatar_studio.core import cli
from avatar_studio.core.imaging.crop import CropModel
from avatar_studio.core.imaging.faces import check_cpu, cpu_flags
from avatar_studio.core.imaging.render import render
from avatar_studio.core.imaging.source import ImageSource
from avatar_studio.core.services.x.spec import X_SPEC
from PIL import Image

from tests.core.imaging import facesamples, samples
from tests.core.imaging.conftest import sha256

FACES = check_cpu(cpu_flags()) is None


def _run(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    code = cli.main(["render", *args])
    out, err = capsys.readouterr()
    return code, out, err


@pytest.fixture
def photo(tmp_path: Path) -> Path:
    path = tmp_path / "photo.jpg"
    path.write_bytes(samples.encode(samples.photo_like(900, 600), "JPEG", quality=90,
                                    exif=samples.exif_bytes(1, gps=True)))
    return path


def test_writes_exactly_the_upload_bytes(capsys, photo, tmp_path):
    out = tmp_path / "avatar.bin"  # the name is used as given, not "fixed"
    code, stdout, err = _run(capsys, str(photo), "-o", str(out), "--crop", "centre")
    assert code == 0, err
    assert err == ""
    src = ImageSource.open_path(photo)
    expected = render(src, CropModel(900, 600).state, spec=X_SPEC)
    assert out.read_bytes() == expected.data
    assert "JPEG 400×400" in stdout
    assert "crop 150,0,600 (centre: --crop centre)" in stdout
    assert sorted(p.name for p in tmp_path.iterdir()) == ["avatar.bin", "photo.jpg"]


def test_json_line(capsys, photo, tmp_path):
    out = tmp_path / "a.jpg"
    code, stdout, _ = _run(capsys, str(photo), "-o", str(out), "--json", "--crop", "center")
    assert code == 0
    lines = stdout.splitlines()
    assert len(lines) == 1
    doc = json.loads(lines[0])
    assert doc == {"path": str(out), "format": "JPEG", "width": 400, "height": 400,
                   "bytes": out.stat().st_size, "crop": {"x": 150, "y": 0, "size": 600},
                   "crop_source": "centre", "crop_reason": "--crop center"}


def _portrait(tmp_path: Path, orientation: int = 1) -> tuple[Path, facesamples.Variant]:
    """The astronaut pasted off-centre into a 1280 × 819 backdrop."""
    v = next(v for v in facesamples.pasted_variants("astronaut.jpg")
             if v.name.endswith("@1280x819,k=1.0,at=0.85,0.2"))
    path = tmp_path / "portrait.jpg"
    path.write_bytes(facesamples.exif_jpeg(v.image, orientation))
    return path, v


@pytest.mark.skipif(not FACES, reason="no face detector on this CPU")
@pytest.mark.parametrize("orientation", [1, 6])
def test_default_crop_frames_the_face(capsys, tmp_path, orientation):
    path, v = _portrait(tmp_path, orientation)
    out = tmp_path / "a.jpg"
    code, stdout, err = _run(capsys, str(path), "-o", str(out), "--json")
    assert code == 0, err
    doc = json.loads(stdout)
    assert (doc["crop_source"], doc["crop_reason"]) == ("face", "1 face found")
    crop = doc["crop"]
    fx, fy, fw, fh = v.face
    # The face inside, in upright pixels.
    assert crop["x"] < fx < fx + fw < crop["x"] + crop["size"]
    assert crop["y"] <= fy < fy + fh < crop["y"] + crop["size"]
    assert crop["size"] == 400  # twice the face is less than the 400 px the upload needs
    src = ImageSource.open_path(path)
    expected = render(src, CropModel.from_source_box(
        src.info.width, src.info.height, crop["x"], crop["y"], crop["size"]).state,
        spec=X_SPEC)
    assert out.read_bytes() == expected.data


def test_default_crop_without_a_face_says_so(capsys, tmp_path):
    path = tmp_path / "flat.png"
    Image.new("RGB", (900, 500), (90, 90, 90)).save(path)
    code, stdout, _ = _run(capsys, str(path), "-o", str(tmp_path / "o.png"), "--json")
    assert code == 0
    doc = json.loads(stdout)
    assert doc["crop"] == {"x": 200, "y": 0, "size": 500}
    assert doc["crop_source"] == "centre"
    assert doc["crop_reason"].endswith("; nothing stands out")


def test_given_crop_is_reported_as_given(capsys, photo, tmp_path):
    code, stdout, _ = _run(capsys, str(photo), "-o", str(tmp_path / "o.jpg"), "--json",
                           "--crop", "100,50,300", "--rotate", "90")
    assert code == 0
    doc = json.loads(stdout)
    assert doc["crop"] == {"x": 100, "y": 50, "size": 300}
    assert doc["crop_source"] == "given"


def test_crop_rotate_flip_and_background(capsys, tmp_path):
    src = tmp_path / "q.png"
    im = samples.quadrants(200, 100).convert("RGBA")
    im.putpixel((0, 0), (0, 0, 0, 0))
    src.write_bytes(samples.encode(im, "PNG"))
    out = tmp_path / "o.png"
    code, stdout, err = _run(capsys, str(src), "-o", str(out), "--crop", "0,0,100",
                             "--rotate", "90", "--flip", "h", "--background", "#ffffff",
                             "--json")
    assert code == 0, err
    assert json.loads(stdout)["width"] == 100
    with Image.open(out) as opened:
        result = opened.convert("RGB")
        # Left half of the image (red over blue), turned clockwise (blue left, red right)
        # then mirrored: red on the left, blue on the right.
        assert samples.max_channel_diff(samples.pixel(result, (10, 50)), (230, 30, 30)) <= 2
        assert samples.max_channel_diff(samples.pixel(result, (90, 50)), (40, 60, 220)) <= 2
        # The transparent top-left pixel: turned to the top right, mirrored back, flattened.
        assert result.getpixel((0, 0)) == (255, 255, 255)


def test_frame_choice(capsys, tmp_path):
    frames = [Image.new("RGB", (40, 40), c) for c in ((255, 0, 0), (0, 0, 255))]
    src = tmp_path / "a.gif"
    src.write_bytes(samples.encode(frames[0], "GIF", save_all=True,
                                   append_images=frames[1:]))
    out = tmp_path / "o.png"
    assert _run(capsys, str(src), "-o", str(out), "--frame", "1")[0] == 0
    with Image.open(out) as result:
        assert result.convert("RGB").getpixel((20, 20)) == (0, 0, 255)
    code, _, err = _run(capsys, str(src), "-o", str(out), "--frame", "5")
    assert code == 18
    assert "has 2 frames; frame 5 does not exist" in err


@pytest.mark.parametrize(("args", "code", "needle"), [
    (["--crop", "1,2"], 2, "expected X,Y,SIZE"),
    (["--crop", "a,b,c"], 2, "expected X,Y,SIZE"),
    (["--crop", "800,0,200"], 2, "does not fit in the 900×600 image"),
    (["--crop", "0,0,0"], 2, "SIZE > 0"),
    (["--background", "notacolour"], 2, "is not a colour"),
])
def test_bad_options(capsys, photo, tmp_path, args, code, needle):
    out = tmp_path / "o.jpg"
    got, stdout, err = _run(capsys, str(photo), "-o", str(out), *args)
    assert got == code
    assert needle in err
    assert len(err.strip().splitlines()) <= 2
    assert stdout == ""
    assert not out.exists()


def test_bad_inputs_exit_codes_and_untouched_source(capsys, tmp_path):
    out = tmp_path / "o.png"
    damaged = tmp_path / "cut.jpg"
    damaged.write_bytes(samples.encode(samples.photo_like(300, 300), "JPEG")[:3000])
    text = tmp_path / "a.txt"
    text.write_text("hello")
    empty = tmp_path / "e.png"
    empty.touch()
    (tmp_path / "dir").mkdir()
    cases = [(tmp_path / "missing.png", 11, "no such file"), (tmp_path / "dir", 12, "folder"),
             (empty, 13, "is empty"), (text, 14, "not an image"),
             (damaged, 15, "damaged or incomplete")]
    for path, code, needle in cases:
        before = sha256(path) if path.is_file() else None
        got, _, err = _run(capsys, str(path), "-o", str(out))
        assert (got, needle in err) == (code, True), err
        assert err.startswith("error: ")
        assert len(err.strip().splitlines()) <= 2
        assert "Traceback" not in err
        if before is not None:
            assert sha256(path) == before
    assert not out.exists()


def test_never_overwrites_the_input(capsys, photo):
    before = sha256(photo)
    code, _, err = _run(capsys, str(photo), "-o", str(photo))
    assert code == 9
    assert "is the input file" in err
    assert sha256(photo) == before


def test_output_folder_is_refused(capsys, photo, tmp_path):
    code, _, err = _run(capsys, str(photo), "-o", str(tmp_path))
    assert code == 9
    assert "is a folder" in err


def test_installed_command_prints_no_traceback(tmp_path, photo):
    exe = Path(sys.executable).with_name("avatar-studio-cli")
    out = tmp_path / "o.jpg"
    ok = subprocess.run([str(exe), "render", str(photo), "-o", str(out), "--json"],
                        capture_output=True, text=True, timeout=60, check=False)
    assert ok.returncode == 0, ok.stderr
    assert json.loads(ok.stdout)["bytes"] == out.stat().st_size
    with Image.open(io.BytesIO(out.read_bytes())) as im:
        assert im.format == "JPEG"
    bad = subprocess.run([str(exe), "render", str(tmp_path / "nope.png"), "-o", str(out)],
                         capture_output=True, text=True, timeout=60, check=False)
    assert bad.returncode == 11
    assert bad.stderr.strip() == "error: nope.png: no such file"


def test_render_for_a_named_service(capsys, photo, tmp_path):
    out_default, out_x = tmp_path / "default.bin", tmp_path / "x.bin"
    assert _run(capsys, str(photo), "-o", str(out_default), "--crop", "centre")[0] == 0
    assert _run(capsys, str(photo), "-o", str(out_x), "--crop", "centre",
                "--service", "X")[0] == 0
    assert out_x.read_bytes() == out_default.read_bytes()  # x is the default
    code, stdout, err = _run(capsys, str(photo), "-o", str(tmp_path / "n.bin"),
                             "--service", "myspace")
    assert code == 2
    assert "--service 'myspace'" in err
    assert "known services are x" in err
    assert stdout == ""
