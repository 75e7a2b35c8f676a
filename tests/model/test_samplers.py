"""Samplers and schedules against the official scheduler's golden loops (tests/conformance/sampler_golden)."""

import json
from pathlib import Path

import pytest
import torch
from safetensors.torch import load_file

from model.samplers import (
    AUDIO_GUIDANCE,
    SR_AUDIO_NOISE,
    VIDEO_GUIDANCE,
    VIDEO_GUIDANCE_LATE,
    FlowUniPC,
    SamplerError,
    prepare_sr,
    sample_base,
    sample_distill,
    sample_sr,
    stitch_reference,
    video_guidance_scale,
)
from model.schedule import (
    ScheduleError,
    flow_schedule,
    sr_renoise_coefficients,
    zero_snr_sqrt_alphas_cumprod,
)

CONFORMANCE = Path(__file__).resolve().parents[1] / "conformance"
ATOL = 1e-5


@pytest.fixture(scope="module")
def golden():
    return load_file(str(CONFORMANCE / "sampler_golden.safetensors"))


@pytest.fixture(scope="module")
def schedules_json():
    return json.loads((CONFORMANCE / "sampler_schedules.json").read_text())


def _toy(golden, role):
    a, b = golden[f"toy_{role}_a"], golden[f"toy_{role}_b"]
    return lambda x: x - a * torch.tanh(x + b)


def _branches(golden):
    vc, vu, ac, au = (_toy(golden, r) for r in ("vc", "vu", "ac", "au"))
    cond = lambda video, audio: (vc(video), ac(audio))  # noqa: E731
    uncond = lambda video, audio: (vu(video), au(audio))  # noqa: E731
    return cond, uncond


class _Recorder:
    def __init__(self):
        self.video, self.audio = [], []

    def __call__(self, i, video, audio):
        self.video.append(video.clone())
        self.audio.append(audio.clone())


@pytest.mark.parametrize("steps", [32, 8, 5])
def test_flow_schedule_matches_official_sigmas_and_timesteps_exactly(steps, golden, schedules_json):
    sched = flow_schedule(steps)
    expected = schedules_json[f"sched{steps}"]
    assert sched.sigmas.dtype == torch.float32
    assert torch.equal(sched.sigmas, torch.tensor(expected["sigmas"], dtype=torch.float32))
    assert sched.timesteps.tolist() == expected["timesteps"]
    assert torch.equal(sched.sigmas, golden[f"sched{steps}_sigmas"])
    assert torch.equal(sched.timesteps, golden[f"sched{steps}_timesteps"])


def test_flow_schedule_rejects_zero_steps():
    with pytest.raises(ScheduleError, match="0"):
        flow_schedule(0)


def test_zero_snr_table_matches_golden_and_ends_at_zero(golden):
    table = zero_snr_sqrt_alphas_cumprod()
    assert table.shape == (1000,)
    torch.testing.assert_close(table, golden["zerosnr_sigmas_1000"], atol=1e-6, rtol=0)
    assert float(table[-1]) == 0.0


def test_sr_renoise_coefficients_are_table_entry_220(schedules_json):
    signal, noise = sr_renoise_coefficients()
    assert signal == pytest.approx(schedules_json["sr_sigma_at_220"], abs=1e-7)
    assert noise == pytest.approx(schedules_json["sr_noise_std_at_220"], abs=1e-7)
    assert signal**2 + noise**2 == pytest.approx(1.0, abs=1e-12)


def test_video_guidance_switches_to_two_at_timestep_500():
    scales = [video_guidance_scale(int(t)) for t in flow_schedule(32).timesteps]
    assert scales == [5.0] * 27 + [2.0] * 5


