"""Glossary: do-not-translate terms and forced per-language terms, enforced and checked.

File format (TOML, or the same structure as JSON), documented in docs/translation.md:

    keep = ["Acme", "HyperClean 3000"]      # never translated: must appear verbatim

    [forced.zh]                              # language code or alias
    "free shipping" = "包邮"                 # source term -> the term the translation must use

A line whose source contains a term must contain that term's target (the keep term itself, or the
forced translation). The glossary is enforced on engine output (placeholders, then substitution of
forced terms the engine left in source form), checked on every script (engine or human), and
checked on the transcript of the generated speech (what was actually said).
"""
from __future__ import annotations

import json
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path

from dubkit.errors import require_file
from dubkit.translate.base import GlossaryError
from eval.types import Cue
from langs import Language, LanguageError, get_language, normalize_for_scoring

try:  # Python 3.11+
    import tomllib
except ModuleNotFoundError:  # pragma: no cover - Python 3.10
    import tomli as tomllib  # type: ignore[no-redef]

PLACEHOLDER = "{{{{T{}}}}}"  # -> "{{T0}}"
_PLACEHOLDER_RE = re.compile(r"\{\{\s*T\s*(\d+)\s*\}\}")


@dataclass(frozen=True)
class GlossaryViolation:
    """A required term missing from a line.

    where: "translation" (engine output), "script" (a supplied script), "speech" (the transcript).
    index: the source cue the requirement comes from (None when untimed scripts could not be paired).
    """

    language: str
    index: int | None
    start: float | None
    end: float | None
    term: str
    text: str
    where: str

    def __str__(self) -> str:
        at = f"line {self.index + 1}" if self.index is not None else "script"
        span = f" ({self.start:.2f}-{self.end:.2f} s)" if self.start is not None and self.end is not None else ""
        return f"[{self.language}] {at}{span}: {self.where} lacks glossary term {self.term!r}: {self.text!r}"


@lru_cache(maxsize=1 << 16)  # a glossary of thousands of terms is checked against every line
def _term_pattern(term: str) -> re.Pattern[str]:
    # Word boundaries only on ASCII-alphanumeric ends: "Acme" must not match "Acmes", but a CJK term
    # sits inside CJK text with no spaces around it.
    left = r"(?<![A-Za-z0-9])" if term[:1].isascii() and term[:1].isalnum() else ""
    right = r"(?![A-Za-z0-9])" if term[-1:].isascii() and term[-1:].isalnum() else ""
    return re.compile(left + re.escape(term) + right, re.IGNORECASE)


def contains_term(text: str, term: str) -> bool:
    """Whether `term` occurs in `text` (case-insensitive, whole word on Latin ends)."""
    return _term_pattern(term).search(text) is not None


@dataclass(frozen=True)
class Glossary:
    """Do-not-translate terms and forced terms per language code."""

    keep: tuple[str, ...] = ()
    forced: Mapping[str, Mapping[str, str]] = field(default_factory=dict)
    path: Path | None = None

    def pairs(self, language: Language) -> tuple[tuple[str, str], ...]:
        """(source term, required target term) for `language`, longest source term first."""
        pairs = [(t, t) for t in self.keep] + list(self.forced.get(language.code, {}).items())
        return tuple(sorted(pairs, key=lambda p: -len(p[0])))

    def required_terms(self, source_text: str, language: Language) -> tuple[str, ...]:
        """Target terms a translation of `source_text` into `language` must contain."""
        found: list[str] = []
        for source_term, target_term in self.pairs(language):
            if contains_term(source_text, source_term) and target_term not in found:
                found.append(target_term)
        return tuple(found)

    def target_terms(self, language: Language) -> tuple[str, ...]:
        """Every term a line in `language` may be required to carry (keep terms and forced targets)."""
        return tuple(dict.fromkeys(t for _, t in self.pairs(language)))


def _string_list(value: object, where: str, path: Path) -> tuple[str, ...]:
    if not isinstance(value, list) or not all(isinstance(v, str) and v.strip() for v in value):
        raise GlossaryError(f"glossary {path}: {where} must be a list of non-empty strings, got {value!r}")
    return tuple(v.strip() for v in value)


def parse_glossary(data: object, path: Path) -> Glossary:
    """Validate a parsed glossary document (the structure of the TOML/JSON file)."""
    if not isinstance(data, dict):
        raise GlossaryError(f"glossary {path}: top level must be a table/object, got {type(data).__name__}")
    unknown = set(data) - {"keep", "forced"}
    if unknown:
        raise GlossaryError(f"glossary {path}: unknown key(s) {', '.join(sorted(unknown))} (expected keep, forced)")
    keep = _string_list(data.get("keep", []), "keep", path)
    forced_raw = data.get("forced", {})
    if not isinstance(forced_raw, dict):
        raise GlossaryError(f"glossary {path}: forced must be a table of languages, got {forced_raw!r}")
    forced: dict[str, dict[str, str]] = {}
    for tag, table in forced_raw.items():
        try:
            code = get_language(tag).code
        except LanguageError as err:
            raise GlossaryError(f"glossary {path}: forced.{tag}: {err}") from err
        if code in forced:
            raise GlossaryError(f"glossary {path}: forced.{tag} repeats language {code!r}")
        if not isinstance(table, dict):
            raise GlossaryError(f"glossary {path}: forced.{tag} must map source terms to target terms")
        terms: dict[str, str] = {}
        for source_term, target_term in table.items():
            if not str(source_term).strip() or not isinstance(target_term, str) or not target_term.strip():
                raise GlossaryError(
                    f"glossary {path}: forced.{tag}: {source_term!r} = {target_term!r} "
                    "is not a pair of non-empty strings"
                )
            terms[str(source_term).strip()] = target_term.strip()
        forced[code] = terms
    return Glossary(keep=keep, forced=forced, path=path)


