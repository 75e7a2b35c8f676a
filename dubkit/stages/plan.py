"""Stage 3: plan generation windows from speech segments and shot cuts.

The generator makes clips of at most `MAX_WINDOW` seconds from one reference frame, so a window
must not straddle a shot cut (the new shot would be generated from the old shot's picture) and must
not run longer than the clip. Spans with no speech get no window at all: their original frames
and audio are kept untouched.
"""
from __future__ import annotations

import math
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from dubkit.adapters.av import read_frames, small_frames
from dubkit.adapters.images import shrunk
from dubkit.adapters.subtitles import check_cues
from dubkit.errors import ScriptError
from dubkit.stages.probe import SourceInfo
from dubkit.store.cache import StageCache, cache_key
from eval.types import Cue

# The model's clip length (docs/model.md: 25 fps, 25·S + 1 frames; the official examples generate 5-8 s clips).
MAX_WINDOW = 8.0
# Cues closer than this share a window: a short breath is not worth a separate generation.
JOIN_GAP = 0.6
# Speech is given a little room before and after so the lips can open and close in frame.
PAD = 0.2
# A shot cut is a spike in the mean pixel change between consecutive frames: above CUT_FLOOR and
# CUT_RATIO times the typical change around it (so a pan or a fast gesture, which changes every frame,
# is not a cut), with the grey-level histogram moving too (so a flicker of the same picture is not).
CUT_FLOOR = 0.06
CUT_RATIO = 4.0
CUT_HIST = 0.08
CUT_CONTEXT = 12  # frames either side that define the typical change


@dataclass(frozen=True)
class Window:
    """One span of the source to regenerate: [start, end) seconds, frame-aligned, with its source cues."""

    index: int
    start: float
    end: float
    cues: tuple[Cue, ...]

    @property
    def duration(self) -> float:
        return self.end - self.start


def _histogram(frame: np.ndarray, bins: int = 32) -> np.ndarray:
    gray = frame.astype(np.float32).mean(axis=2) if frame.ndim == 3 else frame.astype(np.float32)
    hist, _ = np.histogram(gray, bins=bins, range=(0.0, 256.0))
    return hist / max(hist.sum(), 1)


