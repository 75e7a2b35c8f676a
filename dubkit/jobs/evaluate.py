"""The `dubkit eval` job: score a media file's speech against its script and write the reports.

1. resolve the language (bad code -> LanguageError)
2. probe the media (missing, not media, no audio -> MediaError)
3. read and validate the script against the media's duration (ScriptError); a preview output's
   PREVIEW label cue is dropped (it is not speech)
4. decode the audio to 16 kHz mono and transcribe it with the language forced
5. gate: whole file and each cue against the threshold (flag > config file > default)
6. write the JSON and HTML reports atomically
"""
from __future__ import annotations

from dataclasses import replace
from pathlib import Path

from dubkit.adapters.av import probe, read_audio
from dubkit.adapters.subtitles import read_script, without_preview_note
from dubkit.errors import MediaError, OutputError, ScriptError
from eval.asr import SAMPLE_RATE, Recognizer, shared_recognizer
from eval.gate import GateResult, gate, resolve_threshold
from eval.report_html import write_html
from eval.report_json import write_json
from langs import get_language


def evaluate(
    media: str | Path,
    script: str | Path,
    lang: str,
    *,
    asr_model: str | Path | None = None,
    threshold: float | None = None,
    config: Path | None = None,
    json_out: Path | None = None,
    html_out: Path | None = None,
    recognizer: Recognizer | None = None,
) -> GateResult:
    """Run the gate on one file. A failed gate is returned (`passed` False), not raised.

    Pass `recognizer` to reuse a loaded model across calls; otherwise `asr_model` is loaded.
    """
    language = get_language(lang)
    limit = resolve_threshold(language, threshold, config)
    info = probe(media)
    if not info.has_audio:
        raise MediaError(f"{media} has no audio stream to evaluate")
    parsed = read_script(script, duration=info.duration)
    cues, labelled = without_preview_note(parsed.cues)  # a preview output's own SRT: the label is not speech
    if not cues:
        raise ScriptError(f"script {script} holds only dubkit's PREVIEW label, no lines to score")
    for path in (json_out, html_out):  # checked before the slow part, not after it
        if path is not None and not Path(path).absolute().parent.is_dir():
            raise OutputError(f"cannot write report {path}: its folder does not exist")
    recognizer = recognizer or shared_recognizer(asr_model)
    audio = read_audio(media, sample_rate=SAMPLE_RATE, mono=True)
    transcript = recognizer.transcribe(audio, language)
    result = gate(cues, transcript, language, limit)
    notes = result.notes + (("the script's PREVIEW label cue is not speech and was not scored",) if labelled else ())
    result = replace(result, media=str(media), script=str(script), notes=notes)
    for path, write in ((json_out, write_json), (html_out, write_html)):
        if path is None:
            continue
        try:
            write(result, Path(path))
        except OSError as err:  # a folder that exists but refuses the file (read-only, /proc, full disk)
            raise OutputError(f"cannot write report {path}: {err.strerror or err}") from err
    return result
