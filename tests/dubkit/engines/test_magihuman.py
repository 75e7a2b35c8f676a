"""The magihuman engine: prompt, reference frame, A2V voice track and frame/audio fitting, driven
through a tiny random MagiHuman (tiny DiT preset, tiny T5Gemma, tiny Wan2.2 and Stable Audio VAEs)
on the CPU, once on its own and once through the whole localize pipeline.

Only the weights differ from a real run: the engine, the generator recipe and the pipeline code are
the ones a GPU run uses. The real-weights run is the `gpu` test at the end (needs CUDA and
DUBKIT_WEIGHTS pointing at a complete models folder).
"""
import json
import os
import subprocess
from pathlib import Path

import numpy as np
import pytest

from dubkit.engines import select_engine
from dubkit.engines.base import WindowRequest
from dubkit.engines.magihuman import (
    MagiHumanEngine,
    build_prompt,
    clip_frames,
    fit_frames,
    model_seconds,
)
from dubkit.errors import InputError
from dubkit.stages.composite import face_mask, window_faces
from dubkit.stages.plan import Window
from dubkit.stages.probe import probe_source
from eval.types import Cue
from langs import get_language
from model.recipe import RecipeChoice

REPO = Path(__file__).resolve().parents[3]
EXAMPLE = REPO / "examples" / "ad.mp4"
TINY_SIZE = (64, 32)  # the tiny generator's "256p": a 2:1 picture, unlike the square example


@pytest.fixture(scope="module")
def tiny_generator(tmp_path_factory):
    import torch

    from model.adapters.audio_vae import AudioVAE
    from model.adapters.text_encoder import TextEncoder
    from model.adapters.video_vae import VideoVAE
    from model.generator import Generator
    from model.loading import build_dit
    from tests.model.tiny_generator_parts import (
        tiny_oobleck_vae,
        tiny_t5gemma_folder,
        tiny_wan22_vae,
    )

    torch.manual_seed(0)
    dit = build_dit("tiny", "cpu", torch.float32)
    base = build_dit("tiny", "cpu", torch.float32)  # voice-track windows run the base model (the official A2V path)
    folder = tiny_t5gemma_folder(tmp_path_factory.mktemp("t5gemma"), hidden_size=dit.cfg.text_in_channels)
    text = TextEncoder.from_pretrained(folder, "cpu", torch.float32)
    return Generator({"distill": dit, "base": base}, text, VideoVAE(tiny_wan22_vae()), AudioVAE(tiny_oobleck_vae()),
                     resolutions={"256p": TINY_SIZE})


def _request(seed=5, voice=None, speakers=None, start=0.0, end=1.0):
    reference = np.zeros((48, 48, 3), np.uint8)
    reference[:, :24] = 200
    return WindowRequest(index=0, start=start, end=end, language=get_language("zh"),
                         lines=(Cue("日出咖啡，每天新鲜。", start + 0.1, end - 0.1, "anna"),), seed=seed,
                         reference_frame=reference, speaker_descriptions=speakers or {}, voice_track=voice,
                         width=48, height=48)


def test_prompt_follows_the_model_format_with_language_and_speaker_description():
    prompt = build_prompt(_request(speakers={"anna": "Young woman in a yellow coat"}))
    description, dialogue, background = prompt.split("\n\n")
    assert "says in Mandarin Chinese" in description and "日 出 咖 啡" in description
    assert dialogue == 'Dialogue:\n<Young woman in a yellow coat, Mandarin>: "日 出 咖 啡， 每 天 新 鲜。"'
    assert background == "Background Sound:\n<No prominent background sound>"


def test_prompt_without_a_description_names_the_person_on_screen():
    assert "<The person on screen, Mandarin>" in build_prompt(_request())


def test_clip_length_is_the_fewest_latent_frames_covering_the_window():
    # 1 s = 25 frames = 4·7 − 3: seven latent frames, not eight (no extra latent frame of padding)
    assert clip_frames(1.0) == 25 and model_seconds(1.0) == 0.96
    assert clip_frames(0.16) == 5 and model_seconds(0.16) == 0.16 and model_seconds(8.0) == 8.0
    assert clip_frames(1.01) == 29 and clip_frames(0.04) == 5
    for d in (0.3, 1.0, 2.6, 7.81):
        n = clip_frames(d)
        assert (n - 1) % 4 == 0 and n >= d * 25 and n - 4 < d * 25  # 4T − 3 frames, one latent frame fewer is short
        assert round(model_seconds(d) * 25) == n - 1