@pytest.mark.parametrize("case", ["ti2v", "t2v"])
def test_base_cfg2_sampler_reproduces_official_trajectory(case, golden):
    cond, uncond = _branches(golden)
    rec = _Recorder()
    reference = golden["image_latent"] if case == "ti2v" else None
    video, audio = sample_base(
        cond, uncond, golden["init_video_noise"], golden["init_audio_noise"], flow_schedule(32),
        reference=reference, on_step=rec,
    )
    prefix = f"base_cfg2_{case}"
    torch.testing.assert_close(torch.stack(rec.video), golden[f"{prefix}_video_traj"], atol=ATOL, rtol=0)
    torch.testing.assert_close(torch.stack(rec.audio), golden[f"{prefix}_audio_traj"], atol=ATOL, rtol=0)
    torch.testing.assert_close(video, golden[f"{prefix}_video_final"], atol=ATOL, rtol=0)
    torch.testing.assert_close(audio, golden[f"{prefix}_audio_final"], atol=ATOL, rtol=0)


def test_distill_sampler_reproduces_official_trajectory_with_video_noise_drawn_first(golden):
    cond, _ = _branches(golden)
    draws = []
    for i in range(8):  # the official order: video noise, then audio noise, each step
        draws += [golden["distill_cfg1_ti2v_ddim_noise_video"][i], golden["distill_cfg1_ti2v_ddim_noise_audio"][i]]
    queue = iter(draws)

    def noise(like):
        eps = next(queue)
        assert eps.shape == like.shape
        return eps

    rec = _Recorder()
    video, audio = sample_distill(
        cond, golden["init_video_noise"], golden["init_audio_noise"], flow_schedule(8), noise,
        reference=golden["image_latent"], on_step=rec,
    )
    prefix = "distill_cfg1_ti2v"
    torch.testing.assert_close(torch.stack(rec.video), golden[f"{prefix}_video_traj"], atol=ATOL, rtol=0)
    torch.testing.assert_close(torch.stack(rec.audio), golden[f"{prefix}_audio_traj"], atol=ATOL, rtol=0)
    torch.testing.assert_close(video, golden[f"{prefix}_video_final"], atol=ATOL, rtol=0)
    torch.testing.assert_close(audio, golden[f"{prefix}_audio_final"], atol=ATOL, rtol=0)


def test_sr_sampler_reproduces_official_video_trajectory_and_never_touches_audio(golden):
    cond, _ = _branches(golden)
    seen_audio = []

    def spy(video, audio):
        seen_audio.append(audio.clone())
        return cond(video, audio)

    rec = _Recorder()
    audio_in = golden["init_audio_noise"]
    video = sample_sr(spy, golden["init_video_noise"], audio_in, flow_schedule(5),
                      reference=golden["image_latent"], on_step=rec)
    prefix = "sr_cfg1_ti2v"
    torch.testing.assert_close(torch.stack(rec.video), golden[f"{prefix}_video_traj"], atol=ATOL, rtol=0)
    torch.testing.assert_close(video, golden[f"{prefix}_video_final"], atol=ATOL, rtol=0)
    torch.testing.assert_close(torch.stack(rec.audio), golden[f"{prefix}_audio_traj"], atol=0, rtol=0)
    assert len(seen_audio) == 5 and all(torch.equal(a, audio_in) for a in seen_audio)


def test_reference_is_stitched_before_every_model_call(golden):
    cond, uncond = _branches(golden)
    ref = golden["image_latent"]
    frames0 = []

    def spy(video, audio):
        frames0.append(video[:, :, 0:1].clone())
        return cond(video, audio)

    sample_base(spy, uncond, golden["init_video_noise"], golden["init_audio_noise"], flow_schedule(4), reference=ref)
    assert len(frames0) == 4 and all(torch.equal(f, ref) for f in frames0)


