"""The MagiHuman prompt format: paragraphs, speaker tags, spoken lines (quotes, CJK spacing), negative prompt."""

import json
from pathlib import Path

import pytest

from model.prompt import (
    NEGATIVE_PROMPT,
    PromptError,
    Utterance,
    build_prompt,
    clean_line,
    format_utterance,
    space_cjk,
    space_line,
)

CONSTANTS = Path(__file__).resolve().parents[1] / "conformance" / "pipeline_constants.json"


def test_negative_prompt_is_the_official_constant_verbatim():
    expected = json.loads(CONSTANTS.read_text())["negative_prompt_for_uncond_branch"]
    assert NEGATIVE_PROMPT == expected
    assert len(NEGATIVE_PROMPT) == 1719


@pytest.mark.parametrize(
    "text, spaced",
    [
        ("你好，世界！", "你 好， 世 界！"),
        ("“你好”他说。", "“你 好” 他 说。"),
        ("我有3个iPhone手机", "我 有 3 个 iPhone 手 机"),
        ("안녕하세요, 반갑습니다.", "안 녕 하 세 요, 반 갑 습 니 다."),
        ("こんにちは、元気？", "こ ん に ち は、 元 気？"),
        ("你  好", "你 好"),
        ("", ""),
    ],
)
def test_space_cjk_puts_one_space_between_characters_and_keeps_punctuation_attached(text, spaced):
    assert space_cjk(text) == spaced


def test_full_prompt_has_description_dialogue_and_background_paragraphs():
    prompt = build_prompt(
        'A young man says "你好，世界！" with a smile.',
        [Utterance("Young man in yellow polo", "Mandarin", "你好，世界！"),
         Utterance("Woman in a grey coat", "German", "Guten Tag!")],
    )
    assert prompt == (
        'A young man says "你好，世界！" with a smile.\n\n'
        "Dialogue:\n"
        '<Young man in yellow polo, Mandarin>: "你 好， 世 界！"\n'
        '<Woman in a grey coat, German>: "Guten Tag!"\n\n'
        "Background Sound:\n<No prominent background sound>"
    )


def test_background_sound_is_wrapped_in_angle_brackets():
    prompt = build_prompt("A street scene.", [], background_sound="Distant traffic noise")
    assert prompt == "A street scene.\n\nBackground Sound:\n<Distant traffic noise>"


def test_english_dialogue_is_not_respaced():
    line = format_utterance(Utterance("Tall man", "English", "Hello  there, friend."))
    assert line == '<Tall man, English>: "Hello  there, friend."'


@pytest.mark.parametrize(
    "utterance, needle",
    [
        (Utterance("Man", "Klingon", "Qapla'"), "Klingon"),
        (Utterance("<Man>", "English", "Hi"), "<Man>"),
        (Utterance("Man", "English", 'He said "hi"'), "double quotes"),
        (Utterance("Man", "English", "  "), "non-empty"),
    ],
)
def test_bad_utterance_raises_prompt_error_naming_the_value(utterance, needle):
    with pytest.raises(PromptError, match=needle):
        format_utterance(utterance)


def test_empty_description_and_embedded_headers_are_rejected():
    with pytest.raises(PromptError, match="empty"):
        build_prompt("   ", [])
    with pytest.raises(PromptError, match="Dialogue:"):
        build_prompt("Text\nDialogue: x", [])


# Spoken lines as dubkit writes them: clean_line, then space_line (the inline quote and the Dialogue paragraph).
def _written(text, language):
    return space_line(clean_line(text), language)


@pytest.mark.parametrize("text,language,expected", [
    ("你好", "Mandarin", "你 好"),
    ("你好，世界！", "Mandarin", "你 好， 世 界！"),
    ("我哋去飲茶啦。", "Cantonese", "我 哋 去 飲 茶 啦。"),
    ("「こんにちは」と言った。", "Japanese", "「こ ん に ち は」 と 言 っ た。"),
    ("東京タワー！", "Japanese", "東 京 タ ワ ー！"),
    ("안녕하세요, 반갑습니다!", "Korean", "안 녕 하 세 요, 반 갑 습 니 다!"),
    ("《红楼梦》很好看", "Mandarin", "《红 楼 梦》 很 好 看"),
])
def test_cjk_lines_get_one_space_between_characters_with_punctuation_attached(text, language, expected):
    assert _written(text, language) == expected


def test_latin_words_and_numbers_inside_cjk_stay_whole():
    assert _written("我用iPhone拍了3.5张照片。", "Mandarin") == "我 用 iPhone 拍 了 3.5 张 照 片。"


@pytest.mark.parametrize("text,expected", [
    ("价格是 $9.99，对吗？", "价 格 是 $9.99， 对 吗？"),
    ("价格是$9.99。", "价 格 是 $9.99。"),
    ("气温25°C左右", "气 温 25°C 左 右"),
])
def test_currency_and_unit_symbols_stay_with_their_number(text, expected):
    assert _written(text, "Mandarin") == expected


def test_existing_spaces_in_cjk_do_not_double():
    assert _written("你 好  世界", "Mandarin") == "你 好 世 界"


def test_punctuation_that_starts_a_line_belongs_to_the_character_after_it():
    assert space_cjk("…你好") == "…你 好"


@pytest.mark.parametrize("language", ["English", "German", "French"])
def test_space_separated_languages_are_unchanged_apart_from_whitespace(language):
    assert _written("C'est l'heure, n'est-ce pas ?", language) == "C'est l'heure, n'est-ce pas ?"
    assert _written("  two\n lines ", language) == "two lines"


def test_ascii_double_quotes_become_typographic_so_the_prompt_quote_stays_closed():
    assert _written('He said "go" now', "English") == "He said \u201cgo\u201d now"
    assert '"' not in _written('他说"走"', "Mandarin")


@pytest.mark.parametrize("bad", ["", "   \n", None])
def test_blank_or_non_string_line_is_a_prompt_error(bad):
    with pytest.raises(PromptError):
        clean_line(bad)  # type: ignore[arg-type]


@pytest.mark.parametrize("text", ["你好，世界！", "我用iPhone拍了3.5张照片。", "「こんにちは」と言った。",
                                  "价格是 $9.99，对吗？", "안녕하세요, 반갑습니다!", "《红楼梦》很好看"])
def test_spacing_a_spaced_line_again_changes_nothing(text):
    line = _written(text, "Mandarin")
    assert space_cjk(line) == line