def test_frames_of_another_aspect_are_pasted_into_the_centre_crop_of_the_reference():
    reference = np.full((40, 40, 3), 9, np.uint8)
    frames = np.full((3, 10, 20, 3), 250, np.uint8)
    out, info = fit_frames(frames, reference, 40, 40)
    assert out.shape == (3, 40, 40, 3) and info["crop"] == [0, 10, 40, 20]
    assert (out[:, 10:30] > 200).all() and (out[:, :10] == 9).all() and (out[:, 30:] == 9).all()
    same, info = fit_frames(np.zeros((2, 20, 40, 3), np.uint8), reference, 80, 40)
    assert same.shape == (2, 40, 80, 3) and info == {"fit": "resize"}


@pytest.mark.slow
def test_render_returns_source_size_frames_and_window_length_audio_reproducibly(tiny_generator):
    engine = MagiHumanEngine(tiny_generator)
    first = engine.render(_request(seed=5))
    assert first.frames.shape == (25, 48, 48, 3) and first.frames.dtype == np.uint8 and first.fps == 25.0
    assert first.audio.shape == (44_100, 2) and first.sample_rate == 44_100
    assert first.info["seed"] == 5 and first.info["prompt"].startswith("The person on screen")
    again = engine.render(_request(seed=5))
    other = engine.render(_request(seed=6))
    np.testing.assert_array_equal(first.frames, again.frames)
    assert not np.array_equal(first.audio, other.audio)
    ident = engine.identity()
    assert ident["engine"] == "magihuman" and all(v.startswith("state:") for v in ident["checkpoints"].values())


@pytest.mark.slow
def test_a_voice_track_conditions_the_render_and_is_kept_as_its_audio(tiny_generator, tmp_path):
    import scipy.io.wavfile

    t = np.arange(3 * 44_100) / 44_100
    voice = (0.3 * np.sin(2 * np.pi * 220 * t)).astype(np.float32)
    path = tmp_path / "ad.zh.wav"
    scipy.io.wavfile.write(path, 44_100, voice)
    base_calls = []
    hook = tiny_generator.dits["base"].register_forward_hook(lambda *_: base_calls.append(1))
    try:
        render = MagiHumanEngine(tiny_generator).render(_request(voice=path, start=1.0, end=2.0))
    finally:
        hook.remove()
    assert render.info["a2v"] is True and len(base_calls) == 2 * 32  # base model, 32 steps, two CFG branches
    assert render.info["recipe"] == {
        "recipe": "a2v base 32 cfg2", "kind": "a2v", "first_stage": "base", "steps": 32, "cfg_number": 2,
        "audio": "voice track kept fixed", "sr": None, "sr_steps": 0, "status": "official",
    }
    assert render.info["generated_shape"][0] == 25  # 25 audio frames of the track -> T = 7 -> 25 video frames
    assert render.frames.shape[0] == 25
    np.testing.assert_allclose(render.audio[:, 0], voice[44_100:88_200], atol=2e-3)


@pytest.mark.slow
def test_distilled_a2v_runs_only_when_asked_for_and_is_labelled_experimental(tiny_generator, tmp_path):
    import scipy.io.wavfile

    path = tmp_path / "ad.zh.wav"
    scipy.io.wavfile.write(path, 44_100, np.zeros(44_100, np.float32))
    engine = MagiHumanEngine(tiny_generator, recipes=RecipeChoice(a2v_distill_experimental=True))
    info = engine.render(_request(voice=path, start=0.0, end=0.5)).info
    assert (info["recipe"]["first_stage"], info["recipe"]["steps"], info["recipe"]["status"]) == (
        "distill", 8, "experimental")
    assert info["recipe"]["label"].startswith("experimental: distilled A2V")
    assert engine.identity()["recipes"]["a2v_distill_experimental"] is True  # part of every cache key


