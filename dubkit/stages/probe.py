"""Stage 1: probe the source video (through the PyAV adapter) and check it can be localized."""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from dubkit.adapters.av import probe
from dubkit.errors import MediaError, require_file
from dubkit.store.files import file_digest

# Audio and video of one programme end together, give or take a codec's padding and a fade-out; streams
# that disagree by more are two programmes (or a broken mux), and the dub would drift (docs/limits.md).
STREAM_LENGTH_TOLERANCE = 5.0  # seconds


@dataclass(frozen=True)
class SourceInfo:
    """What the pipeline needs to know about the source video."""

    path: Path
    duration: float  # seconds
    fps: float
    width: int
    height: int
    has_audio: bool
    sample_rate: int | None
    digest: str  # sha256 of the file: the cache key of everything derived from it


def probe_source(path: Path) -> SourceInfo:
    """Probe `path` and require a readable, non-empty video stream.

    MediaError names the file and what is missing: no such file, not media, zero length, no video
    stream, audio and video that disagree in length, or a limit of the PyAV adapter exceeded. A
    source without audio is accepted (there is nothing to duck; the dub is the only speech), but
    recognition then needs a --source-script.
    """
    path = require_file(path, "source", MediaError)
    info = probe(path)
    if not info.has_video or not info.fps or not info.width or not info.height:
        raise MediaError(f"source {path} has no video stream; localize needs a video to dub")
    if not info.duration or info.duration <= 0:
        raise MediaError(f"source {path} has zero length")
    if info.video_seconds and info.audio_seconds and \
            abs(info.video_seconds - info.audio_seconds) > STREAM_LENGTH_TOLERANCE:
        raise MediaError(
            f"source {path}: its audio lasts {info.audio_seconds:.1f} s but its video {info.video_seconds:.1f} s, "
            f"more than {STREAM_LENGTH_TOLERANCE:g} s apart; trim them to one length"
        )
    return SourceInfo(
        path=path, duration=float(info.duration), fps=float(info.fps), width=int(info.width),
        height=int(info.height), has_audio=bool(info.has_audio), sample_rate=info.sample_rate,
        digest=file_digest(path),
    )
