"""The pysubs2 adapter: every format in and out, and every way a script can be wrong."""
from __future__ import annotations

import json

import pytest

from dubkit.adapters.subtitles import (
    PREVIEW_NOTE,
    read_script,
    without_preview_note,
    write_script,
)
from dubkit.errors import OutputError, ScriptError
from eval.types import Cue

SRT = """1
00:00:00,500 --> 00:00:02,250
Hello there.

2
00:00:03,000 --> 00:00:04,800
How are <i>you</i>
today?
"""
CUES = (Cue("Hello there.", 0.5, 2.25), Cue("How are you today?", 3.0, 4.8))


def _write(tmp_path, name, text):
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def test_an_srt_script_gives_timed_cues_in_seconds_with_markup_and_line_breaks_removed(tmp_path):
    script = read_script(_write(tmp_path, "a.srt", SRT))
    assert script.timed and script.cues == CUES
    assert script.text == "Hello there. How are you today?"


@pytest.mark.parametrize("suffix", [".srt", ".vtt", ".ass", ".json"])
def test_every_timed_format_round_trips_through_write_and_read(tmp_path, suffix):
    cues = (Cue("Bonjour à tous.", 0.5, 2.25, "ANNA"), Cue("你好，世界", 3.0, 4.8))
    path = write_script(cues, tmp_path / f"s{suffix}")
    back = read_script(path)
    assert [(c.text, c.start, c.end) for c in back.cues] == [(c.text, c.start, c.end) for c in cues]
    if suffix in (".ass", ".json"):  # formats with a speaker field keep it
        assert back.cues[0].speaker == "ANNA"


def test_a_plain_text_script_is_untimed_one_cue_per_line(tmp_path):
    script = read_script(_write(tmp_path, "a.txt", "Hello there.\n\n  How are you?  \n"))
    assert not script.timed
    assert script.cues == (Cue("Hello there."), Cue("How are you?"))


def test_a_json_list_of_cues_in_seconds_is_read(tmp_path):
    data = [{"start": 0.5, "end": 2.0, "text": "Hi", "speaker": "A"}, {"start": 2.5, "end": 3.0, "text": "Bye"}]
    script = read_script(_write(tmp_path, "a.json", json.dumps(data)))
    assert script.cues == (Cue("Hi", 0.5, 2.0, "A"), Cue("Bye", 2.5, 3.0))
    assert read_script(_write(tmp_path, "b.json", json.dumps({"cues": data}))).cues == script.cues


def test_ass_comment_lines_are_not_cues(tmp_path):
    path = write_script(CUES, tmp_path / "a.ass")
    text = path.read_text(encoding="utf-8").replace("Dialogue: 0,0:00:03.00", "Comment: 0,0:00:03.00")
    assert read_script(_write(tmp_path, "b.ass", text)).cues == CUES[:1]


@pytest.mark.parametrize(
    "name, text, message",
    [
        ("empty.srt", "", "is empty"),
        ("blank.txt", "  \n\n", "is empty"),
        ("junk.srt", "this is not a subtitle file\n", "no cues with text"),
        ("junk.json", "{not json", "not valid JSON"),
        ("shape.json", '{"a": 1}', "neither pysubs2"),
        ("fields.json", '[{"start": "x", "end": 1, "text": "a"}]', "cue 1 needs numeric"),
        ("notes.docx", "Hello", "unsupported extension '.docx'"),
    ],
)
def test_empty_or_unparsable_scripts_are_named_errors(tmp_path, name, text, message):
    path = _write(tmp_path, name, text)
    with pytest.raises(ScriptError, match=message) as err:
        read_script(path)
    assert name in str(err.value)


def test_a_missing_script_is_named(tmp_path):
    with pytest.raises(ScriptError, match="nope.srt does not exist"):
        read_script(tmp_path / "nope.srt")


def test_a_script_that_is_not_utf8_is_named(tmp_path):
    path = tmp_path / "latin1.srt"
    path.write_bytes(SRT.replace("Hello", "Héllo").encode("latin-1"))
    with pytest.raises(ScriptError, match="latin1.srt is not UTF-8"):
        read_script(path)


def test_a_cue_ending_before_it_starts_is_named(tmp_path):
    bad = SRT.replace("00:00:03,000 --> 00:00:04,800", "00:00:04,800 --> 00:00:03,000")
    with pytest.raises(ScriptError, match=r"cue 2 \(4.800-3.000 s.*ends at or before it starts"):
        read_script(_write(tmp_path, "a.srt", bad))


def test_overlapping_cues_are_named_unless_allowed(tmp_path):
    bad = SRT.replace("00:00:03,000 --> 00:00:04,800", "00:00:02,000 --> 00:00:04,800")
    path = _write(tmp_path, "a.srt", bad)
    with pytest.raises(ScriptError, match="cue 2 .* overlaps cue 1"):
        read_script(path)
    assert len(read_script(path, allow_overlap=True).cues) == 2


def test_a_cue_beyond_the_media_duration_is_named_with_the_duration(tmp_path):
    path = _write(tmp_path, "a.srt", SRT)
    with pytest.raises(ScriptError, match=r"a.srt: cue 2 .* ends after the media, which lasts 4.000 s"):
        read_script(path, duration=4.0)
    assert read_script(path, duration=4.75).timed  # within the rounding tolerance


