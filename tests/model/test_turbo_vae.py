"""The Turbo VAE decoder against the official reference data (tests/conformance/turbo_vae/), strict and safe loading."""

import json
import os
import pickle
import shlex
from pathlib import Path

import pytest
import torch
from safetensors.torch import load_file, save_file

from model.adapters.turbo_vae import (
    TurboVAEConfig,
    build_turbo_vae,
    check_turbo_checkpoint,
    load_turbo_vae,
    read_turbo_weights,
    released_config,
    window_plan,
)
from model.adapters.video_vae import VideoVAEError, to_uint8_frames
from model.errors import CheckpointError, ConfigError

DATA = Path(__file__).resolve().parent.parent / "conformance" / "turbo_vae"
CONFIG = json.loads((DATA / "config.json").read_text())
TINY = CONFIG["tiny_config"]
WEIGHTS = DATA / "weights.safetensors"


@pytest.fixture(scope="module")
def inputs():
    return load_file(str(DATA / "inputs.safetensors"))


@pytest.fixture(scope="module")
def expected():
    return load_file(str(DATA / "expected.safetensors"))


@pytest.fixture(scope="module")
def vae(single_thread):
    return load_turbo_vae(TINY, WEIGHTS)


@pytest.mark.parametrize("case", ["short", "long"])
def test_decode_matches_the_official_decoder(vae, inputs, expected, case):
    out = vae.decode(inputs[f"latent_{case}"])
    ref = expected[f"video_{case}"]
    assert out.dtype == torch.float32 and out.shape == ref.shape == tuple(CONFIG["cases"][case]["output_shape"])
    torch.testing.assert_close(out, ref, atol=1e-4, rtol=1e-4)


@pytest.mark.parametrize("case", ["short", "long"])
def test_denormalisation_and_window_plan(vae, inputs, expected, case):
    latent = inputs[f"latent_{case}"]
    torch.testing.assert_close(vae.denormalise(latent), expected[f"denorm_latent_{case}"], atol=1e-6, rtol=0)
    windows, pad = vae.windows(latent.shape[2])
    assert [[w.start, w.end, int(w.first)] for w in windows] == expected[f"windows_{case}"].tolist()
    assert pad == CONFIG["cases"][case]["pad_frames"]


@pytest.mark.parametrize("mode", ["first", "rest"])
def test_every_probe_stage_matches(vae, inputs, expected, mode):
    taps = {}
    vae.decoder(inputs["probe_decoder_input"], mode == "first", taps)
    stages = [k[len(f"probe_{mode}_"):] for k in expected if k.startswith(f"probe_{mode}_")]
    assert len(stages) == {"first": 7, "rest": 3}[mode]
    for stage in stages:
        torch.testing.assert_close(taps[stage], expected[f"probe_{mode}_{stage}"], atol=2e-4, rtol=1e-4,
                                   msg=lambda m, s=stage: f"{s}: {m}")


def test_uint8_frames_as_the_pipeline_writes_them(vae, inputs, expected):
    reference = expected["frames_uint8_short"]
    assert torch.equal(to_uint8_frames(expected["video_short"][0]), reference)  # the uint8 step itself
    ours = to_uint8_frames(vae.decode(inputs["latent_short"])[0])
    off = (ours.int() - reference.int()).abs()
    assert off.max().item() <= 1 and (off > 0).float().mean().item() <= 1e-3


def test_bf16_recipe_stays_within_the_documented_tolerance(inputs, expected, single_thread):
    out = load_turbo_vae(TINY, WEIGHTS, dtype=torch.bfloat16).decode(inputs["latent_short"])
    ref = expected["video_short"]
    assert out.dtype == torch.float32
    assert ((out - ref).pow(2).mean().sqrt() / ref.pow(2).mean().sqrt()).item() <= 5e-2
    assert (out - ref).abs().max().item() <= 0.1 * ref.abs().max().item()


def test_frame_count_is_4t_minus_3_for_every_length():
    for frames in range(1, 40):
        windows, pad = window_plan(frames, 7, 7, 4)
        kept = sum(4 * (w.end - w.start) - (3 if w.first else 0) - w.keep_from - w.keep_trim for w in windows)
        assert kept - 4 * pad == 4 * frames - 3, frames
        assert (frames + pad - 7) % 7 == 0 and windows[-1].end == frames + pad


