"""Stage 7b, master: one file with the picture once and every language's audio and subtitles.

Tracks in order: the source language first (the original audio as it is, the source script as
subtitles), then each target language (its levelled mix as 24-bit PCM, its delivered subtitles), each
tagged with its ISO 639-2 code and titled with the language's name. The picture is the source's,
re-encoded once as the profile says (ProRes 422 HQ with `--deliver master`, else H.264): with a
generating engine each language's own file keeps its lip-synced picture, and the master the source's.
MOV carries the subtitles as mov_text, MKV as SRT. Written to a temporary name, then renamed.
"""
from __future__ import annotations

import itertools
import os
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from dubkit.adapters import ffmpeg
from dubkit.adapters.audio import write_wav24_blocks
from dubkit.adapters.av import audio_blocks
from dubkit.adapters.subtitles import write_script
from dubkit.errors import OutputError
from dubkit.stages.deliver import SAMPLE_RATE, Deliverable, LanguageSummary
from dubkit.stages.delivery.profiles import DeliveryProfile
from dubkit.stages.probe import SourceInfo
from dubkit.stages.transcribe import SourceScript
from dubkit.store.cache import StageCache, cache_key
from dubkit.store.files import file_digest, write_failed
from langs import LanguageError, get_language

UNDETERMINED = "und"  # ISO 639-2 for a language that is not known


@dataclass(frozen=True)
class MasterSettings:
    """Where the master goes and how: the output folder, the cache, MOV or MKV, the delivery profile."""

    out: Path
    cache: StageCache
    container: str  # "mov" | "mkv"
    profile: DeliveryProfile


def _source_tracks(source: SourceInfo, script: SourceScript, tmp: Path) -> tuple[list, list]:
    """The original audio (24-bit PCM of the source's audio) and the source script, tagged with the
    source language when it is known."""
    try:
        lang = get_language(script.language) if script.language else None
    except LanguageError:
        lang = None
    code = lang.iso639_2 if lang else UNDETERMINED
    name = f"{lang.english_name if lang else 'Original'} (original)"
    audio, subtitles = [], []
    if source.has_audio:  # decoded and written block by block: a long source's sound is never held whole
        blocks = audio_blocks(source.path, SAMPLE_RATE)
        first = next(blocks, None)
        if first is not None:
            wav = write_wav24_blocks(tmp / "source.wav", itertools.chain([first], blocks), SAMPLE_RATE, first.shape[1])
            audio.append(ffmpeg.Track(wav, code, name))
    timed = [c for c in script.cues if c.timed]
    if timed:
        subtitles.append(ffmpeg.Track(write_script(timed, tmp / "source.srt"), code, name))
    return audio, subtitles


def write_master(source: SourceInfo, script: SourceScript, summaries: Sequence[LanguageSummary],
                 settings: MasterSettings) -> Deliverable:
    """Write (or reuse) `<stem>.master.<mov|mkv>` in the output folder; returns it with its sha256."""
    out = Path(settings.out) / f"{source.path.stem}.master.{settings.container}"
    missing = [s.language for s in summaries if s.master_mix is None or not Path(s.master_mix).is_file()]
    if missing:
        raise OutputError(f"no levelled mix kept for {', '.join(missing)}: cannot write the master {out}")
    key = cache_key("master", version=1, source=source.digest, cues=[[c.text, c.start, c.end] for c in script.cues],
                    language=script.language, container=settings.container, profile=settings.profile.name,
                    tracks=[[s.language, file_digest(s.master_mix), file_digest(s.subtitles)] for s in summaries])
    hit = settings.cache.get_json("master", key)
    if hit is not None and out.is_file() and file_digest(out) == hit["sha256"]:
        return Deliverable("master", out, hit["sha256"])
    try:
        with tempfile.TemporaryDirectory(dir=settings.out, prefix=".assemble-master-") as tmp:
            audio, subtitles = _source_tracks(source, script, Path(tmp))
            for s in summaries:
                lang = get_language(s.language)
                title = f"{lang.english_name} (dub)"
                audio.append(ffmpeg.Track(Path(s.master_mix), lang.iso639_2, title))
                if s.subtitles is not None and Path(s.subtitles).stat().st_size > 0:
                    subtitles.append(ffmpeg.Track(Path(s.subtitles), lang.iso639_2, title))
            written = ffmpeg.mux_master(ffmpeg.MasterSpec(
                source=source.path, out=Path(tmp) / out.name, duration=source.duration, fps=source.fps,
                container=settings.container, video_codec=settings.profile.video_codec,
                video_options=settings.profile.video_options,
                audio=tuple(audio), subtitles=tuple(subtitles)))
            os.replace(written, out)
    except OSError as err:
        raise write_failed(out, err) from err
    digest = file_digest(out)
    settings.cache.put_json("master", key, {"sha256": digest})
    return Deliverable("master", out, digest)

