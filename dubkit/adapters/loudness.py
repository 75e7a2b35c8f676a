"""The pyloudnorm adapter: EBU R128 / ITU-R BS.1770-4 integrated loudness of audio fed chunk by chunk.

pyloudnorm's `Meter.integrated_loudness` wants the whole signal and copies it several times in float64
(about six times a 10-minute stereo mix). This meter uses pyloudnorm's own K-weighting filters (their
state carried from chunk to chunk) and its gating rule on 100 ms sub-block energies, so it gives
pyloudnorm's figure while holding one chunk at a time.
"""
from __future__ import annotations

import numpy as np

BLOCK_S, STEP_S = 0.4, 0.1  # BS.1770 gating blocks of 400 ms every 100 ms (75 % overlap)
ABSOLUTE_GATE = -70.0  # LUFS
CHANNEL_GAINS = (1.0, 1.0, 1.0, 1.41, 1.41)  # L, R, C, Ls, Rs


class LoudnessMeter:
    """Feed (n, channels) chunks in order with `add`; `integrated()` is the gated loudness in LUFS."""

    def __init__(self, rate: int, channels: int) -> None:
        import pyloudnorm  # imports scipy.signal (~1.5 s): only when measuring

        meter = pyloudnorm.Meter(rate)
        self._stages = [(f.passband_gain, np.asarray(f.b, float), np.asarray(f.a, float))
                        for f in meter._filters.values()]
        self._state = [[np.zeros(max(len(a), len(b)) - 1) for _, b, a in self._stages] for _ in range(channels)]
        self.rate, self.channels = rate, channels
        self._step = round(STEP_S * rate)
        self._sums: list[np.ndarray] = []  # per finished 100 ms sub-block: (channels,) sums of squares
        self._partial = np.zeros(channels)
        self._filled = 0  # samples in the current sub-block
        self.samples = 0

    def add(self, chunk: np.ndarray) -> None:
        """Weight and accumulate the next (n, channels) samples."""
        import scipy.signal

        weighted = np.empty(chunk.shape, np.float64)
        for ch in range(self.channels):
            x = chunk[:, ch].astype(np.float64)
            for k, (gain, b, a) in enumerate(self._stages):
                x, self._state[ch][k] = scipy.signal.lfilter(b, a, x, zi=self._state[ch][k])
                x = gain * x
            weighted[:, ch] = x
        squares = weighted**2  # (n, channels)
        self.samples += len(chunk)
        at = 0
        while at < len(squares):
            take = min(self._step - self._filled, len(squares) - at)
            self._partial += squares[at : at + take].sum(axis=0)
            self._filled += take
            at += take
            if self._filled == self._step:
                self._sums.append(self._partial)
                self._partial, self._filled = np.zeros(self.channels), 0

    def integrated(self) -> float:
        """The gated integrated loudness of everything added (as pyloudnorm.Meter.integrated_loudness)."""
        seconds = self.samples / self.rate
        n_blocks = int(np.round((seconds - BLOCK_S) / STEP_S)) + 1
        per = round(BLOCK_S / STEP_S)
        subs = np.array([*self._sums, self._partial] + [np.zeros(self.channels)] * per)  # (m, channels)
        z = np.array([subs[j : j + per].sum(axis=0) for j in range(n_blocks)]) / (BLOCK_S * self.rate)
        g = np.array(CHANNEL_GAINS[: self.channels])
        with np.errstate(divide="ignore"):
            blocks = -0.691 + 10 * np.log10(z @ g)
            above = blocks >= ABSOLUTE_GATE
            if not above.any():
                return float("-inf")
            relative = -0.691 + 10 * np.log10(z[above].mean(axis=0) @ g) - 10.0
            kept = (blocks > relative) & (blocks > ABSOLUTE_GATE)
            return float(-0.691 + 10 * np.log10(z[kept].mean(axis=0) @ g)) if kept.any() else float("-inf")
