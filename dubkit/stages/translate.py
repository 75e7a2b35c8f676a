"""Stage 4, translate: a timed script per target language, glossary-checked and timing-fitted against
the windows.

The translation itself belongs to `dubkit.translate` (scripts beside the source or in --scripts,
else a translator engine); this module picks the translator for each language from the
`--translator` specs, caches engine output by its inputs (a restart never pays for a translation
twice), and keeps the glossary violations and overflowing lines it found for the report.
"""
from __future__ import annotations

from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Sequence

from dubkit.stages.plan import Plan, assign_lines
from dubkit.stages.probe import SourceInfo
from dubkit.stages.transcribe import SourceScript
from dubkit.store.cache import StageCache, cache_key
from dubkit.store.files import file_digest
from dubkit.translate import open_translator, parse_translator_specs, prepare_translations
from dubkit.translate.base import Translator
from dubkit.translate.glossary import GlossaryViolation, load_glossary
from dubkit.translate.scripts import find_script, require_sources
from dubkit.translate.timing import LineFit, fit_cues, overflowing
from eval.types import Cue
from langs import Language, LanguageError, get_language


@dataclass(frozen=True)
class LanguageScript:
    """One target language's timed lines and what was found wrong with them before generation."""

    language: Language
    cues: tuple[Cue, ...]
    origin: str  # "script:<path>" | "engine:<name>"
    glossary_violations: tuple[GlossaryViolation, ...]
    timing_overflows: tuple[LineFit, ...]
    per_window: tuple[tuple[Cue, ...], ...]  # the cues each window speaks


@dataclass(frozen=True)
class TranslateSettings:
    """Where translations come from: scripts (beside the source or in `scripts_dir`), else the
    `--translator` specs; and the glossary every translation must keep."""

    scripts_dir: Path | None = None
    translators: tuple[str, ...] = ()
    glossary: Path | None = None


def _known_language(code: str | None) -> Language | None:
    """The source's language if dubkit knows it (Whisper may detect one outside the seven)."""
    try:
        return get_language(code) if code else None
    except LanguageError:
        return None


def translate_languages(
    source: SourceInfo,
    script: SourceScript,
    languages: Sequence[Language],
    plan: Plan,
    settings: TranslateSettings,
    cache: StageCache,
) -> dict[str, LanguageScript]:
    """A LanguageScript per language, in order. TranslationError names every language with neither
    a script nor a translator before any engine runs."""
    specs = parse_translator_specs(settings.translators)
    glossary = load_glossary(settings.glossary) if settings.glossary else None
    src_lang = _known_language(script.language)
    # Languages without a translator of their own must have a script (or be the source language).
    uncovered = [lang for lang in languages if lang.code not in specs and None not in specs]
    require_sources(source.path, uncovered, scripts_dir=settings.scripts_dir, have_translator=False,
                    source_language=src_lang)
    opened: dict[str, Translator] = {}  # one engine per spec, shared by the languages that use it
    result: dict[str, LanguageScript] = {}
    for lang in languages:
        found = find_script(source.path, lang, settings.scripts_dir)
        spec = None if found else specs.get(lang.code, specs.get(None))
        if spec and spec not in opened:
            opened[spec] = open_translator(spec)
        translator = opened[spec] if spec else None
        done = _translation(source, script, lang, found, translator, glossary, settings, cache)
        cues = tuple(Cue(t, s, e, sp) for t, s, e, sp in done["cues"])
        fits = fit_cues(cues, lang) if all(c.timed for c in cues) else ()
        result[lang.code] = LanguageScript(
            language=lang, cues=cues, origin=done["origin"],
            glossary_violations=tuple(GlossaryViolation(**v) for v in done["violations"]),
            timing_overflows=overflowing(fits), per_window=assign_lines(plan.windows, cues),
        )
    return result


def _translation(source: SourceInfo, script: SourceScript, lang: Language, found, translator: Translator | None,
                 glossary, settings: TranslateSettings, cache: StageCache) -> dict:
    """One language's translation as cacheable JSON (origin, cues, violations); engine output is
    cached by its inputs, scripts are cheap to re-read."""
    # The engine's identity (model hashes, prompt version), not its spec, keys the cache: new model
    # files in the same folder must not reuse an old translation.
    key = cache_key(
        "translation", language=lang.code, cues=[[c.text, c.start, c.end, c.speaker] for c in script.cues],
        script=file_digest(found.path) if found else None,
        translator=translator.identity() if translator else None,
        glossary=file_digest(settings.glossary) if settings.glossary else None, source_language=script.language,
    )
    hit = cache.get_json("translation", key) if translator else None
    if hit is None:
        done = prepare_translations(
            source.path, script.cues, [lang], source=_known_language(script.language),
            scripts_dir=settings.scripts_dir, translator=translator, glossary=glossary, duration=source.duration,
        )[lang.code]
        hit = {"origin": done.origin, "cues": [[c.text, c.start, c.end, c.speaker] for c in done.cues],
               "violations": [asdict(v) for v in done.violations]}
        if translator:
            cache.put_json("translation", key, hit)
    return hit