def test_writing_replaces_the_file_atomically_and_leaves_no_temp_file(tmp_path):
    path = tmp_path / "out.srt"
    path.write_text("old")
    write_script(CUES, path)
    assert read_script(path).cues == CUES
    assert [p.name for p in tmp_path.iterdir()] == ["out.srt"]


def test_writing_untimed_cues_to_a_timed_format_is_refused_and_keeps_the_old_file(tmp_path):
    path = tmp_path / "out.srt"
    path.write_text("old")
    with pytest.raises(ScriptError, match="untimed cue 1"):
        write_script([Cue("no times")], path)
    assert path.read_text() == "old"


def test_writing_into_a_missing_folder_is_an_output_error(tmp_path):
    with pytest.raises(OutputError, match="missing"):
        write_script(CUES, tmp_path / "missing" / "out.srt")


def test_plain_text_output_has_one_line_per_cue(tmp_path):
    path = write_script(CUES, tmp_path / "out.txt")
    assert path.read_text() == "Hello there.\nHow are you today?\n"


def test_the_preview_label_is_dropped_whether_a_cue_of_its_own_or_the_head_of_line_one(tmp_path):
    own = [Cue(PREVIEW_NOTE, 0.0, 0.4), Cue("Hello.", 0.5, 1.0)]
    merged = [Cue(f"{PREVIEW_NOTE}\nHello.", 0.5, 1.0), Cue("Bye.", 1.5, 2.0)]
    for cues, expected in ((own, ["Hello."]), (merged, ["Hello.", "Bye."])):
        write_script(cues, tmp_path / "out.srt")  # through the file: as `dubkit eval` reads it
        kept, found = without_preview_note(read_script(tmp_path / "out.srt").cues)
        assert found and [c.text for c in kept] == expected
    plain = (Cue("Hello.", 0.5, 1.0),)
    assert without_preview_note(plain) == (plain, False)


SPEAKER_CUES = (
    Cue("Hello & welcome", 0.5, 2.0, "Anna Lee"),
    Cue("Note: this line has no speaker", 1.0, 2.5, None),  # overlaps Anna: another speaker
    Cue("Ratio 3: 1, said S2", 3.0, 4.0, "S2"),
    Cue(": starts with a colon", 4.5, 5.0, None),
)


@pytest.mark.parametrize("ext", ["srt", "vtt", "ass", "json"])
def test_each_format_round_trips_speakers_in_its_own_convention(tmp_path, ext):
    path = write_script(SPEAKER_CUES, tmp_path / f"s.{ext}")
    assert read_script(path).cues == SPEAKER_CUES
    raw = path.read_text("utf-8")
    expected = {"srt": "Anna Lee: Hello & welcome", "vtt": "<v Anna Lee>Hello &amp; welcome",
                "ass": "Anna Lee,0,0,0,,Hello & welcome", "json": '"name": "Anna Lee"'}[ext]
    assert expected in raw
    if ext == "srt":  # a line that only looks like a speaker prefix is escaped with an empty one
        assert ": Note: this line has no speaker" in raw


def test_srt_and_vtt_speakers_written_by_hand_are_read():
    from dubkit.adapters.subtitles import _speaker_of

    assert _speaker_of("ANNA: Good morning.", "srt") == ("Good morning.", "ANNA")
    assert _speaker_of("10: 30 is late", "srt") == ("10: 30 is late", None)
    assert _speaker_of("\ue000Ben\ue000Hi &lt;3", "vtt") == ("Hi <3", "Ben")


def test_a_speaker_name_a_format_cannot_hold_is_refused(tmp_path):
    with pytest.raises(ScriptError, match="cue 1: speaker name 'Lee, Anna' cannot be written in ASS"):
        write_script([Cue("Hi", 0, 1, "Lee, Anna")], tmp_path / "s.ass")


def test_overlap_is_refused_within_one_speaker_and_names_the_cue(tmp_path):
    path = tmp_path / "s.srt"
    path.write_text("1\n00:00:00,000 --> 00:00:02,000\nAnna: One.\n\n2\n00:00:01,000 --> 00:00:03,000\n"
                    "Ben: Two.\n\n3\n00:00:01,500 --> 00:00:04,000\nAnna: Three.\n", "utf-8")
    with pytest.raises(ScriptError, match=r"cue 3 .*'Three\.'.* overlaps cue 1 'One\.' of the same speaker 'Anna'"):
        read_script(path)


def test_the_cue_limit_is_named_and_an_environment_variable_raises_it(tmp_path, monkeypatch):
    import pytest

    from dubkit.adapters.subtitles import read_script
    from dubkit.errors import InputError, ScriptError

    script = tmp_path / "many.srt"
    script.write_text("".join(f"{i + 1}\n00:00:{i:02d},000 --> 00:00:{i:02d},500\nline {i}\n\n" for i in range(30)),
                      "utf-8")
    monkeypatch.setenv("DUBKIT_MAX_CUES", "20")
    with pytest.raises(ScriptError, match=r"many.srt has 30 cues, over the limit of 20 \(MAX_CUES"):
        read_script(script)
    monkeypatch.setenv("DUBKIT_MAX_CUES", "30")
    assert len(read_script(script).cues) == 30
    monkeypatch.setenv("DUBKIT_MAX_CUES", "lots")
    with pytest.raises(InputError, match="DUBKIT_MAX_CUES='lots' is not a number"):
        read_script(script)