def cut_times(frames: Iterable[np.ndarray], fps: float) -> tuple[float, ...]:
    """Times (s) of shot cuts in a frame sequence (small frames suffice; see CUT_* for the rule)."""
    pixel, hist = [], []
    prev_small = prev_hist = None
    for frame in frames:
        small = frame[:: max(1, frame.shape[0] // 64), :: max(1, frame.shape[1] // 64)].astype(np.float32)
        h = _histogram(small)
        if prev_small is not None:
            pixel.append(float(np.abs(small - prev_small).mean()) / 255.0)
            hist.append(0.5 * float(np.abs(h - prev_hist).sum()))
        prev_small, prev_hist = small, h
    change = np.asarray(pixel)
    cuts = []
    for i, value in enumerate(change):
        around = np.concatenate([change[max(0, i - CUT_CONTEXT):i], change[i + 1:i + 1 + CUT_CONTEXT]])
        typical = float(np.median(around)) if around.size else 0.0
        if value > max(CUT_FLOOR, CUT_RATIO * typical) and hist[i] > CUT_HIST:
            cuts.append(round((i + 1) / fps, 6))  # change i is between frames i and i+1
    return tuple(cuts)


def _snap_down(t: float, fps: float) -> float:
    return math.floor(t * fps + 1e-6) / fps


def _snap_up(t: float, fps: float) -> float:
    return math.ceil(t * fps - 1e-6) / fps


def _group(cues: Sequence[Cue], cuts: Sequence[float], max_len: float) -> list[list[Cue]]:
    groups: list[list[Cue]] = []
    for cue in cues:
        if groups:
            group = groups[-1]
            gap_start, gap_end = group[-1].end, cue.start
            cut_between = any(gap_start <= c <= gap_end for c in cuts)
            fits = cue.end - group[0].start + 2 * PAD <= max_len
            if gap_end - gap_start <= JOIN_GAP and not cut_between and fits:
                group.append(cue)
                continue
        groups.append([cue])
    return groups


def plan_windows(
    cues: Sequence[Cue],
    *,
    duration: float,
    fps: float,
    cuts: Sequence[float] = (),
    max_len: float = MAX_WINDOW,
) -> tuple[Window, ...]:
    """Group speech cues into frame-aligned windows of at most `max_len` seconds.

    Cues separated by a pause longer than JOIN_GAP or by a shot cut start a new window; each window
    is padded by PAD around its speech but never crosses a cut, a neighbour or the source's ends.
    Raises ScriptError for cues `check_cues` refuses or one longer than `max_len` (it cannot be
    generated in one clip; split the line in the script).
    """
    check_cues(cues, duration, name="the source script")
    ordered = sorted(cues, key=lambda c: c.start)  # type: ignore[arg-type, return-value]
    for cue in ordered:
        if cue.duration > max_len:  # type: ignore[operator]
            raise ScriptError(
                f"cue {cue.text!r} at {cue.start:.2f}-{cue.end:.2f} s lasts {cue.duration:.2f} s, longer "
                f"than the generator's {max_len:.1f} s clip; split it into shorter lines"
            )
    cuts = sorted(cuts)
    groups = _group(ordered, cuts, max_len)
    windows: list[Window] = []
    lower = 0.0
    for i, group in enumerate(groups):
        speech_start, speech_end = group[0].start, group[-1].end
        next_start = groups[i + 1][0].start if i + 1 < len(groups) else duration
        cut_before = max((c for c in cuts if c <= speech_start), default=0.0)
        cut_after = min((c for c in cuts if c >= speech_end), default=duration)
        lo = max(lower, cut_before, 0.0)
        hi = min(next_start, cut_after, duration)
        start = _snap_down(max(speech_start - PAD, lo), fps)
        if start < lo - 1e-9:
            start = _snap_up(lo, fps)
        end = _snap_up(min(speech_end + PAD, hi), fps)
        if end > hi + 1e-9:
            end = _snap_down(hi, fps)
        while end - start > max_len + 1e-9:  # padding pushed it over: give back pad, keep speech
            if start < _snap_down(speech_start, fps):
                start += 1.0 / fps
            else:
                end -= 1.0 / fps
        assert end > start, (group, start, end)
        windows.append(Window(index=len(windows), start=round(start, 6), end=round(end, 6), cues=tuple(group)))
        lower = end
    return tuple(windows)


def assign_lines(windows: Sequence[Window], cues: Sequence[Cue]) -> tuple[tuple[Cue, ...], ...]:
    """A language's cues split among the windows: each goes to the window it overlaps most
    (nearest window when it overlaps none), so no translated line is ever dropped."""
    buckets: list[list[Cue]] = [[] for _ in windows]
    if not windows:
        return ()
    for cue in cues:
        if not cue.timed:
            raise ScriptError(f"cue {cue.text!r} has no start/end time; it cannot be placed in a window")

        def overlap(w: Window, cue: Cue = cue) -> float:
            return min(w.end, cue.end) - max(w.start, cue.start)  # type: ignore[type-var]

        best = max(range(len(windows)), key=lambda k: overlap(windows[k]))
        if overlap(windows[best]) <= 0:
            mid = (cue.start + cue.end) / 2  # type: ignore[operator]
            best = min(range(len(windows)), key=lambda k: abs((windows[k].start + windows[k].end) / 2 - mid))
        buckets[best].append(cue)
    return tuple(tuple(sorted(b, key=lambda c: c.start)) for b in buckets)


def shot_cuts(path: Path, digest: str, fps: float, cache: StageCache) -> tuple[float, ...]:
    """Shot cuts of the source, cached by its content digest and the detection threshold."""
    key = cache_key("cuts", source=digest, rule=[CUT_FLOOR, CUT_RATIO, CUT_HIST, CUT_CONTEXT], fps=fps)
    hit = cache.get_json("cuts", key)
    if hit is None:
        hit = {"cuts": list(cut_times(small_frames(path), fps))}
        cache.put_json("cuts", key, hit)
    return tuple(hit["cuts"])


def first_frames(path: Path, windows: Sequence[Window]) -> dict[int, np.ndarray]:
    """Each window's first source frame (the generator's reference image), in one decoding pass."""
    frames = read_frames(path, [w.start for w in windows]) if windows else []
    return {w.index: f for w, f in zip(windows, frames, strict=False)}


class FirstFrames(Mapping[int, np.ndarray]):
    """Each window's first source frame, decoded when asked: a long 1080p source has hundreds of
    windows, and holding all their frames at once would take gigabytes."""

    def __init__(self, path: Path, windows: Sequence[Window]) -> None:
        self._path, self._starts = Path(path), {w.index: w.start for w in windows}

    def __getitem__(self, index: int) -> np.ndarray:
        return read_frames(self._path, [self._starts[index]])[0]

    def __iter__(self) -> Iterator[int]:
        return iter(self._starts)

    def __len__(self) -> int:
        return len(self._starts)


SMALL_WIDTH = 320  # columns of the reference frames kept for thumbnails (the report shows 160)


@dataclass(frozen=True)
class Plan:
    """Stage 3's result: where the shots change, the windows to regenerate, each window's first
    frame (the generator's reference image) and the frame size every render must match."""

    cuts: tuple[float, ...]
    windows: tuple[Window, ...]
    references: Mapping[int, np.ndarray]  # window index -> its first frame (FirstFrames: decoded on access)
    width: int
    height: int
    _small: dict[int, np.ndarray] = field(default_factory=dict, compare=False, repr=False)

    def small_reference(self, index: int) -> np.ndarray:
        """The window's first frame scaled to SMALL_WIDTH columns, decoded once per job (every language's
        report row and the mask thumbnail show it, and a seek into a 1080p source costs up to a second);
        a long source's windows together hold a few MB of these."""
        if index not in self._small:
            self._small[index] = shrunk(self.references[index], SMALL_WIDTH)
        return self._small[index]


def make_plan(source: SourceInfo, cues: Sequence[Cue], cache: StageCache) -> Plan:
    """Shot cuts (cached), windows that never cross a cut, and their reference frames."""
    cuts = shot_cuts(source.path, source.digest, source.fps, cache)
    windows = plan_windows(cues, duration=source.duration, fps=source.fps, cuts=cuts)
    return Plan(cuts=cuts, windows=windows, references=FirstFrames(source.path, windows),
                width=source.width, height=source.height)
