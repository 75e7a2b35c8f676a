"""The MagiHuman prompt format: paragraphs, speaker tags, CJK spacing, negative prompt."""

import json
from pathlib import Path

import pytest

from model.prompt import (
    NEGATIVE_PROMPT,
    PromptError,
    Utterance,
    build_prompt,
    format_utterance,
    space_cjk,
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
