"""Turning a transcript into script cues for `dubkit transcribe` (the same function as `dubkit localize`)."""
from __future__ import annotations

from dubkit.stages.transcribe import cues_from_transcript
from eval.types import Cue, Transcript, TranscriptSegment, Word


def _segment(text, start, end, *words):
    return TranscriptSegment(start, end, text, tuple(Word(t, s, e, 0.9) for t, s, e in words))


def test_cues_are_trimmed_to_their_first_and_last_word():
    t = Transcript("en", 5.0, (_segment(" Hello there.", 0.0, 2.0, (" Hello", 0.4, 0.8), (" there.", 0.8, 1.5)),), "base")
    assert cues_from_transcript(t, duration=t.duration) == (Cue("Hello there.", 0.4, 1.5),)


def test_cues_never_overlap_and_never_have_zero_length():
    t = Transcript("en", 5.0, (
        _segment(" One two", 0.0, 2.0, (" One", 0.2, 0.6), (" two", 0.6, 1.6)),
        _segment(" three", 1.4, 2.0, (" three", 1.5, 1.5)),
        _segment("  ", 2.0, 3.0),
    ), "base")
    first, second = cues_from_transcript(t, duration=t.duration)
    assert second.start >= first.end and second.end > second.start
    assert second.text == "three"


def test_segments_without_words_keep_their_own_times():
    t = Transcript("en", 5.0, (_segment(" Hi", 1.0, 2.0),), "base")
    assert cues_from_transcript(t, duration=t.duration) == (Cue("Hi", 1.0, 2.0),)
