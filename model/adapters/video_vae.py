"""The one adapter over the Wan2.2 video VAE (diffusers `AutoencoderKLWan`), docs/model.md §Adapters.

Wan2.2 (TI2V-5B) VAE: 48 latent channels, 16× spatial compression (2×2 patchify + 3 spatial down-samplings),
4× temporal with a causal first frame (F pixel frames <-> (F−1)/4 + 1 latent frames). MagiHuman works on
per-channel normalised latents z = (μ − mean)/std with the fixed 48-value mean/std below; encode returns the
posterior mean μ, never a sample.

Decoding: the official pipeline decodes with the distilled Turbo VAE (`adapters/turbo_vae.py`), which the
generator uses by default. `decode` here is the Wan2.2 VAE's own decoder, the teacher the Turbo decoder was trained
to imitate, kept as an option (`vae="wan"`): close to, not identical with, the official videos (docs/model.md
§Adapters).
"""

from __future__ import annotations

from pathlib import Path

import torch

from model.errors import ModelError

LATENT_CHANNELS = 48
SPATIAL_COMPRESSION = 16
TEMPORAL_COMPRESSION = 4

# Per-channel latent statistics of the Wan2.2 VAE (pipeline_constants.json, wan22_vae_latent_*_48).
LATENT_MEAN = (
    -0.2289, -0.0052, -0.1323, -0.2339, -0.2799, 0.0174, 0.1838, 0.1557, -0.1382, 0.0542, 0.2813, 0.0891,
    0.157, -0.0098, 0.0375, -0.1825, -0.2246, -0.1207, -0.0698, 0.5109, 0.2665, -0.2108, -0.2158, 0.2502,
    -0.2055, -0.0322, 0.1109, 0.1567, -0.0729, 0.0899, -0.2799, -0.123, -0.0313, -0.1649, 0.0117, 0.0723,
    -0.2839, -0.2083, -0.052, 0.3748, 0.0152, 0.1957, 0.1433, -0.2944, 0.3573, -0.0548, -0.1681, -0.0667,
)  # fmt: skip
LATENT_STD = (
    0.4765, 1.0364, 0.4514, 1.1677, 0.5313, 0.499, 0.4818, 0.5013, 0.8158, 1.0344, 0.5894, 1.0901,
    0.6885, 0.6165, 0.8454, 0.4978, 0.5759, 0.3523, 0.7135, 0.6804, 0.5833, 1.4146, 0.8986, 0.5659,
    0.7069, 0.5338, 0.4889, 0.4917, 0.4069, 0.4999, 0.6866, 0.4093, 0.5709, 0.6065, 0.6415, 0.4944,
    0.5726, 1.2042, 0.5458, 1.6887, 0.3971, 1.06, 0.3943, 0.5537, 0.5444, 0.4089, 0.7468, 0.7744,
)  # fmt: skip

# `AutoencoderKLWan` settings of the Wan2.2 variant: residual up/down blocks on a 2×2-patchified (12-channel)
# input, encoder width 160, decoder width 256, 48 latent channels.
WAN22_CONFIG = dict(
    base_dim=160,
    decoder_base_dim=256,
    z_dim=LATENT_CHANNELS,
    dim_mult=[1, 2, 4, 4],
    num_res_blocks=2,
    attn_scales=[],
    temperal_downsample=[False, True, True],
    is_residual=True,
    in_channels=12,
    out_channels=12,
    patch_size=2,
    scale_factor_temporal=TEMPORAL_COMPRESSION,
    scale_factor_spatial=SPATIAL_COMPRESSION,
    latents_mean=list(LATENT_MEAN),
    latents_std=list(LATENT_STD),
)


class VideoVAEError(ModelError):
    """The VAE folder is missing/wrong, or a video/latent has an unusable shape (names it)."""


def build_wan22_vae(**overrides):
    """An `AutoencoderKLWan` with the Wan2.2 structure; `overrides` shrink widths for tests."""
    from diffusers import AutoencoderKLWan

    return AutoencoderKLWan(**{**WAN22_CONFIG, **overrides})


