"""Sampling loops of MagiHuman (docs/model.md §What the model predicts, §Schedule, §Samplers).

Every sampler is a function of (velocity function, latents, schedule). A velocity function maps the current
(video, audio) latents to the model's flow velocities v ≈ ε − x₀; it never receives the step or σ, because the
network is timestep-free. Guidance, re-noising, reference stitching and A2V are all sampler-side.

Latent layouts are whatever the caller uses as long as video has its frame axis at dim −3
((…, C, T, H, W)); audio may have any shape. All arithmetic is float32 on the latents; the per-step scalar
coefficients are computed in float64 from the float32 σ table.
"""

from __future__ import annotations

import math
from collections.abc import Callable

import torch
import torch.nn.functional as F

from model.errors import ModelError
from model.schedule import FlowSchedule, sr_renoise_coefficients

Velocity = Callable[[torch.Tensor, torch.Tensor], tuple[torch.Tensor, torch.Tensor]]
"""(video latent, audio latent) -> (video velocity, audio velocity)."""

StepCallback = Callable[[int, torch.Tensor, torch.Tensor], None]
"""Called after each sampler step with (step index, video latent, audio latent)."""

NoiseFn = Callable[[torch.Tensor], torch.Tensor]
"""Returns standard Gaussian noise shaped like its argument (the caller owns the RNG and its order)."""

VIDEO_GUIDANCE = 5.0
VIDEO_GUIDANCE_LATE = 2.0  # used once the integer timestep is <= 500 (the last 5 of 32 steps)
VIDEO_GUIDANCE_SWITCH_T = 500
AUDIO_GUIDANCE = 5.0
SR_AUDIO_NOISE = 0.7


class SamplerError(ModelError, ValueError):
    """Latents or schedule handed to a sampler are inconsistent (the message names the shapes)."""


def _lambda(sigma: float) -> float:
    """Half log-SNR of the flow path x = (1−σ)x₀ + σε: λ = log(1−σ) − log σ (+inf at σ = 0)."""
    if sigma == 0.0:
        return math.inf
    return math.log(1.0 - sigma) - math.log(sigma)


