"""Loudness to a delivery spec: ffmpeg's two-pass loudnorm, true-peak limiting when it must, and the
measurement of the delivered file.

1. loudnorm's first pass measures the mix (integrated loudness, true peak, range);
2. when the gain to the target keeps the true peak under the aim (the ceiling less the profile's
   headroom for the encoder), loudnorm's second pass applies it to the mix as one linear gain, and each
   stem gets that same gain, so the stems still add up to the mix;
3. otherwise the gain is applied and a look-ahead true-peak limiter (4x oversampled peaks, 10 ms
   attack, 10 ms hold and release) pulls the peaks under the aim; its one gain curve is computed on the
   mix and applied to every stem, and the gain is re-aimed until the limited mix meets the target.
The delivered file is then measured twice: ffmpeg's ebur128 (integrated, true peak) and pyloudnorm's
K-weighting. Every step streams: the mix and stems are files (stages/mix.py `write_stems`), read and
written in blocks of 10 s, so a 10-minute mix never sits in memory (230 MB of float32 if it did).
"""
from __future__ import annotations

import math
from contextlib import ExitStack
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np

from dubkit.adapters import audio as audio_files
from dubkit.adapters import ffmpeg
from dubkit.adapters.audio import float_wav_blocks, read_wav_span, resample, wav_frames, wav_writer
from dubkit.adapters.av import audio_blocks
from dubkit.adapters.loudness import IntegratedLoudness, integrated_loudness

OVERSAMPLE = 4  # ITU-R BS.1770-4 true peak: 4x oversampling at 48 kHz
ATTACK_S = 0.010  # the limiter's look-ahead, hold and release half-window
TOLERANCE_LU = 0.1  # re-aim the limited mix until it is this close to the target
PEAK_MARGIN = 256  # samples read either side of a block for its true peaks (the 4x filter reaches ~10)


@dataclass(frozen=True)
class Loudness:
    """What the loudness step did and found: the mix before (loudnorm's first pass), the method, the gain,
    the deepest limiting, and the delivered file measured by ebur128 and pyloudnorm."""

    target: float
    ceiling: float
    aim: float  # the true peak aimed at: ceiling less the encoder headroom
    method: str  # "linear" | "limited" | "silent"
    gain_db: float
    before: dict[str, float]  # input_i, input_tp, input_lra
    limiter_db: float = 0.0  # the most gain reduction the limiter applied (<= 0)
    delivered_i: float | None = None  # ebur128 on the delivered file
    delivered_tp: float | None = None
    delivered_pyloudnorm: float | None = None

    def within_spec(self, tolerance: float = 0.5) -> bool:
        if self.method == "silent" or self.delivered_i is None:
            return True
        return abs(self.delivered_i - self.target) <= tolerance and self.delivered_tp <= self.ceiling

    def to_json(self) -> dict:
        """As plain JSON: infinite values (silence) as None."""
        return {k: _finite(v) for k, v in asdict(self).items()}


def _finite(value):
    if isinstance(value, dict):
        return {k: _finite(v) for k, v in value.items()}
    return None if isinstance(value, float) and not math.isfinite(value) else value


def level(mix: Path, stems: dict[str, Path], target: float, ceiling: float, headroom: float, scratch: Path,
          rate: int = 48_000) -> tuple[dict[str, Path], Loudness]:
    """The `mix` (a float WAV on disk) brought to `target` LUFS with true peaks under `ceiling - headroom`
    dBTP, as float32 WAVs in `scratch`: {"mix": ...} and each of `stems` (name -> WAV; they add up to the
    mix) with the mix's gain, so they still add up to it. Every pass streams the files block by block."""
    aim = ceiling - headroom
    measured = ffmpeg.loudnorm_measure(mix, target=target, true_peak=aim)
    before = {k: measured[k] for k in ("input_i", "input_tp", "input_lra")}
    if wav_frames(mix) < rate // 2 or not math.isfinite(measured["input_i"]) or measured["input_i"] < -69.0:
        return {"mix": mix, **stems}, Loudness(target, ceiling, aim, "silent", 0.0, before)
    gain_db = target - measured["input_i"]
    scratch = Path(scratch)
    if measured["input_tp"] + gain_db <= aim:
        # loudnorm's linear mode multiplies every sample by one gain: the stems get that gain directly
        # (a silent or one-sided stem would make loudnorm itself fall back to its dynamic mode)
        out, _ = _apply(stems, scratch, rate, gain_db)
        said = ffmpeg.loudnorm_linear(mix, scratch / "mix.levelled.wav", measured, target=target, true_peak=aim)
        assert said.get("normalization_type") == "linear", f"loudnorm chose {said.get('normalization_type')}"
        return {"mix": scratch / "mix.levelled.wav", **out}, Loudness(target, ceiling, aim, "linear", gain_db, before)
    out, gain_db, reduction = _limited(mix, stems, gain_db, target, aim, scratch, rate)
    return out, Loudness(target, ceiling, aim, "limited", gain_db, before, limiter_db=reduction)


