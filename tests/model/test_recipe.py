"""The sampling recipes: which first stage, steps, CFG and SR each job kind runs, and the A2V loop against the
official scheduler's golden data (tests/conformance/sampler_golden)."""

from pathlib import Path

import pytest
import torch
from safetensors.torch import load_file

from model.generator import run_first_stage
from model.recipe import RecipeChoice, RecipeError, recipe_for

GOLDEN = Path(__file__).resolve().parents[1] / "conformance" / "sampler_golden.safetensors"


@pytest.mark.parametrize(
    "resolution, voice, expected",
    [
        ("256p", False, ("distill", 8, 1, None, "official")),  # example/distill
        ("256p", True, ("base", 32, 2, None, "official")),  # A2V: only the CFG sampler keeps the audio
        ("540p", False, ("base", 32, 2, "540p_sr", "official")),  # example/sr_540p loads base first
        ("1080p", True, ("base", 32, 2, "1080p_sr", "official")),
    ],
)
def test_default_recipe_of_each_job_kind_is_the_official_one(resolution, voice, expected):
    recipe = RecipeChoice(resolution).recipe(voice)
    sr = recipe.sr.dit if recipe.sr else None
    assert (recipe.mode, recipe.first.steps, recipe.first.cfg_number, sr, recipe.status) == expected
    assert recipe.audio_fixed is voice and recipe.label == ""
    if recipe.sr:
        assert (recipe.sr.steps, recipe.sr.cfg_number, recipe.sr.coords) == (5, 1, "v1")


def test_fast_sr_and_experimental_a2v_are_explicit_and_labelled():
    fast = RecipeChoice("1080p", sr_fast=True)
    assert fast.recipe(False).mode == "distill" and fast.recipe(False).status == "fast"
    assert "fast mode" in fast.recipe(False).facts()["label"]
    assert fast.recipe(True).mode == "base"  # --sr-fast never turns a voice-track window distilled
    experimental = RecipeChoice("256p", a2v_distill_experimental=True).recipe(True)
    assert (experimental.mode, experimental.first.steps, experimental.status) == ("distill", 8, "experimental")
    assert experimental.audio_fixed and experimental.label.startswith("experimental")


def test_modes_a_job_loads_follow_its_window_kinds():
    assert RecipeChoice().modes(("t2v",)) == ("distill",)
    assert RecipeChoice().modes(("t2v", "a2v")) == ("distill", "base")
    assert RecipeChoice().modes(("a2v",)) == ("base",)
    assert RecipeChoice("540p").modes(("t2v", "a2v")) == ("base",)
    assert RecipeChoice(mode="base").modes(("t2v", "a2v")) == ("base",)


@pytest.mark.parametrize(
    "kwargs, needle",
    [
        (dict(resolution="256p", sr_fast=True), "resolution 256p has none"),
        (dict(resolution="540p", sr_fast=True, mode="base"), "contradicts --mode base"),
        (dict(resolution="1080p", mode="distill"), "pass --sr-fast"),
        (dict(resolution="720p"), "720p"),
        (dict(mode="turbo"), "turbo"),
    ],
)
def test_contradictory_recipe_settings_are_named_errors(kwargs, needle):
    with pytest.raises(RecipeError, match=needle):
        RecipeChoice(**kwargs)


def test_distilled_a2v_without_the_flag_is_refused():
    with pytest.raises(RecipeError, match="experimental"):
        recipe_for("256p", voice=True, mode="distill")


def test_voice_track_job_runs_the_32_step_cfg_loop_with_the_audio_fixed_as_the_golden_data():
    golden = load_file(str(GOLDEN))

    def toy(role):
        a, b = golden[f"toy_{role}_a"], golden[f"toy_{role}_b"]
        return lambda x: x - a * torch.tanh(x + b)

    vc, vu, ac, au = (toy(r) for r in ("vc", "vu", "ac", "au"))
    clean_audio = torch.randn(golden["init_audio_noise"].shape, generator=torch.Generator().manual_seed(1))
    calls, audio_seen, video_traj = [], [], []

    def branch(name, v_model, a_model):
        def velocity(video, audio):
            calls.append(name)
            audio_seen.append(audio.clone())
            return v_model(video), a_model(audio)
        return velocity

    def no_noise(like):
        raise AssertionError("the CFG loop draws no noise")

    recipe = RecipeChoice().recipe(voice=True)
    video, audio = run_first_stage(
        recipe, branch("cond", vc, ac), branch("uncond", vu, au), golden["init_video_noise"], clean_audio, no_noise,
        reference=golden["image_latent"], on_step=lambda i, v, a: video_traj.append(v.clone()),
    )
    assert calls == ["cond", "uncond"] * 32
    # The toy video velocities ignore the audio, so the official TI2V base loop's video trajectory is the A2V one.
    torch.testing.assert_close(torch.stack(video_traj), golden["base_cfg2_ti2v_video_traj"], atol=1e-5, rtol=0)
    torch.testing.assert_close(video, golden["base_cfg2_ti2v_video_final"], atol=1e-5, rtol=0)
    assert torch.equal(audio, clean_audio) and all(torch.equal(a, clean_audio) for a in audio_seen)
