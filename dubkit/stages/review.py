"""Step 4b, review: a reviewer's decisions applied to the run (docs/review.md).

A review is `OUT/review.json` (or `--review FILE`), written by the report page: per language the
hash of the script the reviewer saw, and per line one decision (approve a take, ask for a retake,
edit the line) and/or a comment. `--retake zh:3` and `--unpin zh:3` are the command-line shortcuts.

- edit: the line's text is replaced; the language's script is written as `OUT/<stem>.<lang>.reviewed.srt`
  and used from then on (it takes the place of the translation while it exists);
- retake: the line's window gets a take with the next seed, earlier takes are kept;
- approve: the take is pinned: read from the cache, never rendered again, also not with --force;
- comment: shown beside the line in the next report.

Everything is checked before anything is written: a review that names a language or line the run
does not have, a stale one (the script changed since), or decisions that contradict each other in
one window raise ReviewError naming the entry (exit status 2).
"""
from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass, replace
from pathlib import Path
from typing import Any

from dubkit.adapters.subtitles import read_script, write_script
from dubkit.errors import ReviewError
from dubkit.stages.plan import Plan, assign_lines
from dubkit.stages.render import TakePlan, window_seed
from dubkit.stages.translate import LanguageScript
from dubkit.translate.timing import fit_cues, overflowing
from eval.types import Cue
from langs import LanguageError, get_language

REVIEW_VERSION = 1
REVIEW_NAME = "review.json"
DECISIONS = ("approve", "retake", "edit")
_TEXT_FIELDS = ("text", "comment", "by", "at")
_INT_FIELDS = ("take", "seed", "takes")
MAX_REVIEW_BYTES = 8 * 1024 * 1024


@dataclass(frozen=True)
class LineDecision:
    """One line's review entry. `line` is 1-based in the language's script."""

    language: str
    line: int
    decision: str | None = None  # "approve" | "retake" | "edit" | None (a comment only)
    take: int | None = None  # approve: the take pinned; retake: the take rejected
    seed: int | None = None  # approve: that take's seed (checked: a changed --seed makes it stale)
    takes: int | None = None  # retake: how many takes the window had; the new one is takes + 1
    text: str | None = None  # edit: the new line
    comment: str | None = None
    by: str | None = None
    at: str | None = None
    entry: str = ""  # where it came from, for messages: "review.json: zh line 3"

    def to_json(self) -> dict[str, Any]:
        """The entry as review.json writes it (no None fields)."""
        return {k: v for k, v in asdict(self).items() if v is not None and k not in ("language", "line", "entry")}


@dataclass(frozen=True)
class Review:
    """A parsed review: per language the script hash it was made against, and the line decisions."""

    source: str
    scripts: Mapping[str, str]  # language code -> script_sha256
    lines: tuple[LineDecision, ...]


def script_digest(cues: Sequence[Cue]) -> str:
    """The hash a review names its script by: sha256 of the lines' text, times and speakers."""
    blob = json.dumps([[c.text, c.start, c.end, c.speaker] for c in cues], ensure_ascii=False)
    return hashlib.sha256(blob.encode("utf-8")).hexdigest()


def _entry(where: str, code: str, number: str, raw: Any) -> LineDecision:
    name = f"{where}: {code} line {number}"
    if not number.isdigit() or int(number) < 1:
        raise ReviewError(f"{name}: a line is named by its number (1, 2 ...)")
    if not isinstance(raw, dict):
        raise ReviewError(f"{name}: an entry is an object with decision/comment fields")
    _no_unknown(name, raw, {"decision", *_TEXT_FIELDS, *_INT_FIELDS})
    for key in _TEXT_FIELDS:
        if key in raw and not isinstance(raw[key], str):
            raise ReviewError(f"{name}: {key} must be text")
    for key in _INT_FIELDS:
        if key in raw and (isinstance(raw[key], bool) or not isinstance(raw[key], int) or raw[key] < 0):
            raise ReviewError(f"{name}: {key} must be a whole number")
    decision = raw.get("decision")
    if decision is not None and decision not in DECISIONS:
        raise ReviewError(f"{name}: decision {decision!r} is not one of {', '.join(DECISIONS)}")
    need = {"approve": ("take", "seed"), "retake": ("take", "takes"), "edit": ("text",)}.get(decision, ())
    missing = [k for k in need if not raw.get(k) and raw.get(k) != 0]
    if missing or (decision == "edit" and not raw["text"].strip()):
        raise ReviewError(f"{name}: {decision} needs {', '.join(missing) or 'a non-empty text'}")
    if decision is None and not (raw.get("comment") or "").strip():
        raise ReviewError(f"{name}: neither a decision nor a comment")
    values = {k: raw.get(k) for k in (*_TEXT_FIELDS, *_INT_FIELDS)}
    if decision == "edit":
        values["text"] = values["text"].strip()
    return LineDecision(language=code, line=int(number), decision=decision, entry=name, **values)


