"""Loudness to a delivery spec: ffmpeg's two-pass loudnorm, true-peak limiting when it must, and the
measurement of the delivered file.

1. loudnorm's first pass measures the mix (integrated loudness, true peak, range);
2. when the gain to the target keeps the true peak under the aim (the ceiling less the profile's
   headroom for the encoder), loudnorm's second pass applies it to the mix as one linear gain, and each
   stem gets that same gain, so the stems still add up to the mix;
3. otherwise the gain is applied and a look-ahead true-peak limiter (4x oversampled peaks, 10 ms
   attack, 10 ms hold and release) pulls the peaks under the aim; its one gain curve is computed on the
   mix and applied to every stem, and the gain is re-aimed until the limited mix meets the target.
The delivered file is then measured twice: ffmpeg's ebur128 (integrated, true peak) and pyloudnorm.
"""
from __future__ import annotations

import math
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np

from dubkit.adapters import ffmpeg
from dubkit.adapters.audio import resample
from dubkit.adapters.av import read_audio

OVERSAMPLE = 4  # ITU-R BS.1770-4 true peak: 4x oversampling at 48 kHz
ATTACK_S = 0.010  # the limiter's look-ahead, hold and release half-window
TOLERANCE_LU = 0.1  # re-aim the limited mix until it is this close to the target


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


def _write_float_wav(path: Path, audio: np.ndarray, rate: int) -> Path:
    import scipy.io.wavfile

    scipy.io.wavfile.write(path, rate, np.asarray(audio, np.float32))
    return path


def _read_wav(path: Path) -> np.ndarray:
    import scipy.io.wavfile

    _, data = scipy.io.wavfile.read(path)
    return np.asarray(data, np.float32).reshape(len(data), -1)


def level(stems: dict[str, np.ndarray], target: float, ceiling: float, headroom: float, scratch: Path,
          rate: int = 48_000) -> tuple[dict[str, np.ndarray], Loudness]:
    """`stems` (name -> (n, 2) float32, summing to the mix) and the mix ("mix") brought to `target` LUFS
    with true peaks under `ceiling - headroom` dBTP; every stem gets the mix's gain."""
    mix = sum(stems.values())
    aim = ceiling - headroom
    premix = _write_float_wav(Path(scratch) / "premix.wav", mix, rate)
    measured = ffmpeg.loudnorm_measure(premix, target=target, true_peak=aim)
    before = {k: measured[k] for k in ("input_i", "input_tp", "input_lra")}
    if len(mix) < rate // 2 or not math.isfinite(measured["input_i"]) or measured["input_i"] < -69.0:
        return {**stems, "mix": mix}, Loudness(target, ceiling, aim, "silent", 0.0, before)
    gain_db = target - measured["input_i"]
    if measured["input_tp"] + gain_db <= aim:
        # loudnorm's linear mode multiplies every sample by one gain: the stems get that gain directly
        # (a silent or one-sided stem would make loudnorm itself fall back to its dynamic mode)
        out = {name: (audio * 10 ** (gain_db / 20)).astype(np.float32) for name, audio in stems.items()}
        out["mix"] = _loudnorm(mix, "mix", measured, target, aim, scratch, rate)
        return out, Loudness(target, ceiling, aim, "linear", gain_db, before)
    out, gain_db, reduction = _limited(stems, mix, gain_db, target, aim, rate)
    return out, Loudness(target, ceiling, aim, "limited", gain_db, before, limiter_db=reduction)


def _loudnorm(audio: np.ndarray, name: str, measured: dict, target: float, aim: float, scratch: Path,
              rate: int) -> np.ndarray:
    """loudnorm's linear second pass on one buffer (the mix's measured values, so the same gain for all)."""
    src = _write_float_wav(Path(scratch) / f"{name}.in.wav", audio, rate)
    dst = Path(scratch) / f"{name}.out.wav"
    said = ffmpeg.loudnorm_linear(src, dst, measured, target=target, true_peak=aim)
    assert said.get("normalization_type") == "linear", f"loudnorm chose {said.get('normalization_type')}"
    out = _read_wav(dst)
    n = len(audio)
    return np.pad(out[:n], ((0, max(0, n - len(out))), (0, 0)))


def _limited(stems: dict[str, np.ndarray], mix: np.ndarray, gain_db: float, target: float, aim: float,
             rate: int) -> tuple[dict[str, np.ndarray], float, float]:
    """Gain then the limiter's curve, re-aimed until the limited mix is within TOLERANCE_LU of the target."""
    import pyloudnorm

    meter = pyloudnorm.Meter(rate)
    peaks = true_peaks(mix, rate)  # scale with the gain: measured once
    for _ in range(6):
        curve = limiter_curve(peaks * 10 ** (gain_db / 20), aim, rate)
        measured = meter.integrated_loudness(mix * (10 ** (gain_db / 20) * curve)[:, None])
        if abs(measured - target) <= TOLERANCE_LU:
            break
        gain_db += target - measured
    scale = (10 ** (gain_db / 20) * curve)[:, None]
    out = {name: (audio * scale).astype(np.float32) for name, audio in stems.items()}
    out["mix"] = (mix * scale).astype(np.float32)
    return out, gain_db, float(20 * np.log10(max(curve.min(), 1e-9)))


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
    integrated loudness by pyloudnorm."""
    import pyloudnorm

    integrated, true_peak = ffmpeg.ebur128(path)
    audio = read_audio(path, sample_rate=rate, mono=False)
    second = pyloudnorm.Meter(rate).integrated_loudness(audio) if len(audio) >= rate // 2 else float("-inf")
    return Loudness(**{**asdict(loudness), "delivered_i": integrated, "delivered_tp": true_peak,
                       "delivered_pyloudnorm": float(second)})
