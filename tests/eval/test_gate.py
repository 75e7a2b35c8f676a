"""The gate: thresholds (default, config file, flag), per-cue scoring, verdicts as results."""
from __future__ import annotations

import json

import pytest

from eval.errors import EvalError
from eval.gate import DEFAULT_THRESHOLDS, gate, load_thresholds, resolve_threshold
from eval.types import Cue, Transcript, TranscriptSegment, Word
from langs import CODES, LanguageError


def _transcript(*words: tuple[str, float, float], language: str = "en") -> Transcript:
    """A transcript as Whisper writes it: words with leading spaces and times."""
    ws = tuple(Word(t, s, e, 0.9) for t, s, e in words)
    segs = (TranscriptSegment(ws[0].start, ws[-1].end, "".join(w.text for w in ws), ws),) if ws else ()
    return Transcript(language=language, duration=10.0, segments=segs, model="test")


HEARD = _transcript(
    (" Hello", 0.5, 0.9), (" there.", 0.9, 1.3), (" How", 3.0, 3.2), (" are", 3.2, 3.4), (" you?", 3.4, 3.8)
)


def test_every_language_has_a_default_threshold_between_zero_and_one():
    assert set(DEFAULT_THRESHOLDS) == set(CODES)
    assert all(0 < v < 1 for v in DEFAULT_THRESHOLDS.values())


def test_the_flag_beats_the_config_file_which_beats_the_default(tmp_path):
    config = tmp_path / "dubkit.toml"
    config.write_text("[thresholds]\nen = 0.1\nzh-CN = 0.2\n")
    assert resolve_threshold("en") == DEFAULT_THRESHOLDS["en"]
    assert resolve_threshold("en", config=config) == 0.1
    assert resolve_threshold("zh", config=config) == 0.2  # aliases in the file resolve to codes
    assert resolve_threshold("fr", config=config) == DEFAULT_THRESHOLDS["fr"]
    assert resolve_threshold("en", flag=0.5, config=config) == 0.5


def test_a_json_config_file_and_an_eval_table_are_accepted(tmp_path):
    (tmp_path / "t.json").write_text(json.dumps({"thresholds": {"ko": 0.4}}))
    (tmp_path / "t.toml").write_text("[eval.thresholds]\nja = 0.3\n")
    assert load_thresholds(tmp_path / "t.json") == {"ko": 0.4}
    assert load_thresholds(tmp_path / "t.toml") == {"ja": 0.3}


@pytest.mark.parametrize(
    "content, message",
    [("[thresholds]\nen = 'high'\n", "not a number"), ("[thresholds]\nen = -0.1\n", "negative"),
     ("[other]\nx = 1\n", r"no \[thresholds\]"), ("[thresholds\n", "cannot be parsed")],
)
def test_a_bad_config_file_is_an_error_naming_the_file(tmp_path, content, message):
    config = tmp_path / "bad.toml"
    config.write_text(content)
    with pytest.raises(EvalError, match=message) as err:
        resolve_threshold("en", config=config)
    assert str(config) in str(err.value)


def test_an_unknown_language_in_the_config_file_is_a_language_error(tmp_path):
    config = tmp_path / "t.toml"
    config.write_text("[thresholds]\nxx = 0.3\n")
    with pytest.raises(LanguageError, match="xx"):
        load_thresholds(config)


def test_a_missing_config_file_is_named():
    with pytest.raises(EvalError, match="nope.toml"):
        resolve_threshold("en", config="nope.toml")


def test_a_negative_flag_is_refused():
    with pytest.raises(EvalError, match="-1"):
        resolve_threshold("en", flag=-1)


def test_a_perfect_transcript_passes():
    result = gate("Hello there. How are you?", HEARD, "en")
    assert result.passed and result.error_rate == 0.0
    assert result.metric == "wer" and result.threshold == DEFAULT_THRESHOLDS["en"]


def test_a_failed_gate_is_a_result_not_an_exception():
    result = gate("Goodbye now, see you tomorrow.", HEARD, "en")
    assert not result.passed
    assert result.error_rate > result.threshold


def test_the_threshold_is_inclusive():
    result = gate("hello there how are we", HEARD, "en", threshold=0.2)  # 1 error in 5 words
    assert result.error_rate == pytest.approx(0.2) and result.passed
    assert not gate("hello there how are we", HEARD, "en", threshold=0.19).passed


def test_timed_cues_are_scored_on_the_words_inside_their_spans():
    cues = [Cue("Hello there.", 0.0, 2.0), Cue("How are you?", 2.5, 4.5)]
    result = gate(cues, HEARD, "en")
    assert [s.hypothesis for s in result.segments] == ["Hello there.", "How are you?"]
    assert [s.error_rate for s in result.segments] == [0.0, 0.0]
    assert [(s.start, s.end) for s in result.segments] == [(0.0, 2.0), (2.5, 4.5)]


def test_a_cue_with_nothing_heard_in_its_span_gets_a_note_and_error_one():
    cues = [Cue("Hello there.", 0.0, 2.0), Cue("And more.", 5.0, 6.0)]
    result = gate(cues, HEARD, "en")
    assert result.segments[1].error_rate == 1.0 and result.segments[1].hypothesis == ""
    assert any("cue 2" in n for n in result.notes)
    assert any("outside every cue" in n for n in result.notes)  # "How are you?" fell between cues


def test_untimed_lines_are_scored_by_cutting_the_whole_alignment_at_line_ends():
    cues = [Cue("Hello there."), Cue("How are they?")]
    result = gate(cues, HEARD, "en")
    assert [s.error_rate for s in result.segments] == [0.0, pytest.approx(1 / 3)]
    assert [s.hypothesis for s in result.segments] == ["hello there", "how are you"]
    assert result.segments[0].start is None
    assert result.error_rate == pytest.approx(1 / 5)


def test_silence_scores_one_with_a_note_instead_of_crashing():
    silent = Transcript(language="en", duration=3.0, segments=(), model="test")
    result = gate([Cue("Hello there.", 0.0, 2.0)], silent, "en")
    assert result.error_rate == 1.0 and not result.passed
    assert any("no speech" in n for n in result.notes)


def test_a_reference_with_no_words_cannot_be_scored():
    with pytest.raises(EvalError, match=r"nothing to score.*'\.\.\. !!'"):
        gate("... !!", HEARD, "en")
    with pytest.raises(EvalError, match="no lines"):
        gate([], HEARD, "en")


def test_mixing_timed_and_untimed_lines_is_refused():
    with pytest.raises(EvalError, match=r"mixes .*line\(s\) \[2\]"):
        gate([Cue("a", 0.0, 1.0), Cue("b")], HEARD, "en")
