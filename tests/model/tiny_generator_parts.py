"""Tiny random models with the real structures, saved as local HF/diffusers folders, for CPU tests.

Shared by the adapter, generator and weights tests. Everything is seeded, so the folders are identical
between runs.
"""

from __future__ import annotations

import json
from pathlib import Path

import torch

TEXT_WIDTH = 32
TURBO_DATA = Path(__file__).resolve().parent.parent / "conformance" / "turbo_vae"
TURBO_CONFIG_NAME = "TurboV3-Wan22-TinyShallow_7_7.json"
WORDS = "a man woman says speaks hello world the smiles and to camera dialogue background sound no prominent".split()


def tiny_t5gemma_folder(folder: Path, hidden_size: int = TEXT_WIDTH) -> Path:
    """Save an encoder-decoder T5Gemma (1 layer each) plus a word-level tokenizer into `folder`."""
    from tokenizers import Tokenizer, models, pre_tokenizers, processors
    from transformers import (
        PreTrainedTokenizerFast,
        T5GemmaConfig,
        T5GemmaForConditionalGeneration,
        T5GemmaModuleConfig,
    )

    module = dict(
        vocab_size=64, hidden_size=hidden_size, intermediate_size=48, num_hidden_layers=1, num_attention_heads=2,
        num_key_value_heads=1, head_dim=16, query_pre_attn_scalar=16, sliding_window=16,
    )
    config = T5GemmaConfig(encoder=T5GemmaModuleConfig(**module), decoder=T5GemmaModuleConfig(**module), vocab_size=64)
    torch.manual_seed(0)
    model = T5GemmaForConditionalGeneration(config)
    vocab = {"<pad>": 0, "<eos>": 1, "<bos>": 2, "<unk>": 3}
    vocab.update({w: 4 + i for i, w in enumerate(WORDS)})
    tok = Tokenizer(models.WordLevel(vocab, unk_token="<unk>"))
    tok.pre_tokenizer = pre_tokenizers.Whitespace()
    tok.post_processor = processors.TemplateProcessing(
        single="<bos> $A <eos>", special_tokens=[("<bos>", 2), ("<eos>", 1)]
    )
    tokenizer = PreTrainedTokenizerFast(
        tokenizer_object=tok, bos_token="<bos>", eos_token="<eos>", pad_token="<pad>", unk_token="<unk>"
    )
    folder.mkdir(parents=True, exist_ok=True)
    model.save_pretrained(folder)
    tokenizer.save_pretrained(folder)
    return folder


def tiny_wan22_vae(seed: int = 0):
    """Wan2.2 VAE structure (48 channels, 16x/4x compression, residual blocks) at width 8, one res block."""
    from model.adapters.video_vae import build_wan22_vae

    torch.manual_seed(seed)
    return build_wan22_vae(base_dim=8, decoder_base_dim=8, num_res_blocks=1)


def tiny_oobleck_vae(seed: int = 0):
    """Stable Audio Open VAE structure (hop 2048, 64 latent channels, stereo) with a 4-wide decoder."""
    from model.adapters.audio_vae import build_oobleck_vae

    torch.manual_seed(seed)
    # encoder_hidden_size must stay 128: its output is split into 64 means and 64 scales
    return build_oobleck_vae(encoder_hidden_size=128, channel_multiples=[1, 1, 1, 1, 1], decoder_channels=4)


def tiny_turbo_vae_folder(folder: Path) -> Path:
    """The tiny Turbo VAE of tests/conformance/turbo_vae laid out as the release ships it: the JSON config and a
    `.ckpt` whose `ema_state_dict` holds the weights under `module.`-prefixed official names."""
    from safetensors.torch import load_file

    folder.mkdir(parents=True, exist_ok=True)
    config = json.loads((TURBO_DATA / "config.json").read_text())["tiny_config"]
    (folder / TURBO_CONFIG_NAME).write_text(json.dumps(config))
    weights = load_file(str(TURBO_DATA / "weights.safetensors"))
    torch.save({"ema_state_dict": {f"module.{k}": v for k, v in weights.items()}}, folder / "checkpoint-340000.ckpt")
    return folder


def _touch(path: Path, data: bytes = b"x") -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)


def complete_layout_placeholders(folder: Path) -> None:
    """Placeholder files in every place `check` looks (check tests presence, loading tests content)."""
    for variant in ("base", "distill", "540p_sr"):
        _touch(folder / "daVinci-MagiHuman" / variant / "model.safetensors")
    sharded = folder / "daVinci-MagiHuman" / "1080p_sr"
    _touch(sharded / "model.safetensors.index.json",
           json.dumps({"weight_map": {"a": "model-00001-of-00002.safetensors",
                                      "b": "model-00002-of-00002.safetensors"}}).encode())
    _touch(sharded / "model-00001-of-00002.safetensors")
    _touch(sharded / "model-00002-of-00002.safetensors")
    t5 = folder / "t5gemma-9b-9b-ul2"
    for name in ("config.json", "tokenizer.json", "model.safetensors"):
        _touch(t5 / name)
    for vae in ("Wan2.2-TI2V-5B-Diffusers/vae", "stable-audio-open-1.0/vae"):
        for name in ("config.json", "diffusion_pytorch_model.safetensors"):
            _touch(folder / vae / name)
    for name in (TURBO_CONFIG_NAME, "checkpoint-340000.ckpt"):
        _touch(folder / "daVinci-MagiHuman" / "turbo_vae" / name)
