"""Stage 4 as the localize job runs it: a timed script per target language, glossary-checked and
timing-fitted against the windows.

The translation itself belongs to `dubkit.translate` (scripts beside the source or in --scripts,
else a translator engine); this module picks the translator for each language from the
`--translator` specs, caches engine output by its inputs (a restart never pays for a translation
twice), and turns glossary violations and overflowing lines into plain records for the report.
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Sequence

from dubkit.errors import InputError
from dubkit.stages.plan import Window, assign_lines
from dubkit.store.cache import StageCache, cache_key
from dubkit.store.files import file_digest
from dubkit.translate.base import Translator
from eval.types import Cue
from langs import Language, get_language


@dataclass(frozen=True)
class LanguageScript:
    """One target language's timed lines and what was found wrong with them before generation."""

    language: Language
    cues: tuple[Cue, ...]
    origin: str  # "script:<path>" | "engine:<name>"
    glossary_violations: tuple[dict, ...]
    timing_overflows: tuple[dict, ...]
    per_window: tuple[tuple[Cue, ...], ...]  # the cues each window speaks


def parse_translator_specs(specs: Sequence[str]) -> dict[str | None, str]:
    """`--translator` values as {language code or None (all languages): spec}.

    A spec is `ct2:DIR[#nllb|#m2m]` (alias `ctranslate2:`) or `openai:URL[#MODEL]`, optionally
    prefixed `LANG=` to apply to one language only.
    """
    table: dict[str | None, str] = {}
    for raw in specs:
        lang, sep, spec = raw.partition("=") if "=" in raw.split(":", 1)[0] else (None, "", raw)
        code = get_language(lang).code if sep else None
        kind = spec.split(":", 1)[0]
        if kind not in ("ct2", "ctranslate2", "openai") or ":" not in spec:
            raise InputError(f"--translator {raw!r}: expected ct2:FOLDER or openai:URL[#MODEL]")
        if code in table:
            raise InputError(f"--translator given twice for {code or 'all languages'}")
        table[code] = spec
    return table


def open_spec(spec: str):
    """A Translator for one spec, through dubkit.translate.open_translator."""
    from dubkit.translate import open_translator

    kind, _, rest = spec.partition(":")
    if kind in ("ct2", "ctranslate2"):
        return open_translator(f"ctranslate2:{rest}")
    url, _, model = rest.partition("#")
    return open_translator(f"openai:{model or 'default'}", base_url=url)


def _violation(v) -> dict:
    return {"language": v.language, "index": v.index, "start": v.start, "end": v.end,
            "term": v.term, "text": v.text, "where": v.where}


def _fit(fit) -> dict:
    return {"index": fit.index, "text": fit.text, "start": fit.start, "end": fit.end,
            "budget": fit.budget, "estimated": fit.estimated, "speed_factor": fit.speed_factor,
            "max_speed": fit.max_speed}


def _known_language(code: str | None) -> Language | None:
    """The source's language if dubkit knows it (Whisper may detect one outside the seven)."""
    from langs import LanguageError

    try:
        return get_language(code) if code else None
    except LanguageError:
        return None


def translate_languages(
    source: Path,
    source_cues: Sequence[Cue],
    languages: Sequence[Language],
    windows: Sequence[Window],
    *,
    scripts_dir: Path | None,
    translator_specs: Sequence[str],
    glossary_path: Path | None,
    duration: float,
    source_language: str | None,
    cache: StageCache,
) -> dict[str, LanguageScript]:
    """A LanguageScript per language, in order. TranslationError names every language with neither
    a script nor a translator before any engine runs."""
    from dubkit.translate import prepare_translations
    from dubkit.translate.glossary import load_glossary
    from dubkit.translate.scripts import find_script, require_sources
    from dubkit.translate.timing import fit_cues, overflowing

    specs = parse_translator_specs(translator_specs)
    glossary = load_glossary(glossary_path) if glossary_path else None
    src_lang = _known_language(source_language)
    # Languages without a translator of their own must have a script (or be the source language).
    uncovered = [lang for lang in languages if lang.code not in specs and None not in specs]
    require_sources(source, uncovered, scripts_dir=scripts_dir, have_translator=False, source_language=src_lang)
    result: dict[str, LanguageScript] = {}
    opened: dict[str, Translator] = {}  # one engine per spec, shared by the languages that use it
    for lang in languages:
        script = find_script(source, lang, scripts_dir)
        spec = None if script else specs.get(lang.code, specs.get(None))
        if spec and spec not in opened:
            opened[spec] = open_spec(spec)
        translator = opened[spec] if spec else None
        # The engine's identity (model hashes, prompt version), not its spec, keys the cache: new model
        # files in the same folder must not reuse an old translation.
        key = cache_key(
            "translation", language=lang.code, cues=[[c.text, c.start, c.end, c.speaker] for c in source_cues],
            script=file_digest(script.path) if script else None,
            translator=translator.identity() if translator else None,
            glossary=file_digest(glossary_path) if glossary_path else None, source_language=source_language,
        )
        hit = cache.get_json("translation", key) if spec else None  # scripts are cheap to re-read
        if hit is None:
            done = prepare_translations(
                source, source_cues, [lang], source=src_lang, scripts_dir=scripts_dir,
                translator=translator, glossary=glossary, duration=duration,
            )[lang.code]
            hit = {"origin": done.origin, "cues": [[c.text, c.start, c.end, c.speaker] for c in done.cues],
                   "violations": [_violation(v) for v in done.violations]}
            if spec:
                cache.put_json("translation", key, hit)
        cues = tuple(Cue(t, s, e, sp) for t, s, e, sp in hit["cues"])
        fits = fit_cues(cues, lang) if all(c.timed for c in cues) else ()
        result[lang.code] = LanguageScript(
            language=lang, cues=cues, origin=hit["origin"],
            glossary_violations=tuple(hit["violations"]),
            timing_overflows=tuple(_fit(f) for f in overflowing(fits)),
            per_window=assign_lines(windows, cues),
        )
    return result
