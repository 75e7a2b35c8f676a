"""The CTranslate2 translator through its real code path, on a tiny model built here.

No translation model ships in any package (docs/translation.md), so the test trains a tiny SentencePiece
vocabulary, builds a randomly initialised tiny Marian model with transformers, and converts it
with CTranslate2's own converter. Its output is random text: the tests check structure (one
string per input line, determinism, language-token handling), not translation quality.
"""
from __future__ import annotations

import json
import shutil
import warnings
from pathlib import Path

import pytest

from dubkit.errors import InputError
from dubkit.translate.base import TranslationError
from dubkit.translate.ctranslate2_engine import CTranslate2Translator
from langs import get_language

ZH, EN, YUE = get_language("zh"), get_language("en"), get_language("yue")
CORPUS = [
    "Welcome to Acme, the best store in town.",
    "Free shipping on every order today.",
    "Hello world, how are you?",
    "We love our customers.",
]


@pytest.fixture(scope="module")
def model_dir(tmp_path_factory) -> Path:
    sentencepiece = pytest.importorskip("sentencepiece")
    torch = pytest.importorskip("torch")
    transformers = pytest.importorskip("transformers")
    from ctranslate2.converters import TransformersConverter

    root = tmp_path_factory.mktemp("tiny_marian")
    hf = root / "hf"
    hf.mkdir()
    sentencepiece.SentencePieceTrainer.train(
        sentence_iterator=iter(CORPUS * 20), model_prefix=str(root / "sp"), vocab_size=60,
        model_type="unigram", character_coverage=1.0, hard_vocab_limit=False, minloglevel=2,
        user_defined_symbols=["__en__", "__zh__"],  # language tokens for the m2m prefix style
    )
    sp = sentencepiece.SentencePieceProcessor(model_file=str(root / "sp.model"))
    n = sp.get_piece_size()
    vocab = {sp.id_to_piece(i): i for i in range(n)} | {"<pad>": n}
    for name in ("source.spm", "target.spm"):
        shutil.copy(root / "sp.model", hf / name)
    (hf / "vocab.json").write_text(json.dumps(vocab))
    torch.manual_seed(0)
    config = transformers.MarianConfig(
        vocab_size=n + 1, d_model=16, encoder_layers=1, decoder_layers=1, encoder_attention_heads=2,
        decoder_attention_heads=2, encoder_ffn_dim=32, decoder_ffn_dim=32, max_position_embeddings=64,
        pad_token_id=n, eos_token_id=2, decoder_start_token_id=n, bos_token_id=1,
    )
    transformers.MarianMTModel(config).save_pretrained(hf)
    out = root / "ct2"
    with warnings.catch_warnings():  # "Recommended: pip install sacremoses" is irrelevant here
        warnings.simplefilter("ignore", UserWarning)
        transformers.MarianTokenizer(
            vocab=str(hf / "vocab.json"), source_spm=str(hf / "source.spm"), target_spm=str(hf / "target.spm")
        ).save_pretrained(hf)
        TransformersConverter(str(hf), copy_files=["source.spm", "target.spm"]).convert(str(out))
    return out


def test_translates_one_string_per_line_deterministically(model_dir):
    translator = CTranslate2Translator(model_dir, beam_size=2, max_decoding_length=12)
    lines = ["Welcome to Acme.", "", "Free shipping today!"]
    first = translator.translate(lines, ZH, EN)
    again = translator.translate(lines, ZH, EN)
    assert len(first.lines) == 3 and all(isinstance(line, str) for line in first.lines)
    assert first.lines[1] == ""  # blank stays blank, no model call for it
    assert first.lines == again.lines
    assert first.source_lines == tuple(lines) and first.engine == "ctranslate2" and first.language == "zh"


def test_identity_hashes_the_model_and_names_the_options(model_dir):
    identity = CTranslate2Translator(model_dir, beam_size=3).identity()
    assert len(identity["model_sha256"]) == 64 and len(identity["spm_sha256"]) == 2
    assert identity["beam_size"] == 3 and identity["prefix_style"] == "none"


def test_m2m_prefix_style_strips_the_target_language_token(model_dir):
    translator = CTranslate2Translator(model_dir, prefix_style="m2m", beam_size=1, max_decoding_length=8)
    result = translator.translate(["Hello world"], ZH, EN)
    assert isinstance(result.lines[0], str) and "__zh__" not in result.lines[0]


def test_multilingual_style_needs_the_source_language(model_dir):
    translator = CTranslate2Translator(model_dir, prefix_style="m2m")
    with pytest.raises(TranslationError, match="needs the source language"):
        translator.translate(["Hello"], ZH)


def test_language_the_model_style_lacks_is_an_error(model_dir):
    translator = CTranslate2Translator(model_dir, prefix_style="m2m")
    with pytest.raises(TranslationError, match="no target language token for 'yue'"):
        translator.translate(["Hello"], YUE, EN)


def test_folder_without_model_bin_is_an_input_error(tmp_path):
    with pytest.raises(InputError, match="no model.bin"):
        CTranslate2Translator(tmp_path)


def test_folder_without_sentencepiece_is_an_input_error(model_dir, tmp_path):
    shutil.copy(model_dir / "model.bin", tmp_path / "model.bin")
    with pytest.raises(InputError, match="no SentencePiece model"):
        CTranslate2Translator(tmp_path)


def test_unknown_prefix_style_is_an_input_error(model_dir):
    with pytest.raises(InputError, match="prefix style 'marian'"):
        CTranslate2Translator(model_dir, prefix_style="marian")


@pytest.mark.gpu
def test_cuda_device_gives_one_string_per_line(model_dir):
    import ctranslate2

    if ctranslate2.get_cuda_device_count() == 0:
        pytest.skip("no CUDA device")
    translator = CTranslate2Translator(model_dir, device="cuda", compute_type="float32", beam_size=1,
                                       max_decoding_length=8)
    result = translator.translate(["Welcome to Acme.", "Free shipping today!"], ZH, EN)
    assert len(result.lines) == 2 and all(isinstance(line, str) for line in result.lines)
    assert result.lines == translator.translate(["Welcome to Acme.", "Free shipping today!"], ZH, EN).lines
