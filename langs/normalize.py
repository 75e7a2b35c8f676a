"""Text normalisation for scoring speech against its script, and the units WER or CER is computed over.

The convention follows the MagiHuman evaluation (docs/eval.md §Published figures): NFKC, lower case, ASCII and
CJK punctuation removed, whitespace collapsed, characters as units for CJK. dubkit adds two steps so that
writing conventions are not counted as speech errors: Chinese is compared in simplified characters (Whisper often
writes traditional), and Arabic numerals are spelled out in the language's words (langs.numerals).
"""
from __future__ import annotations

import re
import unicodedata
from functools import lru_cache

import opencc

from langs.errors import LanguageError
from langs.numerals import spell_out_numerals
from langs.registry import Language, get_language

# Apostrophes inside words are dropped so "don't" == "dont" and "l'homme" == "lhomme" on both sides; every
# other punctuation or symbol becomes a space so "twenty-one" == "twenty one".
_APOSTROPHES = frozenset("'\u2019\u02bc\u2018`\u00b4")
_WHITESPACE = re.compile(r"\s+")


@lru_cache(maxsize=1)
def _t2s() -> opencc.OpenCC:
    return opencc.OpenCC("t2s")


def to_simplified(text: str) -> str:
    """Traditional Chinese characters converted to simplified (OpenCC t2s); other text unchanged."""
    return _t2s().convert(text)


def _is_variation_selector(char: str) -> bool:
    cp = ord(char)
    return 0xFE00 <= cp <= 0xFE0F or 0xE0100 <= cp <= 0xE01EF


def _strip_punctuation(text: str) -> str:
    out = []
    for char in text:
        category = unicodedata.category(char)
        # Invisible format characters (zero-width space, soft hyphen, BOM) and emoji variation selectors join
        # what is around them; a CER would otherwise count them as characters.
        if char in _APOSTROPHES or category == "Cf" or _is_variation_selector(char):
            continue
        # P* (punctuation: 。，「」、！？・ too), S* (symbols: $ + © emoji) and other C* (controls) carry no speech.
        out.append(" " if category[0] in "PSC" else char)
    return "".join(out)


def normalize_for_scoring(text: str, lang: str | Language) -> str:
    """Normalise a reference line or a transcript for WER/CER scoring; apply the same call to both sides.

    Steps: NFKC (full-width forms, half-width katakana, compatibility characters) -> Chinese to simplified
    (zh, yue) -> Arabic numerals spelled out in the language -> case folding -> apostrophes dropped, other
    punctuation and symbols to spaces -> whitespace collapsed and stripped.
    """
    language = get_language(lang)
    if not isinstance(text, str):
        raise LanguageError(f"cannot normalise {text!r} for scoring: expected a string", text)
    text = unicodedata.normalize("NFKC", text)
    if language.code in ("zh", "yue"):
        text = to_simplified(text)
    text = spell_out_numerals(text, language)
    # casefold after spelling out: German ß -> ss and number words like "Million" -> "million" alike.
    text = _strip_punctuation(text.casefold())
    # NFKC once more: case folding can produce sequences that NFKC would compose differently.
    text = unicodedata.normalize("NFKC", text)
    return _WHITESPACE.sub(" ", text).strip()


def scoring_units(normalized: str, lang: str | Language) -> list[str]:
    """The units an error rate counts: words for WER languages, every non-space character for CER languages.

    Give it the output of `normalize_for_scoring`. To score with jiwer, join the units with single spaces on
    both sides and call jiwer.wer: that is WER or CER as the language wants.
    """
    language = get_language(lang)
    if language.metric == "cer":
        return [char for char in normalized if not char.isspace()]
    return normalized.split()
