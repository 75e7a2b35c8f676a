"""Noise schedules of the MagiHuman samplers (docs/model.md §Schedule).

Two tables live here and nothing else:

* the shift-5 flow-matching schedule used by every sampler (base UniPC, distilled, SR), and
* the zero-terminal-SNR scaled-linear DDPM table whose entry 220 gives the SR stage's re-noise coefficients.

Both are computed exactly as the official code does, so σ values match the conformance data bit for bit.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch

from model.errors import ModelError

SHIFT = 5.0
NUM_TRAIN_TIMESTEPS = 1000
# The official scheduler stores σ_max as a float32 and only then builds a float64 linspace from it; using the
# exact decimal 0.999 instead shifts σ₀ in the 8th digit and breaks bit-exactness with the reference data.
SIGMA_MAX = float(np.float32(0.999))
SR_NOISE_INDEX = 220


class ScheduleError(ModelError, ValueError):
    """A schedule was requested with impossible parameters (carries the bad value)."""


@dataclass(frozen=True)
class FlowSchedule:
    """σ values and integer timesteps of one sampling run.

    sigmas: float32 [N+1], decreasing from σ₀ ≈ 0.9998 to the final σ_N = 0.
    timesteps: int64 [N], trunc(1000·σ_i); used only to switch the video guidance scale.
    """

    sigmas: torch.Tensor
    timesteps: torch.Tensor

    @property
    def steps(self) -> int:
        """Number of model evaluations per branch (N)."""
        return int(self.timesteps.numel())

    def sigma(self, i: int) -> float:
        """σ_i as a Python float (the float32 value, widened exactly)."""
        return float(self.sigmas[i])


def flow_schedule(steps: int, shift: float = SHIFT) -> FlowSchedule:
    """The shifted flow schedule of `FlowUniPCMultistepScheduler.set_timesteps`.

    s_i = linspace(σ_max, 0, N+1)[:N] in float64, σ_i = shift·s_i / (1 + (shift−1)·s_i), σ_N = 0,
    t_i = trunc(1000·σ_i); σ is stored as float32.
    """
    if steps < 1:
        raise ScheduleError(f"number of sampling steps must be >= 1, got {steps}")
    if shift <= 0:
        raise ScheduleError(f"schedule shift must be > 0, got {shift}")
    s = np.linspace(SIGMA_MAX, 0.0, steps + 1, dtype=np.float64)[:steps]
    shifted = shift * s / (1.0 + (shift - 1.0) * s)
    timesteps = (shifted * NUM_TRAIN_TIMESTEPS).astype(np.int64)  # astype truncates toward zero
    sigmas = np.concatenate([shifted, [0.0]]).astype(np.float32)
    return FlowSchedule(sigmas=torch.from_numpy(sigmas), timesteps=torch.from_numpy(timesteps))


def zero_snr_sqrt_alphas_cumprod(num_steps: int = NUM_TRAIN_TIMESTEPS) -> torch.Tensor:
    """√ᾱ_t of the scaled-linear DDPM schedule rescaled to zero terminal SNR, float32 [num_steps].

    β = linspace(√0.00085, √0.012, num_steps)², ᾱ = cumprod(1−β); √ᾱ is shifted so its last entry is 0 and
    scaled so its first entry is unchanged (Lin et al., "Common diffusion noise schedules are flawed").
    """
    if num_steps < 2:
        raise ScheduleError(f"DDPM table needs at least 2 steps, got {num_steps}")
    betas = np.linspace(0.00085**0.5, 0.012**0.5, num_steps, dtype=np.float64) ** 2
    sqrt_ac = np.sqrt(np.cumprod(1.0 - betas))
    first, last = sqrt_ac[0], sqrt_ac[-1]
    sqrt_ac = (sqrt_ac - last) * first / (first - last)
    return torch.from_numpy(sqrt_ac.astype(np.float32))


def sr_renoise_coefficients(index: int = SR_NOISE_INDEX) -> tuple[float, float]:
    """(signal, noise) coefficients of the SR stage's variance-preserving re-noise: (√ᾱ, √(1−ᾱ)) at `index`.

    At the released `noise_value = 220` this is (0.83891, 0.54427).
    """
    table = zero_snr_sqrt_alphas_cumprod()
    if not 0 <= index < table.numel():
        raise ScheduleError(f"SR noise index must be in [0, {table.numel()}), got {index}")
    signal = float(table[index])
    return signal, float(np.sqrt(1.0 - signal * signal))
