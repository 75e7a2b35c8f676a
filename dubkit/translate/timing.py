"""Timing fit: will each line, spoken in its language, fit the time it has?

Durations come from langs (`estimate_duration`: the language's measured speaking rate plus pauses
for punctuation). A line may be sped up at most the language's limit (langs.MAX_SPEED_FACTOR) and
is never slowed down to fill its slot: users hear squeezed speech and stretched short lines as the
two ways dubbing goes wrong (users' most common complaint, docs/translation.md), so a line that needs
more than the limit is flagged for the translator instead.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

from dubkit.errors import ScriptError
from eval.types import Cue
from langs import MAX_SPEED_FACTOR, Language, estimate_duration
from langs.duration import speaking_rate


@dataclass(frozen=True)
class LineFit:
    """How one line fits its time.

    budget: seconds available (the cue's duration unless a budget was given).
    estimated: seconds the line takes at the language's normal rate.
    ratio: estimated / budget (inf for a zero budget with words to say).
    speed_factor: how much the speech must be sped up: max(1, ratio); 1 means natural speed.
    max_speed: the limit it was compared with. fits: ratio <= max_speed.
    """

    index: int
    text: str
    language: str
    start: float | None
    end: float | None
    budget: float
    estimated: float
    ratio: float
    speed_factor: float
    max_speed: float
    fits: bool

    @property
    def overflow(self) -> float:
        """Seconds the line is too long even at the maximum speed (0 when it fits)."""
        return max(0.0, self.estimated / self.max_speed - self.budget)


def fit_line(
    text: str,
    language: Language,
    budget: float,
    *,
    index: int = 0,
    start: float | None = None,
    end: float | None = None,
    max_speed: float = MAX_SPEED_FACTOR,
) -> LineFit:
    """Estimate `text`'s spoken duration in `language` and compare it with `budget` seconds."""
    if budget < 0 or math.isnan(budget):
        raise ScriptError(f"line {index + 1} has a negative time budget ({budget} s): {text!r}")
    if max_speed < 1.0:
        raise ScriptError(f"max speed factor {max_speed} is below 1 (lines are never slowed down)")
    estimated = estimate_duration(text, language) if text.strip() else 0.0
    if estimated == 0.0:
        ratio = 0.0
    else:
        ratio = estimated / budget if budget > 0 else math.inf
    return LineFit(
        index=index,
        text=text,
        language=language.code,
        start=start,
        end=end,
        budget=budget,
        estimated=estimated,
        ratio=ratio,
        speed_factor=max(1.0, ratio),
        max_speed=max_speed,
        fits=ratio <= max_speed,
    )


def fit_cues(
    cues: Sequence[Cue],
    language: Language,
    budgets: Sequence[float] | None = None,
    *,
    max_speed: float = MAX_SPEED_FACTOR,
) -> tuple[LineFit, ...]:
    """Fit every cue; budgets default to each cue's own duration (its slot in the timeline)."""
    if budgets is not None and len(budgets) != len(cues):
        raise ScriptError(f"{len(budgets)} time budgets for {len(cues)} lines")
    fits = []
    for i, cue in enumerate(cues):
        if budgets is not None:
            budget = budgets[i]
        elif cue.timed:
            budget = cue.duration  # type: ignore[assignment]
        else:
            raise ScriptError(f"line {i + 1} has no timing, so its time budget is unknown: {cue.text!r}")
        fits.append(fit_line(cue.text, language, budget, index=i, start=cue.start, end=cue.end, max_speed=max_speed))
    return tuple(fits)


def overflowing(fits: Sequence[LineFit]) -> tuple[LineFit, ...]:
    """The lines that cannot fit even at the maximum speed."""
    return tuple(f for f in fits if not f.fits)


def max_units(language: Language, budget: float, max_speed: float = MAX_SPEED_FACTOR) -> int:
    """About how many of the language's units (syllables, morae, characters) fit in `budget` seconds
    at the maximum speed, at the delivery pace `estimate_duration` assumes, pauses ignored: a guide for
    translators, not the check itself."""
    return max(0, math.floor(budget * speaking_rate(language) * max_speed))
