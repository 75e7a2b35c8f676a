"""The manifest is checked completely before anything runs: each bad entry is exit 2 naming spot and key,
and nothing is written. Also: the sources given on the command line, and --ray without Ray."""
from __future__ import annotations

import sys
from pathlib import Path

import pytest
from click.testing import CliRunner

from cli import main
from dubkit.campaign.manifest import ManifestError, read_manifest

GOOD = """
[defaults]
to = "ja"
engine = "preview"
source_script = "ad.en.srt"

[[spot]]
source = "ad.mp4"
name = "ad30"

[[spot]]
source = "cut.mp4"
to = ["ja", "ko"]
max_attempts = 2
"""


def _write(folder: Path, text: str) -> Path:
    path = folder / "campaign.toml"
    path.write_text(text, "utf-8")
    return path


def test_a_good_manifest_gives_one_checked_spot_per_entry_in_its_own_folder(spots_dir, tmp_path):
    spots = read_manifest(_write(spots_dir, GOOD), tmp_path / "OUT")
    assert [s.name for s in spots] == ["ad30", "cut"]
    assert [s.options.out_dir for s in spots] == [tmp_path / "OUT" / "ad30", tmp_path / "OUT" / "cut"]
    assert [lang.code for lang in spots[1].options.languages] == ["ja", "ko"]
    assert spots[1].options.max_attempts == 2 and spots[0].options.source_script == spots_dir / "ad.en.srt"


BAD = [
    ('to = "xx"', "'to'"),
    ("max_attempts = 0", "'max_attempts'"),
    ('engine = "fast"', "'engine'"),
    ('glossary = "missing.toml"', "'glossary'"),
    ('scripts = "nowhere"', "'scripts'"),
    ("loudness = \"loud\"", "'loudness'"),
    ('colour = "red"', "'colour'"),
    ('voice_tracks = {de = "ad.mp4"}', "'voice_tracks'"),
]


@pytest.mark.parametrize(("line", "key"), BAD)
def test_each_bad_entry_is_exit_2_naming_the_spot_and_the_key_and_nothing_is_written(spots_dir, tmp_path, line, key):
    replaced = 'to = ["ja", "ko"]' if line.startswith("to =") else "max_attempts = 2"
    manifest = _write(spots_dir, GOOD.replace(replaced, line))
    out = tmp_path / "OUT"
    result = CliRunner().invoke(main, ["localize", "--manifest", str(manifest), "-o", str(out)])
    assert result.exit_code == 2, result.output
    assert "spot 'cut'" in result.output and key in result.output
    assert not out.exists()


def test_every_problem_of_a_manifest_is_reported_at_once(spots_dir, tmp_path):
    text = GOOD.replace('name = "ad30"', 'name = "ad30"\nseed = -1').replace("max_attempts = 2", 'mode = "x"')
    with pytest.raises(ManifestError) as err:
        read_manifest(_write(spots_dir, text), tmp_path)
    assert "spot 'ad30': key 'seed'" in str(err.value) and "spot 'cut': key 'mode'" in str(err.value)


def test_a_missing_source_and_two_spots_of_one_name_are_named(spots_dir, tmp_path):
    text = GOOD.replace('source = "cut.mp4"', 'source = "gone.mp4"')
    with pytest.raises(ManifestError, match=r"spot 2: key 'source': .*gone.mp4 does not exist"):
        read_manifest(_write(spots_dir, text), tmp_path)
    with pytest.raises(ManifestError, match="ad.mp4 and .*ad.mp4 have the same name 'ad'"):
        read_manifest(_write(spots_dir, GOOD.replace('name = "ad30"', "").replace("cut.mp4", "ad.mp4")), tmp_path)


def test_two_sources_with_one_stem_are_exit_2_naming_both(spots_dir, tmp_path):
    other = tmp_path / "elsewhere"
    other.mkdir()
    (other / "ad.mp4").write_bytes((spots_dir / "ad.mp4").read_bytes())
    result = CliRunner().invoke(main, ["localize", str(spots_dir / "ad.mp4"), str(other / "ad.mp4"), "--to", "ja",
                                       "-o", str(tmp_path / "OUT")])
    assert result.exit_code == 2
    assert str(spots_dir / "ad.mp4") in result.output and str(other / "ad.mp4") in result.output
    assert not (tmp_path / "OUT").exists()


def test_ray_without_ray_installed_says_how_to_install_it(spots_dir, tmp_path, monkeypatch):
    monkeypatch.setitem(sys.modules, "ray", None)  # what `import ray` meets where the extra is not installed
    result = CliRunner().invoke(main, ["localize", str(spots_dir / "ad.mp4"), "--to", "ja", "--engine", "preview",
                                       "--ray", "auto", "-o", str(tmp_path / "OUT")])
    assert result.exit_code == 2
    assert 'pip install "dubkit[ray]"' in result.output
