"""Scoring through jiwer: counts, alignment, metric per language, normalisation applied."""
from __future__ import annotations

import random

import pytest

from eval.scoring import AlignedUnit, from_alignment, score, score_units, units
from tests.speech_data import levenshtein_counts


def test_identical_texts_score_zero_with_every_unit_a_hit():
    s = score("He was not an ill disposed young man", "he was not an ill disposed young man", "en")
    assert (s.error_rate, s.hits, s.substitutions, s.deletions, s.insertions) == (0.0, 8, 0, 0, 0)
    assert all(a.op == "equal" for a in s.alignment)


def test_case_and_punctuation_do_not_count_as_errors():
    assert score("Hello, world!", "hello world", "en").error_rate == 0.0


def test_substitution_deletion_and_insertion_are_counted_separately():
    s = score("one two three four five six", "one deux three five six seven", "en")
    assert (s.hits, s.substitutions, s.deletions, s.insertions) == (4, 1, 1, 1)
    assert s.error_rate == pytest.approx(3 / 6)
    assert [a.op for a in s.alignment] == ["equal", "substitute", "equal", "delete", "equal", "equal", "insert"]
    assert s.alignment[1] == AlignedUnit("substitute", "two", "deux")
    assert s.alignment[-1] == AlignedUnit("insert", None, "seven")


def test_english_is_scored_in_words_and_mandarin_in_characters():
    assert score("one two", "one two", "en").metric == "wer"
    zh = score("我是中国人", "我是中国", "zh")
    assert zh.metric == "cer"
    assert (zh.hits, zh.deletions) == (4, 1)
    assert zh.error_rate == pytest.approx(1 / 5)


def test_traditional_characters_score_as_correct_against_a_simplified_reference():
    s = score("欢迎光临，我是中国人。", "歡迎光臨 我是中國人", "zh")
    assert s.error_rate == 0.0
    assert s.hypothesis == s.reference


def test_aliases_pick_the_language_metric():
    assert score("你好", "你好", "zh-CN").metric == "cer"
    assert score("bonjour", "bonjour", "fr-FR").metric == "wer"


def test_an_empty_hypothesis_is_all_deletions():
    s = score("bonjour tout le monde", "", "fr")
    assert (s.error_rate, s.deletions, s.hits) == (1.0, 4, 0)


def test_an_empty_reference_scores_zero_against_nothing_and_one_against_anything():
    assert score("", "", "en").error_rate == 0.0
    s = score("...", "hello there", "en")
    assert (s.error_rate, s.insertions) == (1.0, 2)


def test_many_insertions_push_the_error_rate_above_one():
    assert score("yes", "yes yes yes yes", "en").error_rate == pytest.approx(3.0)


def test_counts_agree_with_an_independent_edit_distance_on_random_sequences():
    rng = random.Random(7)
    alphabet = list("abcdef")
    for _ in range(200):
        ref = [rng.choice(alphabet) for _ in range(rng.randint(1, 12))]
        hyp = [rng.choice(alphabet) for _ in range(rng.randint(0, 12))]
        s = score_units(ref, hyp, "wer")
        assert s.errors == levenshtein_counts(ref, hyp)
        assert s.reference_units == len(ref)
        assert [a.ref for a in s.alignment if a.ref is not None] == ref
        assert [a.hyp for a in s.alignment if a.hyp is not None] == hyp


def test_a_score_rebuilt_from_its_alignment_is_the_same_score():
    s = score("one two three four five six", "one deux three five six seven", "en")
    assert from_alignment("wer", s.alignment) == s


def test_units_are_normalised_words_or_characters():
    assert units("It's 12 o'clock!", "en")[0] == "its"
    assert units("你好，世界", "zh") == ["你", "好", "世", "界"]