def _no_unknown(where: str, mapping: dict, known: set[str]) -> None:
    """Unknown keys are refused so that a typo is not ignored (docs/review.md)."""
    unknown = sorted(set(map(str, mapping)) - known)
    if unknown:
        raise ReviewError(f"{where}: unknown field(s) {', '.join(unknown)}")


def parse_review(data: Any, where: str) -> Review:
    """A review from its JSON document; ReviewError naming the first bad entry."""
    if not isinstance(data, dict) or data.get("review_version") != REVIEW_VERSION:
        raise ReviewError(f"{where}: not a dubkit review (review_version {REVIEW_VERSION} expected)")
    _no_unknown(where, data, {"review_version", "source", "languages"})
    languages = data.get("languages")
    if not isinstance(languages, dict):
        raise ReviewError(f"{where}: 'languages' must be an object of language codes")
    scripts: dict[str, str] = {}
    lines: list[LineDecision] = []
    for tag, body in languages.items():
        try:
            code = get_language(tag).code
        except LanguageError as err:
            raise ReviewError(f"{where}: language {tag!r}: {err}") from err
        if not isinstance(body, dict) or not isinstance(body.get("script_sha256"), str):
            raise ReviewError(f"{where}: {code}: needs script_sha256 (the script the review was made on)")
        _no_unknown(f"{where}: {code}", body, {"script_sha256", "lines"})
        if not isinstance(body.get("lines", {}), dict):
            raise ReviewError(f"{where}: {code}: 'lines' must be an object of line numbers")
        scripts[code] = body["script_sha256"]
        lines += [_entry(where, code, str(n), raw) for n, raw in body.get("lines", {}).items()]
    return Review(source=where, scripts=scripts, lines=tuple(lines))


def read_review(path: Path) -> Review:
    """Read and check the structure of a review file; ReviewError naming the file or entry."""
    path = Path(path)
    try:
        if path.stat().st_size > MAX_REVIEW_BYTES:
            raise ReviewError(f"review {path} is larger than {MAX_REVIEW_BYTES // (1024 * 1024)} MB")
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError) as err:
        raise ReviewError(f"review {path} cannot be read: {getattr(err, 'strerror', None) or err}") from err
    except json.JSONDecodeError as err:
        raise ReviewError(f"review {path} is not JSON: {err.msg} at line {err.lineno}") from err
    return parse_review(data, str(path))


def find_review(out: Path, given: Path | None) -> Review | None:
    """`--review FILE`, else OUT/review.json when it exists, else None."""
    if given is not None:
        return read_review(given)
    default = Path(out) / REVIEW_NAME
    return read_review(default) if default.is_file() else None


def parse_line_refs(items: Sequence[str], flag: str) -> tuple[tuple[str, int], ...]:
    """`zh:3` items (from --retake / --unpin) as (language code, line); ReviewError naming a bad item."""
    refs = []
    for item in items:
        tag, colon, number = item.partition(":")
        if not colon or not number.strip().isdigit() or int(number) < 1:
            raise ReviewError(f"{flag} {item!r} is not LANG:LINE (zh:3)")
        try:
            code = get_language(tag.strip()).code
        except LanguageError as err:
            raise ReviewError(f"{flag} {item!r}: {err}") from err
        refs.append((code, int(number)))
    return tuple(refs)


