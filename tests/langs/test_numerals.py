"""Number words per language, used by the scoring normalisation and the duration estimate."""
from __future__ import annotations

import pytest

from langs import LanguageError, number_to_words, spell_out_numerals


@pytest.mark.parametrize("n,words", [
    (0, "零"), (1, "一"), (2, "二"), (10, "十"), (11, "十一"), (20, "二十"), (101, "一百零一"), (110, "一百一十"),
    (1001, "一千零一"), (1010, "一千零一十"), (10000, "一万"), (10005, "一万零五"), (100000, "十万"),
    (20000, "二万"), (100001000, "一亿零一千"), (1000010, "一百万零一十"),
    (123456789, "一亿二千三百四十五万六千七百八十九"),
    (10**12 - 1, "九千九百九十九亿九千九百九十九万九千九百九十九"),
])
def test_chinese_cardinals(n, words):
    assert number_to_words(n, "zh") == words
    assert number_to_words(n, "yue") == words


@pytest.mark.parametrize("lang,n,words", [
    ("en", 21, "twenty-one"), ("en", 0, "zero"), ("de", 1, "eins"), ("de", 21, "einundzwanzig"),
    ("fr", 80, "quatre-vingts"), ("fr", 71, "soixante et onze"), ("ja", 20000, "二万"), ("ko", 21, "이십일"),
])
def test_other_languages_use_num2words_cardinals(lang, n, words):
    assert number_to_words(n, lang) == words


@pytest.mark.parametrize("bad", [-1, 10**12, 1.5, True, "3"])
def test_out_of_range_or_non_integer_is_a_language_error_naming_the_value(bad):
    with pytest.raises(LanguageError) as info:
        number_to_words(bad, "en")
    assert repr(bad) in str(info.value)


def test_spelled_numbers_are_spaced_in_word_languages_only():
    assert spell_out_numerals("mp3", "en").split() == ["mp", "three"]
    assert spell_out_numerals("第3章", "zh") == "第三章"


def test_huge_numbers_are_read_digit_by_digit():
    assert spell_out_numerals("1234567890123", "zh") == "一二三四五六七八九零一二三"


def test_text_without_digits_is_unchanged():
    assert spell_out_numerals("no digits here", "en") == "no digits here"


@pytest.mark.parametrize("text,lang,expected", [
    ("1st", "en", "first"), ("22nd", "en", "twenty-second"), ("3RD", "en", "third"), ("4th", "en", "fourth"),
    ("1er", "fr", "premier"), ("1re", "fr", "première"), ("1ère", "fr", "première"), ("2e", "fr", "deuxième"),
    ("21ème", "fr", "vingt et unième"),
])
def test_english_and_french_ordinal_suffixes_are_read_as_ordinals(text, lang, expected):
    assert spell_out_numerals(text, lang).strip() == expected


def test_a_suffix_that_continues_a_word_is_not_an_ordinal():
    assert spell_out_numerals("1stly", "en").split() == ["one", "stly"]
    assert spell_out_numerals("2 euros", "fr").split() == ["deux", "euros"]
