"""core.safefile through its users: ``render -o`` and the log file.

Devices are made with mknod in tmp_path (the suite may run as root: a test must never
aim at the real /dev/null, which the old writer replaced).
"""

from __future__ import annotations

import os
import stat
import threading
import time
from pathlib import Path

import pytest
from avatar_studio.core import cli, logsetup, safefile
from PIL import Image

EXIT_CANNOT_WRITE = 9


@pytest.fixture
def picture(tmp_path: Path) -> Path:
    path = tmp_path / "in.png"
    Image.new("RGB", (60, 40), (200, 30, 30)).save(path)
    return path


def _render(picture: Path, out: Path | str) -> int:
    return cli.main(["render", str(picture), "-o", str(out)])


def _char_device(path: Path) -> Path:
    try:
        os.mknod(path, stat.S_IFCHR | 0o666, os.makedev(1, 3))  # a copy of /dev/null
    except PermissionError:
        pytest.skip("mknod needs root (CAP_MKNOD)")
    return path


def test_device_output_is_refused_and_left_alone(tmp_path, picture, capsys):
    null = _char_device(tmp_path / "null")
    assert _render(picture, null) == EXIT_CANNOT_WRITE
    err = capsys.readouterr().err
    assert err.startswith(f"error: {null} is a character device, not a regular file")
    assert stat.S_ISCHR(os.lstat(null).st_mode)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["in.png", "null"]


def test_symlink_to_a_device_is_refused(tmp_path, picture, capsys):
    link = tmp_path / "out.png"
    link.symlink_to(_char_device(tmp_path / "null"))
    assert _render(picture, link) == EXIT_CANNOT_WRITE
    assert "is a link to a character device" in capsys.readouterr().err
    assert link.is_symlink()
    assert stat.S_ISCHR(os.stat(link).st_mode)


def test_fifo_output_is_refused_without_blocking(tmp_path, picture, capsys):
    fifo = tmp_path / "out.png"
    os.mkfifo(fifo)
    assert _render(picture, fifo) == EXIT_CANNOT_WRITE
    assert "is a FIFO (named pipe), not a regular file" in capsys.readouterr().err
    assert stat.S_ISFIFO(os.lstat(fifo).st_mode)


def test_symlink_to_a_file_replaces_the_file_and_keeps_the_link(tmp_path, picture):
    real = tmp_path / "real" / "avatar.png"
    real.parent.mkdir()
    real.write_bytes(b"old")
    os.chmod(real, 0o640)
    link = tmp_path / "avatar.png"
    link.symlink_to(real)
    assert _render(picture, link) == 0
    assert link.is_symlink()
    assert link.resolve() == real
    with Image.open(real) as im:
        assert im.size == (40, 40)
    assert stat.S_IMODE(real.stat().st_mode) == 0o640  # a replaced file keeps its mode
    assert sorted(p.name for p in real.parent.iterdir()) == ["avatar.png"]


def test_dangling_symlink_is_refused(tmp_path, picture, capsys):
    link = tmp_path / "avatar.png"
    link.symlink_to(tmp_path / "missing" / "x.png")
    assert _render(picture, link) == EXIT_CANNOT_WRITE
    assert "a link to a missing file" in capsys.readouterr().err


def test_a_250_character_name_works(tmp_path, picture):
    out = tmp_path / ("a" * 246 + ".png")
    assert len(out.name) == 250
    assert _render(picture, out) == 0
    assert out.stat().st_size > 0
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(["in.png", out.name])


def test_a_255_byte_multibyte_name_works(tmp_path):
    name = "é" * 125 + ".png"  # 254 bytes in UTF-8
    safefile.write_file(tmp_path / name, b"data")
    assert (tmp_path / name).read_bytes() == b"data"


def test_new_output_gets_the_umask_mode(tmp_path, picture):
    old = os.umask(0o027)
    try:
        assert _render(picture, tmp_path / "o.png") == 0
    finally:
        os.umask(old)
    assert stat.S_IMODE((tmp_path / "o.png").stat().st_mode) == 0o640


def test_stale_temp_files_are_cleaned_and_live_ones_kept(tmp_path):
    stale = tmp_path / f".settings.json.0badf00d{safefile.TEMP_SUFFIX}"
    stale.write_bytes(b"x" * 1000)
    past = time.time() - 60
    os.utime(stale, (past, past))
    unrelated = tmp_path / ".keep.tmp"
    unrelated.write_bytes(b"not ours")
    # A temp file a live writer holds (locked) is never deleted, however old.
    live = tmp_path / f".other.1234abcd{safefile.TEMP_SUFFIX}"
    fd = os.open(live, os.O_WRONLY | os.O_CREAT, 0o600)
    import fcntl

    fcntl.flock(fd, fcntl.LOCK_EX)
    os.utime(live, (past, past))
    try:
        safefile.write_file(tmp_path / "settings.json", b"{}", private=True)
        names = sorted(p.name for p in tmp_path.iterdir())
    finally:
        os.close(fd)
    assert names == sorted([".keep.tmp", live.name, "settings.json"])


def test_private_files_and_folders(tmp_path):
    target = tmp_path / "a" / "b" / "settings.json"
    safefile.write_file(target, b"{}", private=True)
    assert stat.S_IMODE(target.stat().st_mode) == 0o600
    assert stat.S_IMODE(target.parent.stat().st_mode) == 0o700
    assert stat.S_IMODE(target.parent.parent.stat().st_mode) == 0o700


def test_fsync_before_rename(tmp_path, monkeypatch):
    order: list[str] = []
    real_fsync, real_replace = os.fsync, os.replace

    def fsync(fd: int) -> None:
        order.append("fsync")
        real_fsync(fd)

    def replace(a: str, b: str) -> None:
        order.append("replace")
        real_replace(a, b)

    monkeypatch.setattr(os, "fsync", fsync)
    monkeypatch.setattr(os, "replace", replace)
    safefile.write_file(tmp_path / "f", b"data")
    assert order == ["fsync", "replace", "fsync"]  # the file, the rename, the folder


def test_read_file_never_blocks_on_a_fifo_nor_reads_a_device(tmp_path):
    fifo = tmp_path / "fifo"
    os.mkfifo(fifo)
    result: list[BaseException] = []
    reader = threading.Thread(target=lambda: _catch(result, safefile.read_file, fifo, 100))
    reader.start()
    reader.join(5)
    assert not reader.is_alive(), "read_file blocked on a FIFO"
    assert isinstance(result[0], safefile.NotARegularFile)
    zero = tmp_path / "zero"
    zero.symlink_to("/dev/zero")
    with pytest.raises(safefile.NotARegularFile, match="character device"):
        safefile.read_file(zero, 100)
    big = tmp_path / "big"
    big.write_bytes(b"x" * 101)
    with pytest.raises(safefile.TooLarge):
        safefile.read_file(big, 100)


def _catch(into: list[BaseException], func, *args) -> None:
    try:
        func(*args)
    except BaseException as exc:  # noqa: BLE001 - handed to the test thread
        into.append(exc)


def test_log_file_is_private(isolated_dirs, picture, tmp_path):
    state = isolated_dirs["state"]
    state.mkdir(parents=True)
    os.chmod(state, 0o755)  # noqa: S103 - as an older release left it
    log = logsetup.log_file()
    log.parent.mkdir(mode=0o755)
    log.write_text("written by an older release\n")
    os.chmod(log, 0o644)
    assert _render(picture, tmp_path / "o.png") == 0
    assert stat.S_IMODE(log.stat().st_mode) == 0o600
    assert stat.S_IMODE(log.parent.stat().st_mode) == 0o700
