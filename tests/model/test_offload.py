"""model/offload.py: the keep-or-drop decision, the activation estimate, and lending weights without copying back."""

import pytest
import torch

from model.config import DiTConfig
from model.offload import HostCopy, dit_activation_bytes, keeps_fit

GIB = 2**30


@pytest.mark.parametrize(
    "free, needed, stays",
    [(40 * GIB, 20 * GIB, True), (20 * GIB, 20 * GIB, True), (19 * GIB, 20 * GIB, False), (0, 1, False), (5, 0, True)],
)
def test_the_encoder_stays_exactly_when_the_free_memory_covers_what_the_run_needs(free, needed, stays):
    assert keeps_fit(free, needed) is stays


def test_negative_byte_counts_are_refused_with_both_values():
    with pytest.raises(ValueError, match="free=-1, needed=3"):
        keeps_fit(-1, 3)


def test_activation_estimate_grows_with_tokens_and_the_mlp_chunk_bounds_it():
    cfg = DiTConfig.preset("15b")
    at_256p, at_1080p = dit_activation_bytes(cfg, 4_060, 16_384), dit_activation_bytes(cfg, 65_756, 16_384)
    assert at_256p < at_1080p
    assert dit_activation_bytes(cfg, 65_756, None) > at_1080p  # unchunked: the whole MLP intermediate at once
    assert dit_activation_bytes(cfg, 4_060, None) == at_256p  # shorter than a chunk: chunking changes nothing
    # The residual stream alone (float32 [L, 5120]) is a lower bound; the estimate stays well above it.
    assert at_1080p > 4 * 65_756 * 5120 * 4


def _module():
    torch.manual_seed(0)
    return torch.nn.Sequential(torch.nn.Linear(4, 3), torch.nn.LayerNorm(3))


def test_lending_points_the_weights_at_a_copy_and_dropping_restores_the_host_tensors_uncopied():
    module = _module()
    x = torch.randn(2, 4)
    expected = module(x)
    host = HostCopy(module)
    pointers = [p.data_ptr() for p in module.parameters()]
    host.lend(torch.device("cpu"))  # on a GPU machine the copy lands on the GPU; here it is a second host copy
    assert host.device == torch.device("cpu")
    assert not {p.data_ptr() for p in module.parameters()} & set(pointers)
    with torch.no_grad():
        for p in module.parameters():
            p.zero_()  # scribbling on the lent copy ...
    host.drop()
    assert host.device is None
    assert [p.data_ptr() for p in module.parameters()] == pointers  # ... is never copied back
    torch.testing.assert_close(module(x), expected)
    assert host.nbytes() == sum(p.numel() * 4 for p in module.parameters())


def test_lending_twice_to_the_same_device_keeps_the_first_copy():
    module = _module()
    host = HostCopy(module)
    host.lend(torch.device("cpu"))
    lent = module[0].weight.data_ptr()
    host.lend(torch.device("cpu"))
    assert module[0].weight.data_ptr() == lent


@pytest.mark.gpu
@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA device")
def test_host_copy_is_pinned_and_lent_to_the_gpu():
    module = _module()
    host = HostCopy(module)
    assert all(p.is_pinned() for p in module.parameters())
    host.lend(torch.device("cuda"))
    assert all(p.is_cuda for p in module.parameters())
    host.drop()
    assert all(p.is_pinned() and not p.is_cuda for p in module.parameters())
