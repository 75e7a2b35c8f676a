"""Scoring normalisation: what must compare equal between a script line and a Whisper transcript."""
from __future__ import annotations

import pytest

from langs import (
    LanguageError,
    UnknownLanguageError,
    normalize_for_scoring,
    scoring_units,
    to_simplified,
)


def same(a: str, b: str, lang: str) -> bool:
    """Equal as scored: the same units (words, or characters ignoring spaces for CER languages)."""
    return (scoring_units(normalize_for_scoring(a, lang), lang)
            == scoring_units(normalize_for_scoring(b, lang), lang))


def test_traditional_and_simplified_chinese_score_equal():
    assert same("語音識別很難。", "语音识别很难", "zh")
    assert same("我們喺香港食咗飯", "我们喺香港食咗饭", "yue")


def test_to_simplified_converts_only_chinese():
    assert to_simplified("頭髮乾了 hello") == "头发干了 hello"


def test_cjk_punctuation_and_full_width_forms_are_removed_or_folded():
    assert normalize_for_scoring("你好，世界！「测试」、（一）【二】《三》……", "zh") == "你好 世界 测试 一 二 三"
    assert normalize_for_scoring("ＡＢＣ１２３", "en") == "abc one hundred and twenty-three".replace("-", " ")
    assert same("ｶﾀｶﾅ・テスト。", "カタカナテスト", "ja")


def test_english_case_punctuation_and_whitespace():
    assert normalize_for_scoring("  Hello,   WORLD!\n\tIt's  a—test.  ", "en") == "hello world its a test"


def test_apostrophes_join_and_hyphens_split():
    assert same("Don't", "dont", "en")
    assert same("L'homme d’affaires", "lhomme daffaires", "fr")
    assert same("twenty-one", "twenty one", "en")


def test_german_sharp_s_folds_to_ss():
    assert same("Straße", "STRASSE", "de")


def test_symbols_and_emoji_are_removed():
    assert normalize_for_scoring("great 👍 © deal ® €", "en") == "great deal"


@pytest.mark.parametrize("digits,words,lang", [
    ("Press 1 to continue.", "press one to continue", "en"),
    ("Drücken Sie 1.", "Drücken Sie eins", "de"),
    ("Appuyez sur 1.", "appuyez sur un", "fr"),
    ("I have 21 cats", "I have twenty-one cats", "en"),
    ("Es sind 21 Katzen", "es sind einundzwanzig Katzen", "de"),
    ("Il a 71 ans", "il a soixante et onze ans", "fr"),
    ("请按1", "請按一", "zh"),
    ("第3章有105页", "第三章有一百零五页", "zh"),
    ("一共2万人", "一共二万人", "zh"),
    ("我有3个", "我有三個", "yue"),
    ("3つください", "三つください", "ja"),
    ("1番を押してください", "一番を押してください", "ja"),
    ("1번을 누르세요", "일번을 누르세요", "ko"),
    ("On the 21st of May", "on the twenty-first of May", "en"),
    ("Le 1er mai", "le premier mai", "fr"),
])
def test_numerals_and_number_words_score_equal(digits, words, lang):
    assert same(digits, words, lang)


def test_numeral_policy_grouping_and_decimals_follow_the_language():
    assert normalize_for_scoring("1,000", "en") == "one thousand"
    assert normalize_for_scoring("1.000", "de") == "eintausend"
    assert normalize_for_scoring("1 000", "fr") == "mille"
    assert normalize_for_scoring("3.5", "en") == "three point five"
    assert normalize_for_scoring("3,5", "de") == "drei komma fünf"
    assert normalize_for_scoring("3,5", "fr") == "trois virgule cinq"
    assert normalize_for_scoring("3.5", "zh") == "三点五"


def test_full_width_digits_are_numerals_too():
    assert same("按１", "按一", "zh")
    assert same("press １", "press one", "en")


def test_percent_reads_in_the_language():
    assert same("50%", "fifty percent", "en")
    assert same("50 %", "fünfzig Prozent", "de")
    assert same("50 %", "cinquante pour cent", "fr")
    assert same("50%", "百分之五十", "zh")


def test_leading_zero_numbers_are_read_digit_by_digit():
    assert normalize_for_scoring("Agent 007", "en") == "agent zero zero seven"


def test_a_real_substitution_still_differs():
    assert not same("press 1", "press two", "en")
    assert not same("请按1", "请按2", "zh")
    assert not same("語音", "语言", "zh")


def test_empty_and_punctuation_only_lines_normalise_to_empty():
    assert normalize_for_scoring("", "en") == ""
    assert normalize_for_scoring("。！？", "zh") == ""


def test_normalisation_is_idempotent():
    for text, lang in [("Press 1, NOW!", "en"), ("語音識別，１２３。", "zh"), ("3,5 Straße", "de"), ("ｶﾀｶﾅ3つ", "ja")]:
        once = normalize_for_scoring(text, lang)
        assert normalize_for_scoring(once, lang) == once


def test_non_string_text_is_a_language_error():
    with pytest.raises(LanguageError, match="expected a string"):
        normalize_for_scoring(None, "en")  # type: ignore[arg-type]


def test_unknown_language_is_rejected():
    with pytest.raises(UnknownLanguageError):
        normalize_for_scoring("hi", "xx")


def test_scoring_units_are_words_for_wer_languages():
    assert scoring_units(normalize_for_scoring("Press one, now.", "en"), "en") == ["press", "one", "now"]
    assert scoring_units("", "de") == []


def test_scoring_units_are_characters_without_spaces_for_cer_languages():
    assert scoring_units(normalize_for_scoring("你好，世界", "zh"), "zh") == ["你", "好", "世", "界"]
    assert scoring_units(normalize_for_scoring("안녕 하세요", "ko"), "ko") == ["안", "녕", "하", "세", "요"]
    assert scoring_units("カ タ", "ja") == ["カ", "タ"]


def test_units_joined_with_spaces_give_character_error_rate_through_jiwer():
    jiwer = pytest.importorskip("jiwer")
    ref = scoring_units(normalize_for_scoring("請按一。", "zh"), "zh")
    hyp = scoring_units(normalize_for_scoring("请按1", "zh"), "zh")
    assert jiwer.wer(" ".join(ref), " ".join(hyp)) == 0.0
    hyp_wrong = scoring_units(normalize_for_scoring("请按2", "zh"), "zh")
    assert jiwer.wer(" ".join(ref), " ".join(hyp_wrong)) == pytest.approx(1 / 3)


def test_zero_width_and_variation_selector_characters_are_not_scored():
    assert scoring_units(normalize_for_scoring("你\u200b好\ufeff", "zh"), "zh") == ["你", "好"]
    assert scoring_units(normalize_for_scoring("好❤\ufe0f", "zh"), "zh") == ["好"]
    assert normalize_for_scoring("soft\u00adware", "en") == "software"
