"""Subtitle rules per language: a crafted script breaks exactly the rules it was made to break; wrapping."""
from __future__ import annotations

from pathlib import Path

import pytest

from dubkit.adapters.subtitles import read_script
from dubkit.stages.delivery.subtitle_rules import MIN_DURATION, RULES, check_cues, wrap
from eval.types import Cue
from langs import LANGUAGES, get_language

EN = get_language("en")
EXAMPLES = Path(__file__).resolve().parents[4] / "examples"


def test_a_crafted_script_gets_exactly_its_three_violations():
    cues = [
        Cue("A line that is fine.", 0.0, 2.0),
        Cue("Short.\nThis second line runs on well past the forty-two characters.", 3.0, 7.0),  # too long
        Cue("Far too many words are crammed\ninto this one brief moment here.", 7.5, 9.5),  # 31 chars/s
        Cue("Blink.", 10.0, 10.5),  # 0.5 s on screen
        Cue("Two lines\nthat fit.", 11.0, 13.0),
    ]
    found = check_cues(cues, EN, fps=25.0)
    assert [(v.rule, v.cue) for v in found] == [("chars_per_line", 2), ("reading_speed", 3), ("min_duration", 4)]
    assert found[0].value > 42 == found[0].limit
    assert found[1].value > RULES["en"].chars_per_second and found[2].value == 0.5 < MIN_DURATION
    assert "cue 4" in found[2].message


def test_a_gap_shorter_than_two_frames_and_a_third_line_are_violations():
    cues = [Cue("One.", 0.0, 2.0), Cue("Two.", 2.04, 4.0), Cue("a\nb\nc", 5.0, 7.0)]
    assert [v.rule for v in check_cues(cues, EN, fps=25.0)] == ["min_gap", "max_lines"]


def test_every_language_has_rules():
    assert set(RULES) == set(LANGUAGES)


def test_long_lines_wrap_into_two_balanced_lines_and_translator_breaks_stay():
    assert wrap("Sunrise Coffee, roasted fresh every morning, and every evening too.", EN) == \
        "Sunrise Coffee, roasted fresh every\nmorning, and every evening too."
    zh = get_language("zh")
    assert wrap("日出咖啡，每天新鲜烘焙，从早到晚都好喝。", zh) == "日出咖啡，每天新鲜烘焙，\n从早到晚都好喝。"
    assert wrap("Kept\nas written by the translator, however long the second line is", EN).count("\n") == 1
    assert wrap("Fits.", EN) == "Fits."


@pytest.mark.slow
def test_bilingual_subtitles_put_the_target_over_the_source_and_check_each_line_by_its_language(delivered):
    result = delivered("master")
    srt = result.subtitles.read_text("utf-8")
    english = read_script(EXAMPLES / "ad.en.srt").cues
    chinese = read_script(EXAMPLES / "ad.zh.srt").cues
    for zh, en in zip(chinese, english, strict=True):
        assert f"\n{zh.text}\n{en.text}\n" in srt  # two lines: the Mandarin over the English
    # "Sunrise Coffee, roasted fresh every morning." has 44 characters: over English's 42; the Mandarin
    # lines fit their 16, and the reading speed is the Mandarin line's
    assert [(v.rule, v.cue, v.value) for v in result.violations] == [("chars_per_line", 2, 44)]