@dataclass(frozen=True)
class ReviewSettings:
    """The run's review: the file (None: none), the command line's `--retake zh:3` / `--unpin zh:3` as
    (language, line), where reviewed scripts go (OUT, the source's stem) and the job seed."""

    review: Review | None
    out: Path
    stem: str
    base_seed: int = 0
    retakes: tuple[tuple[str, int], ...] = ()
    unpins: tuple[tuple[str, int], ...] = ()


@dataclass(frozen=True)
class Reviewed:
    """The run's scripts with the review applied, and what the renderer and the report need of it."""

    scripts: dict[str, LanguageScript]
    takes: dict[str, dict[int, TakePlan]]  # per language, per window index
    decisions: dict[str, dict[int, LineDecision]]  # per language, per line number
    edited_from: dict[str, dict[int, str]]  # per language, per edited line: the text before the edit
    digests: dict[str, str]  # per language: the hash of the script this run used
    written: dict[str, Path]  # per language: the reviewed script written this run
    source: str | None  # the review file, if any


def reviewed_script_path(out: Path, stem: str, code: str) -> Path:
    """Where an edited script is written and, from then on, read: OUT/<stem>.<lang>.reviewed.srt."""
    return Path(out) / f"{stem}.{code}.reviewed.srt"


def apply_review(scripts: Mapping[str, LanguageScript], plan: Plan, settings: ReviewSettings) -> Reviewed:
    """The scripts with the review's edits, each window's TakePlan, and the report's view of the review.

    Checks everything first; writes the reviewed scripts (only those whose lines changed) last.
    """
    review, shortcuts = settings.review, settings
    decisions = _by_language(review, shortcuts, scripts)
    result = Reviewed(scripts={}, takes={}, decisions={}, edited_from={}, digests={}, written={},
                      source=review.source if review else None)
    pending: dict[str, tuple[Cue, ...]] = {}
    for code, ls in scripts.items():
        path = reviewed_script_path(settings.out, settings.stem, code)
        current = read_script(path).cues if path.is_file() else ls.cues
        lines = decisions.get(code, {})
        _check_lines(code, lines, current, shortcuts)
        _check_fresh(review, code, current, lines, path.is_file())
        cues = tuple(replace(c, text=lines[i + 1].text) if i + 1 in lines and lines[i + 1].decision == "edit"
                     else c for i, c in enumerate(current))
        reviewed = path.is_file() or any(d.decision == "edit" for d in lines.values())
        done = _with_cues(ls, cues, plan, f"reviewed:{path}") if reviewed else ls
        result.takes[code] = _take_plans(code, lines, done, shortcuts)
        result.scripts[code], result.decisions[code], result.digests[code] = done, lines, script_digest(cues)
        before = ls.cues if len(ls.cues) == len(current) else current  # "was": the translation's line
        result.edited_from[code] = {n: before[n - 1].text for n, d in lines.items() if d.decision == "edit"}
        if cues != current or (reviewed and not path.is_file()):
            pending[code] = cues
    for code, cues in pending.items():  # nothing is written before every language is checked
        result.written[code] = write_script(cues, reviewed_script_path(settings.out, settings.stem, code))
    return result


def _by_language(review: Review | None, shortcuts: ReviewSettings,
                 scripts: Mapping[str, LanguageScript]) -> dict[str, dict[int, LineDecision]]:
    decisions: dict[str, dict[int, LineDecision]] = {}
    if review is not None:
        for code in review.scripts:
            if code not in scripts:
                raise ReviewError(f"{review.source}: language {code} is not a target of this run "
                                  f"({', '.join(scripts)}); run with --to including it, or remove it")
        for d in review.lines:
            decisions.setdefault(d.language, {})[d.line] = d
    for flag, refs in (("--retake", shortcuts.retakes), ("--unpin", shortcuts.unpins)):
        for code, _line in refs:
            if code not in scripts:
                raise ReviewError(f"{flag} {code}:{_line}: {code} is not a target of this run ({', '.join(scripts)})")
    return decisions


