"""Strict checkpoint loading: layouts (file, folder, shards), on-disk dtypes, and named failures."""

from __future__ import annotations

import json

import pytest
import torch
from safetensors.torch import load_file, save_file

from model import CheckpointError, ConfigError, build_dit, load_dit
from tests.model.dit_golden import TINY_WEIGHTS


@pytest.fixture(scope="module")
def weights() -> dict[str, torch.Tensor]:
    return load_file(TINY_WEIGHTS)


def _same_weights(dit, weights, dtype=None):
    sd = dit.state_dict()
    for key, value in weights.items():
        want = value.to(sd[key].dtype) if dtype is None else value.to(dtype)
        assert torch.equal(sd[key], want), key


def test_single_file_loads_with_official_dtypes(weights):
    dit = load_dit(TINY_WEIGHTS, preset="tiny")
    assert dit.block.layers[3].mlp.down_proj.weight.dtype == torch.bfloat16
    assert dit.final_linear_video.weight.dtype == torch.float32
    _same_weights(dit, weights)


def test_folder_with_model_safetensors_loads(tmp_path, weights):
    save_file(weights, tmp_path / "model.safetensors")
    _same_weights(load_dit(tmp_path, preset="tiny"), weights)


def _write_shards(folder, weights, parts=3):
    keys = list(weights)
    weight_map = {}
    for i in range(parts):
        name = f"model-{i + 1:05d}-of-{parts:05d}.safetensors"
        chunk = keys[i::parts]
        save_file({k: weights[k].contiguous() for k in chunk}, folder / name)
        weight_map.update({k: name for k in chunk})
    (folder / "model.safetensors.index.json").write_text(json.dumps({"metadata": {}, "weight_map": weight_map}))
    return weight_map


def test_sharded_folder_with_index_loads(tmp_path, weights):
    _write_shards(tmp_path, weights)
    _same_weights(load_dit(tmp_path, preset="tiny"), weights)


def test_float32_on_disk_is_cast_into_bf16_block_linears(tmp_path, weights):
    save_file({k: v.float() for k, v in weights.items()}, tmp_path / "model.safetensors")
    dit = load_dit(tmp_path, preset="tiny")
    _same_weights(dit, weights)  # bf16 values survive the float32 round trip exactly


def test_bf16_on_disk_is_cast_to_float32_for_the_float32_path(tmp_path, weights):
    save_file({k: v.bfloat16() for k, v in weights.items()}, tmp_path / "model.safetensors")
    dit = load_dit(tmp_path, preset="tiny", dtype=torch.float32)
    assert {t.dtype for t in dit.state_dict().values()} == {torch.float32}
    assert torch.equal(dit.block.layers[0].attention.linear_qkv.weight,
                       weights["block.layers.0.attention.linear_qkv.weight"].float())


def test_missing_rope_buffer_is_recomputed(tmp_path, weights):
    save_file({k: v for k, v in weights.items() if k != "adapter.rope.bands"}, tmp_path / "model.safetensors")
    dit = load_dit(tmp_path, preset="tiny")
    assert torch.equal(dit.adapter.rope.bands, weights["adapter.rope.bands"])


def test_missing_key_is_named(tmp_path, weights):
    save_file({k: v for k, v in weights.items() if k != "block.layers.4.mlp.up_gate_proj.weight"},
              tmp_path / "model.safetensors")
    with pytest.raises(CheckpointError, match=r"1 missing keys: block\.layers\.4\.mlp\.up_gate_proj\.weight"):
        load_dit(tmp_path, preset="tiny")


def test_unexpected_key_is_named(tmp_path, weights):
    save_file({**weights, "module.extra.weight": torch.zeros(2)}, tmp_path / "model.safetensors")
    with pytest.raises(CheckpointError, match=r"unexpected keys: module\.extra\.weight"):
        load_dit(tmp_path, preset="tiny")


def test_wrong_shape_is_named_with_both_shapes(tmp_path, weights):
    bad = dict(weights)
    bad["final_linear_audio.weight"] = torch.zeros(64, 161)
    save_file(bad, tmp_path / "model.safetensors")
    wrong_shape = r"final_linear_audio\.weight: checkpoint \[64, 161\] vs model \[64, 160\]"
    with pytest.raises(CheckpointError, match=wrong_shape):
        load_dit(tmp_path, preset="tiny")


