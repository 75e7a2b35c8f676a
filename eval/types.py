"""Typed values shared by the quality gate and the pipeline.

Times are seconds as floats throughout; conversion to milliseconds or frames happens only at a
format boundary (subtitle files, video frames).
"""
from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Cue:
    """One line of a script: what is said, by whom, and when.

    `start`/`end` are seconds from the start of the media; both are None for an untimed script
    (plain text), which is scored against the whole file only.
    """

    text: str
    start: float | None = None
    end: float | None = None
    speaker: str | None = None

    @property
    def timed(self) -> bool:
        return self.start is not None and self.end is not None

    @property
    def duration(self) -> float | None:
        return None if not self.timed else self.end - self.start  # type: ignore[operator]


@dataclass(frozen=True)
class Word:
    """One recognised word with its time span and recogniser confidence."""

    text: str
    start: float
    end: float
    probability: float


@dataclass(frozen=True)
class TranscriptSegment:
    """One segment of recognised speech."""

    start: float
    end: float
    text: str
    words: tuple[Word, ...] = ()


@dataclass(frozen=True)
class Transcript:
    """What the recogniser heard in a piece of audio."""

    language: str  # the Whisper language code that was forced
    duration: float  # seconds of audio that were transcribed
    segments: tuple[TranscriptSegment, ...]
    model: str  # model identity (name or folder) for reports and cache keys

    @property
    def text(self) -> str:
        return " ".join(s.text.strip() for s in self.segments).strip()

    def words_between(self, start: float, end: float) -> tuple[Word, ...]:
        """Words whose midpoint falls inside [start, end)."""
        return tuple(
            w for s in self.segments for w in s.words if start <= (w.start + w.end) / 2 < end
        )
