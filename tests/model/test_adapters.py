"""Adapters at tiny random configurations with the real structures, loaded back from local folders."""

import json
from pathlib import Path

import numpy as np
import pytest
import torch

from model.adapters.audio_vae import (
    HOP,
    MODEL_RATE,
    AudioVAE,
    AudioVAEError,
    to_model_rate,
    to_output_rate,
)
from model.adapters.text_encoder import TextEncoder, TextEncoderError
from model.adapters.video_vae import (
    LATENT_MEAN,
    LATENT_STD,
    VideoVAE,
    VideoVAEError,
    build_wan22_vae,
    to_uint8_frames,
)
from tests.model.tiny_generator_parts import (
    TEXT_WIDTH,
    tiny_oobleck_vae,
    tiny_t5gemma_folder,
    tiny_wan22_vae,
)

CONSTANTS = Path(__file__).resolve().parents[1] / "conformance" / "pipeline_constants.json"


pytestmark = pytest.mark.usefixtures("single_thread")  # tests/model/conftest.py


# ---------------------------------------------------------------- text encoder
@pytest.fixture(scope="module")
def t5_folder(tmp_path_factory):
    return tiny_t5gemma_folder(tmp_path_factory.mktemp("t5gemma"))


@pytest.fixture(scope="module")
def encoder(t5_folder):
    return TextEncoder.from_pretrained(t5_folder, dtype=torch.float32)


def _reference_encoding(t5_folder, text):
    """The full encoder-decoder checkpoint's own encoder output, for comparison."""
    from transformers import AutoTokenizer, T5GemmaForConditionalGeneration

    full = T5GemmaForConditionalGeneration.from_pretrained(t5_folder, local_files_only=True).eval()
    ids = AutoTokenizer.from_pretrained(t5_folder, local_files_only=True)(text, return_tensors="pt")["input_ids"]
    with torch.no_grad():
        return full.model.encoder(input_ids=ids).last_hidden_state[0]


def test_text_encoder_loads_only_the_encoder_and_matches_the_checkpoints_encoder(encoder, t5_folder):
    feats = encoder.encode("a man says hello")
    assert feats.dtype == torch.float32
    assert feats.shape == (6, TEXT_WIDTH)  # bos + 4 words + eos
    ref = _reference_encoding(t5_folder, "a man says hello")
    torch.testing.assert_close(feats, ref.half().float(), atol=0, rtol=0)
    assert not any("decoder" in name for name, _ in encoder.model.named_parameters())


def test_text_features_are_float16_representable(encoder):
    feats = encoder.encode("the woman smiles")
    assert torch.equal(feats, feats.half().float())


def test_text_encoder_caps_features_at_640_tokens(encoder, t5_folder):
    text = " ".join(["hello world"] * 400)  # 800 words + bos/eos
    feats = encoder.encode(text)
    assert feats.shape == (640, TEXT_WIDTH)
    torch.testing.assert_close(feats, _reference_encoding(t5_folder, text)[:640].half().float(), atol=0, rtol=0)


def test_text_encoder_rejects_empty_prompt_and_missing_folder(encoder, tmp_path):
    with pytest.raises(TextEncoderError, match="empty"):
        encoder.encode("  ")
    with pytest.raises(TextEncoderError, match=str(tmp_path / "nope")):
        TextEncoder.from_pretrained(tmp_path / "nope")


def test_text_encoder_refuses_a_folder_without_encoder_weights(t5_folder, tmp_path):
    from safetensors.torch import load_file, save_file

    broken = tmp_path / "broken"
    broken.mkdir()
    for f in t5_folder.iterdir():
        if f.name != "model.safetensors":
            (broken / f.name).write_bytes(f.read_bytes())
    tensors = load_file(str(t5_folder / "model.safetensors"))
    save_file({k: v for k, v in tensors.items() if "encoder.layers.0.mlp" not in k}, str(broken / "model.safetensors"),
              metadata={"format": "pt"})
    with pytest.raises(TextEncoderError, match="encoder.layers.0.mlp"):
        TextEncoder.from_pretrained(broken, dtype=torch.float32)


# ---------------------------------------------------------------- video VAE
@pytest.fixture(scope="module")
def video_vae(tmp_path_factory):
    folder = tmp_path_factory.mktemp("wan22")
    tiny_wan22_vae().save_pretrained(folder)
    return VideoVAE.from_pretrained(folder, dtype=torch.float32)


def test_latent_statistics_are_the_official_48_values():
    constants = json.loads(CONSTANTS.read_text())
    assert list(LATENT_MEAN) == constants["wan22_vae_latent_mean_48"]
    assert list(LATENT_STD) == constants["wan22_vae_latent_std_48"]


def test_wan22_config_builds_the_48_channel_16x_vae():
    with torch.device("meta"):
        vae = build_wan22_vae()
    assert vae.config.z_dim == 48 and vae.config.patch_size == 2 and vae.config.is_residual
    assert vae.encoder.conv_in.in_channels == 12  # 3 colours x 2x2 patch
    assert vae.config.base_dim == 160 and vae.config.decoder_base_dim == 256