def test_tiny_checkpoint_into_15b_preset_fails_listing_mis_shaped_keys():
    with pytest.raises(CheckpointError, match="mis-shaped keys"):
        load_dit(TINY_WEIGHTS, preset="15b")


def test_truncated_file_is_reported_as_corrupt(tmp_path):
    data = TINY_WEIGHTS.read_bytes()
    (tmp_path / "model.safetensors").write_bytes(data[: len(data) // 2])
    with pytest.raises(CheckpointError, match="corrupt or truncated"):
        load_dit(tmp_path, preset="tiny")


def test_garbage_header_is_reported_as_corrupt(tmp_path):
    (tmp_path / "w.safetensors").write_bytes(b"\xff" * 64)
    with pytest.raises(CheckpointError, match="w.safetensors"):
        load_dit(tmp_path / "w.safetensors", preset="tiny")


def test_missing_shard_is_named(tmp_path, weights):
    weight_map = _write_shards(tmp_path, weights)
    lost = sorted(set(weight_map.values()))[1]
    (tmp_path / lost).unlink()
    with pytest.raises(CheckpointError, match=f"shard .*{lost} listed in .*index.json is missing"):
        load_dit(tmp_path, preset="tiny")


def test_empty_folder_and_missing_path_are_named(tmp_path):
    with pytest.raises(CheckpointError, match="neither model.safetensors nor"):
        load_dit(tmp_path, preset="tiny")
    with pytest.raises(CheckpointError, match="does not exist"):
        load_dit(tmp_path / "nope.safetensors", preset="tiny")


def test_unknown_preset_and_dtype_are_refused():
    with pytest.raises(ConfigError, match="'7b'"):
        build_dit("7b", device="meta")
    with pytest.raises(ConfigError, match="float16"):
        build_dit("tiny", device="meta", dtype=torch.float16)


def test_zst_only_shard_is_named_with_a_decompress_hint(tmp_path, weights):
    weight_map = _write_shards(tmp_path, weights)
    shard = tmp_path / sorted(set(weight_map.values()))[0]
    shard.rename(shard.with_name(shard.name + ".zst"))
    with pytest.raises(CheckpointError, match="zstd -d"):
        load_dit(tmp_path, preset="tiny")


def test_index_without_weight_map_is_refused(tmp_path):
    (tmp_path / "model.safetensors.index.json").write_text('{"metadata": {}}')
    with pytest.raises(CheckpointError, match="weight_map"):
        load_dit(tmp_path, preset="tiny")


def test_index_pointing_at_a_shard_without_the_key_is_refused(tmp_path, weights):
    weight_map = _write_shards(tmp_path, weights)
    key = "final_norm_video.weight"
    other = next(v for v in sorted(set(weight_map.values())) if v != weight_map[key])
    weight_map[key] = other
    (tmp_path / "model.safetensors.index.json").write_text(json.dumps({"weight_map": weight_map}))
    with pytest.raises(CheckpointError, match=f"maps keys .*{key}.* to .*{other}, which lacks them"):
        load_dit(tmp_path, preset="tiny")


@pytest.mark.parametrize("dtype, name", [(torch.int32, "I32"), (torch.float8_e4m3fn, "F8_E4M3")])
def test_integer_or_fp8_tensor_is_refused_naming_its_dtype(tmp_path, weights, dtype, name):
    bad = dict(weights)
    bad["final_norm_audio.weight"] = torch.zeros(160).to(dtype)
    save_file(bad, tmp_path / "model.safetensors")
    with pytest.raises(CheckpointError, match=rf"unsupported dtype .*: final_norm_audio\.weight: {name}"):
        load_dit(tmp_path, preset="tiny")


def test_padded_load_widens_the_mlp_exactly(weights):
    dit = load_dit(TINY_WEIGHTS, preset="tiny", dtype=torch.float32, pad_mlp_to=128)
    assert dit.block.layers[4].mlp.down_proj.weight.shape == (160, 512)
    assert torch.equal(dit.block.layers[4].mlp.down_proj.weight[:, :424],
                       weights["block.layers.4.mlp.down_proj.weight"].float())
    assert dit.block.layers[4].mlp.down_proj.weight[:, 424:].abs().sum() == 0
