"""3-axis RoPE from per-token coordinates (docs/model.md §Positions (RoPE)).

Each token carries 9 float32 coordinates (t, h, w, T, H, W, Tref, Href, Wref). Per axis the position is
`(coord - centre) * scale` with `scale = (ref - 1) / (size - 1)` (1 when ref = size = 1) and h, w centred. Angles
`position * ω_k`, ω_k = θ^(-k/bands), give a `[sin | cos]` table that rotates the first 6·bands dims of every q/k head
in the rotate-half (NeoX) layout; the remaining head dims pass through unrotated.
"""

from __future__ import annotations

import torch
from torch import Tensor, nn


class ElementWiseFourierEmbed(nn.Module):
    """Coordinates [L, 9] -> rotation table [L, 6·bands] = [sin θ (3·bands) | cos θ (3·bands)], float32.

    θ is ordered [t ω_0..ω_{b-1}, h ω_0.., w ω_0..]. The persistent buffer `bands` holds the ω_k (it is a
    state-dict entry, `adapter.rope.bands`, in the official checkpoints).
    """

    def __init__(self, num_bands: int, theta: float = 10000.0, device=None):
        super().__init__()
        self.register_buffer("bands", inverse_frequencies(num_bands, theta, device=device), persistent=True)

    def forward(self, coords: Tensor) -> Tensor:
        pos = coords_to_positions(coords)  # (L, 3)
        angles = (pos[:, :, None] * self.bands.float()[None, None, :]).flatten(1)  # (L, 3, b) -> (L, 3b)
        return torch.cat([angles.sin(), angles.cos()], dim=-1)  # (L, 6b)


def inverse_frequencies(num_bands: int, theta: float = 10000.0, device=None) -> Tensor:
    """ω_k = θ^(-k/num_bands), k = 0..num_bands-1, float32."""
    k = torch.arange(num_bands, dtype=torch.float32, device=device)
    return theta ** (-k / num_bands)


def coords_to_positions(coords: Tensor) -> Tensor:
    """[L, 9] float32 coordinates -> [L, 3] rescaled positions (t, h, w), computed in float32."""
    coords = coords.float()
    grid, size, ref = coords[:, 0:3], coords[:, 3:6], coords[:, 6:9]
    # size 1 with ref 1 means a degenerate axis (scale 1); size 1 with another ref is invalid and never packed.
    scale = torch.where(size > 1, (ref - 1) / (size - 1).clamp(min=1), torch.ones_like(size))
    centre = torch.zeros_like(size)
    centre[:, 1:] = (size[:, 1:] - 1) / 2  # h and w are centred, t is not
    return (grid - centre) * scale


def apply_rope(x: Tensor, table: Tensor) -> Tensor:
    """Rotate the first 6·bands dims of x [L, heads, head_dim] by table [L, 6·bands] (rotate-half layout), float32."""
    half = table.shape[-1] // 2  # 3·bands angles
    sin, cos = table[:, None, :half], table[:, None, half:]  # (L, 1, 3b)
    x1, x2, rest = x[..., :half], x[..., half : 2 * half], x[..., 2 * half :]
    return torch.cat([x1 * cos - x2 * sin, x2 * cos + x1 * sin, rest], dim=-1)