def test_released_config_builds_the_released_tensor_set():
    manifest = json.loads((DATA / "manifest_released.json").read_text())
    state = build_turbo_vae(released_config(), "meta").state_dict()
    assert [[k, list(v.shape)] for k, v in state.items()] == manifest["tensors"]
    assert sum(v.numel() for v in state.values()) == manifest["num_parameters"] == 107_122_892
    assert released_config().ignored == ("aligned_blks_indices", "aligned_feature_projection_dim",
                                         "aligned_feature_projection_mode", "decoder_dw_kernel_size", "in_channels",
                                         "patch_size_t", "scaling_factor", "spatial_compression_ratio")


# ------------------------------------------------------------------------------------------ loading
def _official_ckpt(path, prefix="module.", extra=None):
    state = {f"{prefix}{k}": v for k, v in load_file(str(WEIGHTS)).items()}
    torch.save({"ema_state_dict": {**state, **(extra or {})}, "step": 340000}, path)
    return path


def test_official_ckpt_loads_to_the_same_decoder(tmp_path, inputs, expected, single_thread):
    heads = {"aligned_feature_projection_heads.0.0.conv.weight": torch.zeros(4, 16, 1, 1, 1)}
    ckpt = _official_ckpt(tmp_path / "checkpoint-340000.ckpt", extra=heads)
    vae = load_turbo_vae(TINY, ckpt)
    torch.testing.assert_close(vae.decode(inputs["latent_short"]), expected["video_short"], atol=1e-4, rtol=1e-4)
    assert check_turbo_checkpoint(ckpt, TINY).ignored == tuple(heads)
    bare = _official_ckpt(tmp_path / "bare.ckpt", prefix="")
    stripped = {k.removeprefix("decoder."): v for k, v in torch.load(bare, weights_only=True)["ema_state_dict"].items()}
    torch.save({"ema_state_dict": stripped}, bare)  # keys without `decoder.` go into the decoder
    assert read_turbo_weights(bare).keys() == load_file(str(WEIGHTS)).keys()


def test_loading_is_strict_and_names_every_bad_tensor(tmp_path):
    state = load_file(str(WEIGHTS))
    del state["decoder.conv_out.conv.bias"]
    state["decoder.extra.weight"] = torch.zeros(1)
    state["decoder.conv_in.conv.bias"] = torch.zeros(17)
    save_file(state, str(tmp_path / "bad.safetensors"))
    with pytest.raises(CheckpointError) as info:
        load_turbo_vae(TINY, tmp_path / "bad.safetensors")
    message = str(info.value)
    assert "bad.safetensors" in message and "1 missing tensors: decoder.conv_out.conv.bias" in message
    assert "1 unexpected tensors: decoder.extra.weight" in message
    assert "decoder.conv_in.conv.bias: checkpoint [17] vs config [16]" in message


def test_tiny_weights_do_not_pass_for_the_released_config():
    diff = check_turbo_checkpoint(WEIGHTS)
    assert not diff.ok and len(diff.misshaped) == 79 and diff.missing == () and diff.unexpected == ()
    assert "decoder.conv_in.conv.weight: checkpoint [16, 48, 3, 3, 3] vs config [512, 48, 3, 3, 3]" in diff.misshaped
    assert check_turbo_checkpoint(WEIGHTS, TINY).ok


class _RunsAShellCommand:
    """Unpickling this calls os.system: what a hostile checkpoint could do."""

    def __init__(self, marker: Path):
        self.marker = marker

    def __reduce__(self):
        return os.system, (f"touch {shlex.quote(str(self.marker))}",)


@pytest.mark.parametrize("writer", ["torch.save", "pickle.dump"])
def test_a_checkpoint_that_would_run_code_is_refused(tmp_path, writer):
    marker = tmp_path / "pwned"
    # real weights next to the hook (a plain pickle of tensors would be refused for its storage globals first)
    weights = load_file(str(WEIGHTS)) if writer == "torch.save" else {}
    payload = {"ema_state_dict": weights, "hook": _RunsAShellCommand(marker)}
    ckpt = tmp_path / "checkpoint.ckpt"
    if writer == "torch.save":
        torch.save(payload, ckpt)
    else:
        ckpt.write_bytes(pickle.dumps(payload, protocol=2))
    refusal = r"refusing to load .*checkpoint.ckpt.*could run code.*GLOBAL posix.system"
    with pytest.raises(CheckpointError, match=refusal):
        load_turbo_vae(TINY, ckpt)
    assert not marker.exists()
    pickle.loads(pickle.dumps(_RunsAShellCommand(marker)))  # the payload is real: plain unpickling runs it
    assert marker.exists()


