"""Stage 2: the source script — a script the user gives, or speech recognition of the source.

Either way the result is a tuple of timed cues that do not overlap and end inside the source. Long
recognised segments are split at word boundaries so that each cue fits one generation window.
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from dubkit.adapters.subtitles import read_script
from dubkit.errors import MediaError, ScriptError, require_file
from dubkit.stages.plan import MAX_WINDOW
from dubkit.stages.probe import SourceInfo
from dubkit.store.cache import StageCache, cache_key
from eval.asr import LazyRecognizer
from eval.types import Cue, Transcript, TranscriptSegment
from langs import LanguageError, get_language


@dataclass(frozen=True)
class SourceScript:
    """The timed lines spoken in the source."""

    cues: tuple[Cue, ...]
    origin: str  # "file:<path>" or "asr:<model>"
    language: str | None  # detected or given language code of the source speech, if known


def language_from_name(path: Path) -> str | None:
    """The language code a script's name carries (`ad.en.srt` -> "en", `ad.zh-CN.vtt` -> "zh"), else None.
    Multilingual translators need the source language; a user's script names it this way."""
    base, _, tag = Path(path).stem.rpartition(".")
    if not base:
        return None
    try:
        return get_language(tag).code
    except LanguageError:
        return None


def split_segment(segment: TranscriptSegment, max_len: float) -> list[Cue]:
    """One recognised segment as cues of at most `max_len` seconds, cut at the widest word gaps.

    A piece with word times spans its first to its last word (Whisper's segment edges include
    silence); a segment without word times keeps its own span.
    """
    words = list(segment.words)
    if segment.end - segment.start <= max_len or len(words) < 2:
        start, end = (words[0].start, words[-1].end) if words else (segment.start, segment.end)
        if end <= start:  # Whisper can give a one-word segment a zero-length span: keep the segment's
            start, end = segment.start, segment.end
        return [Cue(" ".join(segment.text.split()), start, end)]
    # Cut at the largest pause in the middle half; recurse on both sides.
    lo, hi = len(words) // 4, max(len(words) // 4 + 1, 3 * len(words) // 4)
    cut = max(range(max(1, lo), min(hi, len(words) - 1) + 1), key=lambda k: words[k].start - words[k - 1].end)
    left = TranscriptSegment(words[0].start, words[cut - 1].end, "".join(w.text for w in words[:cut]), tuple(words[:cut]))
    right = TranscriptSegment(words[cut].start, words[-1].end, "".join(w.text for w in words[cut:]), tuple(words[cut:]))
    return split_segment(left, max_len) + split_segment(right, max_len)


def cues_from_transcript(transcript: Transcript, *, duration: float, max_len: float = MAX_WINDOW) -> tuple[Cue, ...]:
    """Recognised segments as the source script: non-overlapping cues inside [0, duration], none longer
    than `max_len`, times rounded to the millisecond. `dubkit transcribe` and `dubkit localize` both
    make their script here, so a transcribed script given back as --source-script is the same script.

    A piece that starts before the previous cue ends starts where that cue ends; one left with no
    time of its own is dropped (it cannot be placed or dubbed).
    """
    cues: list[Cue] = []
    for segment in transcript.segments:
        for cue in split_segment(segment, max_len):
            start = max(cue.start, cues[-1].end if cues else 0.0)  # Whisper's segments can touch or overlap by ms
            end = min(cue.end, duration)
            if cue.text and round(end, 3) > round(start, 3):
                cues.append(Cue(cue.text, round(start, 3), round(end, 3)))
    return tuple(cues)


def load_source_script(
    source: SourceInfo,
    script_path: Path | None,
    cache: StageCache,
    recognizer: LazyRecognizer,
    max_cue: float = MAX_WINDOW,
) -> SourceScript:
    """The user's script (validated against the source), else recognition of the source's speech
    (cached by source content and the recogniser's name). The recogniser's model is loaded only
    when the recognition is not cached."""
    if script_path is not None:
        script_path = require_file(script_path, "source script", ScriptError)
        script = read_script(script_path, duration=source.duration, need_timed=True)
        return SourceScript(cues=tuple(script.cues), origin=f"file:{script_path}",
                            language=language_from_name(script_path))
    if not source.has_audio:
        raise MediaError(
            f"source {source.path} has no audio stream to recognise; give the spoken lines with --source-script"
        )
    key = cache_key("source_script", source=source.digest, asr=recognizer.name, max_cue=max_cue, cues="word-span")
    hit = cache.get_json("source_script", key)
    if hit is None:
        transcript = recognizer.transcribe(source.path, None)
        cues = cues_from_transcript(transcript, duration=source.duration, max_len=max_cue)
        hit = {"language": transcript.language, "model": transcript.model,
               "cues": [[c.text, c.start, c.end, c.speaker] for c in cues]}
        cache.put_json("source_script", key, hit)
    cues = tuple(Cue(t, s, e, sp) for t, s, e, sp in hit["cues"])
    if not cues:
        raise ScriptError(
            f"speech recognition ({recognizer.name}) heard no speech in {source.path}; there is nothing to dub "
            "(give the lines with --source-script if the recogniser missed them)"
        )
    return SourceScript(cues=cues, origin=f"asr:{recognizer.name}", language=hit["language"])
