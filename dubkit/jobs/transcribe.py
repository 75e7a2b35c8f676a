"""The `dubkit transcribe` job: the timed source script of a media file, written by extension."""
from __future__ import annotations

from pathlib import Path

from dubkit.adapters.av import probe, read_audio
from dubkit.adapters.subtitles import Script, check_writable_format, write_script
from dubkit.errors import MediaError, OutputError
from dubkit.stages.transcribe import cues_from_transcript
from eval.asr import SAMPLE_RATE, Recognizer, shared_recognizer
from langs import get_language


def transcribe(
    media: str | Path,
    out: str | Path,
    *,
    lang: str | None = None,
    asr_model: str | Path | None = None,
    recognizer: Recognizer | None = None,
) -> Script:
    """Transcribe `media` and write the timed script to `out` (.srt .vtt .ass .json .txt).

    `lang=None` lets Whisper detect the language. The cues are the ones `dubkit localize` makes
    (`dubkit.stages.transcribe.cues_from_transcript`). No speech gives an empty script file and an
    empty Script (the caller says so), not an error.
    """
    language = get_language(lang) if lang is not None else None
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
    cues = cues_from_transcript(transcript, duration=info.duration or transcript.duration)
    write_script(cues, out)
    return Script(cues=cues, timed=True, path=out)
