"""Diarization error rate (DER), as docs/speakers.md defines it.

DER = (missed speech + false alarm + speaker confusion) / total reference speech, all in seconds:
- a collar (0.25 s by default) on each side of every reference turn boundary is not scored, because
  where exactly a turn starts is uncertain by about that much;
- reference and system speakers are paired one-to-one to maximise their overlapping time (the
  Hungarian algorithm, scipy's `linear_sum_assignment`); an unpaired system speaker is always wrong;
- at each instant with R reference and S system speakers of which C are correctly paired:
  miss = max(0, R - S), false alarm = max(0, S - R), confusion = min(R, S) - C.
The time line is cut at every boundary, so the result is exact (no frames).
"""
from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from itertools import pairwise

import numpy as np

from eval.errors import EvalError

COLLAR = 0.25

Segment = tuple[float, float, str]  # (start, end, speaker) in seconds


@dataclass(frozen=True)
class DiarizationError:
    """The error terms in seconds, the scored reference speech, the pairing used, and DER."""

    missed: float
    false_alarm: float
    confusion: float
    reference: float
    mapping: dict[str, str]  # system speaker -> reference speaker

    @property
    def der(self) -> float:
        if self.reference <= 0:
            return 0.0 if self.missed + self.false_alarm + self.confusion == 0 else float("inf")
        return (self.missed + self.false_alarm + self.confusion) / self.reference


def _check(segments: Iterable[Segment], name: str) -> list[Segment]:
    out = []
    for start, end, speaker in segments:
        if not end >= start >= 0:
            raise EvalError(f"{name} turn {speaker!r} [{start}, {end}] does not run forward from >= 0")
        out.append((float(start), float(end), str(speaker)))
    return out


def _no_score_zones(reference: list[Segment], collar: float) -> list[tuple[float, float]]:
    return [(t - collar, t + collar) for s, e, _ in reference for t in (s, e)] if collar > 0 else []


def _pieces(reference: list[Segment], system: list[Segment], zones: list[tuple[float, float]]):
    """Elementary intervals between all boundaries, with their scored length (outside the collars)."""
    cuts = sorted({x for s, e, _ in [*reference, *system] for x in (s, e)} | {x for z in zones for x in z})
    for a, b in pairwise(cuts):
        mid = (a + b) / 2
        if b > a and not any(lo <= mid < hi for lo, hi in zones):
            yield a, b, mid


def _active(segments: list[Segment], t: float) -> set[str]:
    return {spk for s, e, spk in segments if s <= t < e}


def diarization_error(
    reference: Sequence[Segment], system: Sequence[Segment], *, collar: float = COLLAR
) -> DiarizationError:
    """DER of `system` turns against `reference` turns (see the module docstring)."""
    from scipy.optimize import linear_sum_assignment

    ref, hyp = _check(reference, "reference"), _check(system, "system")
    zones = _no_score_zones(ref, collar)
    pieces = [(b - a, _active(ref, mid), _active(hyp, mid)) for a, b, mid in _pieces(ref, hyp, zones)]
    ref_names = sorted({s for _, _, s in ref})
    hyp_names = sorted({s for _, _, s in hyp})
    overlap = np.zeros((len(hyp_names), len(ref_names)))
    for length, r, h in pieces:
        for i, hs in enumerate(hyp_names):
            if hs in h:
                for j, rs in enumerate(ref_names):
                    overlap[i, j] += length if rs in r else 0.0
    rows, cols = linear_sum_assignment(overlap, maximize=True) if overlap.size else ([], [])
    mapping = {hyp_names[i]: ref_names[j] for i, j in zip(rows, cols, strict=True)}
    missed = false_alarm = confusion = total = 0.0
    for length, r, h in pieces:
        correct = len({mapping[s] for s in h if s in mapping} & r)
        missed += length * max(0, len(r) - len(h))
        false_alarm += length * max(0, len(h) - len(r))
        confusion += length * (min(len(r), len(h)) - correct)
        total += length * len(r)
    return DiarizationError(missed, false_alarm, confusion, total, mapping)
