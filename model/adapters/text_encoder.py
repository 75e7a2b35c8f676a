"""The one adapter over the T5Gemma text encoder (transformers), docs/model.md §Adapters and §Prompt.

MagiHuman conditions on the encoder half of `google/t5gemma-9b-9b-ul2`: the prompt is tokenized with the
tokenizer's default special tokens, run through the encoder only, and `last_hidden_state` (width 3584) is
rounded to float16, cut to at most 640 tokens and handed on as float32. Only the true tokens are returned;
the official zero padding up to 640 never reaches the DiT, so it is not materialised here.
"""

from __future__ import annotations

from pathlib import Path

import torch

from model.errors import ModelError

MAX_TOKENS = 640
REAL_WIDTH = 3584


class TextEncoderError(ModelError):
    """The text encoder folder is missing or unusable, or the prompt is empty (names the folder / value)."""


class TextEncoder:
    """Prompt -> encoder features [min(Nt, 640), width], float32 on the encoder's device."""

    def __init__(self, model: torch.nn.Module, tokenizer, max_tokens: int = MAX_TOKENS):
        self.model = model.eval()
        self.tokenizer = tokenizer
        self.max_tokens = max_tokens

    @classmethod
    def from_pretrained(
        cls, folder: str | Path, device: str | torch.device = "cpu", dtype: torch.dtype = torch.bfloat16
    ) -> TextEncoder:
        """Load tokenizer and encoder weights from a local HF folder (an encoder-decoder T5Gemma checkpoint).

        Only the encoder is built; the decoder weights in the folder are skipped. Nothing is downloaded.
        """
        from transformers import AutoTokenizer, T5GemmaEncoderModel
        from transformers.utils import logging as hf_logging

        folder = Path(folder)
        if not (folder / "config.json").is_file():
            raise TextEncoderError(f"T5Gemma folder {folder} has no config.json")
        try:
            tokenizer = AutoTokenizer.from_pretrained(folder, local_files_only=True)
            # The released checkpoint is encoder-decoder; the encoder-only class needs the flag turned off.
            # The load report would list every skipped decoder tensor; missing keys are checked below instead.
            verbosity = hf_logging.get_verbosity()
            hf_logging.set_verbosity_error()
            try:
                model, info = T5GemmaEncoderModel.from_pretrained(
                    folder, is_encoder_decoder=False, dtype=dtype, local_files_only=True, output_loading_info=True
                )
            finally:
                hf_logging.set_verbosity(verbosity)
        except (OSError, ValueError) as exc:
            raise TextEncoderError(f"cannot load the T5Gemma encoder from {folder}: {exc}") from exc
        # Decoder tensors are expected leftovers; a missing encoder tensor would leave random weights.
        if info["missing_keys"]:
            missing = sorted(info["missing_keys"])
            raise TextEncoderError(f"T5Gemma folder {folder} lacks encoder weights: {', '.join(missing[:8])}")
        return cls(model.to(device), tokenizer)

    @property
    def width(self) -> int:
        """Feature width (3584 for the real encoder)."""
        return int(self.model.config.encoder.hidden_size)

    @property
    def device(self) -> torch.device:
        return next(self.model.parameters()).device

    @torch.no_grad()
    def encode(self, text: str) -> torch.Tensor:
        """Encode one prompt: float32 [min(Nt, 640), width], rounded through float16 like the official code."""
        if not text.strip():
            raise TextEncoderError("cannot encode an empty prompt")
        tokens = self.tokenizer(text, return_tensors="pt")
        input_ids = tokens["input_ids"].to(self.device)
        attention_mask = tokens["attention_mask"].to(self.device)
        hidden = self.model(input_ids=input_ids, attention_mask=attention_mask).last_hidden_state
        # (1, Nt, width) -> (min(Nt, 640), width)
        return hidden[0, : self.max_tokens].to(torch.float16).to(torch.float32)
