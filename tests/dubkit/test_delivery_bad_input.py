"""Bad delivery options to `dubkit localize`: exit status 2 and a one-line error naming the value, before any work."""
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner

from cli import main
from dubkit.adapters import ffmpeg
from tests.dubkit.fonts import DEJAVU, latin_only_font

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"


def _localize(out: Path, *args: str):
    return CliRunner().invoke(main, ["localize", str(EXAMPLES / "ad.mp4"), "--to", "zh", "-o", str(out),
                                     "--source-script", str(EXAMPLES / "ad.en.srt"), *args])


def _refused(result, *words: str) -> None:
    assert result.exit_code == 2, (result.exit_code, result.output)
    for word in words:
        assert word in result.output, (word, result.output)
    assert "Traceback" not in result.output


def test_an_unknown_profile_is_named(tmp_path):
    _refused(_localize(tmp_path / "out", "--deliver", "cinema"), "cinema", "--deliver")
    assert not (tmp_path / "out").exists()


def test_a_missing_subtitle_font_is_named(tmp_path):
    _refused(_localize(tmp_path / "out", "--burn-in", "--subtitle-font", str(tmp_path / "nope.ttf")), "nope.ttf")
    assert not (tmp_path / "out").exists()


def test_a_subtitle_font_without_the_script_is_named_with_the_language(tmp_path):
    latin_only_font()
    _refused(_localize(tmp_path / "out", "--deliver", "social", "--subtitle-font", str(DEJAVU)),
             DEJAVU.name, "does not cover zh")
    assert not (tmp_path / "out").exists()


def test_stems_without_an_me_stem_or_source_audio_to_duck_are_refused(tmp_path):
    silent = ffmpeg.encode_frames(np.zeros((25, 32, 32, 3), np.uint8), 25, tmp_path / "silent.mp4")
    result = CliRunner().invoke(main, ["localize", str(silent), "--to", "zh", "-o", str(tmp_path / "out"),
                                       "--source-script", str(EXAMPLES / "ad.en.srt"), "--stems"])
    _refused(result, "--stems", "--me-track", "silent.mp4", "no audio")
    assert not (tmp_path / "out").exists()


@pytest.mark.parametrize("bad", ["-80", "0"])
def test_a_loudness_override_out_of_range_is_named(tmp_path, bad):
    _refused(_localize(tmp_path / "out", "--loudness", bad), f"--loudness {float(bad)}")
