"""The delivered timeline streamed block by block: the same sound as one buffer, never more than a window
or CHUNK_S of it at once, and loudness levelled on files exactly as it was on whole buffers."""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pyloudnorm
import pytest

from dubkit.adapters import audio as audio_files
from dubkit.adapters.audio import float_wav_blocks, wav_writer
from dubkit.stages.delivery import loudness
from dubkit.stages.delivery.loudness import level, limiter_curve, true_peaks
from dubkit.stages.mix import SAMPLE_RATE, Bed, mix_window, stem_blocks, window_spans, write_stems
from dubkit.stages.probe import probe_source

EXAMPLE = Path(__file__).resolve().parents[3] / "examples" / "ad.mp4"
SPANS = [(0.5, 2.0), (2.0, 3.1), (5.0, 7.6)]  # two joined windows, one on its own


def write_float_wav(path, blocks, rate: int, channels: int = 2, frames: int | None = None):
    """The blocks as one float32 WAV through the adapter's writer (as the delivery stage writes its stems)."""
    with wav_writer(path, rate, channels, frames=frames) as out:
        for block in blocks:
            out.write(block)
    return path


def _windows(rate: int = 24_000):
    rng = np.random.default_rng(3)
    spans = window_spans(SPANS)
    return [(span, (0.2 * rng.standard_normal((round((span.end - span.start) * rate), 1))).astype(np.float32), rate)
            for span in spans]


@pytest.fixture(scope="module")
def bed():
    return Bed(EXAMPLE, ducked=True, digest=probe_source(EXAMPLE).digest)


def test_blocks_cover_the_timeline_once_and_are_never_longer_than_a_window_or_chunk(bed, monkeypatch):
    monkeypatch.setattr("dubkit.stages.mix.CHUNK_S", 1.5)  # several bed chunks between the windows
    windows, duration = _windows(), 8.0
    blocks = list(stem_blocks(bed, duration, windows))
    longest = max(round(1.5 * SAMPLE_RATE), *(round((s.end - s.start) * SAMPLE_RATE) + 1 for s, _, _ in windows))
    assert all(len(d) == len(e) <= longest for d, e in blocks)
    assert sum(len(d) for d, _ in blocks) == round(duration * SAMPLE_RATE)
    dialogue, effects = (np.concatenate(x) for x in zip(*blocks, strict=True))
    for span, speech, rate in windows:  # inside each window: exactly what the gate heard
        a, b = round(span.start * SAMPLE_RATE), round(span.end * SAMPLE_RATE)
        assert np.array_equal((dialogue + effects)[a:b], mix_window(bed, span, speech, rate))
    assert not dialogue[: round(0.5 * SAMPLE_RATE)].any()  # no speech before the first window


def test_stems_written_to_files_are_the_stem_blocks(bed, tmp_path):
    windows = _windows()
    dialogue, effects = (np.concatenate(x) for x in zip(*stem_blocks(bed, 8.0, windows), strict=True))
    files = write_stems(bed, 8.0, windows, tmp_path)
    assert files.samples == len(dialogue)
    for path, expected in ((files.dialogue, dialogue), (files.effects, effects), (files.mix, dialogue + effects)):
        assert np.array_equal(np.concatenate(list(float_wav_blocks(path))), expected)


def _whole_buffer_limiter(mix: np.ndarray, start_db: float, target: float, aim: float) -> tuple[np.ndarray, float]:
    """The limiter as it ran on whole buffers before delivery streamed (the reference), from the same first
    gain (loudnorm's measurement)."""
    meter = pyloudnorm.Meter(SAMPLE_RATE)
    gain_db = start_db
    peaks = true_peaks(mix, SAMPLE_RATE)
    for _ in range(6):
        curve = limiter_curve(peaks * 10 ** (gain_db / 20), aim, SAMPLE_RATE)
        measured = meter.integrated_loudness(mix * (10 ** (gain_db / 20) * curve)[:, None])
        if abs(measured - target) <= loudness.TOLERANCE_LU:
            break
        gain_db += target - measured
    return (mix * (10 ** (gain_db / 20) * curve)[:, None]).astype(np.float32), gain_db


def test_the_limiter_levels_files_block_by_block_as_it_did_whole_buffers(tmp_path, monkeypatch):
    monkeypatch.setattr(audio_files, "BLOCK", 4_800)  # 100 ms blocks: every step crosses many block edges
    rng = np.random.default_rng(5)
    n = 4 * SAMPLE_RATE
    dialogue = (0.02 * rng.standard_normal((n, 2))).astype(np.float32)
    dialogue[::9_000] = 0.9  # clicks: at -14 LUFS their true peaks would pass the ceiling
    effects = (0.01 * rng.standard_normal((n, 2))).astype(np.float32)
    mix = dialogue + effects
    paths = {name: write_float_wav(tmp_path / f"{name}.wav", [x], SAMPLE_RATE)
             for name, x in (("dialogue", dialogue), ("effects", effects), ("mix", mix))}
    out, measured = level(paths["mix"], {"dialogue": paths["dialogue"], "effects": paths["effects"]},
                          -14.0, -1.0, 0.5, tmp_path)
    assert measured.method == "limited" and measured.limiter_db < -1.0
    start = -14.0 - measured.before["input_i"]
    expected, gain_db = _whole_buffer_limiter(mix, start, -14.0, -1.5)
    got = {name: np.concatenate(list(float_wav_blocks(path))) for name, path in out.items()}
    assert measured.gain_db == pytest.approx(gain_db, abs=1e-3)
    assert np.abs(got["mix"] - expected).max() < 1e-5
    assert np.abs(got["dialogue"] + got["effects"] - got["mix"]).max() < 1e-6  # one curve for every stem
    assert np.abs(true_peaks(got["mix"], SAMPLE_RATE)).max() <= 10 ** (-1.5 / 20) + 1e-6


def test_the_linear_gain_reaches_every_stem(tmp_path, monkeypatch):
    monkeypatch.setattr(audio_files, "BLOCK", 10_000)
    t = np.arange(3 * SAMPLE_RATE) / SAMPLE_RATE
    dialogue = np.stack([0.05 * np.sin(2 * np.pi * 440 * t)] * 2, axis=1).astype(np.float32)
    effects = np.stack([0.02 * np.sin(2 * np.pi * 97 * t)] * 2, axis=1).astype(np.float32)
    paths = {name: write_float_wav(tmp_path / f"{name}.wav", [x], SAMPLE_RATE)
             for name, x in (("dialogue", dialogue), ("effects", effects), ("mix", dialogue + effects))}
    out, measured = level(paths["mix"], {"dialogue": paths["dialogue"], "effects": paths["effects"]},
                          -23.0, -1.0, 0.5, tmp_path)
    assert measured.method == "linear"
    gain = 10 ** (measured.gain_db / 20)
    got = {name: np.concatenate(list(float_wav_blocks(path))) for name, path in out.items()}
    assert np.abs(got["dialogue"] - gain * dialogue).max() < 1e-6
    assert np.abs(got["effects"] - gain * effects).max() < 1e-6
    mid = slice(SAMPLE_RATE // 2, -SAMPLE_RATE // 2)  # loudnorm's own gain, away from its edges
    assert np.abs(got["mix"][mid] - gain * (dialogue + effects)[mid]).max() < 2e-3
