"""The `dubkit transcribe` job: the timed source script of a media file, written by extension."""
from __future__ import annotations

from pathlib import Path

from dubkit.adapters.av import probe, read_audio
from dubkit.adapters.subtitles import Script, check_writable_format, write_script
from dubkit.errors import MediaError, OutputError
from dubkit.stages.diarize import diarize as find_speakers
from dubkit.stages.diarize import only_renames, rename_speakers, split_at_speakers
from eval.asr import SAMPLE_RATE, Recognizer, shared_recognizer
from eval.types import Cue, Transcript
from langs import get_language


def transcript_cues(transcript: Transcript) -> tuple[Cue, ...]:
    """One cue per recognised segment, trimmed to its first and last word when word times exist.

    Cues never overlap (a script with overlapping cues is refused on reading): a segment whose first
    word starts before the previous cue ends starts where that cue ends.
    """
    cues: list[Cue] = []
    for seg in transcript.segments:
        text = " ".join(seg.text.split())
        if not text:
            continue
        start = seg.words[0].start if seg.words else seg.start
        end = seg.words[-1].end if seg.words else seg.end
        if cues and start < cues[-1].end:
            start = cues[-1].end
        end = max(end, start + 0.01)  # Whisper can give a one-word segment a zero-length span
        cues.append(Cue(text=text, start=start, end=end))
    return tuple(cues)


def transcribe(
    media: str | Path,
    out: str | Path,
    *,
    lang: str | None = None,
    asr_model: str | Path | None = None,
    recognizer: Recognizer | None = None,
    diarize: bool = False,
    speakers: int | None = None,
    names: dict[str, str] | None = None,
) -> Script:
    """Transcribe `media` and write the timed script to `out` (.srt .vtt .ass .json .txt).

    `lang=None` lets Whisper detect the language. No speech gives an empty script file and an
    empty Script (the caller says so), not an error. With `diarize` (or a `speakers` count) each cue
    carries its speaker (S1, S2 ... or the `names` given for them) and a segment spoken by two people
    is split where the speaker changes (docs/speakers.md).
    """
    language = get_language(lang) if lang is not None else None
    renames = only_renames(names or {}, "transcribe")
    diarize = diarize or bool(renames)
    out = Path(out)
    check_writable_format(out)  # before recognition, which takes a while
    if not out.absolute().parent.is_dir():
        raise OutputError(f"cannot write script {out}: its folder does not exist")
    info = probe(media)
    if not info.has_audio:
        raise MediaError(f"{media} has no audio stream to transcribe")
    recognizer = recognizer or shared_recognizer(asr_model)
    audio = read_audio(media, sample_rate=SAMPLE_RATE, mono=True)
    transcript = recognizer.transcribe(audio, language)
    if diarize or speakers is not None:
        cues = rename_speakers(split_at_speakers(transcript, find_speakers(audio, speakers=speakers)), renames)
    else:
        cues = transcript_cues(transcript)
    write_script(cues, out)
    return Script(cues=cues, timed=True, path=out)