def test_auto_selection_without_cuda_falls_back_to_preview_and_says_why(monkeypatch):
    import dubkit.engines

    monkeypatch.setattr(dubkit.engines, "cuda_available", lambda: False)  # also on a GPU machine
    choice = select_engine("auto", weights=None)
    assert choice.engine.name == "preview" and "CUDA" in choice.reason


def test_auto_selection_with_cuda_but_no_weights_says_how_to_fetch_them(monkeypatch, tmp_path):
    import dubkit.engines

    monkeypatch.setattr(dubkit.engines, "cuda_available", lambda: True)
    choice = select_engine("auto", weights=tmp_path)
    assert choice.engine.name == "preview"
    assert "weights incomplete" in choice.reason and "dubkit models pull magihuman" in choice.reason


def test_magihuman_by_name_lists_the_missing_weights(tmp_path):
    with pytest.raises(InputError, match="daVinci-MagiHuman/distill"):
        select_engine("magihuman", weights=tmp_path)


def test_voice_track_job_without_the_base_weights_names_the_missing_folder_and_why(tmp_path):
    import shutil

    from tests.model.tiny_generator_parts import complete_layout_placeholders

    complete_layout_placeholders(tmp_path)
    shutil.rmtree(tmp_path / "daVinci-MagiHuman" / "base")
    with pytest.raises(InputError) as info:
        select_engine("magihuman", weights=tmp_path, kinds=("t2v", "a2v"))
    message = str(info.value)
    assert "daVinci-MagiHuman/base/ (the whole folder" in message
    assert "voice-track windows run the base model (the official A2V path" in message
    assert "--a2v-distill-experimental" in message and "\n" not in message
    assert "dubkit models pull magihuman --weights DIR --mode distill --mode base," in message
    with pytest.raises(InputError, match="--weights"):
        select_engine("magihuman", weights=None)


def _tiny_models_folder(folder: Path) -> Path:
    """A models folder in the real `model.weights` layout holding tiny random weights."""
    import torch
    from safetensors.torch import save_file

    from model.loading import build_dit
    from tests.model.tiny_generator_parts import (
        tiny_oobleck_vae,
        tiny_t5gemma_folder,
        tiny_turbo_vae_folder,
        tiny_wan22_vae,
    )

    torch.manual_seed(1)
    dit = build_dit("tiny")
    (folder / "daVinci-MagiHuman" / "distill").mkdir(parents=True)
    save_file(dit.state_dict(), str(folder / "daVinci-MagiHuman" / "distill" / "model.safetensors"))
    tiny_t5gemma_folder(folder / "t5gemma-9b-9b-ul2", hidden_size=dit.cfg.text_in_channels)
    tiny_wan22_vae().save_pretrained(folder / "Wan2.2-TI2V-5B-Diffusers" / "vae")
    tiny_oobleck_vae().save_pretrained(folder / "stable-audio-open-1.0" / "vae")
    tiny_turbo_vae_folder(folder / "daVinci-MagiHuman" / "turbo_vae")
    return folder


