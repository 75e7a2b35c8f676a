"""The one jiwer adapter: score a hypothesis against a reference in a language's units.

Texts are normalised by the language first (case, punctuation, numerals, Chinese to simplified),
then split into scoring units: words for WER languages, characters for CER languages. jiwer aligns
the unit sequences; we keep its counts and the unit-by-unit alignment for the reports.
"""
from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import jiwer

from langs import Language, get_language, normalize_for_scoring, scoring_units


@dataclass(frozen=True)
class AlignedUnit:
    """One step of the alignment: `op` is "equal", "substitute", "delete" or "insert".

    `ref` is None for an insertion, `hyp` is None for a deletion.
    """

    op: str
    ref: str | None
    hyp: str | None


@dataclass(frozen=True)
class Score:
    """The error counts and alignment of one hypothesis against one reference.

    `error_rate` = (substitutions + deletions + insertions) / (hits + substitutions + deletions),
    the number of reference units; it can exceed 1.0 when the hypothesis has many extra units.
    An empty reference scores 0.0 against an empty hypothesis and 1.0 against anything else.
    """

    metric: str  # "wer" or "cer"
    error_rate: float
    hits: int
    substitutions: int
    deletions: int
    insertions: int
    reference: str  # the normalised reference that was scored
    hypothesis: str  # the normalised hypothesis that was scored
    alignment: tuple[AlignedUnit, ...]

    @property
    def reference_units(self) -> int:
        return self.hits + self.substitutions + self.deletions

    @property
    def errors(self) -> int:
        return self.substitutions + self.deletions + self.insertions


def units(text: str, language: Language | str) -> list[str]:
    """The scoring units of `text` after the language's normalisation."""
    lang = language if isinstance(language, Language) else get_language(language)
    return list(scoring_units(normalize_for_scoring(text, lang), lang))


def score(reference: str, hypothesis: str, language: Language | str) -> Score:
    """Score `hypothesis` against `reference` with the language's metric (WER or CER)."""
    lang = language if isinstance(language, Language) else get_language(language)
    return score_units(units(reference, lang), units(hypothesis, lang), lang.metric)


def score_units(ref_units: list[str], hyp_units: list[str], metric: str) -> Score:
    """Score two sequences of already normalised units (words for "wer", characters for "cer")."""
    if not ref_units:
        # jiwer refuses an empty reference; every hypothesis unit is then an insertion.
        return from_alignment(metric, [AlignedUnit("insert", None, u) for u in hyp_units])
    # Units never contain whitespace, so jiwer's default split on spaces gives them back intact.
    out = jiwer.process_words(" ".join(ref_units), " ".join(hyp_units))
    alignment: list[AlignedUnit] = []
    for chunk in out.alignments[0]:
        ref_span = ref_units[chunk.ref_start_idx : chunk.ref_end_idx]
        hyp_span = hyp_units[chunk.hyp_start_idx : chunk.hyp_end_idx]
        if chunk.type == "insert":
            alignment += [AlignedUnit("insert", None, u) for u in hyp_span]
        elif chunk.type == "delete":
            alignment += [AlignedUnit("delete", u, None) for u in ref_span]
        else:  # "equal" and "substitute" pair units one to one
            alignment += [AlignedUnit(chunk.type, r, h) for r, h in zip(ref_span, hyp_span, strict=True)]
    result = from_alignment(metric, alignment)
    # The counts we derive must be jiwer's own; a mismatch would mean the alignment was misread.
    assert (result.hits, result.substitutions, result.deletions, result.insertions) == (
        out.hits, out.substitutions, out.deletions, out.insertions
    )
    return result


def split_alignment(whole: Score, line_units: Sequence[Sequence[str]]) -> tuple[Score, ...]:
    """Cut a whole-text alignment where each line's reference units end: one Score per line.

    An insertion belongs to the line of the next reference unit (to the last line at the very end).
    """
    bounds, total = [], 0
    for ref in line_units:
        total += len(ref)
        bounds.append(total)
    per_line: list[list[AlignedUnit]] = [[] for _ in line_units]
    consumed, line = 0, 0
    for step in whole.alignment:
        while line < len(line_units) - 1 and consumed >= bounds[line]:
            line += 1
        per_line[line].append(step)
        if step.ref is not None:
            consumed += 1
    return tuple(from_alignment(whole.metric, steps) for steps in per_line)


def score_lines(lines: Sequence[str], heard: str, language: Language | str) -> tuple[Score, ...]:
    """Score what was heard for several lines spoken together, then split it line by line (the
    localize report: a window's lines share one recognition)."""
    lang = language if isinstance(language, Language) else get_language(language)
    line_units = [units(line, lang) for line in lines]
    whole = score_units([u for line in line_units for u in line], units(heard, lang), lang.metric)
    return split_alignment(whole, line_units)


def from_alignment(metric: str, alignment: list[AlignedUnit] | tuple[AlignedUnit, ...]) -> Score:
    """Build a Score from alignment steps (used to split a whole-file alignment line by line)."""
    count = {op: 0 for op in ("equal", "substitute", "delete", "insert")}
    for step in alignment:
        count[step.op] += 1
    n_ref = count["equal"] + count["substitute"] + count["delete"]
    errors = count["substitute"] + count["delete"] + count["insert"]
    if n_ref:
        rate = errors / n_ref
    else:
        rate = 0.0 if not errors else 1.0
    sep = "" if metric == "cer" else " "
    return Score(
        metric=metric,
        error_rate=rate,
        hits=count["equal"],
        substitutions=count["substitute"],
        deletions=count["delete"],
        insertions=count["insert"],
        reference=sep.join(s.ref for s in alignment if s.ref is not None),
        hypothesis=sep.join(s.hyp for s in alignment if s.hyp is not None),
        alignment=tuple(alignment),
    )
