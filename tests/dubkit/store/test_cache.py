"""The stage cache: keys, entries, damaged entries, leftovers of a killed run."""

import numpy as np

from dubkit.store.cache import StageCache, cache_key


def test_key_changes_with_any_input_and_not_with_dict_order():
    a = cache_key("render", seed=1, opts={"x": 1, "y": 2})
    assert a == cache_key("render", opts={"y": 2, "x": 1}, seed=1)
    assert a != cache_key("render", seed=2, opts={"x": 1, "y": 2})
    assert a != cache_key("gate", seed=1, opts={"x": 1, "y": 2})


def test_json_and_arrays_round_trip(tmp_path):
    cache = StageCache(tmp_path)
    cache.put_json("s", "k", {"a": 1.5, "b": [1, 2]})
    cache.put_arrays("s", "k", {"audio": np.arange(6, dtype=np.float32).reshape(3, 2)})
    assert cache.get_json("s", "k") == {"a": 1.5, "b": [1, 2]}
    np.testing.assert_array_equal(cache.get_arrays("s", "k")["audio"], np.arange(6).reshape(3, 2))
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
    from dubkit.store.cache import remove_stale_temps

    (tmp_path / "ad.zh.mp4").write_bytes(b"finished")
    (tmp_path / ".report.json.abc123.tmp").write_bytes(b"half")
    (tmp_path / ".ad.zh.partial77.mp4").write_bytes(b"half")
    (tmp_path / ".assemble-xyz").mkdir()
    (tmp_path / ".assemble-xyz" / "mix.wav").write_bytes(b"half")
    cache = StageCache(tmp_path)
    cache.put_json("render", "k", {"a": 1})
    (tmp_path / ".dubkit-cache" / "render" / ".k.npz.zz.tmp").write_bytes(b"half")
    (tmp_path / "report-masks").mkdir()
    (tmp_path / "report-masks" / ".window-0.png.q1.tmp").write_bytes(b"half")
    assert remove_stale_temps(tmp_path, ("report-masks",)) == 5
    assert not list((tmp_path / "report-masks").iterdir())
    (tmp_path / "report-masks").rmdir()
    assert sorted(p.name for p in tmp_path.iterdir()) == [".dubkit-cache", "ad.zh.mp4"]
    assert [p.name for p in (tmp_path / ".dubkit-cache" / "render").iterdir()] == ["k.json"]


def _sealed_entries(tmp_path):
    cache = StageCache(tmp_path)
    for key, value in (("a", 1.0), ("b", 2.0)):
        cache.put_json("gate", key, {"error_rate": value})
        cache.put_arrays("render", key, {"audio": np.full(8, value, np.float32)})
    return tmp_path / ".dubkit-cache"


def test_every_entry_carries_its_checksum_and_the_cache_version(tmp_path):
    import json

    from dubkit.store.cache import CACHE_VERSION

    root = _sealed_entries(tmp_path)
    doc = json.loads((root / "gate" / "a.json").read_text("utf-8"))
    assert doc["dubkit_cache"] == CACHE_VERSION and doc["stage"] == "gate" and doc["key"] == "a"
    assert doc["value"] == {"error_rate": 1.0} and len(doc["sha256"]) == 64
    seal = json.loads((root / "render" / "a.npz.seal").read_text("utf-8"))
    assert seal["key"] == "a" and seal["dubkit_cache"] == CACHE_VERSION


def test_swapped_zeroed_or_other_version_entries_read_as_missing_and_are_reported_once(tmp_path, caplog):
    import json

    root = _sealed_entries(tmp_path)
    a, b = root / "render" / "a.npz", root / "render" / "b.npz"
    data_a, data_b = a.read_bytes(), b.read_bytes()
    a.write_bytes(data_b)
    b.write_bytes(data_a)
    (root / "gate" / "a.json").write_bytes(bytes(40))
    doc = json.loads((root / "gate" / "b.json").read_text("utf-8"))
    doc["dubkit_cache"] += 1
    (root / "gate" / "b.json").write_text(json.dumps(doc), "utf-8")
    cache = StageCache(tmp_path)
    for _ in range(2):
        assert cache.get_arrays("render", "a") is None and cache.get_arrays("render", "b") is None
        assert cache.get_json("gate", "a") is None and cache.get_json("gate", "b") is None
    assert set(cache.damaged) == {"render/a.npz", "render/b.npz", "gate/a.json", "gate/b.json"}
    assert "cache version" in cache.damaged["gate/b.json"]
    assert sum("render/a.npz" in r.getMessage() for r in caplog.records) == 1  # said once


def test_a_bare_entry_of_an_older_dubkit_is_recomputed(tmp_path):
    (tmp_path / ".dubkit-cache" / "cuts").mkdir(parents=True)
    (tmp_path / ".dubkit-cache" / "cuts" / "k.json").write_text('{"cuts": []}', "utf-8")
    cache = StageCache(tmp_path)
    assert cache.get_json("cuts", "k") is None and "older dubkit" in cache.damaged["cuts/k.json"]


def test_a_cache_folder_that_is_a_link_is_refused(tmp_path):
    import pytest

    from dubkit.errors import OutputError
    from dubkit.store.cache import check_cache_folder

    (tmp_path / "elsewhere").mkdir()
    (tmp_path / "out").mkdir()
    (tmp_path / "out" / ".dubkit-cache").symlink_to(tmp_path / "elsewhere")
    with pytest.raises(OutputError, match="symbolic link"):
        check_cache_folder(tmp_path / "out")
