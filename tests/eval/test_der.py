"""DER against cases computed by hand (docs/speakers.md gives the definition)."""
from __future__ import annotations

import pytest

from eval.der import diarization_error
from eval.errors import EvalError


def test_perfect_output_under_other_names_has_no_error():
    ref = [(0, 10, "A"), (10, 20, "B")]
    result = diarization_error(ref, [(0, 10, "x"), (10, 20, "y")], collar=0)
    assert result.der == 0 and result.mapping == {"x": "A", "y": "B"}


def test_a_late_change_is_confusion_and_the_collar_forgives_its_first_quarter_second():
    ref = [(0, 10, "A"), (10, 20, "B")]
    hyp = [(0, 12, "x"), (12, 20, "y")]
    assert diarization_error(ref, hyp, collar=0).der == pytest.approx(2 / 20)
    # Collars around 0, 10 and 20 remove 0.25 + 0.5 + 0.25 s of reference speech;
    # the confusion left is 10.25 .. 12.
    result = diarization_error(ref, hyp, collar=0.25)
    assert result.reference == pytest.approx(19.0)
    assert result.confusion == pytest.approx(1.75)
    assert result.der == pytest.approx(1.75 / 19.0)


def test_miss_and_false_alarm():
    ref = [(0, 10, "A")]
    hyp = [(2, 10, "x"), (12, 15, "x")]
    result = diarization_error(ref, hyp, collar=0)
    assert (result.missed, result.false_alarm, result.confusion) == pytest.approx((2, 3, 0))
    assert result.der == pytest.approx(5 / 10)


def test_overlapping_reference_speech_counts_every_speaker():
    # 5..10 both speak: one system speaker misses one of them; the pairing takes x -> A or B,
    # either way 5 s are confused and 5 s missed, over 20 s of reference speech.
    result = diarization_error([(0, 10, "A"), (5, 15, "B")], [(0, 15, "x")], collar=0)
    assert result.missed == pytest.approx(5) and result.confusion == pytest.approx(5)
    assert result.der == pytest.approx(0.5)


def test_an_extra_system_speaker_is_always_wrong():
    ref = [(0, 10, "A"), (10, 20, "B")]
    hyp = [(0, 10, "x"), (10, 15, "y"), (15, 20, "z")]
    result = diarization_error(ref, hyp, collar=0)
    assert result.confusion == pytest.approx(5) and result.der == pytest.approx(0.25)


def test_a_turn_running_backwards_is_refused():
    with pytest.raises(EvalError, match="reference turn 'A'"):
        diarization_error([(5, 1, "A")], [])
