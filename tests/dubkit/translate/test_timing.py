"""Timing fit: estimated spoken duration against the time a line has, with the speed limit."""
from __future__ import annotations

import math

import pytest

from dubkit.errors import ScriptError
from dubkit.translate.timing import fit_cues, fit_line, max_units, overflowing
from eval.types import Cue
from langs import MAX_SPEED_FACTOR, estimate_duration, get_language

ZH, EN = get_language("zh"), get_language("en")
LINE = "欢迎来到我们的商店，今天全场包邮。"


def test_fit_numbers_follow_the_language_estimate():
    estimated = estimate_duration(LINE, ZH)
    fit = fit_line(LINE, ZH, budget=estimated / 1.1, index=4, start=10.0, end=12.0)
    assert fit.estimated == pytest.approx(estimated)
    assert fit.ratio == pytest.approx(1.1)
    assert fit.speed_factor == pytest.approx(1.1)
    assert fit.max_speed == MAX_SPEED_FACTOR and fit.fits
    assert (fit.index, fit.start, fit.end, fit.language) == (4, 10.0, 12.0, "zh")
    assert fit.overflow == 0.0


def test_line_needing_more_than_the_limit_does_not_fit():
    estimated = estimate_duration(LINE, ZH)
    budget = estimated / 1.5
    fit = fit_line(LINE, ZH, budget=budget)
    assert not fit.fits and fit.speed_factor == pytest.approx(1.5)
    assert fit.overflow == pytest.approx(estimated / MAX_SPEED_FACTOR - budget)


def test_limit_itself_still_fits():
    estimated = estimate_duration(LINE, ZH)
    assert fit_line(LINE, ZH, budget=estimated / MAX_SPEED_FACTOR * (1 + 1e-9)).fits


def test_short_line_is_never_slowed_down():
    fit = fit_line("Hi.", EN, budget=5.0)
    assert fit.ratio < 1.0 and fit.speed_factor == 1.0 and fit.fits


def test_zero_budget_with_words_cannot_fit_and_empty_line_always_fits():
    assert fit_line("Hello there.", EN, budget=0.0).ratio == math.inf
    assert not fit_line("Hello there.", EN, budget=0.0).fits
    empty = fit_line("", EN, budget=0.0)
    assert empty.estimated == 0.0 and empty.fits


def test_fit_cues_uses_each_cue_duration_and_lists_overflow():
    cues = [Cue("Hi.", 0.0, 2.0), Cue("This is a very long sentence that cannot possibly be said in time.", 2.0, 2.5)]
    fits = fit_cues(cues, EN)
    assert [f.budget for f in fits] == [2.0, 0.5]
    assert [f.index for f in overflowing(fits)] == [1]


def test_fit_cues_with_explicit_budgets():
    fits = fit_cues([Cue("Hi."), Cue("Bye.")], EN, budgets=[1.0, 0.1])
    assert [f.budget for f in fits] == [1.0, 0.1]
    with pytest.raises(ScriptError, match="2 time budgets for 1 lines"):
        fit_cues([Cue("Hi.")], EN, budgets=[1.0, 2.0])


def test_untimed_cue_without_budget_is_an_error():
    with pytest.raises(ScriptError, match="line 1 has no timing"):
        fit_cues([Cue("Hi.")], EN)


def test_invalid_budget_and_speed_limit_are_errors():
    with pytest.raises(ScriptError, match="negative time budget"):
        fit_line("Hi.", EN, budget=-1.0)
    with pytest.raises(ScriptError, match="below 1"):
        fit_line("Hi.", EN, budget=1.0, max_speed=0.9)


def test_max_units_is_consistent_with_the_estimate():
    units = max_units(ZH, 2.0)
    assert units > 0 and max_units(ZH, 0.0) == 0
    assert fit_line("好" * units, ZH, budget=2.0).fits  # pauses ignored: no punctuation here
    assert not fit_line("好" * (units + 2), ZH, budget=2.0).fits
