"""The DiT refuses inputs it cannot run, naming the bad value, and routes experts by modality in any order."""

from __future__ import annotations

import pytest
import torch

from model import PackingError, build_dit, load_dit
from tests.model.dit_golden import TINY_WEIGHTS, case_inputs


@pytest.fixture(scope="module")
def dit():
    return load_dit(TINY_WEIGHTS, preset="tiny", dtype=torch.float32)


def test_local_layers_without_ranges_are_refused():
    inputs = case_inputs("sr_v1_local")
    local = build_dit("tiny", dtype=torch.float32, local_attn_layers=[0, 1])
    with pytest.raises(PackingError, match=r"layers \[0, 1\] use local attention"):
        local(inputs["packed_x"], inputs["coords_mapping"], inputs["modality_mapping"])


@pytest.mark.parametrize(
    "change, match",
    [
        (lambda x, c, m: (x[None], c, m), "one packed sample"),
        (lambda x, c, m: (x, c[:, :6], m), "coords"),
        (lambda x, c, m: (x[:, :100], c, m), "x has 100 columns but modality 0"),
        (lambda x, c, m: (x, c, torch.where(m == 2, 3, m)), "modality id 3"),
    ],
)
def test_malformed_inputs_raise_packing_error(dit, change, match):
    inputs = case_inputs("base_v2_full")
    args = change(inputs["packed_x"], inputs["coords_mapping"], inputs["modality_mapping"])
    with pytest.raises(PackingError, match=match):
        dit(*args)


def test_output_does_not_depend_on_token_order(dit):
    # Attention is permutation-equivariant and experts are picked per token, so shuffling tokens only shuffles rows.
    inputs = case_inputs("base_v2_full")
    x, c, m = inputs["packed_x"], inputs["coords_mapping"], inputs["modality_mapping"]
    perm = torch.randperm(x.shape[0], generator=torch.Generator().manual_seed(0))
    with torch.no_grad():
        want = dit(x, c, m)[perm]
        got = dit(x[perm], c[perm], m[perm])
    torch.testing.assert_close(got, want, atol=2e-5, rtol=1e-5)
