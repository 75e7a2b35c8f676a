"""How long a line takes to say in its language: syllables counted the language's way, divided by its rate.

Counting: English, German, French words by vowel groups with each language's silent-ending rule; one syllable
per Han character (zh, yue) and per Hangul block (ko); Japanese syllables from the kana reading (OpenJTalk
reads the kanji; long vowels, ン and ッ join the syllable before them). Digits are spelled out first
(langs.numerals) so "1999" counts as the words a speaker says.
Rates exclude pauses (langs.rates), so pauses are added for punctuation inside the line.
"""
from __future__ import annotations

import math
import re
import unicodedata

from langs.errors import LanguageError
from langs.numerals import spell_out_numerals
from langs.rates import DELIVERY_PACE
from langs.registry import Language, get_language

# Pause time added for punctuation inside a line (not at its end): rates are measured with pauses removed.
SENTENCE_PAUSE_S = 0.30
CLAUSE_PAUSE_S = 0.12
_SENTENCE_END = re.compile(r"[.!?。！？…]+(?=.*\w)", re.S)
_NUMBER_SEPARATOR = re.compile(r"(?<=\d)[.,](?=\d)")
_CLAUSE_BREAK = re.compile(r"[,;:、，；：—–]+(?=.*\w)", re.S)

_VOWELS = {"en": "aeiouy", "de": "aeiouyäöü", "fr": "aeiouyàâäéèêëîïôöùûüÿœæ"}
_LATIN_WORD = re.compile(r"[^\W\d_]+", re.UNICODE)
_SMALL_KANA = frozenset("ャュョァィゥェォヮゃゅょぁぃぅぇぉゎ")
_NON_SYLLABIC_KANA = _SMALL_KANA | frozenset("ーンッんっ・゛゜")


def _is_han(char: str) -> bool:
    cp = ord(char)
    return 0x3400 <= cp <= 0x4DBF or 0x4E00 <= cp <= 0x9FFF or 0xF900 <= cp <= 0xFAFF or 0x20000 <= cp <= 0x3134F


def _is_hangul(char: str) -> bool:
    return 0xAC00 <= ord(char) <= 0xD7A3


def _is_kana(char: str) -> bool:
    return 0x3040 <= ord(char) <= 0x30FF


def _word_syllables(word: str, code: str) -> int:
    """Vowel groups of one alphabetic word, less the language's silent endings; at least 1."""
    vowels = _VOWELS.get(code, _VOWELS["en"])
    word = word.lower()
    groups = re.findall(f"[{vowels}]+", word)
    count = len(groups)
    if count > 1:
        if code == "fr" and re.search(f"[^{vowels}](e|es|ent)$", word) and not word.endswith(("ment",)):
            count -= 1  # mute e: "une", "belles", "parlent"
        elif code == "en" and (
            (word.endswith("e") and not re.search(f"[^{vowels}]le$", word) and not word.endswith(("ee", "ye")))
            or re.search("[^aeiouytd]ed$", word)
            or re.search("[^aeiouyszxcgh]es$", word)
        ):
            count -= 1  # silent e: "make", "asked", "makes" (but "table", "wanted", "boxes" keep it)
    return max(count, 1)


def _kana_syllables(kana: str) -> int:
    """Syllables in a kana string: small kana, the long-vowel mark, ン and ッ join the syllable before them
    (トーキョー is 2 syllables, 4 morae); Pellegrino et al. count syllables for Japanese too."""
    return sum(1 for c in kana if _is_kana(c) and c not in _NON_SYLLABIC_KANA)


def _japanese_syllables(text: str) -> int:
    try:
        import pyopenjtalk  # reads kanji and digits; without it a kanji counts as 1.5 syllables (typical reading)
    except ImportError:
        pyopenjtalk = None
    if pyopenjtalk is not None:
        return _kana_syllables(pyopenjtalk.g2p(text, kana=True))
    text = spell_out_numerals(text, "ja")
    kanji = sum(1 for c in text if _is_han(c))
    latin = sum(_word_syllables(w, "en") for w in _LATIN_WORD.findall(_without_cjk(text)))
    return round(1.5 * kanji) + _kana_syllables(text) + latin


def _without_cjk(text: str) -> str:
    return "".join(" " if (_is_han(c) or _is_hangul(c) or _is_kana(c)) else c for c in text)


def count_syllables(text: str, lang: str | Language) -> int:
    """Spoken units in `text`, counted in the unit of the language's rate (langs.rates.RATES[code].unit)."""
    language = get_language(lang)
    if not isinstance(text, str):
        raise LanguageError(f"cannot count syllables of {text!r}: expected a string", text)
    text = unicodedata.normalize("NFKC", text)
    if language.code == "ja":
        return _japanese_syllables(text)
    text = spell_out_numerals(text, language)
    cjk_units = sum(1 for c in text if _is_han(c) or _is_hangul(c) or (_is_kana(c) and c not in _SMALL_KANA))
    # Latin words inside CJK lines ("iPhone") are counted with English rules.
    latin_code = "en" if language.cjk else language.code
    latin = sum(_word_syllables(w, latin_code) for w in _LATIN_WORD.findall(_without_cjk(text)))
    return cjk_units + latin


def pause_seconds(text: str) -> float:
    """Pause time implied by punctuation inside the line (sentence ends and clause breaks, not the final mark).
    A point or comma between digits (3.5, 1,000) is part of a number, not a pause."""
    text = _NUMBER_SEPARATOR.sub("", text)
    return (SENTENCE_PAUSE_S * len(_SENTENCE_END.findall(text))
            + CLAUSE_PAUSE_S * len(_CLAUSE_BREAK.findall(text)))


def speaking_rate(lang: str | Language, pace: float = DELIVERY_PACE) -> float:
    """Units per second (count_syllables' unit) the estimate assumes: the published rate times `pace`.
    Use this, not `Language.rate.syllables_per_second` (brisk reading), to say how much text fits a window."""
    if not isinstance(pace, (int, float)) or not math.isfinite(pace) or pace <= 0:
        raise LanguageError(f"pace must be a positive fraction of the published rate, got {pace!r}", pace)
    return get_language(lang).rate.syllables_per_second * pace


def estimate_duration(text: str, lang: str | Language, pace: float = DELIVERY_PACE) -> float:
    """Seconds a speaker needs to say `text`, pauses for punctuation included.

    `pace` scales the language's published rate: 1.0 is brisk reading (Pellegrino et al.), the default
    DELIVERY_PACE (0.70) is deliberate delivery as measured on real recordings (langs.rates).
    """
    rate = speaking_rate(lang, pace)
    syllables = count_syllables(text, lang)
    if syllables == 0:
        return 0.0
    return syllables / rate + pause_seconds(unicodedata.normalize("NFKC", text))
