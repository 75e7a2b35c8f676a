"""The source script: user scripts checked against the source, recognised segments fitted to windows."""
import pytest

from dubkit.adapters.subtitles import check_cues
from dubkit.errors import ScriptError
from dubkit.stages.transcribe import (
    cues_from_transcript,
    language_from_name,
    load_source_script,
    split_segment,
)
from eval.types import Cue, Transcript, TranscriptSegment, Word


def _segment(n_words: int, gap_at: int | None = None) -> TranscriptSegment:
    words, t = [], 0.0
    for i in range(n_words):
        if i == gap_at:
            t += 0.8
        words.append(Word(f" w{i}", t, t + 0.4, 0.9))
        t += 0.5
    return TranscriptSegment(words[0].start, words[-1].end, "".join(w.text for w in words), tuple(words))


def test_a_long_recognised_segment_is_cut_at_its_widest_pause():
    cues = split_segment(_segment(24, gap_at=10), max_len=8.0)
    assert [c.text.split()[0] for c in cues] == ["w0", "w10"]
    assert all(c.end - c.start <= 8.0 for c in cues)
    assert " ".join(c.text for c in cues).split() == [f"w{i}" for i in range(24)]


def test_a_very_long_segment_is_cut_until_every_piece_fits():
    cues = split_segment(_segment(60), max_len=8.0)
    assert len(cues) >= 4 and all(c.end - c.start <= 8.0 for c in cues)


def test_short_segments_stay_whole_and_touching_segments_do_not_overlap():
    transcript = Transcript("en", 10.0, (TranscriptSegment(0.0, 2.05, " one"), TranscriptSegment(2.0, 3.0, " two")), "base")
    cues = cues_from_transcript(transcript, duration=2.9, max_len=8.0)
    assert cues == (Cue("one", 0.0, 2.05), Cue("two", 2.05, 2.9))


@pytest.mark.parametrize("cues, words", [
    ([Cue("a", 0.0, 2.0), Cue("b", 1.5, 3.0)], "overlap"),
    ([Cue("a", 0.0, 9.0)], "past the end"),
    ([Cue("a")], "no start/end"),
    ([Cue("a", 2.0, 1.0)], "before it starts"),
])
def test_bad_scripts_are_refused_naming_the_cue(cues, words):
    with pytest.raises(ScriptError, match=words) as err:
        check_cues(cues, 8.0, name="ad.en.srt")
    assert "ad.en.srt" in str(err.value) and "'a'" in str(err.value)


def test_a_cue_ending_within_rounding_of_the_end_is_accepted():
    check_cues([Cue("a", 7.0, 8.05)], 8.0, name="ad.en.srt")


@pytest.mark.parametrize("name, code", [("ad.en.srt", "en"), ("ad.zh-CN.vtt", "zh"), ("ad.final.srt", None),
                                        ("ad.srt", None)])
def test_a_scripts_name_gives_its_language_when_it_carries_a_tag(name, code):
    assert language_from_name(name) == code


def test_a_user_source_script_named_with_its_language_tells_the_translators_the_source_language(tmp_path):
    from pathlib import Path

    from dubkit.stages.probe import SourceInfo
    from dubkit.store.cache import StageCache

    examples = Path(__file__).resolve().parents[3] / "examples"
    source = SourceInfo(path=examples / "ad.mp4", duration=8.0, fps=25.0, width=384, height=384, has_audio=True,
                        sample_rate=48_000, digest="x")

    class NoRecognition:
        name = "base"

        def transcribe(self, audio, language):
            raise AssertionError("a given script needs no recognition")

    script = load_source_script(source, examples / "ad.en.srt", cache=StageCache(tmp_path),
                                recognizer=NoRecognition(), max_cue=8.0)
    assert script.language == "en" and script.origin.endswith("ad.en.srt") and len(script.cues) == 3
