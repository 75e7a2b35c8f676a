"""The generator end to end on CPU: tiny DiT preset, tiny random VAEs and encoder, tiny frame sizes."""

import json
from pathlib import Path

import numpy as np
import pytest
import torch

from model.adapters.audio_vae import AudioVAE
from model.adapters.text_encoder import TextEncoder
from model.adapters.video_vae import VideoVAE, to_uint8_frames
from model.config import FRAME_RECEPTIVE_FIELD_1080P, LOCAL_ATTN_LAYERS_1080P
from model.generator import (
    Generator,
    GeneratorError,
    GeneratorInputError,
    NoCudaError,
    VoiceTrack,
    a2v_audio_frames,
    a2v_lengths,
    centre_crop_box,
    clip_lengths,
    prepare_image,
)
from model.loading import build_dit
from model.prompt import NEGATIVE_PROMPT
from model.weights import WeightsMissingError
from tests.model.tiny_generator_parts import (
    complete_layout_placeholders,
    tiny_oobleck_vae,
    tiny_t5gemma_folder,
    tiny_turbo_vae_folder,
    tiny_wan22_vae,
)

CONSTANTS = Path(__file__).resolve().parents[1] / "conformance" / "pipeline_constants.json"
SIZES = {"256p": (64, 32), "540p": (96, 64), "1080p": (128, 64)}
SECONDS = 0.16  # 4 frames + 1: F = 5 pixel/audio frames, T = 2 latent frames
PROMPT = "a man says hello to camera"


pytestmark = pytest.mark.usefixtures("single_thread")  # tests/model/conftest.py


class SpyDiT(torch.nn.Module):
    """Passes through to a real DiT and records what each call received."""

    def __init__(self, dit):
        super().__init__()
        self.dit, self.cfg, self.calls = dit, dit.cfg, []

    def forward(self, x, coords, modality, local_q_ranges=None, local_k_ranges=None):
        self.calls.append(dict(x=x.clone(), coords=coords.clone(), modality=modality.clone(),
                               q=local_q_ranges, k=local_k_ranges, device=next(self.dit.parameters()).device))
        return self.dit(x, coords, modality, local_q_ranges, local_k_ranges)


def _dit(seed, local=None):
    torch.manual_seed(seed)
    return SpyDiT(build_dit("tiny", dtype=torch.float32, local_attn_layers=local))


@pytest.fixture(scope="module")
def parts(tmp_path_factory):
    t5 = tiny_t5gemma_folder(tmp_path_factory.mktemp("t5"), hidden_size=256)  # the tiny DiT's text width
    return dict(
        text_encoder=TextEncoder.from_pretrained(t5, dtype=torch.float32),
        video_vae=VideoVAE(tiny_wan22_vae()),
        audio_vae=AudioVAE(tiny_oobleck_vae()),
    )


@pytest.fixture()
def generator(parts):
    return Generator(
        {"distill": _dit(1), "base": _dit(2)}, **parts,
        sr_dits={"540p": _dit(3), "1080p": _dit(4, local=(0, 1, 2, 4, 5, 6))}, resolutions=SIZES,
    )


def _image(h=40, w=50):
    rng = np.random.default_rng(0)
    return rng.integers(0, 256, size=(h, w, 3), dtype=np.uint8)


def test_distill_generation_returns_25fps_frames_and_44k_stereo(generator):
    out = generator.generate(PROMPT, seconds=SECONDS, seed=7)
    assert out.frames.shape == (5, 32, 64, 3) and out.frames.dtype == np.uint8
    assert out.audio.shape == (round(5 * 2048 * 441 / 512), 2) and out.audio.dtype == np.float32
    assert (out.fps, out.sample_rate, out.seed, out.mode, out.resolution) == (25, 44100, 7, "distill", "256p")
    assert len(generator.dits["distill"].calls) == 8 and not generator.dits["base"].calls