@pytest.mark.slow
def test_tiny_magihuman_through_the_whole_localize_pipeline(tmp_path, monkeypatch):
    """Weights loaded from the real folder layout (only the DiT preset is tiny), a 3-second cut of the
    example, one zh window, up to two attempts: generated frames spliced into the output."""
    import av
    import imageio_ffmpeg

    from dubkit.options import LocalizeOptions
    from dubkit.pipeline import localize
    from tests.dubkit.counting_engine import CountingEngine, read_log

    monkeypatch.setattr("dubkit.engines.magihuman.checkpoint_hash_store", lambda: tmp_path / "hashes.json")
    weights = _tiny_models_folder(tmp_path / "weights")
    short = tmp_path / "spot.mp4"
    subprocess.run([imageio_ffmpeg.get_ffmpeg_exe(), "-v", "error", "-i", str(EXAMPLE), "-t", "3", "-c:v",
                    "libx264", "-c:a", "aac", str(short)], check=True)
    (tmp_path / "spot.en.srt").write_text("1\n00:00:00,400 --> 00:00:01,900\nEvery great day starts here.\n")
    (tmp_path / "spot.zh.srt").write_text("1\n00:00:00,400 --> 00:00:01,900\n美好的一天从这里开始。\n")
    magi = MagiHumanEngine.from_weights(weights, device="cpu", preset="tiny")
    engine = CountingEngine(magi, tmp_path / "calls.log")
    result = localize(LocalizeOptions(source=short, languages="zh", out=tmp_path / "out", max_attempts=2,
                                      source_script=tmp_path / "spot.en.srt",
                                      speakers={"default": "Astronaut in a white suit"}), engine=engine)
    report = json.loads(result.report_json.read_text("utf-8"))
    window = report["languages"]["zh"]["windows"][0]
    checkpoints = report["engine"]["identity"]["checkpoints"]
    assert report["engine"]["name"] == "magihuman" and report["engine"]["preview"] is False
    assert "daVinci-MagiHuman/distill/model.safetensors" in checkpoints
    assert all(len(h) == 64 for h in checkpoints.values())
    assert len(read_log(tmp_path / "calls.log")) == 2 * len(window["attempts"])
    assert 1 <= len(window["attempts"]) <= 2
    assert all("Astronaut in a white suit, Mandarin" in a["info"]["prompt"] for a in window["attempts"])
    assert len({a["seed"] for a in window["attempts"]}) == len(window["attempts"])
    assert result.passed == window["passed"]
    with av.open(str(result.outputs["zh"].video)) as out, av.open(str(short)) as src:
        assert {s.type for s in out.streams} >= {"video", "audio", "subtitle"}
        mid_out = next(f for i, f in enumerate(out.decode(video=0)) if i == 25).to_ndarray(format="rgb24")
        mid_src = next(f for i, f in enumerate(src.decode(video=0)) if i == 25).to_ndarray(format="rgb24")
    # the tiny random model's picture replaced the source's around the astronaut's face only (brand-safe
    # composite, docs/localize.md); elsewhere only the encoders' noise differs
    assert report["windows"][0]["lipsync"]["picture"] == "lip-sync"
    start, end = report["windows"][0]["start"], report["windows"][0]["end"]
    faces = window_faces(probe_source(short), Window(0, start, end, ()), "auto")
    mask = face_mask(faces.box_at(1.0 - start), mid_src.shape[1], mid_src.shape[0])
    change = np.abs(mid_out.astype(int) - mid_src.astype(int)).mean(axis=2)
    assert change[mask == 1].mean() > 15 and change[mask == 0].mean() < 8, (change[mask == 1].mean(),
                                                                           change[mask == 0].mean())


@pytest.mark.gpu
def test_real_weights_render_a_window_on_cuda():
    torch = pytest.importorskip("torch")
    weights = os.environ.get("DUBKIT_WEIGHTS")
    if not torch.cuda.is_available() or not weights:
        pytest.skip("needs a CUDA device and DUBKIT_WEIGHTS=<complete MagiHuman models folder>")
    choice = select_engine("auto", weights=Path(weights))
    assert choice.engine.name == "magihuman", choice.reason
    render = choice.engine.render(_request(end=2.0))
    assert render.frames.shape == (50, 48, 48, 3) and render.audio.shape == (88_200, 2)
    assert all(len(h) == 64 for h in choice.engine.identity()["checkpoints"].values())


def test_the_prompt_tells_two_undescribed_speakers_apart_and_uses_descriptions_given():
    lines = (Cue("你好。", 0.1, 0.5, "S1"), Cue("早上好。", 0.5, 0.9, "S2"))
    base = _request()
    two = WindowRequest(0, 0.0, 1.0, base.language, lines, seed=5, reference_frame=base.reference_frame,
                        speaker_pitch={"S1": 110.0, "S2": 220.0})
    prompt = build_prompt(two)
    assert '<The first speaker, a man, Mandarin>: "你 好。"' in prompt
    assert '<The second speaker, a woman, Mandarin>: "早 上 好。"' in prompt
    assert "The second speaker, a woman, looks into the camera" in prompt
    described = WindowRequest(0, 0.0, 1.0, base.language, lines, seed=5, reference_frame=base.reference_frame,
                              speaker_pitch={"S1": 110.0, "S2": 220.0},
                              speaker_descriptions={"S2": "Young woman in a yellow coat"})
    assert "<Young woman in a yellow coat, Mandarin>" in build_prompt(described)