def load_glossary(path: Path | str) -> Glossary:
    """Read a glossary file (.toml or .json); GlossaryError names the file and the bad entry."""
    path = require_file(path, "glossary", GlossaryError)
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as err:
        raise GlossaryError(f"glossary {path} cannot be read: {err.strerror}") from err
    except UnicodeDecodeError as err:
        raise GlossaryError(f"glossary {path} is not UTF-8 text ({err.reason} at byte {err.start})") from err
    try:
        if path.suffix.lower() == ".json":
            data = json.loads(text)
        elif path.suffix.lower() == ".toml":
            data = tomllib.loads(text)
        else:
            raise GlossaryError(f"glossary {path}: unknown format {path.suffix!r} (use .toml or .json)")
    except (json.JSONDecodeError, tomllib.TOMLDecodeError) as err:
        raise GlossaryError(f"glossary {path} cannot be parsed: {err}") from err
    except RecursionError:
        raise GlossaryError(f"glossary {path} is nested too deep to be a glossary") from None
    return parse_glossary(data, path)


def protect(text: str, glossary: Glossary, language: Language) -> tuple[str, dict[str, str]]:
    """Replace glossary source terms with placeholders {{T0}}, {{T1}} ...; returns (text, slots).

    `slots` maps each placeholder to the target term `restore` puts back.
    """
    slots: dict[str, str] = {}
    for source_term, target_term in glossary.pairs(language):
        pattern = _term_pattern(source_term)
        if pattern.search(text):
            token = PLACEHOLDER.format(len(slots))
            slots[token] = target_term
            text = pattern.sub(lambda _m, t=token: t, text)
    return text, slots


def restore(text: str, slots: Mapping[str, str]) -> str:
    """Put the target terms back where the engine kept the placeholders (spacing variants tolerated)."""

    def put_back(match: re.Match[str]) -> str:
        return slots.get(PLACEHOLDER.format(int(match.group(1))), match.group(0))

    return _PLACEHOLDER_RE.sub(put_back, text)


def enforce(source_text: str, translated: str, glossary: Glossary, language: Language) -> str:
    """Substitute forced terms an engine left in their source form (e.g. English inside Chinese)."""
    for source_term, target_term in glossary.pairs(language):
        if source_term == target_term or not contains_term(source_text, source_term):
            continue
        if not contains_term(translated, target_term):
            translated = _term_pattern(source_term).sub(lambda _m, t=target_term: t, translated)
    return translated


def _overlaps(a: Cue, b: Cue) -> bool:
    return min(a.end, b.end) - max(a.start, b.start) > 0  # type: ignore[type-var, operator]


def check_lines(
    source: Sequence[Cue],
    translated: Sequence[Cue],
    glossary: Glossary,
    language: Language,
    *,
    where: str = "script",
) -> tuple[GlossaryViolation, ...]:
    """Which source lines' required terms are missing from their translation.

    Timed scripts are paired by time: a source cue's translation is every translated cue that
    overlaps it (a translator may split or merge lines). Untimed scripts are paired by index when
    the counts match, else checked as a whole.
    """
    violations: list[GlossaryViolation] = []
    all_timed = all(c.timed for c in source) and all(c.timed for c in translated)
    paired_by_index = not all_timed and len(source) == len(translated)
    if all_timed or paired_by_index:
        for i, cue in enumerate(source):
            required = glossary.required_terms(cue.text, language)
            if not required:
                continue
            if all_timed:
                text = " ".join(t.text for t in translated if _overlaps(cue, t))
            else:
                text = translated[i].text
            violations += [
                GlossaryViolation(language.code, i, cue.start, cue.end, term, text, where)
                for term in required
                if not contains_term(text, term)
            ]
        return tuple(violations)
    whole_source = "\n".join(c.text for c in source)
    whole = "\n".join(c.text for c in translated)
    return tuple(
        GlossaryViolation(language.code, None, None, None, term, whole[:200], where)
        for term in glossary.required_terms(whole_source, language)
        if not contains_term(whole, term)
    )


def _spoken_form(text: str, language: Language) -> str:
    normalized = normalize_for_scoring(text, language)
    # CJK transcripts are spaced arbitrarily by the recogniser; compare without spaces there.
    return normalized.replace(" ", "") if language.cjk else f" {normalized} "


def check_speech(
    line: str,
    heard: str,
    glossary: Glossary,
    language: Language,
    *,
    index: int | None = None,
    start: float | None = None,
    end: float | None = None,
) -> tuple[GlossaryViolation, ...]:
    """Glossary terms the (translated) `line` contains that the transcript `heard` lacks.

    Both sides are normalised for scoring with langs (case, punctuation, numerals, simplified
    Chinese), so "HyperClean 3000" is found in "hyperclean three thousand".
    """
    spoken = _spoken_form(heard, language)
    missing = []
    for term in glossary.target_terms(language):
        if not contains_term(line, term):
            continue
        needle = _spoken_form(term, language)
        if needle.strip() and needle not in spoken:
            missing.append(GlossaryViolation(language.code, index, start, end, term, heard, "speech"))
    return tuple(missing)