def test_same_seed_gives_identical_output_and_another_seed_does_not(generator):
    a = generator.generate(PROMPT, seconds=SECONDS, seed=3)
    b = generator.generate(PROMPT, seconds=SECONDS, seed=3)
    c = generator.generate(PROMPT, seconds=SECONDS, seed=4)
    assert np.array_equal(a.frames, b.frames) and np.array_equal(a.audio, b.audio)
    assert not np.array_equal(a.audio, c.audio)


def test_base_mode_runs_32_cfg_steps_with_the_negative_prompt_encoded_once(generator, monkeypatch):
    encoded = []
    original = generator.text_encoder.encode
    monkeypatch.setattr(generator.text_encoder, "encode", lambda t: encoded.append(t) or original(t))
    generator.generate(PROMPT, seconds=SECONDS, mode="base", seed=0)
    generator.generate(PROMPT, seconds=SECONDS, mode="base", seed=1)
    calls = generator.dits["base"].calls
    assert len(calls) == 2 * 2 * 32
    cond_text, uncond_text = (c["x"][c["modality"] == 2] for c in calls[:2])
    torch.testing.assert_close(cond_text, original(PROMPT), atol=0, rtol=0)
    torch.testing.assert_close(uncond_text, original(NEGATIVE_PROMPT), atol=0, rtol=0)  # not an empty prompt
    assert torch.equal(calls[0]["x"][calls[0]["modality"] != 2], calls[1]["x"][calls[1]["modality"] != 2])
    assert encoded.count(PROMPT) == 2 and sum(t != PROMPT for t in encoded) == 1


def test_reference_image_is_stitched_into_latent_frame_zero(generator, parts):
    image = _image()
    latents = generator.generate_latents(PROMPT, reference_image=image, seconds=SECONDS, seed=5)
    expected = parts["video_vae"].encode(prepare_image(image, 64, 32))
    torch.testing.assert_close(latents.video[:, :, 0:1], expected)
    free = generator.generate_latents(PROMPT, seconds=SECONDS, seed=5)
    assert not torch.equal(free.video[:, :, 0:1], expected)


def test_voice_track_stays_fixed_and_clean_in_both_samplers(generator, parts, monkeypatch):
    encoded = []
    original = parts["audio_vae"].encode
    monkeypatch.setattr(parts["audio_vae"], "encode", lambda *a, **k: encoded.append(original(*a, **k)) or encoded[-1])
    track = VoiceTrack(np.sin(np.arange(2400) * 0.1).astype(np.float32), 16000)
    for mode in ("distill", "base"):
        latents = generator.generate_latents(PROMPT, voice_track=track, mode=mode, seed=2,
                                             a2v_distill_experimental=mode == "distill")
        assert torch.equal(latents.audio, encoded[-1])
        audio_rows = [c["x"][c["modality"] == 1, :64] for c in generator.dits[mode].calls]
        assert all(torch.equal(rows, encoded[-1][0]) for rows in audio_rows)
        # the length follows the track: 2400 samples at 16 kHz = 3.75 -> 4 audio frames, T = 1, nothing padded
        assert latents.audio.shape == (1, 4, 64) and latents.video.shape[2] == 1
    assert latents.recipe.name == "a2v base 32 cfg2" and latents.recipe.status == "official"
    assert len(generator.dits["base"].calls) == 2 * 32  # the official A2V loop: 32 steps, two CFG branches


@pytest.mark.parametrize(
    "track, needle",
    [
        (VoiceTrack(np.zeros(100, np.float32), 0), "sample_rate"),
        (VoiceTrack(np.zeros(0, np.float32), 16000), "non-empty"),
        (VoiceTrack(np.full(100, np.nan, np.float32), 16000), "NaN"),
        (VoiceTrack(np.zeros(100, np.int16), 16000), "int16"),
    ],
)
def test_bad_voice_track_is_rejected_before_any_work(generator, track, needle):
    with pytest.raises(GeneratorInputError, match=needle):
        generator.generate(PROMPT, voice_track=track)
    assert not generator.dits["base"].calls


