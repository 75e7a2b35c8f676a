"""Every fast path equals the plain reference: SDPA, windowed local SDPA, flex_attention, MLP padding, compile."""

from __future__ import annotations

import pytest
import torch

from model import DiTConfig, build_dit, load_dit, local_attention_ranges, local_attention_ranges_for, pack
from model.attention import LocalPlan, attention, reference_attention, sdpa_with_lse
from model.errors import ConfigError
from model.loading import MLP_CHUNK_TOKENS, with_fast_paths
from tests.model.dit_golden import (
    CASES,
    TINY_WEIGHTS,
    case_expected,
    case_inputs,
    rel_rms,
)

cuda = pytest.mark.skipif(not torch.cuda.is_available(), reason="needs CUDA")


def _qkv(length=37, hq=10, hkv=2, d=16, dtype=torch.float32, device="cpu", seed=0):
    g = torch.Generator().manual_seed(seed)
    q, k, v = (torch.randn(length, h, d, generator=g) for h in (hq, hkv, hkv))
    return q.to(device, dtype), k.to(device, dtype), v.to(device, dtype)


def _random_ranges(length, rows, seed):
    """Arbitrary overlapping rows, plus one row covering every query so none is left without keys."""
    g = torch.Generator().manual_seed(seed)
    pts = torch.randint(0, length + 1, (rows, 4), generator=g)
    q = torch.stack([pts[:, :2].min(1).values, pts[:, :2].max(1).values], 1)
    k = torch.stack([pts[:, 2:].min(1).values, pts[:, 2:].max(1).values + 1], 1).clamp(max=length)
    q = torch.cat([q, torch.tensor([[0, length]])]).int()
    k = torch.cat([k, torch.tensor([[length - 3, length]])]).int()
    return q, k


