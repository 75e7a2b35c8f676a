"""Packing one sample into the DiT's single token sequence, and back (docs/model.md §Packing conventions).

Order: all video tokens (latent frame, patch row, patch col), then audio frames, then the text tokens (only the
true prompt length). Each row is right-padded with zeros to the widest modality. No batch dim anywhere: the
official DiT runs one sample per call (CFG branches are separate calls).
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from einops import rearrange
from torch import Tensor

from model.config import AUDIO, TEXT, VIDEO
from model.errors import PackingError

LATENT_CHANNELS = 48
PATCH = 2  # 1×2×2 spatial patch
AUDIO_CHANNELS = 64
STYLES = ("v1", "v2")  # v2: base/distill, v1: the SR models


@dataclass(frozen=True)
class Packed:
    """One packed DiT input. Tensors share a device; `latent_shape` is the video latent's (T, H, W)."""

    x: Tensor  # (L, C_max) float32
    coords: Tensor  # (L, 9) float32: t, h, w, T, H, W, Tref, Href, Wref
    modality: Tensor  # (L,) int64: 0 video, 1 audio, 2 text
    num_video: int
    num_audio: int
    num_text: int
    latent_shape: tuple[int, int, int]

    @property
    def length(self) -> int:
        """Packed sequence length L."""
        return self.num_video + self.num_audio + self.num_text

    @property
    def tokens_per_frame(self) -> int:
        """Video tokens per latent frame, (H/2)·(W/2)."""
        _, h, w = self.latent_shape
        return (h // PATCH) * (w // PATCH)


def patchify_video(latent: Tensor) -> Tensor:
    """[48, T, H, W] -> [T·(H/2)·(W/2), 192]; tokens row-major (t, row, col), feature index c·4 + ph·2 + pw."""
    _check_video(latent)
    return rearrange(latent, "c t (h ph) (w pw) -> (t h w) (c ph pw)", ph=PATCH, pw=PATCH)


def unpatchify_video(tokens: Tensor, latent_shape: tuple[int, int, int]) -> Tensor:
    """Model output [Nv, 192] -> [48, T, H, W]. The OUTPUT feature order is (ph·2 + pw)·48 + c (channel fastest)."""
    t, h, w = latent_shape
    if tokens.shape != (t * (h // PATCH) * (w // PATCH), LATENT_CHANNELS * PATCH * PATCH):
        raise PackingError(f"video output rows {tuple(tokens.shape)} do not fit a latent of (T, H, W) = {latent_shape}")
    return rearrange(
        tokens, "(t h w) (ph pw c) -> c t (h ph) (w pw)", t=t, h=h // PATCH, w=w // PATCH, ph=PATCH, pw=PATCH
    )


def pack(video_latent: Tensor, audio_latent: Tensor, text: Tensor, style: str = "v2") -> Packed:
    """Pack video [48,T,H,W], audio [Na,64] and text features [Nt,C_text] (already trimmed) into one sequence.

    `style` picks the coordinate convention: "v2" for the base/distill models, "v1" for the SR models.
    """
    if style not in STYLES:
        raise PackingError(f"unknown coordinate style {style!r}; expected one of {STYLES}")
    _check_video(video_latent)
    if audio_latent.ndim != 2 or audio_latent.shape[1] != AUDIO_CHANNELS or audio_latent.shape[0] < 1:
        raise PackingError(f"audio latent must be [Na >= 1, {AUDIO_CHANNELS}], got {tuple(audio_latent.shape)}")
    if text.ndim != 2:
        raise PackingError(f"text features must be [Nt, C_text] (trimmed to the true length), got {tuple(text.shape)}")
    t, h, w = video_latent.shape[1:]
    video = patchify_video(video_latent.float())  # (Nv, 192)
    nv, na, nt = video.shape[0], audio_latent.shape[0], text.shape[0]
    width = max(video.shape[1], AUDIO_CHANNELS, text.shape[1])
    device = video_latent.device

    x = torch.zeros(nv + na + nt, width, device=device)  # (L, C_max), zero-padded rows
    x[:nv, : video.shape[1]] = video
    x[nv : nv + na, :AUDIO_CHANNELS] = audio_latent.float()
    x[nv + na :, : text.shape[1]] = text.float()
    coords = torch.cat(
        [video_coords(t, h // PATCH, w // PATCH), audio_coords(na, t, style), text_coords(nt, style)]
    ).to(device)
    modality = torch.cat(
        [torch.full((n,), m, dtype=torch.int64, device=device) for m, n in ((VIDEO, nv), (AUDIO, na), (TEXT, nt))]
    )
    return Packed(x, coords, modality, nv, na, nt, (t, h, w))


def unpack(out: Tensor, packed: Packed) -> tuple[Tensor, Tensor]:
    """DiT output [L, 192] -> (video velocity [48, T, H, W], audio velocity [Na, 64])."""
    if out.ndim != 2 or out.shape[0] != packed.length:
        raise PackingError(f"DiT output {tuple(out.shape)} does not match the packed length {packed.length}")
    nv, na = packed.num_video, packed.num_audio
    video = unpatchify_video(out[:nv, : LATENT_CHANNELS * PATCH * PATCH], packed.latent_shape)
    return video, out[nv : nv + na, :AUDIO_CHANNELS]


# -- coordinates (t, h, w, T, H, W, Tref, Href, Wref), float32 -----------------------------------------------------


def video_coords(t: int, h: int, w: int) -> Tensor:
    """Patch grid (frame, row, col) with size = ref = (T, H/2, W/2) in both styles."""
    f, r, c = torch.meshgrid(torch.arange(t), torch.arange(h), torch.arange(w), indexing="ij")
    grid = torch.stack([f, r, c], dim=-1).reshape(-1, 3).float()  # (T·h·w, 3)
    size = torch.tensor([t, h, w], dtype=torch.float32).expand(grid.shape[0], 3)
    return torch.cat([grid, size, size], dim=1)


def audio_coords(na: int, latent_frames: int, style: str) -> Tensor:
    """Audio frame i at (i, 0, 0), size (Na,1,1); ref (Na-1)//4+1 in v2, the latent frame count T in v1."""
    ref = (na - 1) // 4 + 1 if style == "v2" else latent_frames
    if na == 1 and ref != 1:
        raise PackingError(f"a single audio frame cannot be rescaled to a reference length of {ref} (style {style})")
    return _line_coords(torch.arange(na, dtype=torch.float32), na, ref)


def text_coords(nt: int, style: str) -> Tensor:
    """v2: (i - Nt, 0, 0), ref 1 (every text token at position 0); v1: (i, 0, 0), ref 2 (positions in [0, 1])."""
    if style == "v2":
        return _line_coords(torch.arange(nt, dtype=torch.float32) - nt, nt, 1)
    if nt == 1:
        raise PackingError("style v1 cannot place a single text token (its position scale (2-1)/(1-1) is undefined)")
    return _line_coords(torch.arange(nt, dtype=torch.float32), nt, 2)


def _line_coords(t: Tensor, size: int, ref: int) -> Tensor:
    n = t.shape[0]
    out = torch.zeros(n, 9)
    out[:, 0] = t
    out[:, 3:6] = torch.tensor([size, 1.0, 1.0])
    out[:, 6:9] = torch.tensor([float(ref), 1.0, 1.0])
    return out


# -- local attention ranges ---------------------------------------------------------------------------------------


def local_attention_ranges(packed: Packed, frame_receptive_field: int) -> tuple[Tensor, Tensor]:
    """q/k token ranges of the block-sparse local layers for this packed sample (see the function below)."""
    return local_attention_ranges_for(packed.num_video, packed.latent_shape[0], packed.length, frame_receptive_field)


def local_attention_ranges_for(
    num_video: int, latent_frames: int, length: int, frame_receptive_field: int
) -> tuple[Tensor, Tensor]:
    """Half-open [start, end) rows (q_ranges [R,2], k_ranges [R,2]) int32.

    Row f < T: the video tokens of frame f attend to the video tokens of frames f-rf .. f+rf (clipped). Row T: all
    video queries attend to the audio+text keys. Row T+1: audio+text queries attend to every key. A query's allowed
    keys are the union over its rows.
    """
    if latent_frames < 1 or num_video % latent_frames or not 0 <= num_video <= length:
        raise PackingError(
            f"{num_video} video tokens cannot be split into {latent_frames} latent frames of a {length}-token sequence"
        )
    if frame_receptive_field < 0:
        raise PackingError(f"frame_receptive_field must be >= 0, got {frame_receptive_field}")
    n = num_video // latent_frames  # tokens per frame
    q, k = [], []
    for f in range(latent_frames):
        q.append((f * n, (f + 1) * n))
        k.append((max(0, f - frame_receptive_field) * n, min(latent_frames, f + frame_receptive_field + 1) * n))
    if length > num_video:  # audio + text present
        q += [(0, num_video), (num_video, length)]
        k += [(num_video, length), (0, length)]
    return torch.tensor(q, dtype=torch.int32), torch.tensor(k, dtype=torch.int32)


def _check_video(latent: Tensor) -> None:
    if latent.ndim != 4 or latent.shape[0] != LATENT_CHANNELS or min(latent.shape[1:]) < 1:
        raise PackingError(f"video latent must be [48, T, H, W] (no batch dim), got {tuple(latent.shape)}")
    if latent.shape[2] % PATCH or latent.shape[3] % PATCH:
        raise PackingError(f"video latent height and width must be even for the 2×2 patch, got {tuple(latent.shape)}")
