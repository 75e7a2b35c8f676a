"""The example spot: its translations fit their cues, and make_example.py rebuilds the committed files."""
from __future__ import annotations

import hashlib
import os
import subprocess
import sys
from pathlib import Path

import pytest

from dubkit.adapters.av import probe
from dubkit.adapters.subtitles import read_script
from dubkit.engines.base import WindowRequest
from dubkit.engines.preview import PreviewEngine
from langs import MAX_SPEED_FACTOR, get_language

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"


def test_the_spot_is_a_short_25_fps_video_with_audio():
    info = probe(EXAMPLES / "ad.mp4")
    assert 6.0 <= info.duration <= 8.0 and info.fps == pytest.approx(25.0) and info.has_audio
    assert (EXAMPLES / "ad.mp4").stat().st_size < 500_000


@pytest.mark.parametrize("code", ["zh", "ko", "ja"])
def test_each_translation_has_the_english_cues_and_fits_them_in_its_preview_voice(code):
    english = read_script(EXAMPLES / "ad.en.srt").cues
    cues = read_script(EXAMPLES / f"ad.{code}.srt").cues
    assert [(c.start, c.end) for c in cues] == [(c.start, c.end) for c in english]
    last_speech_end = max(c.end for c in english) + 0.01
    render = PreviewEngine().render(WindowRequest(0, 0.0, last_speech_end, get_language(code), cues, seed=0))
    assert render.info["overrun_s"] == 0.0 and render.info["truncated_s"] == 0.0
    assert render.info["speed"] <= MAX_SPEED_FACTOR


@pytest.mark.slow
def test_make_example_rebuilds_the_committed_spot_byte_for_byte(tmp_path):
    pytest.importorskip("skimage")
    root = EXAMPLES.parent
    subprocess.run([sys.executable, str(EXAMPLES / "make_example.py"), "--out", str(tmp_path)], check=True,
                   cwd=root, env={**os.environ, "PYTHONPATH": str(root)}, capture_output=True)
    for name in ("ad.mp4", "ad.me.m4a", "ad.en.srt"):
        built, committed = (tmp_path / name).read_bytes(), (EXAMPLES / name).read_bytes()
        assert hashlib.sha256(built).hexdigest() == hashlib.sha256(committed).hexdigest(), name
