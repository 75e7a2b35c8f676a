"""Syllable counts and duration estimates per language, and the speed-up limit."""
from __future__ import annotations

import pytest

from langs import (
    DELIVERY_PACE,
    LANGUAGES,
    MAX_SPEED_FACTOR,
    RATES,
    LanguageError,
    count_syllables,
    estimate_duration,
    pause_seconds,
)


@pytest.mark.parametrize("text,lang,count", [
    ("hello world", "en", 3), ("make", "en", 1), ("table", "en", 2), ("wanted", "en", 2), ("asked", "en", 1),
    ("beautiful", "en", 3), ("Press 1", "en", 2),
    ("Guten Morgen", "de", 4), ("Straße", "de", 2), ("einundzwanzig", "de", 4),
    ("une belle maison", "fr", 4), ("bonjour", "fr", 2),
    ("你好世界", "zh", 4), ("請按1", "zh", 3), ("我哋食咗飯", "yue", 5),
    ("안녕하세요", "ko", 5),
    ("東京", "ja", 2),  # トーキョー: too-kyoo, 4 morae but 2 syllables
    ("きょう", "ja", 1),  # small kana and the long vowel join the syllable
    ("おはようございます", "ja", 8),
    ("がっこう", "ja", 2),  # gak-koo
    ("我用iPhone", "zh", 4),
])
def test_syllable_counts(text, lang, count):
    assert count_syllables(text, lang) == count


def test_digits_count_as_the_words_spoken():
    assert count_syllables("1999", "en") == count_syllables("one thousand, nine hundred and ninety-nine", "en")
    assert count_syllables("按12", "zh") == 3


def test_estimate_is_syllables_over_rate_at_the_delivery_pace():
    text = "你好世界"
    assert estimate_duration(text, "zh") == pytest.approx(4 / (5.18 * DELIVERY_PACE))
    assert estimate_duration(text, "zh", pace=1.0) == pytest.approx(4 / 5.18)


def test_pauses_are_added_for_punctuation_inside_the_line_not_at_its_end():
    assert pause_seconds("Hello.") == 0
    assert pause_seconds("Hello, world. Bye!") == pytest.approx(0.12 + 0.30)
    assert estimate_duration("Hello, world", "en") > estimate_duration("Hello world", "en")


def test_empty_line_takes_no_time():
    assert estimate_duration("", "en") == 0.0
    assert estimate_duration("。", "zh") == 0.0


def test_same_meaning_takes_comparable_time_across_languages():
    lines = {"en": "Good morning, how are you today?", "de": "Guten Morgen, wie geht es dir heute?",
             "fr": "Bonjour, comment allez-vous aujourd'hui ?", "zh": "早上好，你今天好吗？",
             "yue": "早晨，你今日點呀？", "ja": "おはようございます、今日はお元気ですか？",
             "ko": "좋은 아침이에요, 오늘 어떠세요?"}
    durations = {code: estimate_duration(text, code) for code, text in lines.items()}
    assert max(durations.values()) / min(durations.values()) < 2.0, durations


def test_rates_are_cited_and_estimates_are_marked():
    assert set(RATES) == set(LANGUAGES)
    for code in ("zh", "en", "ja", "de", "fr"):
        assert "Pellegrino" in RATES[code].source and not RATES[code].is_estimate
    for code in ("ko", "yue"):
        assert RATES[code].is_estimate and "estimate" in RATES[code].source


def test_a_line_may_be_sped_up_at_most_15_percent():
    assert MAX_SPEED_FACTOR == 1.15


def test_estimate_rejects_a_bad_pace_and_bad_text():
    with pytest.raises(LanguageError, match="pace"):
        estimate_duration("hello", "en", pace=0)
    with pytest.raises(LanguageError, match="expected a string"):
        estimate_duration(None, "en")  # type: ignore[arg-type]


def test_japanese_without_openjtalk_counts_a_kanji_as_one_and_a_half_syllables(monkeypatch):
    import sys

    monkeypatch.setitem(sys.modules, "pyopenjtalk", None)  # import now raises ImportError
    assert count_syllables("東京", "ja") == 3
    # Without a reading, a long vowel spelled with う stays a syllable of its own (きょう: 2, not 1).
    assert count_syllables("きょう", "ja") == 2
    assert count_syllables("3つ", "ja") == round(1.5 * 1) + 1


def test_speaking_rate_is_the_published_rate_at_the_delivery_pace():
    from langs import speaking_rate

    assert speaking_rate("en") == pytest.approx(6.19 * DELIVERY_PACE)
    assert speaking_rate("fr", pace=1.0) == pytest.approx(7.18)
    assert estimate_duration("a b c d", "en") == pytest.approx(4 / speaking_rate("en"))


def test_points_and_commas_inside_numbers_are_not_pauses():
    assert pause_seconds("It costs 3.5 or 1,000 euros") == 0
    assert pause_seconds("Es kostet 3,5 Euro. Danke") == pytest.approx(0.30)


@pytest.mark.parametrize("text", ["", "。", "😀", "\n"])
def test_japanese_lines_without_speech_count_nothing(text):
    assert count_syllables(text, "ja") == 0
    assert estimate_duration(text, "ja") == 0.0


def test_japanese_digits_are_read():
    assert count_syllables("１２３", "ja") == count_syllables("百二十三", "ja") == 5  # ヒャクニジューサン