class FlowUniPC:
    """UniPC-bh2 multistep solver in x₀-prediction form for one latent stream.

    Order 2 predictor (UniP) and corrector (UniC); step 0 is first order (warm-up) and the last step is
    first order (`lower_order_final`). Video and audio each get their own instance on the same schedule.
    """

    def __init__(self, schedule: FlowSchedule, order: int = 2):
        if order not in (1, 2):
            raise SamplerError(f"FlowUniPC supports order 1 or 2, got {order}")
        self.sigmas = [float(s) for s in schedule.sigmas]
        self.lambdas = [_lambda(s) for s in self.sigmas]
        self.num_steps = schedule.steps
        self.order = order
        self.step_index = 0
        self._x0_history: list[torch.Tensor] = []  # converted model outputs m_{i-1}, m_{i-2} (newest last)
        self._last_sample: torch.Tensor | None = None  # the sample the previous predictor started from
        self._last_order = 0

    def _b_h(self, i: int) -> tuple[float, float]:
        """(h, B(h) = e^{−h} − 1) of the interval σ_i → σ_{i+1}."""
        h = self.lambdas[i + 1] - self.lambdas[i]
        return h, math.expm1(-h)

    def _correct(self, m_now: torch.Tensor) -> torch.Tensor:
        """UniC: the sample at step i, rebuilt from the previous one with the fresh x₀ prediction m_i (interval
        i−1 → i); the predictor's own output at step i is not used, only replaced."""
        i = self.step_index
        x_prev = self._last_sample
        m0 = self._x0_history[-1]
        sigma_t, sigma_s0 = self.sigmas[i], self.sigmas[i - 1]
        h, b_h = self._b_h(i - 1)
        hh = -h
        phi1 = b_h / hh - 1.0  # h·φ₁ / h − 1 with h·φ₁ = e^{−h} − 1
        x_t = (sigma_t / sigma_s0) * x_prev - (1.0 - sigma_t) * b_h * m0
        d1_t = m_now - m0
        if self._last_order == 1:
            correction = 0.5 * d1_t
        else:
            r = (self.lambdas[i - 2] - self.lambdas[i - 1]) / h
            phi2 = phi1 / hh - 0.5
            rhs = torch.tensor([phi1 / b_h, 2.0 * phi2 / b_h], dtype=torch.float64)
            system = torch.tensor([[1.0, 1.0], [r, 1.0]], dtype=torch.float64)
            rho0, rho1 = (float(v) for v in torch.linalg.solve(system, rhs))
            d1 = (self._x0_history[-2] - m0) / r
            correction = rho0 * d1 + rho1 * d1_t
        return x_t - (1.0 - sigma_t) * b_h * correction

    def _predict(self, m_now: torch.Tensor, x_now: torch.Tensor, order: int) -> torch.Tensor:
        """UniP: extrapolate from σ_i to σ_{i+1}; returns m_i itself when σ_{i+1} = 0."""
        i = self.step_index
        sigma_t, sigma_s0 = self.sigmas[i + 1], self.sigmas[i]
        if sigma_t == 0.0:
            return m_now  # e^{−h} − 1 = −1 and σ_t/σ_s0 = 0: the update collapses to x₀
        h, b_h = self._b_h(i)
        x_t = (sigma_t / sigma_s0) * x_now - (1.0 - sigma_t) * b_h * m_now
        if order == 2:
            r = (self.lambdas[i - 1] - self.lambdas[i]) / h
            d1 = (self._x0_history[-2] - m_now) / r
            x_t = x_t - (1.0 - sigma_t) * b_h * 0.5 * d1
        return x_t

    def step(self, velocity: torch.Tensor, sample: torch.Tensor) -> torch.Tensor:
        """Advance one step from `sample` at σ_i given the model velocity there; returns the sample at σ_{i+1}."""
        if self.step_index >= self.num_steps:
            raise SamplerError(f"FlowUniPC already took all {self.num_steps} steps")
        if velocity.shape != sample.shape:
            raise SamplerError(f"velocity shape {tuple(velocity.shape)} != sample shape {tuple(sample.shape)}")
        m_now = sample - self.sigmas[self.step_index] * velocity  # x̂₀ from the uncorrected sample
        if self.step_index > 0:
            sample = self._correct(m_now)
        self._x0_history = (self._x0_history + [m_now])[-self.order :]
        steps_left = self.num_steps - self.step_index
        order = min(self.order, steps_left, len(self._x0_history))
        self._last_sample = sample
        self._last_order = order
        out = self._predict(m_now, sample, order)
        self.step_index += 1
        return out


def stitch_reference(video: torch.Tensor, reference: torch.Tensor | None) -> torch.Tensor:
    """Return `video` with latent frame 0 (dim −3) replaced by the clean reference latent (TI2V)."""
    if reference is None:
        return video
    expected = video.shape[:-3] + (1,) + video.shape[-2:]
    if tuple(reference.shape) != tuple(expected):
        raise SamplerError(
            f"reference latent shape {tuple(reference.shape)} does not fit video latent {tuple(video.shape)}; "
            f"expected {tuple(expected)}"
        )
    out = video.clone()
    out[..., 0:1, :, :] = reference.to(video.dtype)
    return out


def _guided(v_cond: torch.Tensor, v_uncond: torch.Tensor, scale: float) -> torch.Tensor:
    return v_uncond + scale * (v_cond - v_uncond)


def video_guidance_scale(timestep: int) -> float:
    """Video CFG scale of the base sampler: 5 while t > 500, else 2."""
    return VIDEO_GUIDANCE if timestep > VIDEO_GUIDANCE_SWITCH_T else VIDEO_GUIDANCE_LATE


def sample_base(
    cond: Velocity,
    uncond: Velocity,
    video: torch.Tensor,
    audio: torch.Tensor,
    schedule: FlowSchedule,
    *,
    reference: torch.Tensor | None = None,
    audio_fixed: bool = False,
    on_step: StepCallback | None = None,
) -> tuple[torch.Tensor, torch.Tensor]:
    """Base sampler: flow UniPC with two-branch CFG.

    `cond` sees the prompt, `uncond` the negative prompt; both get identical latents. Video guidance is
    5 while t > 500 else 2, audio guidance 5. With `reference`, latent frame 0 is overwritten before every
    model call and after the loop. With `audio_fixed` (A2V), `audio` is the clean supplied latent: it is fed
    to both branches every step and returned unchanged (its scheduler is never stepped).
    """
    video_solver, audio_solver = FlowUniPC(schedule), FlowUniPC(schedule)
    for i in range(schedule.steps):
        video = stitch_reference(video, reference)
        vc, ac = cond(video, audio)
        vu, au = uncond(video, audio)
        t = int(schedule.timesteps[i])
        video = video_solver.step(_guided(vc, vu, video_guidance_scale(t)), video)
        if not audio_fixed:
            audio = audio_solver.step(_guided(ac, au, AUDIO_GUIDANCE), audio)
        if on_step is not None:
            on_step(i, video, audio)
    return stitch_reference(video, reference), audio


