"""The delivered file's integrity check (stage 7): a cheap proof that the file carries what was gated.

The gate scored each window as mixed for delivery (stages/mix.py), so the file needs no second
recognition; it needs to be what was gated. Outside the windows, its picture must be the source's (decoded
frames compared on a sample) and its sound the bed's (the source's mix, or the M&E stem) up to the one
loudness gain; inside each window, its sound must be the mix the gate heard, up to that same gain. The
one gain holds for delivery's linear loudness method; when a true-peak limiter had to act, its gain
varies slowly along the file, so every span is still checked by correlation but not for a common gain.
Every failure names the span, so a reviewer can go straight to it.
"""
from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from dubkit.adapters.audio import resample, to_mono
from dubkit.adapters.av import read_audio_span, read_frames
from dubkit.stages.mix import SAMPLE_RATE, Bed, WindowSpan, mix_window

MIN_CORRELATION = 0.99  # the decoded AAC against the samples it was made from scores above 0.999
GAIN_SPREAD_DB = 1.0  # every span's fitted gain within this of the others' median: one gain for the file
MAX_FRAME_DIFF = 6.0  # mean |difference| in 8-bit levels: a re-encode at crf 18 stays near 1
FRAME_SAMPLES = 6  # frames compared outside the windows, spread over the gaps
SILENT_RMS = 1e-4  # a bed span this quiet must stay this quiet (times 10) in the file
MIN_SPAN_S = 0.1  # shorter gaps are left to the neighbouring windows' checks
COMPARE_RATE = 16_000


@dataclass(frozen=True)
class Heard:
    """One window as the gate heard it: its span, the chosen render's audio and its rate."""

    span: WindowSpan
    audio: np.ndarray
    sample_rate: int


def check_delivered(video: Path, source: Path, duration: float, bed: Bed, windows: Sequence[Heard], *,
                    badge: bool = False, one_gain: bool = True, picture: bool = True) -> tuple[str, ...]:
    """Why `video` is not what was gated (empty when it is): sound outside and inside the windows,
    one loudness gain for all of it, and the picture outside the windows. `badge`: the top-left
    corner carries the PREVIEW label and is left out of the picture comparison. `one_gain=False` skips
    the common-gain assertion (a true-peak limiter's gain varies along the file; each span must still
    correlate); `picture=False` skips the picture (burned-in subtitles change it on purpose, and a caller
    that already compared a file with the same coded picture, `check_picture`, need not decode it again)."""
    reasons: list[str] = []
    gains: list[tuple[str, float]] = []
    gaps = gaps_between([w.span for w in windows], duration)
    for start, end in gaps:
        _compare_sound(video, bed.read(start, end), start, end, "sound", reasons, gains)
    for w in windows:
        expected = mix_window(bed, w.span, w.audio, w.sample_rate)
        _compare_sound(video, expected, w.span.start, w.span.end, "window sound", reasons, gains)
    if one_gain:
        reasons += _one_gain(gains)
    if picture:
        reasons += check_picture(video, source, gaps, badge)
    return tuple(reasons)


def gaps_between(spans: Sequence[WindowSpan], duration: float) -> list[tuple[float, float]]:
    """The stretches of the timeline no window covers, each at least MIN_SPAN_S long."""
    out, cursor = [], 0.0
    for span in sorted(spans, key=lambda s: s.start):
        if span.start - cursor >= MIN_SPAN_S:
            out.append((cursor, span.start))
        cursor = max(cursor, span.end)
    if duration - cursor >= MIN_SPAN_S:
        out.append((cursor, duration))
    return out


def _heard_band(audio: np.ndarray) -> np.ndarray:
    """Mono at the recogniser's 16 kHz: the band the gate listens in, where AAC is near transparent
    (above it, AAC may replace noise-like detail by equivalent noise, which no listener can tell)."""
    return resample(to_mono(audio), SAMPLE_RATE, COMPARE_RATE).astype(np.float64)


def _compare_sound(video: Path, expected: np.ndarray, start: float, end: float, what: str,
                   reasons: list[str], gains: list[tuple[str, float]]) -> None:
    x, y = _heard_band(expected), _heard_band(read_audio_span(video, start, end, SAMPLE_RATE))
    where = f"the delivered file's {what} at {start:.2f}-{end:.2f} s"
    if np.sqrt(np.mean(x**2)) < SILENT_RMS:
        level = float(np.sqrt(np.mean(y**2)))
        if level > 10 * SILENT_RMS:
            reasons.append(f"{where} is not the source's: silent there, the file has sound at "
                           f"{20 * np.log10(level):.1f} dBFS")
        return
    corr = float(np.dot(x, y) / max(np.linalg.norm(x) * np.linalg.norm(y), 1e-12))
    if corr < MIN_CORRELATION:
        source = "what the gate heard" if what == "window sound" else "the source's"
        reasons.append(f"{where} is not {source}: correlation {corr:.3f} < {MIN_CORRELATION}")
        return
    gains.append((f"{start:.2f}-{end:.2f} s", 20 * np.log10(max(np.dot(x, y) / np.dot(x, x), 1e-9))))


def _one_gain(gains: list[tuple[str, float]]) -> list[str]:
    if not gains:
        return []
    median = float(np.median([g for _, g in gains]))
    return [f"the delivered file's sound at {span} is {g - median:+.1f} dB off the file's one loudness gain "
            f"({median:+.1f} dB)" for span, g in gains if abs(g - median) > GAIN_SPREAD_DB]


def check_picture(video: Path, source: Path, gaps: Sequence[tuple[float, float]], badge: bool) -> list[str]:
    """Frames at up to FRAME_SAMPLES times spread over the gaps, each the source's frame at that time."""
    if not gaps:
        return []
    picks = [gaps[round(k)] for k in np.linspace(0, len(gaps) - 1, min(FRAME_SAMPLES, len(gaps)))]
    times = [(a + b) / 2 for a, b in picks]
    for (a, b), t, ours, theirs in zip(picks, times, read_frames(video, times), read_frames(source, times),
                                       strict=True):
        if ours.shape != theirs.shape:
            return [f"the delivered file's picture at {t:.2f} s (span {a:.2f}-{b:.2f} s) is "
                    f"{ours.shape[1]}x{ours.shape[0]}, the source's {theirs.shape[1]}x{theirs.shape[0]}"]
        diff = np.abs(ours.astype(np.int16) - theirs.astype(np.int16)).astype(np.float32)
        if badge:  # the PREVIEW label (stages/deliver.py: at (8, 8), text max(10, height / 22) high)
            size = max(10, ours.shape[0] // 22)
            diff[: 8 + 3 * size, : 8 + 6 * size] = 0
        if float(diff.mean()) > MAX_FRAME_DIFF:
            return [f"the delivered file's picture at {t:.2f} s (span {a:.2f}-{b:.2f} s) is not the source's: "
                    f"mean difference {diff.mean():.1f} levels > {MAX_FRAME_DIFF}"]
    return []
