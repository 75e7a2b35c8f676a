"""Audio buffers in memory: the one resampler and the mono/stereo, length and time-slice helpers.

Buffers are float32 numpy arrays, shape (n,) for mono or (n, channels), with time on axis 0.
Files are decoded (and converted to a requested rate while decoding) by `dubkit.adapters.av.read_audio`;
everything that changes the rate of a buffer already in memory calls `resample` here.
"""
from __future__ import annotations

import struct
from math import gcd

import numpy as np


def resample(audio: np.ndarray, orig_rate: int, target_rate: int) -> np.ndarray:
    """`audio` at `target_rate`, float32, same channel layout (time on axis 0).

    Polyphase filtering by the exact rational ratio (scipy.signal.resample_poly, the technique the
    quality gate has always scored with); the same rate returns the buffer as float32 unchanged.
    """
    audio = np.asarray(audio, np.float32)
    if orig_rate <= 0 or target_rate <= 0:
        raise ValueError(f"sample rates must be positive, got {orig_rate} -> {target_rate}")
    if orig_rate == target_rate or len(audio) == 0:
        return audio
    from scipy.signal import (
        resample_poly,  # heavy import (~1.5 s), only when a rate changes
    )

    g = gcd(orig_rate, target_rate)
    return resample_poly(audio, target_rate // g, orig_rate // g, axis=0).astype(np.float32)


def to_mono(audio: np.ndarray) -> np.ndarray:
    """(n,) float32: the mean of the channels of (n,) or (n, channels) audio."""
    audio = np.asarray(audio, np.float32)
    return audio.reshape(len(audio), -1).mean(axis=1)


def to_stereo(audio: np.ndarray) -> np.ndarray:
    """(n, 2) float32: mono duplicated to both channels; of more channels, the first two."""
    audio = np.asarray(audio, np.float32).reshape(len(audio), -1)
    return np.repeat(audio, 2, axis=1) if audio.shape[1] == 1 else audio[:, :2]


def fit_length(audio: np.ndarray, n: int) -> np.ndarray:
    """Exactly `n` samples: trimmed, or zero-padded at the end (same channel layout, float32)."""
    audio = np.asarray(audio, np.float32)
    out = np.zeros((max(0, n), *audio.shape[1:]), np.float32)
    take = min(len(out), len(audio))
    out[:take] = audio[:take]
    return out


def sample_span(start: float, end: float, rate: int) -> tuple[int, int]:
    """The sample indices [a, b) of the span [start, end) seconds at `rate` (each end rounded)."""
    return round(start * rate), round(end * rate)


def time_slice(audio: np.ndarray, rate: int, start: float, end: float) -> np.ndarray:
    """The [start, end) seconds of `audio`, zero-padded where the span runs past the buffer's end."""
    a, b = sample_span(start, end, rate)
    return fit_length(audio[a:b], b - a)


def float_wav_header(frames: int, rate: int, channels: int) -> bytes:
    """The header of a 32-bit float WAV holding `frames` samples per channel, written before the samples
    (interleaved little-endian float32) so that a mix can be streamed to disk; RF64 past 4 GB."""
    data = frames * channels * 4
    fmt = struct.pack("<HHIIHH", 3, channels, rate, rate * channels * 4, channels * 4, 32)  # 3: IEEE float
    if 36 + data < 2**32:
        return b"RIFF" + struct.pack("<I", 36 + data) + b"WAVE" + b"fmt " + struct.pack("<I", 16) + fmt + \
            b"data" + struct.pack("<I", data)
    ds64 = struct.pack("<QQQI", 72 + data, data, frames, 0)
    return b"RF64" + struct.pack("<I", 0xFFFFFFFF) + b"WAVE" + b"ds64" + struct.pack("<I", len(ds64)) + ds64 + \
        b"fmt " + struct.pack("<I", 16) + fmt + b"data" + struct.pack("<I", 0xFFFFFFFF)