def test_540p_super_resolution_uses_v1_coordinates_and_sr_size(generator):
    out = generator.generate(PROMPT, reference_image=_image(), seconds=SECONDS, resolution="540p", mode="distill",
                             seed=1)  # the fast mode: fewer tiny-DiT calls; the default is tested below
    assert out.frames.shape == (5, 64, 96, 3) and out.recipe.status == "fast" and "fast mode" in out.recipe.label
    calls = generator.sr_dits["540p"].calls
    assert len(calls) == 5 and all(c["q"] is None for c in calls)
    text_rows = calls[0]["coords"][calls[0]["modality"] == 2]
    assert torch.all(text_rows[:, 6] == 2) and torch.all(text_rows[:, 0] >= 0)  # v1 text: ref 2, t = i
    base_text = generator.dits["distill"].calls[0]["coords"][generator.dits["distill"].calls[0]["modality"] == 2]
    assert torch.all(base_text[:, 6] == 1) and torch.all(base_text[:, 0] < 0)  # v2 text: ref 1, t = i - Nt


def test_sr_keeps_the_clean_base_audio(generator):
    base = generator.generate_latents(PROMPT, seconds=SECONDS, mode="distill", seed=9)
    sr = generator.generate_latents(PROMPT, seconds=SECONDS, resolution="540p", mode="distill", seed=9)
    assert torch.equal(base.audio, sr.audio)
    assert sr.video.shape == (1, 48, 2, 4, 6)


def test_1080p_super_resolution_passes_local_attention_ranges(generator):
    latents = generator.generate_latents(PROMPT, seconds=SECONDS, resolution="1080p", mode="distill", seed=1)
    assert latents.video.shape == (1, 48, 2, 4, 8)
    call = generator.sr_dits["1080p"].calls[0]
    assert call["q"] is not None and call["k"] is not None
    assert call["q"][0].tolist() == [0, 8] and call["k"][0].tolist() == [0, 16]  # frame 0 sees frames 0..11 (clipped)


def test_progress_reports_each_stage_step(generator):
    seen = []
    generator.generate(PROMPT, seconds=SECONDS, resolution="540p", mode="distill", seed=0,
                       progress=lambda *a: seen.append(a))
    assert seen[:2] == [("distill stage", 1, 8), ("distill stage", 2, 8)]
    assert seen[-1] == ("540p super-resolution", 5, 5) and len(seen) == 13


@pytest.mark.parametrize(
    "kwargs, needle",
    [
        (dict(resolution="720p"), "720p"),
        (dict(mode="turbo"), "turbo"),
        (dict(seconds=0.1), "0.1"),
        (dict(seconds=0), "seconds=0"),
        (dict(seed=-1), "-1"),
        (dict(reference_image=np.zeros((4, 4), np.uint8)), r"\(4, 4\)"),
    ],
)
def test_bad_arguments_raise_input_errors_naming_the_value(generator, kwargs, needle):
    args = dict(seconds=SECONDS) | kwargs
    with pytest.raises(GeneratorInputError, match=needle):
        generator.generate(PROMPT, **args)


def test_empty_prompt_is_rejected(generator):
    with pytest.raises(GeneratorInputError, match="prompt"):
        generator.generate("  ", seconds=SECONDS)


def test_missing_component_is_named(parts):
    gen = Generator({"distill": _dit(1)}, **parts, resolutions=SIZES)
    with pytest.raises(GeneratorError, match="base DiT"):
        gen.generate(PROMPT, seconds=SECONDS, mode="base")
    with pytest.raises(GeneratorError, match="base DiT"):
        gen.generate(PROMPT, seconds=SECONDS, resolution="540p")  # the released SR recipe runs base first
    with pytest.raises(GeneratorError, match="540p SR DiT"):
        gen.generate(PROMPT, seconds=SECONDS, resolution="540p", mode="distill")


def test_clip_lengths_follow_25_fps_and_4x_temporal_compression():
    assert clip_lengths(5.0) == (126, 32)
    assert clip_lengths(SECONDS) == (5, 2)


