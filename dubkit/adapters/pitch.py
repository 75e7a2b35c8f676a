"""Median pitch (F0) of speech, with librosa's YIN: how high a speaker's voice sits (docs/speakers.md).

YIN gives an F0 for every frame; frames quieter than a quarter of the 90th-percentile frame level
are taken as unvoiced pauses and left out. The median of the rest is the speaker's register: adult
male voices sit around 85-155 Hz, adult female voices around 165-255 Hz.
"""
from __future__ import annotations

import numpy as np

FMIN, FMAX = 60.0, 500.0  # Hz: the range searched
FRAME_S, HOP_S = 0.064, 0.02
VOICED_LEVEL = 0.25  # frames below this fraction of the 90th-percentile RMS count as pauses
FEMALE_FROM_F0 = 160.0  # Hz: a median F0 at or above this is taken as a female (or child's) voice


def register_of(f0: float) -> str:
    """"female" for a median F0 at or above `FEMALE_FROM_F0`, else "male"."""
    return "female" if f0 >= FEMALE_FROM_F0 else "male"


def median_f0(samples: np.ndarray, sample_rate: int) -> float | None:
    """Median F0 in Hz of the voiced frames of mono `samples`, or None when there is too little audio."""
    import librosa

    samples = np.asarray(samples, np.float32)
    frame = int(2 ** np.ceil(np.log2(FRAME_S * sample_rate)))
    hop = max(1, round(HOP_S * sample_rate))
    if len(samples) < 2 * frame or float(np.abs(samples).max(initial=0.0)) < 1e-4:
        return None
    f0 = librosa.yin(samples, fmin=FMIN, fmax=FMAX, sr=sample_rate, frame_length=frame, hop_length=hop)
    rms = librosa.feature.rms(y=samples, frame_length=frame, hop_length=hop)[0]
    n = min(len(f0), len(rms))
    voiced = rms[:n] > VOICED_LEVEL * np.percentile(rms[:n], 90)
    return float(np.median(f0[:n][voiced])) if voiced.any() else None
