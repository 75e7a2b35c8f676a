"""Stage cache, atomic writes, run lock and the output-folder checks."""
import os
import subprocess
import sys

import numpy as np
import pytest

from dubkit.cache import (
    RunLock, StageCache, atomic_output, atomic_write_text, cache_key, check_output_dir, file_digest,
)
from dubkit.errors import OutputError


def test_key_changes_with_any_input_and_not_with_dict_order():
    a = cache_key("render", seed=1, opts={"x": 1, "y": 2})
    assert a == cache_key("render", opts={"y": 2, "x": 1}, seed=1)
    assert a != cache_key("render", seed=2, opts={"x": 1, "y": 2})
    assert a != cache_key("gate", seed=1, opts={"x": 1, "y": 2})


def test_file_digest_follows_content(tmp_path):
    f = tmp_path / "a.bin"
    f.write_bytes(b"one")
    d1 = file_digest(f)
    f.write_bytes(b"two!")
    assert file_digest(f) != d1


def test_json_and_arrays_round_trip(tmp_path):
    cache = StageCache(tmp_path)
    cache.put_json("s", "k", {"a": 1.5, "b": [1, 2]})
    cache.put_arrays("s", "k", {"audio": np.arange(6, dtype=np.float32).reshape(3, 2)})
    assert cache.get_json("s", "k") == {"a": 1.5, "b": [1, 2]}
    np.testing.assert_array_equal(cache.get_arrays("s", "k")["audio"], np.arange(6).reshape(3, 2))
    assert cache.count("s") == 1
    assert cache.get_json("s", "missing") is None


def test_disabled_cache_reads_nothing_but_still_writes(tmp_path):
    StageCache(tmp_path).put_json("s", "k", {"a": 1})
    forced = StageCache(tmp_path, enabled=False)
    assert forced.get_json("s", "k") is None
    forced.put_json("s", "k", {"a": 2})
    assert StageCache(tmp_path).get_json("s", "k") == {"a": 2}


def test_disabled_cache_reads_back_what_it_wrote_itself(tmp_path):
    # --force: later stages of the same run load the renders earlier stages just stored
    StageCache(tmp_path).put_arrays("s", "old", {"x": np.zeros(3)})
    forced = StageCache(tmp_path, enabled=False)
    forced.put_json("s", "k", {"a": 2})
    forced.put_arrays("s", "k", {"x": np.ones(3)})
    assert forced.get_json("s", "k") == {"a": 2} and forced.exists("s", "k", ".npz")
    np.testing.assert_array_equal(forced.get_arrays("s", "k")["x"], np.ones(3))
    assert forced.get_arrays("s", "old") is None and not forced.exists("s", "old", ".npz")


def test_a_truncated_entry_is_treated_as_missing(tmp_path):
    cache = StageCache(tmp_path)
    cache.put_arrays("s", "k", {"x": np.zeros(100)})
    path = tmp_path / ".dubkit-cache" / "s" / "k.npz"
    path.write_bytes(path.read_bytes()[:20])
    assert cache.get_arrays("s", "k") is None


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
         "import sys,time; from dubkit.cache import RunLock\n"
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

    monkeypatch.setattr("dubkit.cache.os.fsync", no_space)
    with pytest.raises(OutputError, match="No space left"):
        atomic_write_text(target, "new report")
    assert target.read_text() == "approved"
    assert [p.name for p in tmp_path.iterdir()] == ["report.json"]


def test_frames_round_trip_through_a_near_lossless_clip(tmp_path):
    rng = np.random.default_rng(0)
    frames = np.repeat(rng.integers(0, 255, (1, 32, 48, 3), dtype=np.uint8), 10, axis=0)
    frames[:, :, :24] = np.arange(10, dtype=np.uint8)[:, None, None, None] * 20  # each frame differs
    cache = StageCache(tmp_path)
    cache.put_video("render", "k", frames, 25.0)
    back = cache.get_video("render", "k", 10, 25.0)
    assert back.shape == frames.shape
    assert np.abs(back.astype(int) - frames.astype(int)).mean() < 3
    assert [round(f[:, :24].mean() / 20) for f in back] == list(range(10))
    assert StageCache(tmp_path, enabled=False).get_video("render", "k", 10, 25.0) is None


def test_leftovers_of_a_killed_run_are_removed_and_finished_files_kept(tmp_path):
    from dubkit.cache import remove_stale_temps

    (tmp_path / "ad.zh.mp4").write_bytes(b"finished")
    (tmp_path / ".report.json.abc123.tmp").write_bytes(b"half")
    (tmp_path / ".ad.zh.partial77.mp4").write_bytes(b"half")
    (tmp_path / ".assemble-xyz").mkdir()
    (tmp_path / ".assemble-xyz" / "mix.wav").write_bytes(b"half")
    cache = StageCache(tmp_path)
    cache.put_json("render", "k", {"a": 1})
    (tmp_path / ".dubkit-cache" / "render" / ".k.npz.zz.tmp").write_bytes(b"half")
    assert remove_stale_temps(tmp_path) == 4
    assert sorted(p.name for p in tmp_path.iterdir()) == [".dubkit-cache", "ad.zh.mp4"]
    assert [p.name for p in (tmp_path / ".dubkit-cache" / "render").iterdir()] == ["k.json"]
