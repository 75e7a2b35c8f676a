"""The mix rule, shared by the gate (stage 6) and delivery (stage 7): what a window sounds like in the
delivered file, computed from that window alone.

A window's delivered sound is its speech over the bed: the music-and-effects stem when one is given,
else the source's own audio ducked by DUCK_DB across the window (ramped in and out over RAMP_S inside
the window, except at an edge another window continues), else silence. Outside the windows the
delivered sound is the bed untouched. Loudness normalisation is one gain over the whole file, applied
after mixing (stages/deliver.py), so the gate hears the window exactly as delivered up to that gain.

Nothing here holds a whole track: the bed is read span by span (`Bed.read`), so a window costs the
same on a 10-minute source as on an 8-second one.
"""
from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from dubkit.adapters.audio import fit_length, resample, sample_span, to_stereo
from dubkit.adapters.av import read_audio_span
from dubkit.stages.probe import SourceInfo
from dubkit.store.files import file_digest

SAMPLE_RATE = 48_000
DUCK_DB = -30.0  # the original under new speech: at -18 and -24 dB Whisper base still heard the English
RAMP_S = 0.12  # duck fade in/out, long enough not to pump, short enough not to eat the next word
MIX_VERSION = 2  # 2: ducking per window, ramps inside the window (1: ramps spilled outside it)


@dataclass(frozen=True)
class Bed:
    """What lies under the new speech: `path` (an M&E stem, or the source itself when `ducked`),
    or silence when `path` is None. `digest` names the file's content for cache keys."""

    path: Path | None = None
    ducked: bool = False
    digest: str | None = None

    def identity(self) -> dict:
        """Everything that changes a window's mix besides the render (for cache keys)."""
        return {"version": MIX_VERSION, "bed": self.digest, "ducked": self.ducked, "duck_db": DUCK_DB,
                "ramp_s": RAMP_S, "sample_rate": SAMPLE_RATE}

    def read(self, start: float, end: float) -> np.ndarray:
        """(n, 2) float32 at SAMPLE_RATE: the bed over [start, end) seconds, untouched."""
        a, b = sample_span(start, end, SAMPLE_RATE)
        if self.path is None:
            return np.zeros((b - a, 2), np.float32)
        return to_stereo(read_audio_span(self.path, start, end, SAMPLE_RATE))


@dataclass(frozen=True)
class WindowSpan:
    """A window's place on the delivered timeline: [start, end) seconds, and whether another window
    with new speech continues it at the start or at the end (no ramp there: the bed stays ducked)."""

    start: float
    end: float
    joined_before: bool = False
    joined_after: bool = False


def window_spans(spans: Sequence[tuple[float, float]]) -> tuple[WindowSpan, ...]:
    """The spans of every window that gets new speech, in the order given, with their joins."""
    starts = {round(s, 6) for s, _ in spans}
    ends = {round(e, 6) for _, e in spans}
    return tuple(WindowSpan(s, e, round(s, 6) in ends, round(e, 6) in starts) for s, e in spans)


def duck_gain(n: int, joined_before: bool = False, joined_after: bool = False) -> np.ndarray:
    """(n,) float32 gain for the ducked original across one window: DUCK_DB, ramped at free edges."""
    duck = 10 ** (DUCK_DB / 20)
    gain = np.full(n, duck, np.float32)
    ramp = min(round(RAMP_S * SAMPLE_RATE), n // 2)
    if ramp > 0:
        fade = np.linspace(1.0, duck, ramp, endpoint=False, dtype=np.float32)
        if not joined_before:
            gain[:ramp] = fade
        if not joined_after:
            gain[n - ramp :] = fade[::-1]
    return gain


def mix_window(bed: Bed, span: WindowSpan, audio: np.ndarray, sample_rate: int) -> np.ndarray:
    """(n, 2) float32 at SAMPLE_RATE: the window's speech (`audio`, (samples, channels) at `sample_rate`,
    trimmed or padded to the span) over its bed, exactly as the delivered file carries it before the
    file's one loudness gain."""
    a, b = sample_span(span.start, span.end, SAMPLE_RATE)
    under = bed.read(span.start, span.end)
    if bed.ducked:
        under *= duck_gain(b - a, span.joined_before, span.joined_after)[:, None]
    return under + fit_length(to_stereo(resample(audio, sample_rate, SAMPLE_RATE)), b - a)


def bed_for(source: SourceInfo, me_track: Path | None) -> Bed:
    """The job's bed: the M&E stem when given, else the source's audio (ducked), else silence."""
    if me_track is not None:
        return Bed(Path(me_track), ducked=False, digest=file_digest(Path(me_track)))
    if source.has_audio:
        return Bed(source.path, ducked=True, digest=source.digest)
    return Bed()


CHUNK_S = 10.0  # the longest stretch of bed read at once between windows


def timeline(bed: Bed, duration: float,
             windows: Sequence[tuple[WindowSpan, np.ndarray, int]]) -> Iterator[np.ndarray]:
    """The whole delivered sound before the loudness gain, as consecutive (n, 2) float32 chunks that add
    up to round(duration * SAMPLE_RATE) samples: the bed between windows (in pieces of at most CHUNK_S),
    `mix_window` inside each (`windows`: span, audio, its sample rate). One window is in memory at a time."""
    n = round(duration * SAMPLE_RATE)
    cursor = 0  # samples laid so far
    for span, audio, rate in sorted(windows, key=lambda w: w[0].start):
        a, b = sample_span(span.start, span.end, SAMPLE_RATE)
        yield from _bed_between(bed, cursor, min(a, n))
        if b > cursor and a < n:
            chunk = mix_window(bed, span, audio, rate)[max(0, cursor - a) : n - a]
            yield chunk
            cursor = max(cursor, a) + len(chunk)
    yield from _bed_between(bed, cursor, n)


def _bed_between(bed: Bed, a: int, b: int) -> Iterator[np.ndarray]:
    step = round(CHUNK_S * SAMPLE_RATE)
    for lo in range(a, b, step):
        hi = min(b, lo + step)
        yield fit_length(bed.read(lo / SAMPLE_RATE, hi / SAMPLE_RATE), hi - lo)
