"""The quality gate: score a transcript against its script and decide pass or fail.

A failed gate is a result (`GateResult.passed` is False), never an exception. Exceptions are kept
for input that cannot be scored at all (an empty reference, a bad threshold or config file).
"""
from __future__ import annotations

import json
import math
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from eval.errors import EvalError
from eval.scoring import Score, score_units, split_alignment, units
from eval.types import Cue, Transcript
from langs import LANGUAGES, Language, get_language

try:  # Python 3.11+
    import tomllib
except ModuleNotFoundError:  # Python 3.10
    import tomli as tomllib  # type: ignore[no-redef]

# Default thresholds on the whole-file error rate, per language code (pass if error_rate <= threshold): the
# languages' own figures (langs: Language.gate_threshold; the reasons are in docs/eval.md).
DEFAULT_THRESHOLDS: dict[str, float] = {code: lang.gate_threshold for code, lang in LANGUAGES.items()}


@dataclass(frozen=True)
class SegmentResult:
    """One cue scored on its own: its time span (None for an untimed script) and score."""

    index: int
    start: float | None
    end: float | None
    reference: str  # the cue text as written in the script
    hypothesis: str  # what the recogniser heard for it, as written by the recogniser
    score: Score
    passed: bool  # this cue's own error rate against the same threshold (informative)

    @property
    def error_rate(self) -> float:
        return self.score.error_rate


@dataclass(frozen=True)
class GateResult:
    """The gate's verdict on one piece of audio in one language."""

    language: str  # the dubkit language code
    metric: str  # "wer" or "cer"
    threshold: float
    whole: Score  # the whole script against the whole transcript; decides `passed`
    segments: tuple[SegmentResult, ...]
    transcript: Transcript
    notes: tuple[str, ...] = ()
    media: str | None = None
    script: str | None = None

    @property
    def error_rate(self) -> float:
        return self.whole.error_rate

    @property
    def passed(self) -> bool:
        return self.whole.error_rate <= self.threshold

    @property
    def model(self) -> str:
        return self.transcript.model


def _check_threshold(value: float, source: str) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
        raise EvalError(f"threshold {value!r} from {source} is not a number")
    if value < 0:
        raise EvalError(f"threshold {value!r} from {source} is negative")
    return float(value)


def load_thresholds(config: Path) -> dict[str, float]:
    """Per-language thresholds from a TOML (`[thresholds]` table) or JSON (`{"thresholds": {}}`) file.

    Language names may be any alias `langs` knows (zh-CN, cmn ...); they are stored by code.
    """
    path = Path(config)
    if not path.is_file():
        raise EvalError(f"threshold config file {path} does not exist")
    try:
        text = path.read_text(encoding="utf-8")
        data = json.loads(text) if path.suffix.lower() == ".json" else tomllib.loads(text)
    except (UnicodeDecodeError, json.JSONDecodeError, tomllib.TOMLDecodeError) as err:
        raise EvalError(f"threshold config file {path} cannot be parsed: {err}") from err
    table = data.get("thresholds") if isinstance(data, dict) else None
    if table is None and isinstance(data, dict) and isinstance(data.get("eval"), dict):
        table = data["eval"].get("thresholds")
    if not isinstance(table, dict):
        raise EvalError(f"threshold config file {path} has no [thresholds] table")
    return {
        get_language(name).code: _check_threshold(value, f"{path} [thresholds] {name}")
        for name, value in table.items()
    }


def resolve_threshold(
    language: Language | str, flag: float | None = None, config: Path | None = None
) -> float:
    """The threshold for `language`: the flag, else the config file's entry, else the default."""
    lang = language if isinstance(language, Language) else get_language(language)
    if flag is not None:
        return _check_threshold(flag, "--threshold")
    if config is not None:
        table = load_thresholds(config)
        if lang.code in table:
            return table[lang.code]
    return DEFAULT_THRESHOLDS[lang.code]


