"""Arabic numerals spelled out in a language's own words, so that "press 1" and "press one" score the same.

Policy (applied to reference and hypothesis alike; see docs/languages.md):
- integers are read as cardinals: 21 -> twenty-one / einundzwanzig / vingt et un / 二十一 / 二十一 / 이십일;
- digit grouping follows the language: "1,000" in en/zh/yue/ja/ko, "1.000" in de/fr, "1 000" in fr;
- a decimal part is read digit by digit after the language's decimal word (3.14 -> three point one four);
- a number written with a leading zero (007, 0123) or with more than 12 digits is read digit by digit;
- "%" after a number becomes the language's percent word (百分之五十 in Chinese, where it comes first);
- English and French ordinal suffixes are read as ordinals: 1st -> first, 21st -> twenty-first, 1er -> premier,
  1re -> première, 2e / 2ème -> deuxième.
Not handled (they stay mismatches when one side writes words): German ordinals ("1." is also a sentence end),
years read in pairs
(nineteen ninety-nine), times, currencies, German "ein" before nouns, Korean native numbers (하나, 둘),
Chinese 两 for 2.
"""
from __future__ import annotations

import re
from functools import lru_cache

from num2words import num2words

from langs.errors import LanguageError
from langs.registry import Language, get_language

MAX_CARDINAL = 10**12 - 1

_CHINESE_DIGITS = "零一二三四五六七八九"
_DECIMAL_WORD = {"zh": "点", "yue": "点", "ja": "点", "ko": "점", "en": "point", "de": "komma", "fr": "virgule"}
_PERCENT_WORD = {"en": "percent", "de": "prozent", "fr": "pour cent", "ja": "パーセント", "ko": "퍼센트"}
_NUM2WORDS_LANG = {"en": "en", "de": "de", "fr": "fr", "ja": "ja", "ko": "ko"}

# (grouping separators, decimal separator) per language; NFKC has already turned no-break spaces into spaces.
_SEPARATORS = {"en": (",", "."), "zh": (",", "."), "yue": (",", "."), "ja": (",", "."), "ko": (",", "."),
               "de": (".", ","), "fr": (". ", ",")}


def _chinese_below_10000(n: int) -> str:
    """0 < n < 10000 with 零 for each run of zeros between non-zero digits (1010 -> 一千零一十)."""
    out, pending_zero = [], False
    for value, unit in ((1000, "千"), (100, "百"), (10, "十"), (1, "")):
        digit = n // value % 10
        if digit == 0:
            pending_zero = bool(out)
            continue
        if pending_zero:
            out.append("零")
            pending_zero = False
        out.append(_CHINESE_DIGITS[digit] + unit)
    return "".join(out)


def _chinese_cardinal(n: int) -> str:
    """Chinese cardinal in simplified characters (Mandarin and written Cantonese share it): 20000 -> 二万."""
    if n == 0:
        return "零"
    parts: list[str] = []
    skipped = False
    for value, unit in ((10**8, "亿"), (10**4, "万"), (1, "")):
        section = n // value % 10**4 if value < 10**8 else n // value
        if section == 0:
            skipped = bool(parts)
            continue
        # A section after a higher one is read with a leading 零 when it is below 1000 or a zero section lies
        # between them (10005 -> 一万零五, 100001000 -> 一亿零一千).
        if parts and (section < 1000 or skipped):
            parts.append("零")
        parts.append(_chinese_below_10000(section) + unit)
        skipped = False
    words = "".join(parts)
    # 10-19 at the start are read 十, 十一 ... not 一十, 一十一.
    return words[1:] if words.startswith("一十") else words


@lru_cache(maxsize=4096)
def _cardinal(n: int, code: str) -> str:
    if code in ("zh", "yue"):
        return _chinese_cardinal(n)
    return num2words(n, lang=_NUM2WORDS_LANG[code])


def number_to_words(n: int, lang: str | Language) -> str:
    """The cardinal number `n` (0 <= n <= 10**12 - 1) in the language's words, lower case."""
    language = get_language(lang)
    if not isinstance(n, int) or isinstance(n, bool) or not 0 <= n <= MAX_CARDINAL:
        raise LanguageError(f"cannot spell {n!r} as a {language.english_name} cardinal: "
                            f"need an integer from 0 to {MAX_CARDINAL}", n)
    return _cardinal(n, language.code)


def _digits_one_by_one(digits: str, code: str) -> str:
    joiner = "" if code in ("zh", "yue", "ja", "ko") else " "
    return joiner.join(_cardinal(int(d), code) for d in digits)


# Ordinal suffixes read as ordinals (1st -> first, 2e -> deuxième); they must end the word.
_ORDINAL_SUFFIX = {"en": r"st|nd|rd|th", "fr": r"ère|ere|er|re|ème|eme|e|è"}
_FEMININE_FIRST = {"re", "ère", "ere"}


@lru_cache(maxsize=8)
def _number_pattern(code: str) -> re.Pattern[str]:
    groups, decimal = _SEPARATORS[code]
    group_class = "[" + re.escape(groups) + "]"
    ordinal = rf"|(?P<ord>{_ORDINAL_SUFFIX[code]})(?![^\W\d_])" if code in _ORDINAL_SUFFIX else ""
    return re.compile(
        rf"(?P<int>\d{{1,3}}(?:{group_class}\d{{3}})+(?!\d)|\d+)"
        rf"(?:{re.escape(decimal)}(?P<frac>\d+))?"
        rf"(?:(?P<pct>\s?%){ordinal})?",
        re.IGNORECASE,
    )


def _ordinal(n: int, suffix: str, code: str) -> str:
    if code == "fr" and n == 1 and suffix.lower() in _FEMININE_FIRST:
        return "première"
    return num2words(n, lang=_NUM2WORDS_LANG[code], to="ordinal")


def _read_number(match: re.Match[str], code: str) -> str:
    integer = re.sub(r"\D", "", match["int"])
    if (len(integer) > 1 and integer.startswith("0")) or len(integer) > len(str(MAX_CARDINAL)):
        words = _digits_one_by_one(integer, code)
    elif match.groupdict().get("ord") and not match["frac"]:
        words = _ordinal(int(integer), match["ord"], code)
    else:
        words = _cardinal(int(integer), code)
    if match["frac"]:
        joiner = "" if code in ("zh", "yue", "ja", "ko") else " "
        words = joiner.join((words, _DECIMAL_WORD[code], _digits_one_by_one(match["frac"], code)))
    if match["pct"]:
        words = "百分之" + words if code in ("zh", "yue") else f"{words} {_PERCENT_WORD[code]}"
    # Space-separated languages get spaces around the words so "mp3" reads "mp three"; CJK text stays unspaced.
    return words if code in ("zh", "yue", "ja", "ko") else f" {words} "


def spell_out_numerals(text: str, lang: str | Language) -> str:
    """Replace every run of Arabic digits in `text` (ASCII digits; NFKC-normalise full-width ones first)
    with the language's words, following the policy in this module's docstring."""
    code = get_language(lang).code
    return _number_pattern(code).sub(lambda m: _read_number(m, code), text)
