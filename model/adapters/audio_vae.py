"""The one adapter over the Stable Audio Open VAE (diffusers `AutoencoderOobleck`), docs/model.md §Adapters.

MagiHuman runs the 44.1 kHz Oobleck autoencoder time-stretched: audio is treated as 51.2 kHz so that one latent
frame (2048 samples) lasts 40 ms, exactly one 25 fps video frame. Input audio is therefore resampled to
51,200 Hz (mono, duplicated to two channels) before encoding, and the decoded waveform (51.2 kHz nominal) is
resampled by 441/512 (FFT resampling) and returned as 44.1 kHz stereo. Encode *samples* the VAE bottleneck.
"""

from __future__ import annotations

from math import gcd
from pathlib import Path

import numpy as np
import torch
from scipy import signal

from model.errors import ModelError

LATENT_CHANNELS = 64
HOP = 2048  # samples per latent frame
MODEL_RATE = 51_200  # the time-stretched rate the latents are defined at
OUTPUT_RATE = 44_100
MAX_ENCODE_SECONDS = 29.0  # the official code windows longer clips; dubbing windows are far shorter


class AudioVAEError(ModelError):
    """The VAE folder is missing/wrong, or audio/latents have an unusable shape or length (names it)."""


def build_oobleck_vae(**overrides):
    """An `AutoencoderOobleck` with the Stable Audio Open structure; `overrides` shrink widths for tests."""
    from diffusers import AutoencoderOobleck

    return AutoencoderOobleck(**overrides)


def to_model_rate(samples: np.ndarray, sample_rate: int) -> np.ndarray:
    """Mono float32 audio at `sample_rate` -> mono float32 at 51.2 kHz (polyphase resampling)."""
    if sample_rate <= 0:
        raise AudioVAEError(f"sample rate must be positive, got {sample_rate}")
    g = gcd(MODEL_RATE, sample_rate)
    up, down = MODEL_RATE // g, sample_rate // g
    if up == down:
        return samples.astype(np.float32)
    return signal.resample_poly(samples, up, down).astype(np.float32)


def to_output_rate(waveform: np.ndarray) -> np.ndarray:
    """[n, ch] at 51.2 kHz nominal -> [n·441/512, ch] at 44.1 kHz (FFT resampling, as the official writer)."""
    n_out = round(waveform.shape[0] * OUTPUT_RATE / MODEL_RATE)
    return signal.resample(waveform, n_out, axis=0).astype(np.float32)


class AudioVAE:
    """Waveforms <-> Oobleck latents [1, frames, 64] at 25 frames per second."""

    def __init__(self, vae: torch.nn.Module):
        config = vae.config
        hop = int(np.prod(config.downsampling_ratios))
        if config.decoder_input_channels != LATENT_CHANNELS or hop != HOP or config.audio_channels != 2:
            raise AudioVAEError(
                f"not a Stable Audio Open VAE: {config.decoder_input_channels} latent channels, hop {hop}, "
                f"{config.audio_channels} audio channels (expected {LATENT_CHANNELS}, {HOP}, 2)"
            )
        self.vae = vae.eval()

    @classmethod
    def from_pretrained(
        cls, folder: str | Path, device: str | torch.device = "cpu", dtype: torch.dtype = torch.float32
    ) -> AudioVAE:
        """Load a diffusers-format Oobleck folder (config.json + diffusion_pytorch_model.safetensors)."""
        from diffusers import AutoencoderOobleck

        folder = Path(folder)
        if not (folder / "config.json").is_file():
            raise AudioVAEError(f"Stable Audio Open VAE folder {folder} has no config.json")
        try:
            vae = AutoencoderOobleck.from_pretrained(folder, torch_dtype=dtype, local_files_only=True)
        except (OSError, ValueError) as exc:
            raise AudioVAEError(f"cannot load the Stable Audio Open VAE from {folder}: {exc}") from exc
        return cls(vae.to(device))

    @property
    def device(self) -> torch.device:
        return next(self.vae.parameters()).device

    @property
    def dtype(self) -> torch.dtype:
        return next(self.vae.parameters()).dtype

    @torch.no_grad()
    def encode(
        self, samples: np.ndarray, sample_rate: int, frames: int, generator: torch.Generator | None = None
    ) -> torch.Tensor:
        """Audio [n] or [n, channels] at `sample_rate` -> latent [1, frames, 64] (a bottleneck sample), float32.

        The audio is made mono, resampled to 51.2 kHz and zero-padded to exactly frames·2048 samples; audio
        longer than that is an error (never silently cut). The sample draws its noise from `generator`.
        """
        samples = np.asarray(samples, dtype=np.float32)
        if samples.ndim == 2:
            samples = samples.mean(axis=1)
        if samples.ndim != 1 or samples.size == 0:
            raise AudioVAEError(f"audio must be a non-empty [n] or [n, channels] array, got shape {samples.shape}")
        if not np.isfinite(samples).all():
            raise AudioVAEError("audio contains NaN or infinite samples")
        mono = to_model_rate(samples, sample_rate)
        target = frames * HOP
        if frames < 1 or target / MODEL_RATE > MAX_ENCODE_SECONDS:
            raise AudioVAEError(f"cannot encode {frames} latent frames; need 1..{int(MAX_ENCODE_SECONDS * 25)}")
        if mono.size > target:
            raise AudioVAEError(
                f"audio lasts {samples.size / sample_rate:.3f} s, longer than the {target / MODEL_RATE:.3f} s "
                f"({frames} frames) being generated"
            )
        mono = np.pad(mono, (0, target - mono.size))
        stereo = torch.from_numpy(np.stack([mono, mono]))[None]  # (1, 2, n)
        posterior = self.vae.encode(stereo.to(self.device, self.dtype)).latent_dist
        latent = posterior.sample(generator=generator).float()  # (1, 64, frames)
        if latent.shape[-1] != frames:
            raise AudioVAEError(f"VAE returned {latent.shape[-1]} latent frames for {frames}·{HOP} samples")
        return latent.transpose(1, 2).contiguous()  # (1, frames, 64)

    @torch.no_grad()
    def decode(self, latent: torch.Tensor) -> np.ndarray:
        """Latent [1, frames, 64] -> stereo float32 [frames·2048·441/512, 2] at 44.1 kHz."""
        if latent.dim() != 3 or latent.shape[0] != 1 or latent.shape[2] != LATENT_CHANNELS:
            raise AudioVAEError(f"audio latent must be (1, frames, {LATENT_CHANNELS}), got {tuple(latent.shape)}")
        z = latent.transpose(1, 2).to(self.device, self.dtype)  # (1, 64, frames)
        waveform = self.vae.decode(z).sample[0].float().cpu().numpy().T  # (frames·2048, 2)
        return to_output_rate(waveform)
