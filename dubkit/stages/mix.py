"""The mix rule, shared by the gate (stage 6) and delivery (stage 7): what a window sounds like in the
delivered file, computed from that window alone.

A window's delivered sound is its speech over the bed: the music-and-effects stem when one is given,
else the source's own audio ducked by DUCK_DB across the window (ramped in and out over RAMP_S inside
the window, except at an edge another window continues), else silence. Outside the windows the
delivered sound is the bed untouched. Delivery's stems come from the same rule (`stems`: the dialogue
stem is the speech, the M&E stem the bed as ducked; dialogue + M&E = mix). The loudness step after mixing
(stages/delivery/loudness.py) is one linear gain over the whole file when the profile's target is
reachable under its true-peak ceiling, so the gate hears the window exactly as delivered up to that gain;
otherwise a true-peak limiter's slowly varying gain curve follows it.

A window's mix reads only its own span of the bed (`Bed.read`), so gating a window costs the same on a
10-minute source as on an 8-second one; delivery streams the whole timeline block by block to files
(`write_stems`), so it never holds more than a window or CHUNK_S of it either.
"""
from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import ExitStack
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from dubkit.adapters.audio import fit_length, resample, sample_span, to_stereo, wav_writer
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


def window_stems(bed: Bed, span: WindowSpan, audio: np.ndarray, sample_rate: int) -> tuple[np.ndarray, np.ndarray]:
    """(speech, under), each (n, 2) float32 at SAMPLE_RATE over the window's span: its speech (`audio`,
    (samples, channels) at `sample_rate`, trimmed or padded to the span) and the bed under it (ducked
    when the bed is the source's own audio). The window's delivered sound is their sum (`mix_window`)."""
    a, b = sample_span(span.start, span.end, SAMPLE_RATE)
    under = bed.read(span.start, span.end)
    if bed.ducked:
        under *= duck_gain(b - a, span.joined_before, span.joined_after)[:, None]
    return fit_length(to_stereo(resample(audio, sample_rate, SAMPLE_RATE)), b - a), under


def mix_window(bed: Bed, span: WindowSpan, audio: np.ndarray, sample_rate: int) -> np.ndarray:
    """(n, 2) float32 at SAMPLE_RATE: the window's speech over its bed, exactly as the delivered file
    carries it before the file's loudness step."""
    speech, under = window_stems(bed, span, audio, sample_rate)
    return under + speech


def bed_for(source: SourceInfo, me_track: Path | None) -> Bed:
    """The job's bed: the M&E stem when given, else the source's audio (ducked), else silence."""
    if me_track is not None:
        return Bed(Path(me_track), ducked=False, digest=file_digest(Path(me_track)))
    if source.has_audio:
        return Bed(source.path, ducked=True, digest=source.digest)
    return Bed()


CHUNK_S = 10.0  # the longest stretch of bed read (and of a stem written) at once between windows


@dataclass(frozen=True)
class StemFiles:
    """The delivered sound before the loudness step, on disk: the dialogue and M&E stems and their sum, the
    mix, each a 48 kHz stereo float32 WAV of exactly `samples` samples."""

    dialogue: Path
    effects: Path
    mix: Path
    samples: int


def stem_blocks(bed: Bed, duration: float,
                windows: Sequence[tuple[WindowSpan, np.ndarray, int]]) -> Iterator[tuple[np.ndarray, np.ndarray]]:
    """The whole delivered sound before the loudness step as consecutive (dialogue, effects) blocks, each
    (n_i, 2) float32, together round(duration * SAMPLE_RATE) samples: the bed untouched between windows (in
    pieces of at most CHUNK_S), `window_stems` inside each (`windows`: span, audio, its sample rate). Their
    sum is the mix, and inside each window it is exactly `mix_window`, what the gate heard. Only one block
    is held at a time, so a 10-minute timeline costs what a window costs."""
    n = round(duration * SAMPLE_RATE)
    cursor = 0  # samples yielded so far
    for span, audio, rate in sorted(windows, key=lambda w: w[0].start):
        a, b = sample_span(span.start, span.end, SAMPLE_RATE)
        yield from _bed_blocks(bed, cursor, min(a, n))
        if b > cursor and a < n:
            speech, under = (x[max(0, cursor - a) : n - a] for x in window_stems(bed, span, audio, rate))
            yield speech, under
            cursor = max(cursor, a) + len(speech)
    yield from _bed_blocks(bed, cursor, n)


def write_stems(bed: Bed, duration: float, windows: Sequence[tuple[WindowSpan, np.ndarray, int]],
                folder: Path) -> StemFiles:
    """`stem_blocks` written to `folder` as unlevelled-{dialogue,effects,mix}.wav (float32), block by block."""
    folder = Path(folder)
    paths = [folder / f"unlevelled-{name}.wav" for name in ("dialogue", "effects", "mix")]
    with ExitStack() as stack:
        n = round(duration * SAMPLE_RATE)
        files = [stack.enter_context(wav_writer(p, SAMPLE_RATE, 2, frames=n)) for p in paths]
        samples = 0
        for dialogue, effects in stem_blocks(bed, duration, windows):
            for f, block in zip(files, (dialogue, effects, dialogue + effects), strict=True):
                f.write(block)
            samples += len(dialogue)
    return StemFiles(*paths, samples)


def _bed_blocks(bed: Bed, a: int, b: int) -> Iterator[tuple[np.ndarray, np.ndarray]]:
    step = round(CHUNK_S * SAMPLE_RATE)
    for lo in range(a, b, step):
        hi = min(b, lo + step)
        yield np.zeros((hi - lo, 2), np.float32), fit_length(bed.read(lo / SAMPLE_RATE, hi / SAMPLE_RATE), hi - lo)