def test_prepare_image_centre_crops_to_the_target_aspect():
    image = np.zeros((40, 100, 3), np.uint8)
    image[:, 30:70] = 255  # white centre band: exactly the square centre crop of a 40x100 image
    pixels = prepare_image(image, 32, 32)
    assert pixels.shape == (1, 3, 1, 32, 32)
    assert torch.all(pixels == 1.0)  # the black margins were cropped away, not squeezed in
    tall = prepare_image(np.zeros((100, 40, 3), np.uint8), 64, 32)
    assert tall.shape == (1, 3, 1, 32, 64) and torch.all(tall == -1.0)


def test_prepare_image_is_the_official_crop_then_lanczos_resize():
    from diffusers.image_processor import VaeImageProcessor
    from PIL import Image

    image = _image(45, 77)  # taller than 2:1, so the height is cut
    box = centre_crop_box(77, 45, 64, 32)
    assert box == (0, 4, 77, 42)  # new_h = int(77·32/64) = 38; edges 3.5 and 41.5 round half to even
    official = VaeImageProcessor(vae_scale_factor=16).preprocess(Image.fromarray(image).crop(box), 32, 64)
    torch.testing.assert_close(prepare_image(image, 64, 32)[:, :, 0], official, atol=0, rtol=0)
    assert centre_crop_box(100, 40, 32, 32) == (30, 0, 70, 40) and centre_crop_box(64, 32, 64, 32) == (0, 0, 64, 32)


@pytest.mark.parametrize(
    "samples, rate, expected",
    [
        (44_100, 44_100, (25, 7)),  # 1 s: 25 audio frames, T = 7, 4T - 3 = 25 video frames (no 8th latent frame)
        (44_100 + 1, 44_100, (26, 7)),  # a partial 40 ms frame counts; 26 audio frames still need only T = 7
        (5 * 51_200, 51_200, (125, 32)),
        (2400, 16_000, (4, 1)),
    ],
)
def test_a2v_length_follows_the_voice_track_without_padding(samples, rate, expected):
    assert a2v_lengths(VoiceTrack(np.zeros(samples, np.float32), rate)) == expected


def test_a2v_audio_frames_cover_the_video_frames_with_the_fewest_latent_frames():
    assert [a2v_audio_frames(v) for v in (1, 2, 5, 24, 25, 26)] == [1, 5, 5, 25, 25, 29]


def test_distilled_a2v_needs_the_experimental_flag_and_is_labelled(generator):
    track = VoiceTrack(np.zeros(1600, np.float32), 16_000)
    with pytest.raises(GeneratorInputError, match="experimental"):
        generator.generate_latents(PROMPT, voice_track=track, mode="distill")
    assert not generator.dits["distill"].calls
    latents = generator.generate_latents(PROMPT, voice_track=track, mode="distill", a2v_distill_experimental=True)
    assert latents.recipe.status == "experimental" and len(generator.dits["distill"].calls) == 8


def test_seconds_with_a_voice_track_is_refused_by_name(generator):
    with pytest.raises(GeneratorInputError, match="seconds=0.16 with a voice track"):
        generator.generate(PROMPT, voice_track=VoiceTrack(np.zeros(100, np.float32), 16_000), seconds=SECONDS)


def test_super_resolution_runs_the_base_model_first_by_default(generator):
    order = []
    for name, dit in (("base", generator.dits["base"]), ("distill", generator.dits["distill"]),
                      ("sr", generator.sr_dits["540p"])):
        dit.register_forward_hook(lambda *_, name=name: order.append(name))
    latents = generator.generate_latents(PROMPT, seconds=SECONDS, resolution="540p", seed=2)
    assert order == ["base"] * 64 + ["sr"] * 5 and latents.recipe.status == "official"


def test_from_pretrained_without_weights_lists_exactly_what_is_missing(tmp_path):
    with pytest.raises(WeightsMissingError) as info:
        Generator.from_pretrained(tmp_path, device="cuda")
    assert set(info.value.missing) == {
        "t5gemma-9b-9b-ul2/ (the whole folder; from google/t5gemma-9b-9b-ul2)",
        "Wan2.2-TI2V-5B-Diffusers/vae/ (the whole folder; from Wan-AI/Wan2.2-TI2V-5B-Diffusers)",
        "stable-audio-open-1.0/vae/ (the whole folder; from stabilityai/stable-audio-open-1.0)",
        "daVinci-MagiHuman/turbo_vae/ (the whole folder; from GAIR/daVinci-MagiHuman)",
        "daVinci-MagiHuman/distill/ (the whole folder; from GAIR/daVinci-MagiHuman)",
    }
    if not torch.cuda.is_available():
        assert "no CUDA device" in str(info.value)