def test_unreadable_weights_and_missing_ema_are_named(tmp_path):
    (tmp_path / "short.safetensors").write_bytes(b"\x08")
    with pytest.raises(CheckpointError, match="short.safetensors is not a readable safetensors"):
        load_turbo_vae(TINY, tmp_path / "short.safetensors")
    torch.save({"state_dict": {}}, tmp_path / "other.ckpt")
    with pytest.raises(CheckpointError, match="other.ckpt has no 'ema_state_dict'"):
        load_turbo_vae(TINY, tmp_path / "other.ckpt")
    with pytest.raises(CheckpointError, match="nope.ckpt do not exist"):
        load_turbo_vae(TINY, tmp_path / "nope.ckpt")


# ------------------------------------------------------------------------------------------ config
def test_config_from_a_json_file_and_defaults(tmp_path):
    path = tmp_path / "TurboV3-Wan22-TinyShallow_7_7.json"
    path.write_text(json.dumps({k: v for k, v in TINY.items() if k != "first_chunk_size"}))
    cfg = TurboVAEConfig.load(path)
    assert cfg.source == str(path) and cfg.first_chunk_size == 3 and cfg.defaulted == ("first_chunk_size",)
    assert cfg.widths == (16, 12, 10, 8)


@pytest.mark.parametrize("change, words", [
    ({"use_unpatchify": False}, "use_unpatchify must be true"),
    ({"patch_size": 4}, "patch_size must be 2"),
    ({"decoder_causal": True}, "decoder_causal must be false"),
    ({"decoder_layers_per_block": [2, 2]}, "needs 5 entries"),
    ({"decoder_spatio_only": [False] * 4}, "upsample time 8x but temporal_compression_ratio is 4"),
    ({"latent_channels": 16}, "latent_channels must be 48"),
    ({"step_size": 0}, "positive integer"),
])
def test_bad_config_values_are_named(tmp_path, change, words):
    path = tmp_path / "bad.json"
    path.write_text(json.dumps({**TINY, **change}))
    with pytest.raises(ConfigError, match="bad.json") as info:
        TurboVAEConfig.load(path)
    assert words in str(info.value)


def test_unreadable_config_and_bad_latent_are_named(tmp_path, vae):
    (tmp_path / "broken.json").write_text("{")
    with pytest.raises(ConfigError, match="broken.json is not a readable JSON"):
        TurboVAEConfig.load(tmp_path / "broken.json")
    with pytest.raises(VideoVAEError, match=r"\(1, 16, 3, 2, 2\)"):
        vae.decode(torch.zeros(1, 16, 3, 2, 2))


def test_folder_check_separates_decoding_fields_from_the_rest(tmp_path):
    from model.adapters.turbo_vae import check_turbo_vae
    from tests.model.tiny_generator_parts import tiny_turbo_vae_folder

    tiny_turbo_vae_folder(tmp_path / "daVinci-MagiHuman" / "turbo_vae")
    result = check_turbo_vae(tmp_path)
    assert not result.ok and not result.tensors.ok
    assert result.config_differences == ("decoder_block_out_channels: file [8, 10, 12, 16], released [64, 128, 256, 512]",)
    assert "aligned_blks_indices: file (absent), released [0, 1]" in result.config_notes


# ------------------------------------------------------------------------------------------ CUDA
@pytest.mark.gpu
@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA device")
def test_cuda_float32_and_bf16_decode(inputs, expected):
    """float32 on the GPU with TF32 off matches like the CPU; the bf16 recipe stays within the bf16 tolerance."""
    tf32 = torch.backends.cudnn.allow_tf32
    torch.backends.cudnn.allow_tf32 = False
    try:
        for case in ("short", "long"):
            out = load_turbo_vae(TINY, WEIGHTS, "cuda").decode(inputs[f"latent_{case}"].cuda())
            torch.testing.assert_close(out.cpu(), expected[f"video_{case}"], atol=1e-4, rtol=1e-4)
    finally:
        torch.backends.cudnn.allow_tf32 = tf32
    out = load_turbo_vae(TINY, WEIGHTS, "cuda", torch.bfloat16).decode(inputs["latent_short"].cuda()).cpu()
    ref = expected["video_short"]
    assert ((out - ref).pow(2).mean().sqrt() / ref.pow(2).mean().sqrt()).item() <= 5e-2
    assert (out - ref).abs().max().item() <= 0.1 * ref.abs().max().item()