def _as_cues(reference: str | Sequence[Cue]) -> tuple[Cue, ...]:
    cues = (Cue(text=reference),) if isinstance(reference, str) else tuple(reference)
    if not cues:
        raise EvalError("the reference script has no lines to score")
    timed = {c.timed for c in cues}
    if len(timed) > 1:
        untimed = [i + 1 for i, c in enumerate(cues) if not c.timed]
        raise EvalError(
            f"the reference script mixes timed and untimed lines: line(s) {untimed[:5]}"
            f"{' ...' if len(untimed) > 5 else ''} have no start and end time"
        )
    return cues


def gate(
    reference: str | Sequence[Cue],
    transcript: Transcript,
    language: Language | str,
    threshold: float | None = None,
) -> GateResult:
    """Score `transcript` against a reference text or cues and compare with the threshold.

    Timed cues are each scored against the recognised words whose midpoint lies in the cue's span;
    untimed lines are scored by splitting the whole-file alignment at line boundaries. The whole
    file (all lines against everything recognised) decides pass or fail. Timed lines are put in
    start order first: when two speakers overlap, the reference reads the one who started first,
    then the other (docs/eval.md), as the recogniser hears a mixture in time order.
    """
    lang = language if isinstance(language, Language) else get_language(language)
    limit = resolve_threshold(lang, threshold)
    cues = _as_cues(reference)
    if cues[0].timed:
        cues = tuple(sorted(cues, key=lambda c: (c.start, c.end)))
    ref_units = [units(c.text, lang) for c in cues]
    if not any(ref_units):
        shown = " / ".join(c.text for c in cues)
        raise EvalError(
            f"the reference script has nothing to score once normalised (no words): {shown[:80]!r}"
        )
    hyp_all = units(transcript.text, lang)
    whole = score_units([u for line in ref_units for u in line], hyp_all, lang.metric)

    notes: list[str] = []
    if not transcript.segments or not hyp_all:
        notes.append("no speech was recognised in the audio: every reference unit is a deletion")
    if cues[0].timed:
        segments = _score_timed(cues, ref_units, transcript, lang, limit, notes)
    else:
        segments = _score_untimed(cues, ref_units, whole, transcript, lang, limit)
    return GateResult(
        language=lang.code,
        metric=lang.metric,
        threshold=limit,
        whole=whole,
        segments=segments,
        transcript=transcript,
        notes=tuple(notes),
    )


def _score_timed(cues, ref_units, transcript, lang, limit, notes) -> tuple[SegmentResult, ...]:
    results = []
    for i, (cue, ref) in enumerate(zip(cues, ref_units, strict=True)):
        words = transcript.words_between(cue.start, cue.end)
        heard = "".join(w.text for w in words).strip()  # Whisper's words carry their own spaces
        seg_score = score_units(ref, units(heard, lang), lang.metric)
        if words == () and transcript.segments:
            notes.append(f"cue {i + 1} ({cue.start:.2f}-{cue.end:.2f} s): no speech recognised in its span")
        results.append(
            SegmentResult(i, cue.start, cue.end, cue.text, heard, seg_score, seg_score.error_rate <= limit)
        )
    inside = sum(len(transcript.words_between(c.start, c.end)) for c in cues)
    outside = sum(len(s.words) for s in transcript.segments) - inside
    if outside > 0:
        notes.append(
            f"{outside} recognised word(s) fall outside every cue: they count in the whole-file score only"
        )
    return tuple(results)


def _score_untimed(cues, ref_units, whole, transcript, lang, limit) -> tuple[SegmentResult, ...]:
    results = []
    for i, (cue, seg_score) in enumerate(zip(cues, split_alignment(whole, ref_units), strict=True)):
        results.append(
            SegmentResult(
                i, None, None, cue.text, seg_score.hypothesis, seg_score, seg_score.error_rate <= limit
            )
        )
    return tuple(results)
