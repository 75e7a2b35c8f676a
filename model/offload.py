"""Lending a module's weights to the GPU for one stage, and deciding whether they may stay (docs/model.md §Generator).

The generator keeps the T5Gemma encoder (≈18 GB in bf16) in pinned host memory and lends it to the GPU to encode
the prompt. Inference never changes the weights, so giving them back is dropping the GPU copy: nothing is copied
back. With `offload="auto"` the GPU copy is kept after encoding when the device's free memory still covers what
the coming DiT stages need (`keeps_fit`), so a large card encodes later prompts without moving the encoder at all.
"""

from __future__ import annotations

import torch
from torch import nn

from model.config import DiTConfig

# Over the DiT activation estimate: room for the decoders, the SR re-encode and allocator fragmentation.
AUTO_HEADROOM = 1.5


def keeps_fit(free_bytes: int, needed_bytes: int) -> bool:
    """Whether a module already on the GPU may stay there: the free memory left with it resident still covers the
    `needed_bytes` the rest of the run allocates."""
    if free_bytes < 0 or needed_bytes < 0:
        raise ValueError(f"byte counts must be non-negative, got free={free_bytes}, needed={needed_bytes}")
    return free_bytes >= needed_bytes


def device_free_bytes(device: torch.device) -> int:
    """Memory a new allocation on `device` can use: free on the device plus what torch's allocator holds unused."""
    free, _total = torch.cuda.mem_get_info(device)
    return free + torch.cuda.memory_reserved(device) - torch.cuda.memory_allocated(device)


def dit_activation_bytes(cfg: DiTConfig, tokens: int, mlp_chunk: int | None) -> int:
    """An upper estimate of one DiT forward's live activations over `tokens` packed tokens (not a measurement).

    Float32 residual stream, branch output, norm and projection outputs (4 × L × D), the fused q|k|v|gate output
    and its rotated copies (2 × L × qkv width), and the widest MLP's up-projection and activation over one chunk.
    """
    chunk = min(tokens, mlp_chunk or tokens)
    mlp = chunk * 3 * cfg.swiglu_width  # up projection (2 × width) + activation (width)
    floats = 4 * tokens * cfg.hidden_size + 2 * tokens * cfg.qkv_width + 2 * max(mlp, chunk * 2 * cfg.gelu_width)
    return 4 * floats


class HostCopy:
    """A module whose weights rest in host memory (pinned when CUDA is present) and are lent to a device.

    `lend(device)` points every parameter and buffer at a copy on `device` (non-blocking from pinned memory);
    `drop()` points them back at the host tensors, freeing the device copies without copying anything back.
    """

    def __init__(self, module: nn.Module):
        self.module = module.to("cpu")
        pin = torch.cuda.is_available()
        self._tensors = [*module.parameters(), *module.buffers()]
        self._host = [t.data.pin_memory() if pin and not t.data.is_pinned() else t.data for t in self._tensors]
        for t, host in zip(self._tensors, self._host, strict=True):
            t.data = host
        self.device: torch.device | None = None  # where a lent copy lives; None while only the host copy exists

    def lend(self, device: torch.device) -> None:
        """Give the module a copy of its weights on `device` (nothing happens when it already has one)."""
        if self.device == device:
            return
        for t, host in zip(self._tensors, self._host, strict=True):
            t.data = host.to(device, non_blocking=True, copy=True)  # a copy even on the host's own device
        self.device = device

    def drop(self) -> None:
        """Back to the host weights; the device copy is freed, not copied back (the weights did not change)."""
        for t, host in zip(self._tensors, self._host, strict=True):
            t.data = host
        self.device = None

    def nbytes(self) -> int:
        """Bytes of one copy of the weights."""
        return sum(host.numel() * host.element_size() for host in self._host)