@pytest.mark.skipif(torch.cuda.is_available(), reason="checks the CPU-only machine's message")
def test_from_pretrained_without_cuda_says_so(tmp_path):
    complete_layout_placeholders(tmp_path)
    with pytest.raises(NoCudaError, match="no CUDA device"):
        Generator.from_pretrained(tmp_path, device="cuda", modes=("base", "distill"), resolutions=("256p", "1080p"))


@pytest.mark.gpu
@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA device")
def test_offload_keeps_idle_dits_on_cpu_and_matches_resident_run(parts):
    cuda_parts = dict(
        text_encoder=TextEncoder(parts["text_encoder"].model.to("cuda"), parts["text_encoder"].tokenizer),
        video_vae=VideoVAE(parts["video_vae"].vae.to("cuda")),
        audio_vae=AudioVAE(parts["audio_vae"].vae.to("cuda")),
    )
    resident = Generator({"distill": _dit(1).to("cuda")}, **cuda_parts, device="cuda", resolutions=SIZES)
    expected = resident.generate_latents(PROMPT, seconds=SECONDS, seed=11)
    dit = _dit(1)
    offloaded = Generator({"distill": dit}, **cuda_parts, device="cuda", offload=True, resolutions=SIZES)
    got = offloaded.generate_latents(PROMPT, seconds=SECONDS, seed=11)
    assert all(c["device"].type == "cuda" for c in dit.calls)
    assert next(dit.parameters()).device.type == "cpu"
    torch.testing.assert_close(got.video, expected.video)
    torch.testing.assert_close(got.audio, expected.audio)


def test_pipeline_constants_for_1080p_local_attention_match_the_official_run():
    constants = json.loads(CONSTANTS.read_text())
    assert list(LOCAL_ATTN_LAYERS_1080P) == constants["sr1080_local_attn_layers"]
    assert FRAME_RECEPTIVE_FIELD_1080P == constants["frame_receptive_field"]


def _tiny_models_folder(folder):
    """A models folder in the real layout holding tiny weights (the DiT as a bf16-recipe safetensors file)."""
    from safetensors.torch import save_file

    for name, seed in (("distill", 1), ("540p_sr", 3)):
        torch.manual_seed(seed)
        dit_dir = folder / "daVinci-MagiHuman" / name
        dit_dir.mkdir(parents=True)
        save_file(build_dit("tiny").state_dict(), str(dit_dir / "model.safetensors"))
    tiny_t5gemma_folder(folder / "t5gemma-9b-9b-ul2", hidden_size=256)
    tiny_wan22_vae().save_pretrained(folder / "Wan2.2-TI2V-5B-Diffusers" / "vae")
    tiny_oobleck_vae().save_pretrained(folder / "stable-audio-open-1.0" / "vae")
    tiny_turbo_vae_folder(folder / "daVinci-MagiHuman" / "turbo_vae")
    return folder


