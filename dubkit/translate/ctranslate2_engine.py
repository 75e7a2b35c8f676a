"""The one CTranslate2 adapter: a local translation model folder and its SentencePiece files.

The folder is what `ct2-transformers-converter --copy_files source.spm target.spm` (Marian/OPUS-MT)
or `... --copy_files sentencepiece.bpe.model` (NLLB, M2M-100) writes: `model.bin`, `config.json`,
the vocabulary, and the SentencePiece model(s). Multilingual models need language tokens; where
they go is the `prefix_style` option (see docs/translation.md):

- "none":  source pieces + </s>; output as generated (bilingual models such as OPUS-MT).
- "nllb":  [src_lang] + source pieces + </s>; the target starts with the NLLB code (zho_Hans ...).
- "m2m":   [__src__] + source pieces + </s>; the target starts with __tgt__ (__zh__ ...).
"""
from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any, Sequence

from dubkit.errors import InputError, require_file
from dubkit.store.files import file_digest
from dubkit.translate.base import TranslationError, TranslationResult
from langs import Language

PREFIX_STYLES = ("none", "nllb", "m2m")

_SHARED_SPM_NAMES = ("sentencepiece.bpe.model", "spm.model", "sentencepiece.model", "tokenizer.model")


def _find_spm(model_dir: Path, source_spm: Path | None, target_spm: Path | None) -> tuple[Path, Path]:
    if source_spm or target_spm:
        src = Path(source_spm or target_spm)  # type: ignore[arg-type]
        tgt = Path(target_spm or source_spm)  # type: ignore[arg-type]
    elif (model_dir / "source.spm").is_file():
        src = model_dir / "source.spm"
        tgt = model_dir / "target.spm" if (model_dir / "target.spm").is_file() else src
    else:
        shared = next((model_dir / n for n in _SHARED_SPM_NAMES if (model_dir / n).is_file()), None)
        if shared is None:
            raise InputError(
                f"translation model folder {model_dir} has no SentencePiece model "
                f"(expected source.spm/target.spm or one of {', '.join(_SHARED_SPM_NAMES)})"
            )
        src = tgt = shared
    for p in (src, tgt):
        require_file(p, "SentencePiece model")
    return src, tgt


class CTranslate2Translator:
    """Translate with a CTranslate2 model folder on CPU or CUDA.

    The model loads once at construction; reuse the instance for every language and line.
    """

    name = "ctranslate2"
    keeps_placeholders = False  # SentencePiece vocabularies split or drop "{{T0}}"

    def __init__(
        self,
        model_dir: Path | str,
        *,
        prefix_style: str = "none",
        device: str = "cpu",
        compute_type: str = "default",
        beam_size: int = 4,
        max_decoding_length: int = 256,
        cpu_threads: int = 0,
        source_spm: Path | None = None,
        target_spm: Path | None = None,
    ) -> None:
        self.model_dir = Path(model_dir)
        if prefix_style not in PREFIX_STYLES:
            raise InputError(f"prefix style {prefix_style!r} is not one of {', '.join(PREFIX_STYLES)}")
        if beam_size < 1 or max_decoding_length < 1:
            raise InputError(f"beam_size ({beam_size}) and max_decoding_length ({max_decoding_length}) must be >= 1")
        if not (self.model_dir / "model.bin").is_file():
            raise InputError(f"{self.model_dir} is not a CTranslate2 model folder (no model.bin)")
        self.prefix_style = prefix_style
        self.beam_size = beam_size
        self.max_decoding_length = max_decoding_length
        self.device = device
        self.compute_type = compute_type
        src_path, tgt_path = _find_spm(self.model_dir, source_spm, target_spm)
        config_path = self.model_dir / "config.json"
        config = json.loads(config_path.read_text()) if config_path.is_file() else {}
        # Converters record whether the model expects </s> (or <s>) added; add them only if not.
        self._add_eos = not config.get("add_source_eos", False)
        self._eos = config.get("eos_token", "</s>")

        import ctranslate2  # heavy import, only when an engine is actually built
        import sentencepiece as spm

        self._source_sp = spm.SentencePieceProcessor(model_file=str(src_path))
        self._target_sp = spm.SentencePieceProcessor(model_file=str(tgt_path))
        try:
            self._model = ctranslate2.Translator(
                str(self.model_dir), device=device, compute_type=compute_type,
                intra_threads=cpu_threads,
            )
        except (RuntimeError, ValueError) as err:
            raise TranslationError(
                f"cannot load CTranslate2 model {self.model_dir}: {err}", engine=self.name, detail=str(err)
            ) from err
        self._ct2_version = ctranslate2.__version__
        self._spm_files = (src_path, tgt_path)
        self._identity: dict[str, Any] | None = None

    def identity(self) -> dict[str, Any]:
        """Model and tokenizer hashes plus decoding options (hashes computed once, lazily)."""
        if self._identity is None:
            self._identity = {
                "engine": self.name,
                "model": str(self.model_dir),
                "model_sha256": file_digest(self.model_dir / "model.bin"),
                "spm_sha256": [file_digest(p) for p in self._spm_files],
                "prefix_style": self.prefix_style,
                "beam_size": self.beam_size,
                "max_decoding_length": self.max_decoding_length,
                "compute_type": self.compute_type,
                "ctranslate2": self._ct2_version,
            }
        return dict(self._identity)

    def _language_token(self, lang: Language, role: str) -> str | None:
        if self.prefix_style == "none":
            return None
        token = lang.nllb_code if self.prefix_style == "nllb" else lang.m2m_code  # the tokens are in langs
        if token is None:
            raise TranslationError(
                f"the {self.prefix_style} model style has no {role} language token for {lang.code!r}",
                engine=self.name,
            )
        return token

    def translate(
        self, lines: Sequence[str], target: Language, source: Language | None = None
    ) -> TranslationResult:
        """Translate each line; blank lines stay blank without a model call."""
        started = time.monotonic()
        lines = tuple(lines)
        tgt_token = self._language_token(target, "target")
        src_token = None
        if self.prefix_style != "none":
            if source is None:
                raise TranslationError(
                    f"the {self.prefix_style} model style needs the source language: name the source script "
                    "with it (ad.en.srt) or leave the source to speech recognition, which detects it",
                    engine=self.name,
                )
            src_token = self._language_token(source, "source")
        todo = [i for i, line in enumerate(lines) if line.strip()]
        batch = []
        for i in todo:
            pieces = self._source_sp.encode(lines[i], out_type=str)
            batch.append(([src_token] if src_token else []) + pieces + ([self._eos] if self._add_eos else []))
        prefixes = [[tgt_token] for _ in batch] if tgt_token else None
        try:
            results = self._model.translate_batch(
                batch, target_prefix=prefixes, beam_size=self.beam_size,
                max_decoding_length=self.max_decoding_length, max_batch_size=32,
            ) if batch else []
        except (RuntimeError, ValueError) as err:
            raise TranslationError(
                f"CTranslate2 model {self.model_dir} failed to translate: {err}", engine=self.name, detail=str(err)
            ) from err
        out = [""] * len(lines)
        for i, result in zip(todo, results):
            tokens = list(result.hypotheses[0])
            if tgt_token and tokens and tokens[0] == tgt_token:
                tokens = tokens[1:]  # the forced target prefix is echoed in the hypothesis
            out[i] = self._target_sp.decode(tokens).strip()
        return TranslationResult(
            lines=tuple(out), source_lines=lines, language=target.code, engine=self.name,
            identity=self.identity(), seconds=time.monotonic() - started,
        )
