"""The meta-device DiT has exactly the official state dict: names, order, shapes, dtypes, kinds, counts."""

from __future__ import annotations

import json

import pytest
import torch

from model import DiTConfig, build_dit
from tests.model.dit_golden import CONFORMANCE

MANIFESTS = ["base", "distill", "sr_540p", "sr_1080p", "tiny"]


def _manifest(variant: str) -> dict:
    return json.loads((CONFORMANCE / f"manifest_{variant}.json").read_text())


@pytest.mark.parametrize("variant", MANIFESTS)
def test_meta_model_state_dict_equals_the_official_manifest(variant):
    manifest = _manifest(variant)
    preset = "tiny" if variant == "tiny" else "15b"
    dit = build_dit(preset, device="meta", local_attn_layers=manifest["arch_config"]["local_attn_layers"])
    buffers = {name for name, _ in dit.named_buffers()}
    got = [
        (name, list(t.shape), str(t.dtype).removeprefix("torch."), "buffer" if name in buffers else "parameter")
        for name, t in dit.state_dict().items()
    ]
    want = [(t["name"], t["shape"], t["dtype"], t["kind"]) for t in manifest["tensors"]]
    assert got == want
    assert dit.num_parameters() == manifest["total_parameters"]
    assert len(got) == manifest["total_state_dict_tensors"]
    for layer, info in zip(dit.block.layers, manifest["layers"], strict=True):
        assert layer.attention.local == info["local_attention"]
        assert layer.mlp.activation == info["mlp_activation"]
        assert layer.mlp.down_proj.in_features == info["mlp_intermediate_size"]
        assert sum(p.numel() for p in layer.parameters()) == info["params"]


def test_15b_preset_matches_the_manifest_arch_config_and_parameter_count():
    cfg, arch = DiTConfig.preset("15b"), _manifest("base")["arch_config"]
    assert (cfg.num_layers, cfg.hidden_size, cfg.head_dim, cfg.num_heads_q, cfg.num_heads_kv) == (
        arch["num_layers"], arch["hidden_size"], arch["head_dim"], arch["num_heads_q"], arch["num_heads_kv"]
    )
    assert list(cfg.mm_layers) == arch["mm_layers"] and list(cfg.gelu7_layers) == arch["gelu7_layers"]
    assert cfg.swiglu_width == 13652 and cfg.gelu_width == 20480 and cfg.qkv_width == 7208
    assert build_dit("15b", device="meta").num_parameters() == 15_299_419_136


def test_float32_build_makes_every_tensor_float32():
    dit = build_dit("tiny", device="meta", dtype=torch.float32)
    assert {t.dtype for t in dit.state_dict().values()} == {torch.float32}
