"""Duration estimates against real recorded speech with known transcripts (Debian test-data packages).

English: the 5 LibriVox lines of pocketsphinx-testdata (they chose DELIVERY_PACE). French: the Asterisk prompts
of asterisk-core-sounds-fr(-wav), not used to choose it. The speech span is measured with the Silero VAD
bundled in faster-whisper (first speech onset to last offset).
"""
from __future__ import annotations

import gzip
import os
import re
import statistics
from pathlib import Path

import numpy as np
import pytest

from langs import estimate_duration

LIBRIVOX = Path("/usr/share/pocketsphinx/test/data/librivox")
ASTERISK_FR = Path("/usr/share/asterisk/sounds/fr")
ASTERISK_FR_TEXT = Path("/usr/share/doc/asterisk-core-sounds-fr/core-sounds-fr.txt.gz")

# Stated tolerance: each LibriVox line within 25 % of its measured span, their mean ratio within 10 %;
# French prompts: median ratio within 10 %, 80 % of prompts within 25 %.
LINE_TOLERANCE = 0.25
MEAN_TOLERANCE = 0.10


def require(path: Path, package: str) -> None:
    """Skip when the Debian test data is missing, but fail in CI (DUBKIT_REQUIRE_TEST_DATA=1) naming the package."""
    if not path.exists():
        message = f"{path} is missing: install the Debian package {package}"
        if os.environ.get("DUBKIT_REQUIRE_TEST_DATA"):
            pytest.fail(message)
        pytest.skip(message)


def speech_span_s(path: Path) -> float:
    soundfile = pytest.importorskip("soundfile")
    vad = pytest.importorskip("faster_whisper.vad")
    from scipy.signal import resample_poly

    audio, rate = soundfile.read(path, dtype="float32")
    if audio.ndim > 1:
        audio = audio.mean(axis=1)
    if rate != 16000:
        audio = resample_poly(audio, 16000, rate).astype(np.float32)
    stamps = vad.get_speech_timestamps(audio, vad.VadOptions(min_silence_duration_ms=150, speech_pad_ms=30))
    assert stamps, f"no speech found in {path}"
    return (stamps[-1]["end"] - stamps[0]["start"]) / 16000


def test_english_librivox_lines_are_estimated_within_tolerance():
    require(LIBRIVOX / "transcription", "pocketsphinx-testdata")
    ratios = []
    for line in (LIBRIVOX / "transcription").read_text().splitlines():
        match = re.match(r"<s> (.*) </s> \((.*)\)", line.strip())
        assert match, line
        text, file_id = match.groups()
        ratio = estimate_duration(text, "en") / speech_span_s(LIBRIVOX / f"{file_id}.wav")
        assert abs(ratio - 1) <= LINE_TOLERANCE, (file_id, ratio)
        ratios.append(ratio)
    assert len(ratios) == 5
    assert abs(statistics.mean(ratios) - 1) <= MEAN_TOLERANCE, ratios


def _french_prompts() -> list[tuple[Path, str]]:
    prompts = []
    with gzip.open(ASTERISK_FR_TEXT, "rt", encoding="utf-8") as lines:
        for line in lines:
            name, sep, text = line.partition(":")
            text = text.strip()
            path = ASTERISK_FR / f"{name.strip()}.wav"
            # Whole sentences only: skip sound effects "[tones]" "(ahooga)" and one- or two-word prompts.
            if sep and not line.startswith(";") and path.exists() and not re.search(r"[\[(]", text) \
                    and len(text.split()) >= 6:
                prompts.append((path, text))
    return prompts


def test_french_prompts_are_estimated_within_tolerance():
    require(ASTERISK_FR_TEXT, "asterisk-core-sounds-fr")
    require(ASTERISK_FR, "asterisk-core-sounds-fr-wav")
    prompts = _french_prompts()[:60]
    assert len(prompts) >= 40
    ratios = [estimate_duration(text, "fr") / speech_span_s(path) for path, text in prompts]
    assert abs(statistics.median(ratios) - 1) <= MEAN_TOLERANCE, statistics.median(ratios)
    within = sum(abs(r - 1) <= LINE_TOLERANCE for r in ratios) / len(ratios)
    assert within >= 0.8, (within, sorted(ratios))