class VideoVAE:
    """Pixels in [−1, 1] <-> normalised Wan2.2 latents."""

    def __init__(self, vae: torch.nn.Module):
        config = vae.config
        if config.z_dim != LATENT_CHANNELS or config.scale_factor_spatial != SPATIAL_COMPRESSION:
            raise VideoVAEError(
                f"not a Wan2.2 VAE: z_dim={config.z_dim}, spatial compression={config.scale_factor_spatial} "
                f"(expected {LATENT_CHANNELS} and {SPATIAL_COMPRESSION})"
            )
        self.vae = vae.eval()

    @classmethod
    def from_pretrained(
        cls, folder: str | Path, device: str | torch.device = "cpu", dtype: torch.dtype = torch.bfloat16
    ) -> VideoVAE:
        """Load a diffusers-format Wan2.2 VAE folder (config.json + diffusion_pytorch_model.safetensors)."""
        from diffusers import AutoencoderKLWan

        folder = Path(folder)
        if not (folder / "config.json").is_file():
            raise VideoVAEError(f"Wan2.2 VAE folder {folder} has no config.json")
        try:
            vae = AutoencoderKLWan.from_pretrained(folder, torch_dtype=dtype, local_files_only=True)
        except (OSError, ValueError) as exc:
            raise VideoVAEError(f"cannot load the Wan2.2 VAE from {folder}: {exc}") from exc
        return cls(vae.to(device))

    @property
    def device(self) -> torch.device:
        return next(self.vae.parameters()).device

    @property
    def dtype(self) -> torch.dtype:
        return next(self.vae.parameters()).dtype

    def _stats(self, like: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        shape = (1, LATENT_CHANNELS, 1, 1, 1)
        mean = torch.tensor(LATENT_MEAN, dtype=torch.float32, device=like.device).view(shape)
        std = torch.tensor(LATENT_STD, dtype=torch.float32, device=like.device).view(shape)
        return mean, std

    @torch.no_grad()
    def encode(self, video: torch.Tensor) -> torch.Tensor:
        """[B, 3, F, H, W] in [−1, 1] -> normalised posterior mean [B, 48, (F−1)/4+1, H/16, W/16], float32."""
        if video.dim() != 5 or video.shape[1] != 3:
            raise VideoVAEError(f"video must be (B, 3, F, H, W), got {tuple(video.shape)}")
        frames, height, width = video.shape[2:]
        if (frames - 1) % TEMPORAL_COMPRESSION or height % SPATIAL_COMPRESSION or width % SPATIAL_COMPRESSION:
            raise VideoVAEError(
                f"video of {frames} frames at {width}x{height} does not fit the VAE: frames must be 4k+1 and "
                f"width/height multiples of {SPATIAL_COMPRESSION}"
            )
        posterior = self.vae.encode(video.to(self.device, self.dtype)).latent_dist
        mu = posterior.mean.float()
        mean, std = self._stats(mu)
        return (mu - mean) / std

    @torch.no_grad()
    def decode(self, latent: torch.Tensor) -> torch.Tensor:
        """Normalised latent [B, 48, T, h, w] -> pixels [B, 3, 4(T−1)+1, 16h, 16w] in [−1, 1], float32."""
        if latent.dim() != 5 or latent.shape[1] != LATENT_CHANNELS:
            raise VideoVAEError(f"latent must be (B, {LATENT_CHANNELS}, T, h, w), got {tuple(latent.shape)}")
        mean, std = self._stats(latent)
        z = latent.float().to(self.device) * std.to(self.device) + mean.to(self.device)
        return self.vae.decode(z.to(self.dtype)).sample.float().clamp(-1.0, 1.0)


def to_uint8_frames(pixels: torch.Tensor) -> torch.Tensor:
    """[3, F, H, W] in [−1, 1] -> uint8 [F, H, W, 3]: (x+1)/2, clamp, ×255, truncated (as the official writer)."""
    x = ((pixels.float() + 1.0) / 2.0).clamp(0.0, 1.0) * 255.0
    return x.to(torch.uint8).permute(1, 2, 3, 0).contiguous()  # (3,F,H,W) -> (F,H,W,3)
