"""Files: content hashes, atomic writes, the run lock and the output-folder checks."""
import os
import subprocess
import sys

import pytest

from dubkit.errors import OutputError
from dubkit.store.files import (
    RunLock,
    atomic_output,
    atomic_write_text,
    check_output_dir,
    file_digest,
)


def test_file_digest_follows_content(tmp_path):
    f = tmp_path / "a.bin"
    f.write_bytes(b"one")
    d1 = file_digest(f)
    f.write_bytes(b"two!")
    assert file_digest(f) != d1


def test_atomic_write_leaves_no_temp_files_and_replaces_whole(tmp_path):
    target = tmp_path / "r.json"
    atomic_write_text(target, "old")
    atomic_write_text(target, "new")
    assert target.read_text() == "new"
    assert [p.name for p in tmp_path.iterdir()] == ["r.json"]


def test_atomic_output_keeps_the_old_file_when_the_writer_fails(tmp_path):
    target = tmp_path / "ad.zh.mp4"
    target.write_bytes(b"approved render")
    with pytest.raises(RuntimeError):
        with atomic_output(target) as tmp:
            tmp.write_bytes(b"half")
            raise RuntimeError("ffmpeg died")
    assert target.read_bytes() == b"approved render"
    assert [p.name for p in tmp_path.iterdir()] == ["ad.zh.mp4"]


def test_second_concurrent_run_is_refused(tmp_path):
    holder = subprocess.Popen(
        [sys.executable, "-c",
         "import sys,time; from dubkit.store.files import RunLock\n"
         f"with RunLock({str(tmp_path)!r}):\n print('held', flush=True); time.sleep(30)"],
        stdout=subprocess.PIPE, text=True, cwd=os.getcwd(),
    )
    try:
        assert holder.stdout.readline().strip() == "held"
        with pytest.raises(OutputError, match="another dubkit run"):
            with RunLock(tmp_path):
                pass
    finally:
        holder.kill()
        holder.wait()
    with RunLock(tmp_path):  # released when the holder dies
        pass


def test_unwritable_output_folder_is_refused(tmp_path):
    if os.geteuid() == 0:
        pytest.skip("root can write anywhere")
    ro = tmp_path / "ro"
    ro.mkdir()
    ro.chmod(0o500)
    try:
        with pytest.raises(OutputError, match="not writable"):
            check_output_dir(ro)
    finally:
        ro.chmod(0o700)


def test_output_path_that_is_a_file_is_refused(tmp_path):
    f = tmp_path / "out"
    f.write_text("x")
    with pytest.raises(OutputError, match=f"output path {f} exists and is not a folder"):
        check_output_dir(f)


def test_too_little_free_space_is_refused_before_any_work(tmp_path):
    with pytest.raises(OutputError, match="MB free"):
        check_output_dir(tmp_path, need_bytes=1 << 60)


def test_output_folder_under_a_file_cannot_be_created(tmp_path):
    (tmp_path / "plain").write_text("x")
    with pytest.raises(OutputError, match="cannot create output folder"):
        check_output_dir(tmp_path / "plain" / "out")


def test_a_full_disk_mid_write_keeps_the_old_file_and_leaves_no_temp(tmp_path, monkeypatch):
    import errno

    target = tmp_path / "report.json"
    atomic_write_text(target, "approved")

    def no_space(fd):
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr("dubkit.store.files.os.fsync", no_space)
    with pytest.raises(OutputError, match="No space left"):
        atomic_write_text(target, "new report")
    assert target.read_text() == "approved"
    assert [p.name for p in tmp_path.iterdir()] == ["report.json"]