def sample_distill(
    cond: Velocity,
    video: torch.Tensor,
    audio: torch.Tensor,
    schedule: FlowSchedule,
    noise: NoiseFn,
    *,
    reference: torch.Tensor | None = None,
    audio_fixed: bool = False,
    on_step: StepCallback | None = None,
) -> tuple[torch.Tensor, torch.Tensor]:
    """Distilled sampler: conditional only, x̂₀ = x − σ_i v, then x ← σ_{i+1}·ε + (1−σ_{i+1})·x̂₀.

    Fresh noise is drawn every step, video before audio, through `noise` (so the caller's RNG order is the
    official one). The last step (σ = 0) returns x̂₀. With `audio_fixed` the supplied audio stays clean
    and fixed and no audio noise is drawn. The official distill path re-noises supplied audio regardless,
    regenerating it, so no official code runs this combination: model.recipe offers it only as the
    experimental distilled A2V (the official A2V path is `sample_base` with `audio_fixed`).
    """
    for i in range(schedule.steps):
        video = stitch_reference(video, reference)
        v_video, v_audio = cond(video, audio)
        sigma, sigma_next = schedule.sigma(i), schedule.sigma(i + 1)
        video_x0 = video - sigma * v_video
        eps_video = noise(video)
        video = sigma_next * eps_video + (1.0 - sigma_next) * video_x0
        if not audio_fixed:
            audio_x0 = audio - sigma * v_audio
            eps_audio = noise(audio)
            audio = sigma_next * eps_audio + (1.0 - sigma_next) * audio_x0
        if on_step is not None:
            on_step(i, video, audio)
    return stitch_reference(video, reference), audio


def prepare_sr(
    base_video: torch.Tensor,
    base_audio: torch.Tensor,
    latent_hw: tuple[int, int],
    noise: NoiseFn,
) -> tuple[torch.Tensor, torch.Tensor]:
    """Inputs of the SR stage: (re-noised upsampled video, perturbed audio context).

    The video latent [B, C, T, h, w] is resized trilinearly (align_corners=True, time unchanged) to
    [B, C, T, H, W] and re-noised variance-preservingly, z = 0.8389·z_up + 0.5443·ε. The audio context is
    0.7·ε + 0.3·a. Noise is drawn video first, then audio.
    """
    if base_video.dim() != 5:
        raise SamplerError(f"SR expects a video latent (B, C, T, h, w), got shape {tuple(base_video.shape)}")
    height, width = latent_hw
    if height < 1 or width < 1:
        raise SamplerError(f"SR latent size must be positive, got {latent_hw}")
    frames = base_video.shape[2]
    upsampled = F.interpolate(
        base_video.float(), size=(frames, height, width), mode="trilinear", align_corners=True
    )
    signal, noise_std = sr_renoise_coefficients()
    video = signal * upsampled + noise_std * noise(upsampled)
    audio = SR_AUDIO_NOISE * noise(base_audio) + (1.0 - SR_AUDIO_NOISE) * base_audio
    return video, audio


def sample_sr(
    cond: Velocity,
    video: torch.Tensor,
    audio_context: torch.Tensor,
    schedule: FlowSchedule,
    *,
    reference: torch.Tensor | None = None,
    on_step: StepCallback | None = None,
) -> torch.Tensor:
    """SR sampler: UniPC on video only, conditional only (released `sr_cfg_number = 1`).

    The audio context is fed every step and never updated; the caller keeps the clean base audio as output.
    Returns the final SR video latent (reference re-stitched after the loop).
    """
    solver = FlowUniPC(schedule)
    for i in range(schedule.steps):
        video = stitch_reference(video, reference)
        v_video, _ = cond(video, audio_context)
        video = solver.step(v_video, video)
        if on_step is not None:
            on_step(i, video, audio_context)
    return stitch_reference(video, reference)
