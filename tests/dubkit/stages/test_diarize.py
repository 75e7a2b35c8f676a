"""Diarization on real two-speaker dialogues, and cues split at speaker changes."""
from __future__ import annotations

import numpy as np
import pytest

from dubkit.errors import InputError
from dubkit.stages.diarize import (
    Diarization,
    Turn,
    cluster,
    diarize_file,
    pieces_of,
)
from dubkit.stages.transcribe import cues_from_transcript
from eval.types import Transcript, TranscriptSegment, Word
from tests.dialogues import build_dialogue


def _merged(turns, gap=1.0):
    """Consecutive turns of one speaker closer than `gap` as one (start, end, speaker): in the
    dialogues a speaker never has two turns in a row, so these are pauses inside one turn."""
    out = []
    for s, e, who in sorted(turns):
        if out and out[-1][2] == who and s - out[-1][1] <= gap:
            out[-1] = (out[-1][0], e, who)
        else:
            out.append((s, e, who))
    return out


@pytest.mark.slow
def test_a_two_speaker_dialogue_gives_two_speakers_at_the_right_times(tmp_path):
    dialogue = build_dialogue(tmp_path, "cards-zh", ["cards", "zh"])
    found = diarize_file(dialogue.path)
    assert found.speakers == ("S1", "S2")
    truth = _merged(dialogue.reference)
    got = _merged([(t.start, t.end, t.speaker) for t in found.turns])
    assert len(got) == len(truth)
    names = {}
    for (ts, te, who), (gs, ge, label) in zip(truth, got, strict=True):
        assert names.setdefault(label, who) == who
        assert abs(gs - ts) <= 0.3 and abs(ge - te) <= 0.3, ((ts, te, who), (gs, ge, label))
    assert diarize_file(dialogue.path, speakers=1).speakers == ("S1",)


def test_long_spans_are_cut_into_equal_pieces():
    assert pieces_of([(0.0, 1.0), (2.0, 5.0)], 1.5) == [(0.0, 1.0), (2.0, 3.5), (3.5, 5.0)]
    assert len(pieces_of([(0.0, 3.1)], 1.5)) == 3


def test_clustering_finds_the_count_or_takes_it():
    rng = np.random.default_rng(0)
    a, b = rng.normal(size=256), rng.normal(size=256)
    rows = np.stack([centre + 0.1 * rng.normal(size=256) for centre in (a, a, a, b, b, b)])
    rows /= np.linalg.norm(rows, axis=1, keepdims=True)
    labels = cluster(rows, np.full(6, 1.5), None, 0.35)
    assert len(set(labels[:3])) == 1 and len(set(labels[3:])) == 1 and labels[0] != labels[3]
    assert len(set(cluster(rows, np.full(6, 1.5), 1, 0.35))) == 1
    # a short piece takes the nearest centre's speaker
    short = cluster(rows, np.array([1.5, 1.5, 0.2, 1.5, 1.5, 1.5]), None, 0.35)
    assert short[2] == short[0]


def test_a_speaker_count_below_one_is_refused(tmp_path):
    with pytest.raises(InputError, match="at least 1"):
        from dubkit.stages.diarize import diarize

        diarize(np.zeros(16000, np.float32), speakers=0)


def _w(text, start, end):
    return Word(text, start, end, 0.9)


def test_a_segment_spanning_two_speakers_is_split_at_the_change():
    seg = TranscriptSegment(0.0, 4.0, " Hello there. Good morning.",
                            (_w(" Hello", 0.0, 0.5), _w(" there.", 0.5, 1.0),
                             _w(" Good", 2.1, 2.5), _w(" morning.", 2.5, 3.9)))
    transcript = Transcript("en", 4.0, (seg,), "test")
    who = Diarization((Turn(0.0, 1.2, "S1"), Turn(2.0, 4.0, "S2")), ("S1", "S2"))
    cues = cues_from_transcript(transcript, duration=4.0, diarization=who)
    # split at the change; edges then move out to the speaker's turn (Whisper's word times lag the voice)
    assert [(c.text, c.start, c.end, c.speaker) for c in cues] == [
        ("Hello there.", 0.0, 1.2, "S1"), ("Good morning.", 2.0, 4.0, "S2")]


def test_a_word_in_a_pause_takes_the_nearest_speaker():
    who = Diarization((Turn(0.0, 1.0, "S1"), Turn(5.0, 6.0, "S2")), ("S1", "S2"))
    assert who.speaker_between(1.2, 1.4) == "S1" and who.speaker_between(4.5, 4.8) == "S2"