def test_video_encode_returns_normalised_posterior_mean_at_16x_4x_compression(video_vae):
    video = torch.rand(1, 3, 5, 32, 48, generator=torch.Generator().manual_seed(0)) * 2 - 1
    z = video_vae.encode(video)
    assert z.shape == (1, 48, 2, 2, 3)
    with torch.no_grad():
        mu = video_vae.vae.encode(video).latent_dist.mean
    mean = torch.tensor(LATENT_MEAN).view(1, 48, 1, 1, 1)
    std = torch.tensor(LATENT_STD).view(1, 48, 1, 1, 1)
    torch.testing.assert_close(z, (mu - mean) / std)
    assert torch.equal(video_vae.encode(video), z)  # the mean, not a sample


def test_video_decode_unnormalises_and_returns_4t_minus_3_frames(video_vae):
    z = torch.randn(1, 48, 2, 2, 3, generator=torch.Generator().manual_seed(1))
    pixels = video_vae.decode(z)
    assert pixels.shape == (1, 3, 5, 32, 48)
    assert pixels.min() >= -1 and pixels.max() <= 1
    mean = torch.tensor(LATENT_MEAN).view(1, 48, 1, 1, 1)
    std = torch.tensor(LATENT_STD).view(1, 48, 1, 1, 1)
    with torch.no_grad():
        ref = video_vae.vae.decode(z * std + mean).sample.clamp(-1, 1)
    torch.testing.assert_close(pixels, ref)


@pytest.mark.parametrize("shape", [(1, 3, 4, 32, 32), (1, 3, 5, 30, 32), (1, 1, 5, 32, 32)])
def test_video_encode_rejects_shapes_the_vae_cannot_take(video_vae, shape):
    with pytest.raises(VideoVAEError, match="|".join(str(s) for s in shape[1:])):
        video_vae.encode(torch.zeros(shape))


def test_uint8_frames_follow_the_official_truncating_conversion():
    pixels = torch.tensor([-1.0, 0.0, 0.999, 1.5]).view(1, 4, 1, 1).expand(3, 4, 1, 1)
    frames = to_uint8_frames(pixels)
    assert frames.shape == (4, 1, 1, 3) and frames.dtype == torch.uint8
    assert frames[:, 0, 0, 0].tolist() == [0, 127, 254, 255]


# ---------------------------------------------------------------- audio VAE
@pytest.fixture(scope="module")
def audio_vae(tmp_path_factory):
    folder = tmp_path_factory.mktemp("sao")
    tiny_oobleck_vae().save_pretrained(folder)
    return AudioVAE.from_pretrained(folder)


def test_audio_resampling_uses_the_51_2_khz_time_stretch():
    assert to_model_rate(np.zeros(16000, np.float32), 16000).shape == (51200,)
    out = to_output_rate(np.zeros((126 * HOP, 2), np.float32))
    assert out.shape == (222264, 2)  # 126 frames -> 258,048 samples -> 222,264 at 44.1 kHz
    assert HOP / MODEL_RATE == 0.04  # one latent frame = one 25 fps video frame


def test_audio_encode_samples_the_bottleneck_with_the_given_generator(audio_vae):
    tone = np.sin(np.arange(500) * 0.3).astype(np.float32)  # 31 ms at 16 kHz -> padded to 1 frame
    a = audio_vae.encode(tone, 16000, frames=1, generator=torch.Generator().manual_seed(0))
    b = audio_vae.encode(tone, 16000, frames=1, generator=torch.Generator().manual_seed(0))
    c = audio_vae.encode(tone, 16000, frames=1, generator=torch.Generator().manual_seed(1))
    assert a.shape == (1, 1, 64) and a.dtype == torch.float32
    assert torch.equal(a, b) and not torch.equal(a, c)
    resampled = torch.from_numpy(np.pad(to_model_rate(tone, 16000), (0, HOP - 1600)))
    with torch.no_grad():
        dist = audio_vae.vae.encode(torch.stack([resampled, resampled])[None]).latent_dist
    spread = (a.transpose(1, 2) - dist.mean) / dist.std  # a genuine N(0,1) draw around the mean
    assert spread.abs().max() < 6 and spread.std() > 0.5


def test_stereo_input_is_mixed_to_mono(audio_vae):
    left = np.sin(np.arange(2000) * 0.2).astype(np.float32)
    stereo = np.stack([left, np.zeros_like(left)], axis=1)
    gen = lambda: torch.Generator().manual_seed(5)  # noqa: E731
    torch.testing.assert_close(audio_vae.encode(stereo, 51200, 1, gen()), audio_vae.encode(left / 2, 51200, 1, gen()))


def test_audio_decode_returns_stereo_44_1_khz(audio_vae):
    z = torch.randn(1, 3, 64, generator=torch.Generator().manual_seed(2))
    wav = audio_vae.decode(z)
    assert wav.shape == (round(3 * HOP * 441 / 512), 2) and wav.dtype == np.float32


def test_audio_longer_than_the_clip_is_an_error_not_cut(audio_vae):
    with pytest.raises(AudioVAEError, match="longer than"):
        audio_vae.encode(np.zeros(3 * HOP, np.float32), MODEL_RATE, frames=2)


def test_audio_vae_rejects_bad_sample_rate_and_latent_shape(audio_vae):
    with pytest.raises(AudioVAEError, match="-5"):
        audio_vae.encode(np.zeros(10, np.float32), -5, frames=1)
    with pytest.raises(AudioVAEError, match=r"\(1, 3, 32\)"):
        audio_vae.decode(torch.zeros(1, 3, 32))