def test_reference_attention_maps_query_head_h_to_kv_head_h_div_group():
    q, k, v = _qkv(length=6, hq=4, hkv=2)
    out = reference_attention(q, k, v)
    for h in range(4):
        scores = (q[:, h] @ k[:, h // 2].T) / 4.0  # D = 16
        torch.testing.assert_close(out[:, h], scores.softmax(-1) @ v[:, h // 2])


def test_sdpa_full_attention_equals_reference():
    q, k, v = _qkv()
    torch.testing.assert_close(attention(q, k, v, "sdpa"), reference_attention(q, k, v), atol=1e-5, rtol=1e-5)


@pytest.mark.parametrize("ranges", ["frames", "random0", "random1", "many_rows"])
def test_grouped_local_sdpa_equals_masked_reference(ranges):
    length = 40
    if ranges == "frames":
        q_r, k_r = local_attention_ranges_for(30, 5, length, 1)
    elif ranges == "many_rows":  # more rows than one int64 bitmask word holds
        q_r, k_r = _random_ranges(length, 130, seed=7)
    else:
        q_r, k_r = _random_ranges(length, 6, seed=int(ranges[-1]))
    plan = LocalPlan.from_ranges(q_r, k_r, length)
    q, k, v = _qkv(length=length)
    want = reference_attention(q, k, v, plan.dense_mask())
    torch.testing.assert_close(attention(q, k, v, "sdpa", plan), want, atol=1e-5, rtol=1e-5)
    torch.testing.assert_close(attention(q, k, v, "reference", plan), want)


def _video_audio_text_plan(frames=6, per_frame=5, tail=7, field=1):
    """The 1080p layout in small: frame-local video windows plus audio/text keys, audio/text attending to all."""
    length = frames * per_frame + tail
    return LocalPlan.from_ranges(*local_attention_ranges_for(frames * per_frame, frames, length, field), length)


def test_local_key_runs_are_disjoint_slices_covering_exactly_the_allowed_keys():
    for plan in (_video_audio_text_plan(), LocalPlan.from_ranges(*_random_ranges(40, 9, seed=5), 40)):
        dense = plan.dense_mask()
        for q_sel, runs in plan.groups:
            allowed = torch.zeros(dense.shape[1], dtype=torch.bool)
            for a, b in zip(runs, runs[1:], strict=False):
                assert a.stop < b.start  # sorted, disjoint and not adjacent (maximal runs)
            for run in runs:
                allowed[run] = True
            assert torch.equal(dense[q_sel], allowed.expand_as(dense[q_sel]))
    runs = [len(r) for _, r in _video_audio_text_plan().groups]
    assert max(runs) == 2 and 1 in runs  # a window away from the end wraps to the audio/text keys: two runs


@pytest.mark.parametrize("dtype", [torch.float32, torch.bfloat16])
@pytest.mark.parametrize("kernel", ["FLASH_ATTENTION", "MATH"])
def test_windowed_local_sdpa_equals_masked_reference_with_each_cpu_kernel(kernel, dtype):
    from torch.nn.attention import SDPBackend, sdpa_kernel

    plan = _video_audio_text_plan()
    q, k, v = _qkv(length=37, dtype=dtype)
    want = reference_attention(q, k, v, plan.dense_mask()).float()
    with sdpa_kernel([getattr(SDPBackend, kernel)]):
        got = attention(q, k, v, "sdpa", plan).float()
    tol = 1e-5 if dtype == torch.float32 else 2e-2
    torch.testing.assert_close(got, want, atol=tol, rtol=tol)


@pytest.mark.parametrize("kernel", ["FLASH_ATTENTION", "MATH"])
def test_sdpa_with_lse_returns_the_log_sum_exp_of_the_scaled_scores(kernel):
    from torch.nn.attention import SDPBackend, sdpa_kernel

    q, k, v = (t.transpose(0, 1)[None] for t in _qkv(length=11, hq=3, hkv=3))  # (1, H, L, D)
    scores = torch.einsum("bhqd,bhkd->bhqk", q, k) / 4.0
    with sdpa_kernel([getattr(SDPBackend, kernel)]):
        out, lse = sdpa_with_lse(q, k, v)
    torch.testing.assert_close(lse, scores.logsumexp(-1), atol=1e-5, rtol=1e-5)
    torch.testing.assert_close(out, scores.softmax(-1) @ v, atol=1e-5, rtol=1e-5)


def test_local_sdpa_neither_gathers_keys_nor_expands_kv_heads():
    from torch.utils._python_dispatch import TorchDispatchMode

    class Ops(TorchDispatchMode):
        def __init__(self):
            super().__init__()
            self.names = set()

        def __torch_dispatch__(self, func, types, args=(), kwargs=None):
            self.names.add(func.overloadpacket.__name__)
            return func(*args, **(kwargs or {}))

    plan = _video_audio_text_plan()
    q, k, v = _qkv(length=37)
    with Ops() as ops:
        attention(q, k, v, "sdpa", plan)
    copies = {"index", "index_select", "gather", "repeat_interleave", "cat", "expand"} & ops.names
    assert not copies, copies


def test_dense_mask_is_the_union_over_rows():
    q_r, k_r = _random_ranges(25, 9, seed=3)
    want = torch.zeros(25, 25, dtype=torch.bool)
    for (qs, qe), (ks, ke) in zip(q_r.tolist(), k_r.tolist(), strict=True):
        want[qs:qe, ks:ke] = True
    assert torch.equal(LocalPlan.from_ranges(q_r, k_r, 25).dense_mask(), want)


@pytest.mark.filterwarnings("ignore::UserWarning")
def test_flex_local_attention_equals_masked_reference_on_cpu():
    q_r, k_r = local_attention_ranges_for(30, 5, 40, 1)
    plan = LocalPlan.from_ranges(q_r, k_r, 40)
    q, k, v = _qkv(length=40)
    torch.testing.assert_close(
        attention(q, k, v, "flex", plan), reference_attention(q, k, v, plan.dense_mask()), atol=1e-5, rtol=1e-5
    )


def test_mlp_padding_to_128_is_exact_and_changes_the_width():
    dit = load_dit(TINY_WEIGHTS, preset="tiny", dtype=torch.float32)
    inputs = case_inputs("base_v2_full")
    args = (inputs["packed_x"], inputs["coords_mapping"], inputs["modality_mapping"])
    with torch.no_grad():
        before = dit(*args)
        dit.pad_mlp_width(128)
        after = dit(*args)
    assert dit.block.layers[2].mlp.down_proj.in_features == 512  # 424 -> 512
    assert dit.block.layers[2].mlp.up_gate_proj.weight.shape == (1024, 160)
    assert dit.block.layers[7].mlp.up_gate_proj.weight.shape == (3 * 1024, 160)  # 3 experts padded each
    # zero rows and columns add nothing; only the float32 GEMM blocking of the longer width differs (up to 4.3e-6
    # on an Intel Xeon, under 2e-6 on an AMD EPYC)
    torch.testing.assert_close(after, before, atol=1e-5, rtol=1e-5)


def _golden_dit_and_args(case):
    """The tiny float32 DiT of a golden case and that case's forward arguments."""
    dit = load_dit(TINY_WEIGHTS, preset="tiny", dtype=torch.float32, local_attn_layers=CASES[case]["local_attn_layers"])
    inputs = case_inputs(case)
    args = [inputs["packed_x"], inputs["coords_mapping"], inputs["modality_mapping"]]
    if case != "base_v2_full":
        args += [inputs["local_q_ranges"], inputs["local_k_ranges"]]
    return dit, args


@pytest.mark.parametrize("chunk", [7, 32, 61])  # chunk edges inside the video, at audio/text boundaries
def test_token_chunked_mlp_equals_unchunked_on_both_golden_cases(chunk):
    for case in CASES:
        dit, args = _golden_dit_and_args(case)
        with torch.no_grad():
            whole = dit(*args)
            chunked = dit.chunk_mlp(chunk)(*args)
        assert dit.mlp_chunk == chunk
        # Same arithmetic per token; only the float32 GEMM blocking differs with the row count.
        torch.testing.assert_close(chunked, whole, atol=1e-5, rtol=1e-5)
        torch.testing.assert_close(chunked, case_expected(case)["dit_out_packed"], atol=1e-4, rtol=1e-4)


def test_mlp_chunk_must_be_positive():
    with pytest.raises(ConfigError, match="-1"):
        build_dit("tiny").chunk_mlp(-1)


def test_15b_swiglu_width_pads_from_13652_to_13696():
    dit = build_dit("15b", device="meta").pad_mlp_width(128)
    assert dit.block.layers[10].mlp.down_proj.weight.shape == (5120, 13696)
    assert dit.block.layers[38].mlp.up_gate_proj.weight.shape == (3 * 2 * 13696, 5120)
    assert dit.block.layers[0].mlp.down_proj.weight.shape == (3 * 5120, 20480)  # gelu7 width already aligned


@pytest.mark.parametrize("case", sorted(CASES))
def test_generator_fast_paths_pad_the_mlp_to_a_multiple_of_64_and_keep_the_output(case):
    dit, args = _golden_dit_and_args(case)
    with torch.no_grad():
        before = dit(*args)
        with_fast_paths(dit, "cpu")  # what Generator.from_pretrained applies (no compile on a CPU)
        after = dit(*args)
    assert dit.block.layers[4].mlp.down_proj.in_features == 448  # swiglu 424 -> 448
    assert dit.block.layers[0].mlp.down_proj.in_features == 640  # gelu 4·160 is already a multiple of 64
    assert dit.mlp_chunk == MLP_CHUNK_TOKENS
    torch.testing.assert_close(after, before, atol=1e-5, rtol=1e-5)  # float32 rounding of a longer GEMM only


def test_15b_fast_paths_pad_the_swiglu_width_from_13652_to_13696():
    dit = with_fast_paths(build_dit("15b", device="meta"), "meta", compile=False)
    assert dit.block.layers[10].mlp.down_proj.weight.shape == (5120, 13696)
    assert dit.block.layers[38].mlp.up_gate_proj.weight.shape == (3 * 2 * 13696, 5120)


def test_compiled_layers_take_new_lengths_without_recompiling():
    """Three packed lengths (new prompt and clip lengths), chunked MLP and local windows: one set of graphs."""
    from dataclasses import replace

    from torch._dynamo.testing import CompileCounter

    # Two layers of the tiny model: one modality-specific gelu7 layer with local attention, one shared swiglu7.
    cfg = replace(DiTConfig.preset("tiny"), num_layers=2, mm_layers=(0,), gelu7_layers=(0,), local_attn_layers=(0,))
    torch.manual_seed(0)
    eager = build_dit(cfg, dtype=torch.float32).chunk_mlp(16)
    compiled = build_dit(cfg, dtype=torch.float32).chunk_mlp(16)
    compiled.load_state_dict(eager.state_dict())
    counter = CompileCounter()
    compiled.compile_layers(backend=counter)
    graphs = []
    for frames, text_tokens in [(2, 5), (3, 9), (5, 13)]:
        g = torch.Generator().manual_seed(frames)
        video, audio = torch.randn(48, frames, 4, 6, generator=g), torch.randn(4 * frames - 3, 64, generator=g)
        packed = pack(video, audio, torch.randn(text_tokens, cfg.text_in_channels, generator=g), style="v1")
        args = (packed.x, packed.coords, packed.modality, *local_attention_ranges(packed, 1))
        with torch.no_grad():
            torch.testing.assert_close(compiled(*args), eager(*args), atol=1e-5, rtol=1e-5)
        graphs.append(counter.frame_count)
    assert graphs[0] > 0 and graphs[1:] == [graphs[0]] * 2, graphs


@pytest.mark.slow
def test_compiled_layers_equal_eager_on_the_golden_case():
    inputs, expected = case_inputs("sr_v1_local"), case_expected("sr_v1_local")
    dit = load_dit(TINY_WEIGHTS, preset="tiny", dtype=torch.float32,
                   local_attn_layers=CASES["sr_v1_local"]["local_attn_layers"], compile=True)
    with torch.no_grad():
        out = dit(inputs["packed_x"], inputs["coords_mapping"], inputs["modality_mapping"],
                  inputs["local_q_ranges"], inputs["local_k_ranges"])
    torch.testing.assert_close(out, expected["dit_out_packed"], atol=1e-4, rtol=1e-4)


# -- GPU-only paths (flash SDPA in bf16, compiled flex_attention) -------------------------------------------------


@pytest.mark.gpu
@cuda
def test_cuda_bf16_sdpa_equals_reference():
    q, k, v = _qkv(length=300, hq=40, hkv=8, d=128, dtype=torch.bfloat16, device="cuda")
    got, want = attention(q, k, v, "sdpa").float(), reference_attention(q, k, v).float()
    assert rel_rms(got, want) < 1e-2


@pytest.mark.gpu
@cuda
@pytest.mark.parametrize("backend", ["sdpa", "flex"])
def test_cuda_local_attention_equals_reference(backend):
    q_r, k_r = local_attention_ranges_for(8 * 160, 8, 8 * 160 + 90, 2)
    plan = LocalPlan.from_ranges(q_r, k_r, 8 * 160 + 90, device="cuda")
    q, k, v = _qkv(length=8 * 160 + 90, hq=40, hkv=8, d=128, dtype=torch.bfloat16, device="cuda")
    got, want = attention(q, k, v, backend, plan).float(), reference_attention(q, k, v, plan.dense_mask()).float()
    assert rel_rms(got, want) < 1e-2


@pytest.mark.gpu
@cuda
@pytest.mark.parametrize("kernel", ["FLASH_ATTENTION", "CUDNN_ATTENTION", "EFFICIENT_ATTENTION", "MATH"])
def test_cuda_windowed_local_sdpa_equals_reference_with_each_kernel(kernel):
    from torch.nn.attention import SDPBackend, sdpa_kernel

    length = 8 * 160 + 90
    plan = LocalPlan.from_ranges(*local_attention_ranges_for(8 * 160, 8, length, 2), length, device="cuda")
    q, k, v = _qkv(length=length, hq=40, hkv=8, d=128, dtype=torch.bfloat16, device="cuda")
    try:
        with sdpa_kernel([getattr(SDPBackend, kernel)]):
            got = attention(q, k, v, "sdpa", plan).float()
    except RuntimeError as err:
        pytest.skip(f"{kernel} is not available on this GPU / torch build: {err}")
    assert rel_rms(got, reference_attention(q, k, v, plan.dense_mask()).float()) < 1e-2


@pytest.mark.gpu
@cuda
@pytest.mark.parametrize("case", sorted(CASES))
def test_cuda_float32_tiny_model_matches_golden(case):
    inputs, expected = case_inputs(case), case_expected(case)
    dit = load_dit(TINY_WEIGHTS, preset="tiny", device="cuda", dtype=torch.float32,
                   local_attn_layers=CASES[case]["local_attn_layers"])
    args = [inputs[k].cuda() for k in ("packed_x", "coords_mapping", "modality_mapping", "local_q_ranges",
                                        "local_k_ranges")]
    tf32 = torch.backends.cuda.matmul.allow_tf32
    torch.backends.cuda.matmul.allow_tf32 = False  # TF32 would miss the float32 tolerance
    try:
        with torch.no_grad():
            out = dit(*args).cpu()
    finally:
        torch.backends.cuda.matmul.allow_tf32 = tf32
    torch.testing.assert_close(out, expected["dit_out_packed"], atol=1e-4, rtol=1e-4)


def test_unknown_attention_backend_is_a_config_error():
    from model import ConfigError

    with pytest.raises(ConfigError, match="'xformers'"):
        build_dit("tiny", device="meta", attn_backend="xformers")


@pytest.mark.parametrize("block", [4, 8, 128])
def test_flex_block_mask_lists_every_allowed_tile_and_only_truly_full_tiles_as_full(block):
    q_r, k_r = local_attention_ranges_for(60, 5, 77, 1)
    plan = LocalPlan.from_ranges(q_r, k_r, 77)
    dense = plan.dense_mask()
    n = -(-77 // block)
    tiles = torch.nn.functional.pad(dense, (0, n * block - 77, 0, n * block - 77)).view(n, block, n, block)
    any_allowed = tiles.any(-1).any(1)  # (n, n)
    bm = plan.block_mask(77, "cpu", block=block)
    listed = torch.zeros(n, n, dtype=torch.bool)
    full = torch.zeros(n, n, dtype=torch.bool)
    for qb in range(n):
        listed[qb, bm.kv_indices[0, 0, qb, : bm.kv_num_blocks[0, 0, qb]].long()] = True
        full[qb, bm.full_kv_indices[0, 0, qb, : bm.full_kv_num_blocks[0, 0, qb]].long()] = True
    assert torch.equal(listed | full, any_allowed)
    assert not (listed & full).any()
    for qb, kb in full.nonzero().tolist():
        assert tiles[qb, :, kb, :].all()
    if block == 4:
        assert full.any()  # frame-sized tiles inside a window really are skipped-mask tiles