def _apply(sources: dict[str, Path], scratch: Path, rate: int, gain_db: float,
           curve=None) -> tuple[dict[str, Path], float]:
    """Each of `sources` (float WAVs of one length) times the gain and, when given, the limiter's `curve(a, b)`
    for samples [a, b), written to `scratch`/<name>.levelled.wav in one pass over all of them, block by
    block (the curve computed once per block for every file). Returns the files and the curve's minimum."""
    out = {name: scratch / f"{name}.levelled.wav" for name in sources}
    if not sources:
        return out, 1.0
    n, deepest = wav_frames(next(iter(sources.values()))), 1.0
    with ExitStack() as stack:
        writers = [stack.enter_context(wav_writer(out[name], rate, 2, frames=n)) for name in sources]
        at = 0
        for blocks in zip(*(float_wav_blocks(path) for path in sources.values()), strict=True):
            scale = np.full(len(blocks[0]), 10 ** (gain_db / 20), np.float32)
            if curve is not None:
                c = curve(at, at + len(scale))
                deepest = min(deepest, float(c.min(initial=1.0)))
                scale *= c.astype(np.float32)
            for writer, block in zip(writers, blocks, strict=True):
                writer.write(block * scale[:, None])
            at += len(scale)
    return out, deepest


def _limited(mix: Path, named: dict[str, Path], gain_db: float, target: float, aim: float, scratch: Path,
             rate: int) -> tuple[dict[str, Path], float, float]:
    """Gain then the limiter's curve, re-aimed until the limited mix is within TOLERANCE_LU of the target;
    the one curve is applied to the mix and to every stem. Returns the files, the gain and the deepest
    gain reduction (dB)."""
    peaks = _peaks_file(mix, scratch / "peaks.wav", rate)  # scale with the gain: measured once
    for _ in range(6):
        curve = _curve(peaks, gain_db, aim, rate)
        meter = IntegratedLoudness(rate, 2)
        at = 0
        for block in float_wav_blocks(mix):
            meter.add(block * (10 ** (gain_db / 20) * curve(at, at + len(block)))[:, None])
            at += len(block)
        measured = meter.value()
        if abs(measured - target) <= TOLERANCE_LU:
            break
        gain_db += target - measured
    out, deepest = _apply({"mix": mix, **named}, scratch, rate, gain_db, _curve(peaks, gain_db, aim, rate))
    return out, gain_db, float(20 * np.log10(max(deepest, 1e-9)))


def _peaks_file(mix: Path, dest: Path, rate: int) -> Path:
    """`true_peaks` of the mix, one value per sample, as a mono float32 WAV, computed block by block (each
    block read with PEAK_MARGIN samples either side, so the oversampling filter sees what it would whole)."""
    n, step = wav_frames(mix), audio_files.BLOCK
    with wav_writer(dest, rate, 1, frames=n) as out:
        for a in range(0, n, step):
            b = min(n, a + step)
            lo, hi = max(0, a - PEAK_MARGIN), min(n, b + PEAK_MARGIN)
            out.write(true_peaks(read_wav_span(mix, lo, hi), rate)[a - lo : b - lo])
    return dest


def _curve(peaks: Path, gain_db: float, aim: float, rate: int):
    """The limiter's gain for samples [a, b) when the mix has `gain_db` applied: `limiter_curve` computed on
    the block with two filter widths of peaks either side (what it would see whole)."""
    n = wav_frames(peaks)
    margin = 2 * (2 * round(ATTACK_S * rate) + 1)

    def curve(a: int, b: int) -> np.ndarray:
        lo, hi = max(0, a - margin), min(n, b + margin)
        p = read_wav_span(peaks, lo, hi)[:, 0].astype(np.float64) * 10 ** (gain_db / 20)
        return limiter_curve(p, aim, rate)[a - lo : b - lo]

    return curve


def true_peaks(audio: np.ndarray, rate: int) -> np.ndarray:
    """Each sample's peak over the channels and the OVERSAMPLE-times oversampled signal around it, (n,)."""
    n = len(audio)
    up = np.abs(resample(audio, rate, OVERSAMPLE * rate)).max(axis=1)  # (4n,)
    up = np.pad(up, (0, max(0, OVERSAMPLE * n - len(up))))[: OVERSAMPLE * n]
    return np.maximum(up.reshape(n, OVERSAMPLE).max(axis=1), np.abs(audio).max(axis=1))


def limiter_curve(peaks: np.ndarray, aim_db: float, rate: int) -> np.ndarray:
    """A gain per sample (<= 1) that keeps `peaks` (true_peaks of the signal) under `aim_db` dBTP.

    The gain each sample needs is held for ATTACK_S either side (a moving minimum) and then smoothed
    by a moving average of the same width: every sample's average only spans values that already
    satisfy it, so the smooth curve never lets a peak through."""
    from scipy.ndimage import minimum_filter1d, uniform_filter1d

    need = np.minimum(1.0, 10 ** (aim_db / 20) / np.maximum(peaks, 1e-12))
    if need.min() >= 1.0:
        return np.ones(len(peaks), np.float64)
    width = 2 * round(ATTACK_S * rate) + 1
    return uniform_filter1d(minimum_filter1d(need, width, mode="nearest"), width, mode="nearest")


def measure_delivered(path: Path, loudness: Loudness, rate: int = 48_000) -> Loudness:
    """`loudness` with the delivered file's integrated loudness and true peak (ffmpeg ebur128) and its
    integrated loudness by pyloudnorm's K-weighting (dubkit/adapters/loudness.py), decoded block by block."""
    integrated, true_peak = ffmpeg.ebur128(path)
    second = integrated_loudness(audio_blocks(path, rate, audio_files.BLOCK), rate)
    return Loudness(**{**asdict(loudness), "delivered_i": integrated, "delivered_tp": true_peak,
                       "delivered_pyloudnorm": float(second)})
