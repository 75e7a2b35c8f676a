"""The pyloudnorm adapter: ITU-R BS.1770-4 integrated loudness, measured block by block.

pyloudnorm's `Meter.integrated_loudness` needs the whole signal in memory (and copies it); a 10-minute
48 kHz stereo mix is 230 MB of float32 before those copies. `IntegratedLoudness` computes the same value
from blocks of any size: the K-weighting filters (pyloudnorm's own two biquads, built by its
`IIRfilter`) run with their state carried from block to block, the squared filtered signal is summed per
100 ms step, and the 400 ms gating blocks (75 % overlap) are sums of four steps; then the absolute
(-70 LUFS) and relative (-10 LU) gates as BS.1770-4 gives them. Only one float per channel per 100 ms is
kept: 12,000 numbers for ten minutes of stereo.
"""
from __future__ import annotations

import math

import numpy as np

BLOCK_S = 0.400  # gating block
STEP_S = 0.100  # 75 % overlap
ABSOLUTE_GATE = -70.0
RELATIVE_GATE = -10.0


def _k_weighting(rate: int) -> list[tuple[np.ndarray, np.ndarray, float]]:
    """(b, a, passband gain) of BS.1770's two K-weighting stages at `rate`, as pyloudnorm builds them."""
    from pyloudnorm import IIRfilter

    stages = [IIRfilter(4.0, 1 / math.sqrt(2), 1500.0, rate, "high_shelf"),
              IIRfilter(0.0, 0.5, 38.0, rate, "high_pass")]
    return [(np.asarray(f.b, np.float64), np.asarray(f.a, np.float64), float(f.passband_gain)) for f in stages]


class IntegratedLoudness:
    """Feed (n, channels) or (n,) blocks with `add`; `value()` is the integrated loudness in LUFS (-inf for
    silence or under one gating block), equal to pyloudnorm's on the concatenated signal."""

    def __init__(self, rate: int, channels: int = 2):
        self.rate, self.channels = rate, channels
        self._stages = _k_weighting(rate)
        self._state = [np.zeros((len(a) - 1, channels)) for _, a, _ in self._stages]  # at rest, as pyloudnorm starts
        self._step = round(STEP_S * rate)
        self._partial = np.zeros(channels)  # the squares summed so far in the current 100 ms step
        self._filled = 0  # samples in the current step
        self._steps: list[np.ndarray] = []  # per finished step: (channels,) sums of squares
        self.samples = 0

    def add(self, block: np.ndarray) -> None:
        from scipy.signal import lfilter

        x = np.asarray(block, np.float64).reshape(len(block), -1)
        if x.shape[1] != self.channels:
            raise ValueError(f"expected {self.channels} channel(s), got {x.shape[1]}")
        self.samples += len(x)
        for i, (b, a, gain) in enumerate(self._stages):
            x, self._state[i] = lfilter(b, a, x, axis=0, zi=self._state[i])
            x = gain * x
        squares = x * x
        at = 0
        while at < len(squares):
            take = min(self._step - self._filled, len(squares) - at)
            self._partial += squares[at : at + take].sum(axis=0)
            self._filled += take
            at += take
            if self._filled == self._step:
                self._steps.append(self._partial)
                self._partial, self._filled = np.zeros(self.channels), 0

    def value(self) -> float:
        seconds = self.samples / self.rate
        blocks = int(np.round((seconds - BLOCK_S) / STEP_S)) + 1 if seconds >= BLOCK_S else 0
        if blocks <= 0:
            return float("-inf")
        steps = np.array([*self._steps, self._partial] if self._filled else self._steps).reshape(-1, self.channels)
        per = round(BLOCK_S / STEP_S)
        steps = np.vstack([steps, np.zeros((max(0, blocks + per - 1 - len(steps)), self.channels))])
        cumulative = np.vstack([np.zeros((1, self.channels)), np.cumsum(steps, axis=0)])
        z = (cumulative[per : per + blocks] - cumulative[:blocks]) / (BLOCK_S * self.rate)  # (blocks, channels)
        power = z.sum(axis=1)  # channel weights 1.0 for the front pair
        with np.errstate(divide="ignore"):
            loudness = -0.691 + 10 * np.log10(power)
        gated = loudness >= ABSOLUTE_GATE
        if not gated.any():
            return float("-inf")
        relative = -0.691 + 10 * np.log10(power[gated].mean()) + RELATIVE_GATE
        gated &= loudness > relative
        if not gated.any():
            return float("-inf")
        return float(-0.691 + 10 * np.log10(power[gated].mean()))


def integrated_loudness(blocks, rate: int, channels: int = 2) -> float:
    """The integrated loudness (LUFS) of the signal given as consecutive blocks."""
    meter = IntegratedLoudness(rate, channels)
    for block in blocks:
        meter.add(block)
    return meter.value()
