"""One adapter per third-party model the generator uses: T5Gemma text encoder, Wan2.2 video VAE,
Stable Audio Open VAE. transformers/diffusers are imported only when a model is built or loaded."""

from model.adapters.audio_vae import AudioVAE, AudioVAEError
from model.adapters.text_encoder import TextEncoder, TextEncoderError
from model.adapters.video_vae import VideoVAE, VideoVAEError

__all__ = ["AudioVAE", "AudioVAEError", "TextEncoder", "TextEncoderError", "VideoVAE", "VideoVAEError"]