def test_from_pretrained_loads_every_component_from_the_layout_and_generates(tmp_path):
    folder = _tiny_models_folder(tmp_path)
    gen = Generator.from_pretrained(folder, device="cpu", modes=("distill",), resolutions=("256p", "540p"),
                                    preset="tiny")
    assert set(gen.dits) == {"distill"} and set(gen.sr_dits) == {"540p"}
    assert gen.dits["distill"].block.layers[4].mlp.up_gate_proj.weight.dtype == torch.bfloat16
    assert gen.dits["distill"].block.layers[4].mlp.down_proj.in_features == 448  # swiglu 424 padded to 64s
    assert gen.offload == "auto" and gen._text_host is None  # a CPU device: nothing is lent or pinned
    out = gen.generate(PROMPT, seconds=SECONDS, seed=1)
    assert out.frames.shape == (5, 256, 448, 3)  # the real 256p size
    again = Generator.from_pretrained(folder, device="cpu", preset="tiny").generate(PROMPT, seconds=SECONDS, seed=1)
    assert np.array_equal(out.frames, again.frames) and np.array_equal(out.audio, again.audio)
    assert gen.turbo_vae is not None and gen.turbo_vae.dtype == torch.float32  # the official decoder by default
    latents = gen.generate_latents(PROMPT, seconds=SECONDS, seed=1)
    assert np.array_equal(out.frames, to_uint8_frames(gen.turbo_vae.decode(latents.video)[0]).numpy())
    wan = Generator.from_pretrained(folder, device="cpu", preset="tiny", vae="wan")
    assert wan.turbo_vae is None
    assert not np.array_equal(wan.generate(PROMPT, seconds=SECONDS, seed=1).frames, out.frames)


@pytest.mark.parametrize("level", ["none", "text", "auto", "all", True, False])
def test_offload_levels_are_accepted_and_named(parts, level):
    gen = Generator({"distill": _dit(1)}, **parts, offload=level, resolutions=SIZES)
    assert gen.offload == {True: "all", False: "none"}.get(level, level)


def test_unknown_offload_level_is_a_named_error(parts):
    with pytest.raises(GeneratorInputError, match="'gpu'"):
        Generator({"distill": _dit(1)}, **parts, offload="gpu", resolutions=SIZES)


def _resident_cuda_run(parts):
    """The GPU parts, and the latents of a run with everything resident on the GPU."""
    video_vae, audio_vae = VideoVAE(parts["video_vae"].vae.to("cuda")), AudioVAE(parts["audio_vae"].vae.to("cuda"))
    on_gpu = TextEncoder(parts["text_encoder"].model.to("cuda"), parts["text_encoder"].tokenizer)
    resident = Generator({"distill": _dit(1).to("cuda")}, text_encoder=on_gpu, video_vae=video_vae,
                         audio_vae=audio_vae, device="cuda", resolutions=SIZES)
    return dict(video_vae=video_vae, audio_vae=audio_vae), resident.generate_latents(PROMPT, seconds=SECONDS, seed=11)


@pytest.mark.gpu
@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA device")
def test_text_offload_keeps_only_the_encoder_on_cpu_and_matches_resident_run(parts):
    vaes, expected = _resident_cuda_run(parts)
    on_cpu = TextEncoder(parts["text_encoder"].model.to("cpu"), parts["text_encoder"].tokenizer)
    dit = _dit(1).to("cuda")
    gen = Generator({"distill": dit}, text_encoder=on_cpu, **vaes, device="cuda", offload="text", resolutions=SIZES)
    got = gen.generate_latents(PROMPT, seconds=SECONDS, seed=11)
    assert next(on_cpu.model.parameters()).device.type == "cpu"
    assert all(p.is_pinned() for p in on_cpu.model.parameters())  # lent from pinned memory, dropped after
    assert next(dit.parameters()).device.type == "cuda"
    torch.testing.assert_close(got.video, expected.video)


@pytest.mark.gpu
@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA device")
def test_auto_offload_keeps_the_encoder_on_a_roomy_gpu_and_matches_resident_run(parts):
    vaes, expected = _resident_cuda_run(parts)
    encoder = TextEncoder(parts["text_encoder"].model.to("cpu"), parts["text_encoder"].tokenizer)
    gen = Generator({"distill": _dit(1).to("cuda")}, text_encoder=encoder, **vaes, device="cuda", offload="auto",
                    resolutions=SIZES)
    got = gen.generate_latents(PROMPT, seconds=SECONDS, seed=11)
    assert next(encoder.model.parameters()).is_cuda  # tiny models leave the GPU roomy: the copy stays
    again = gen.generate_latents(PROMPT, seconds=SECONDS, seed=11)  # no second transfer needed
    torch.testing.assert_close(got.video, expected.video)
    torch.testing.assert_close(again.video, expected.video)
    gen._text_host.drop()
    assert all(p.is_pinned() for p in encoder.model.parameters())