def _check_lines(code: str, lines: Mapping[int, LineDecision], cues: Sequence[Cue], shortcuts: ReviewSettings) -> None:
    named = [(d.entry, n) for n, d in lines.items()]
    named += [(f"{flag} {c}:{n}", n) for flag, refs in (("--retake", shortcuts.retakes), ("--unpin", shortcuts.unpins))
              for c, n in refs if c == code]
    for entry, number in named:
        if number > len(cues):
            raise ReviewError(f"{entry}: no such line ({code} has {len(cues)} lines)")


def _check_fresh(review: Review | None, code: str, cues: Sequence[Cue], lines: Mapping[int, LineDecision],
                 from_reviewed: bool) -> None:
    """A review is made on one script: refuse it when the script changed since (a rerun after its own
    edits were applied, reading the reviewed script, is not a change)."""
    if review is None or code not in review.scripts or review.scripts[code] == script_digest(cues):
        return
    edits = [d for d in lines.values() if d.decision == "edit"]
    if from_reviewed and edits and all(cues[d.line - 1].text == d.text for d in edits):
        return
    raise ReviewError(f"{review.source}: {code}: stale review: the {code} script changed since the review was made "
                      f"(script_sha256 {review.scripts[code][:12]}... no longer matches); review the new report")


def _with_cues(ls: LanguageScript, cues: tuple[Cue, ...], plan: Plan, origin: str) -> LanguageScript:
    fits = fit_cues(cues, ls.language) if all(c.timed for c in cues) else ()
    return replace(ls, cues=cues, origin=origin, timing_overflows=overflowing(fits),
                   per_window=assign_lines(plan.windows, cues))


def window_of_lines(ls: LanguageScript) -> dict[int, int]:
    """Line number (1-based) -> the index of the window that speaks it."""
    position = {id(c): i + 1 for i, c in enumerate(ls.cues)}
    found: dict[int, int] = {}
    for index, cues in enumerate(ls.per_window):
        for cue in cues:
            number = position.get(id(cue)) or ls.cues.index(cue) + 1
            found[number] = index
    return found


def _take_plans(code: str, lines: Mapping[int, LineDecision], ls: LanguageScript,
                shortcuts: ReviewSettings) -> dict[int, TakePlan]:
    window = window_of_lines(ls)
    unpinned = {window[n] for c, n in shortcuts.unpins if c == code}
    approvals = {window[n]: d for n, d in lines.items() if d.decision == "approve" and window[n] not in unpinned}
    for c, n in shortcuts.unpins:
        if c == code and not any(d.decision == "approve" and window[m] == window[n] for m, d in lines.items()):
            raise ReviewError(f"--unpin {c}:{n}: no take of line {n}'s window {window[n]} is approved")
    plans: dict[int, TakePlan] = {}
    for w, d in approvals.items():
        others = [o for m, o in lines.items() if window[m] == w and o.decision in DECISIONS
                  and not (o.decision == "approve" and o.take == d.take)]
        others += [f"--retake {c}:{n}" for c, n in shortcuts.retakes if c == code and window[n] == w]
        if others:
            other = others[0] if isinstance(others[0], str) else f"{others[0].entry} ({others[0].decision})"
            raise ReviewError(f"{d.entry}: approves take {d.take} of window {w}, but {other} changes that window; "
                              "keep one of them (or --unpin)")
        if d.take < 1 or d.seed != window_seed(shortcuts.base_seed, w, code, d.take):
            raise ReviewError(f"{d.entry}: stale approval: take {d.take} of window {w} does not have seed {d.seed} "
                              "in this run (the job seed changed?); review the new report")
        plans[w] = TakePlan(pinned=d.take, entry=d.entry)
    for n, d in lines.items():
        if d.decision == "retake" and window[n] not in plans:
            before = plans.get(window[n], TakePlan()).new_take or 0
            plans[window[n]] = TakePlan(new_take=max(before, d.takes + 1), entry=d.entry)
    for c, n in shortcuts.retakes:
        if c == code:
            plans[window[n]] = TakePlan(one_more=True, entry=f"--retake {c}:{n}")
    return plans