def test_a2v_base_keeps_supplied_audio_fixed_and_feeds_it_every_step(golden):
    cond, uncond = _branches(golden)
    clean_audio = torch.randn(1, 5, 3, generator=torch.Generator().manual_seed(3))
    seen = []

    def spy(video, audio):
        seen.append(audio.clone())
        return cond(video, audio)

    video, audio = sample_base(spy, uncond, golden["init_video_noise"], clean_audio, flow_schedule(6),
                               audio_fixed=True)
    assert torch.equal(audio, clean_audio)
    assert len(seen) == 6 and all(torch.equal(a, clean_audio) for a in seen)
    free_video, _ = sample_base(cond, uncond, golden["init_video_noise"], clean_audio, flow_schedule(6))
    torch.testing.assert_close(video, free_video)  # toy video velocity ignores audio: same video either way


def test_a2v_distill_keeps_audio_fixed_and_draws_only_video_noise(golden):
    cond, _ = _branches(golden)
    clean_audio = torch.randn(1, 5, 3, generator=torch.Generator().manual_seed(4))
    shapes = []

    def noise(like):
        shapes.append(tuple(like.shape))
        return torch.zeros_like(like)

    _, audio = sample_distill(cond, golden["init_video_noise"], clean_audio, flow_schedule(8), noise, audio_fixed=True)
    assert torch.equal(audio, clean_audio)
    assert shapes == [tuple(golden["init_video_noise"].shape)] * 8


def test_prepare_sr_upsamples_with_aligned_corners_and_renoises_variance_preservingly():
    base = torch.arange(2 * 3 * 2 * 2, dtype=torch.float32).reshape(1, 2, 3, 2, 2)
    audio = torch.ones(1, 5, 4)
    draws = []

    def noise(like):
        draws.append(tuple(like.shape))
        return torch.full_like(like, 2.0)

    video, audio_ctx = prepare_sr(base, audio, (3, 5), noise)
    assert draws == [(1, 2, 3, 3, 5), (1, 5, 4)]  # video noise first, then audio
    signal, std = sr_renoise_coefficients()
    up = (video - std * 2.0) / signal
    # align_corners=True keeps the corner values of every frame exactly
    torch.testing.assert_close(up[..., 0, 0], base[..., 0, 0])
    torch.testing.assert_close(up[..., -1, -1], base[..., -1, -1])
    torch.testing.assert_close(up[..., 1, 2], base.mean(dim=(-1, -2)))  # the centre is the bilinear mean
    torch.testing.assert_close(audio_ctx, torch.full_like(audio, 0.7 * 2.0 + 0.3))


def test_unipc_refuses_more_steps_than_scheduled():
    solver = FlowUniPC(flow_schedule(2))
    x = torch.zeros(3)
    x = solver.step(torch.ones(3), x)
    x = solver.step(torch.ones(3), x)
    with pytest.raises(SamplerError, match="2 steps"):
        solver.step(torch.ones(3), x)


def test_unipc_last_step_returns_x0_prediction():
    solver = FlowUniPC(flow_schedule(1))
    x = torch.tensor([1.0, -2.0])
    v = torch.tensor([0.5, 0.25])
    out = solver.step(v, x)
    torch.testing.assert_close(out, x - flow_schedule(1).sigma(0) * v)


def test_stitch_reference_rejects_mismatched_shape():
    with pytest.raises(SamplerError, match=r"\(1, 4, 1, 2, 4\)"):
        stitch_reference(torch.zeros(1, 4, 3, 2, 4), torch.zeros(1, 4, 1, 3, 4))


def test_sampler_constants_are_the_official_pipeline_values():
    constants = json.loads((CONFORMANCE / "pipeline_constants.json").read_text())
    assert VIDEO_GUIDANCE == constants["video_txt_guidance_scale"]
    assert VIDEO_GUIDANCE_LATE == constants["video_txt_guidance_scale_when_t_le_500"]
    assert AUDIO_GUIDANCE == constants["audio_txt_guidance_scale"]
    assert SR_AUDIO_NOISE == constants["sr_audio_noise_scale"]
    assert [flow_schedule(n).steps for n in (32, 8, 5)] == [
        constants["base_steps"], constants["distill_steps"], constants["sr_steps"]]
