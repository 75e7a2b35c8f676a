"""The block-by-block BS.1770 meter against pyloudnorm's whole-signal one."""
from __future__ import annotations

import numpy as np
import pyloudnorm
import pytest

from dubkit.adapters.loudness import IntegratedLoudness, integrated_loudness

RATE = 48_000


def _signal(n: int, seed: int) -> np.ndarray:
    rng = np.random.default_rng(seed)
    envelope = np.abs(np.sin(np.linspace(0, 9, n)))[:, None] * 0.3  # loud and quiet stretches: both gates act
    return (rng.standard_normal((n, 2)) * envelope).astype(np.float32)


@pytest.mark.parametrize("n", [19_200, 30_001, 3 * RATE + 123, 12 * RATE + 7])
@pytest.mark.parametrize("block", [1_000, 4_800, 480_000])
def test_blocks_of_any_size_give_pyloudnorms_value(n, block):
    x = _signal(n, n)
    expected = pyloudnorm.Meter(RATE).integrated_loudness(x)
    got = integrated_loudness((x[i : i + block] for i in range(0, n, block)), RATE)
    assert got == pytest.approx(expected, abs=1e-5)


def test_mono_and_a_quiet_stretch_are_gated_as_pyloudnorm_gates_them():
    x = _signal(5 * RATE, 1)[:, 0]
    x[RATE : 3 * RATE] *= 1e-4  # far below the relative gate
    meter = IntegratedLoudness(RATE, channels=1)
    for i in range(0, len(x), 7_777):
        meter.add(x[i : i + 7_777])
    assert meter.value() == pytest.approx(pyloudnorm.Meter(RATE).integrated_loudness(x), abs=1e-5)


def test_silence_and_less_than_one_gating_block_are_minus_infinity():
    assert integrated_loudness([np.zeros((RATE, 2), np.float32)], RATE) == float("-inf")
    assert integrated_loudness([_signal(RATE // 4, 2)], RATE) == float("-inf")


def test_a_block_with_the_wrong_channel_count_is_refused():
    with pytest.raises(ValueError, match="2 channel"):
        IntegratedLoudness(RATE, 2).add(np.zeros((100, 1), np.float32))
