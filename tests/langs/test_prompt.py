"""Dialogue lines as the MagiHuman prompt writes them (MAGIHUMAN.md §11)."""
from __future__ import annotations

import pytest

from langs import LanguageError, format_dialogue


@pytest.mark.parametrize("text,lang,expected", [
    ("你好", "zh", "你 好"),
    ("你好，世界！", "zh", "你 好， 世 界！"),
    ("我哋去飲茶啦。", "yue", "我 哋 去 飲 茶 啦。"),
    ("「こんにちは」と言った。", "ja", "「こ ん に ち は」 と 言 っ た。"),
    ("東京タワー！", "ja", "東 京 タ ワ ー！"),
    ("안녕하세요, 반갑습니다!", "ko", "안 녕 하 세 요, 반 갑 습 니 다!"),
    ("《红楼梦》很好看", "zh", "《红 楼 梦》 很 好 看"),
])
def test_cjk_lines_get_one_space_between_characters_with_punctuation_attached(text, lang, expected):
    assert format_dialogue(text, lang) == expected


def test_latin_words_and_numbers_inside_cjk_stay_whole():
    assert format_dialogue("我用iPhone拍了3.5张照片。", "zh") == "我 用 iPhone 拍 了 3.5 张 照 片。"


@pytest.mark.parametrize("text,expected", [
    ("价格是 $9.99，对吗？", "价 格 是 $9.99， 对 吗？"),
    ("价格是$9.99。", "价 格 是 $9.99。"),
    ("气温25°C左右", "气 温 25°C 左 右"),
])
def test_currency_and_unit_symbols_stay_with_their_number(text, expected):
    assert format_dialogue(text, "zh") == expected


def test_existing_spaces_in_cjk_do_not_double():
    assert format_dialogue("你 好  世界", "zh") == "你 好 世 界"


@pytest.mark.parametrize("lang", ["en", "de", "fr"])
def test_space_separated_languages_are_unchanged_apart_from_whitespace(lang):
    assert format_dialogue("C'est l'heure, n'est-ce pas ?", lang) == "C'est l'heure, n'est-ce pas ?"
    assert format_dialogue("  two\n lines ", lang) == "two lines"


def test_ascii_double_quotes_become_typographic_so_the_prompt_quote_stays_closed():
    assert format_dialogue('He said "go" now', "en") == "He said \u201cgo\u201d now"
    assert '"' not in format_dialogue('他说"走"', "zh")


@pytest.mark.parametrize("bad", ["", "   \n", None])
def test_blank_or_non_string_line_is_a_language_error(bad):
    with pytest.raises(LanguageError):
        format_dialogue(bad, "en")  # type: ignore[arg-type]


def test_every_prompt_name_is_a_language_the_model_prompt_accepts_with_the_same_cjk_rule():
    from langs import LANGUAGES
    from model.prompt import CJK_LANGUAGES
    from model.prompt import LANGUAGES as MODEL_LANGUAGES

    assert {lang.prompt_name for lang in LANGUAGES.values()} == set(MODEL_LANGUAGES)
    assert {lang.prompt_name for lang in LANGUAGES.values() if lang.cjk} == set(CJK_LANGUAGES)


@pytest.mark.parametrize("text", ["你好，世界！", "我用iPhone拍了3.5张照片。", "「こんにちは」と言った。",
                                  "价格是 $9.99，对吗？", "안녕하세요, 반갑습니다!", "《红楼梦》很好看"])
def test_model_prompt_spacing_leaves_a_formatted_line_unchanged(text):
    # dubkit spaces a line with format_dialogue and then hands it to model.prompt, which spaces CJK again.
    from model.prompt import space_cjk

    line = format_dialogue(text, "zh")
    assert space_cjk(line) == line
