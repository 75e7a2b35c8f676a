"""The tiny DiT reproduces the official forward (tests/conformance, float32 and the bf16 recipe)."""

from __future__ import annotations

import pytest
import torch

from model import load_dit, local_attention_ranges, pack, unpack
from tests.model.dit_golden import (
    CASES,
    TINY_WEIGHTS,
    assert_bf16_close,
    case_expected,
    case_inputs,
)

CASE_NAMES = sorted(CASES)


def _load(case: str, dtype: torch.dtype, backend: str = "reference"):
    return load_dit(
        TINY_WEIGHTS, preset="tiny", dtype=dtype, local_attn_layers=CASES[case]["local_attn_layers"],
        attn_backend=backend,
    )


def _run(dit, inputs, capture: dict | None = None):
    hooks = []
    if capture is not None:
        hooks.append(dit.adapter.register_forward_hook(
            lambda m, a, out: capture.update(adapter_out=out[0], rope=out[1])))
        for i, layer in enumerate(dit.block.layers):
            hooks.append(layer.register_forward_hook(
                lambda m, a, out, i=i: capture.update({f"layer_{i:02d}_out": out})))
    with torch.no_grad():
        out = dit(inputs["packed_x"], inputs["coords_mapping"], inputs["modality_mapping"],
                  inputs["local_q_ranges"], inputs["local_k_ranges"])
    for h in hooks:
        h.remove()
    return out


@pytest.mark.parametrize("case", CASE_NAMES)
@pytest.mark.parametrize("backend", ["reference", "sdpa"])
def test_float32_forward_matches_official_output_and_velocities(case, backend):
    inputs, expected = case_inputs(case), case_expected(case)
    out = _run(_load(case, torch.float32, backend), inputs)
    torch.testing.assert_close(out, expected["dit_out_packed"], atol=1e-4, rtol=1e-4)
    packed = pack(inputs["video_latent"][0], inputs["audio_latent"][0],
                  inputs["text_context"][0, : int(inputs["text_len"])], style=CASES[case]["coords_style"])
    video, audio = unpack(out, packed)
    torch.testing.assert_close(video, expected["video_velocity"][0], atol=1e-4, rtol=1e-4)
    torch.testing.assert_close(audio, expected["audio_velocity"][0], atol=1e-4, rtol=1e-4)


@pytest.mark.parametrize("case", CASE_NAMES)
def test_float32_rope_adapter_and_every_layer_match_official(case):
    inputs, expected = case_inputs(case), case_expected(case)
    seen: dict = {}
    _run(_load(case, torch.float32), inputs, capture=seen)
    torch.testing.assert_close(seen["rope"], expected["rope"], atol=1e-5, rtol=0)
    torch.testing.assert_close(seen["adapter_out"], expected["adapter_out"], atol=1e-5, rtol=0)
    layer_keys = sorted(k for k in expected if k.startswith("layer_"))
    assert layer_keys == sorted(k for k in seen if k.startswith("layer_"))
    for key in layer_keys:
        torch.testing.assert_close(seen[key], expected[key], atol=5e-4, rtol=1e-4, msg=key)


@pytest.mark.parametrize("case", CASE_NAMES)
@pytest.mark.parametrize("backend", ["reference", "sdpa"])
def test_bf16_recipe_matches_official_bf16mixed_outputs(case, backend):
    inputs, expected = case_inputs(case), case_expected(case)
    dit = _load(case, torch.bfloat16, backend)
    assert dit.block.layers[0].attention.linear_qkv.weight.dtype == torch.bfloat16
    assert dit.adapter.video_embedder.weight.dtype == torch.float32
    out = _run(dit, inputs)
    assert out.dtype == torch.float32
    assert_bf16_close(out, expected["dit_out_packed_bf16mixed"])
    packed = pack(inputs["video_latent"][0], inputs["audio_latent"][0],
                  inputs["text_context"][0, : int(inputs["text_len"])], style=CASES[case]["coords_style"])
    video, audio = unpack(out, packed)
    assert_bf16_close(video, expected["video_velocity_bf16mixed"][0])
    assert_bf16_close(audio, expected["audio_velocity_bf16mixed"][0])


def test_local_layers_change_the_output():
    # Guards against local attention silently running as full attention.
    inputs = case_inputs("sr_v1_local")
    full = _run(load_dit(TINY_WEIGHTS, preset="tiny", dtype=torch.float32), inputs)
    local = _run(_load("sr_v1_local", torch.float32), inputs)
    assert (full - local).abs().max() > 1e-2


@pytest.mark.parametrize("case", CASE_NAMES)
def test_pack_reproduces_the_official_packed_inputs(case):
    inputs = case_inputs(case)
    packed = pack(inputs["video_latent"][0], inputs["audio_latent"][0],
                  inputs["text_context"][0, : int(inputs["text_len"])], style=CASES[case]["coords_style"])
    assert torch.equal(packed.x, inputs["packed_x"])
    assert torch.equal(packed.coords, inputs["coords_mapping"])
    assert torch.equal(packed.modality, inputs["modality_mapping"])
    q, k = local_attention_ranges(packed, CASES["sr_v1_local"]["frame_receptive_field"])
    assert torch.equal(q, inputs["local_q_ranges"]) and torch.equal(k, inputs["local_k_ranges"])


@pytest.mark.slow  # eager flex_attention on CPU: ~13 s
@pytest.mark.filterwarnings("ignore::UserWarning")
def test_flex_backend_reproduces_the_local_golden_case():
    inputs, expected = case_inputs("sr_v1_local"), case_expected("sr_v1_local")
    out = _run(_load("sr_v1_local", torch.float32, "flex"), inputs)
    torch.testing.assert_close(out, expected["dit_out_packed"], atol=1e-4, rtol=1e-4)
