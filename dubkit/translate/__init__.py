"""The translate stage: per language, a translated script the user supplies or a translator engine.

Engines sit behind `base.Translator`; the glossary is enforced on engine output and checked on every
script. Public API: docs/api/translate.md; user guide: docs/translation.md.
"""
from __future__ import annotations

from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, Sequence

from dubkit.store.files import file_digest
from dubkit.translate.base import (
    GlossaryError,
    TranslationError,
    TranslationResult,
    Translator,
)
from dubkit.translate.glossary import (
    Glossary,
    GlossaryViolation,
    check_lines,
    enforce,
    load_glossary,
    protect,
    restore,
)
from dubkit.translate.scripts import (
    ScriptSource,
    find_script,
    load_translation,
    require_sources,
)
from dubkit.translate.spec import (
    BASE_URL_ENV,
    parse_translator_spec,
    parse_translator_specs,
)
from eval.types import Cue
from langs import Language

__all__ = [
    "Glossary", "GlossaryError", "GlossaryViolation", "ScriptSource", "TranslatedScript", "TranslationError",
    "TranslationResult", "Translator", "BASE_URL_ENV", "find_script", "load_glossary", "open_translator",
    "parse_translator_spec", "parse_translator_specs", "prepare_translations", "translate_cues",
]


@dataclass(frozen=True)
class TranslatedScript:
    """One language's script, ready for timing fit and generation.

    origin: "script:<path>", "engine:<name>" or "source" (the target is the source language).
    identity: what produced it (script digest or engine identity), for cache keys and the report.
    violations: glossary terms missing from lines (reported; the pipeline decides what to do).
    """

    language: str
    cues: tuple[Cue, ...]
    origin: str
    identity: dict[str, Any] = field(default_factory=dict)
    violations: tuple[GlossaryViolation, ...] = ()


def open_translator(
    spec: str, *, base_url: str | None = None, api_key_env: str = "OPENAI_API_KEY",
    timeout: float = 120.0, device: str = "cpu",
) -> Translator:
    """Build a translator from a spec in the one grammar (`dubkit.translate.spec`): "ct2:DIR[#nllb|#m2m]"
    (alias "ctranslate2:"), "openai:URL[#MODEL]", or "openai:MODEL" with `base_url` (or
    $DUBKIT_OPENAI_BASE_URL), e.g. http://127.0.0.1:8000/v1.
    """
    parsed = parse_translator_spec(spec, base_url=base_url)
    if parsed.kind == "ctranslate2":
        from dubkit.translate.ctranslate2_engine import CTranslate2Translator

        return CTranslate2Translator(Path(parsed.model), prefix_style=parsed.prefix_style, device=device)
    from dubkit.translate.openai_engine import OpenAITranslator

    return OpenAITranslator(parsed.base_url, parsed.model, api_key_env=api_key_env, timeout=timeout)


def translate_cues(
    cues: Sequence[Cue], target: Language, translator: Translator, *,
    source: Language | None = None, glossary: Glossary | None = None,
) -> TranslatedScript:
    """Translate a script line by line, keeping each cue's timing and speaker.

    With a glossary: terms become placeholders for engines that keep them (LLMs), are restored
    after, forced terms left in source form are substituted, and what is still missing is listed
    in `violations`. An engine returning an empty line for a non-empty one is a TranslationError.
    """
    glossary = glossary or Glossary()
    keeps_placeholders = translator.keeps_placeholders
    texts, slots = [], []
    for cue in cues:
        text, slot = protect(cue.text, glossary, target) if keeps_placeholders else (cue.text, {})
        texts.append(text)
        slots.append(slot)
    result = translator.translate(texts, target, source)
    out = []
    for i, (cue, line) in enumerate(zip(cues, result.lines)):
        line = enforce(cue.text, restore(line, slots[i]), glossary, target)
        if cue.text.strip() and not line.strip():
            raise TranslationError(
                f"{translator.name} returned an empty {target.code} translation for line {i + 1}: {cue.text!r}",
                engine=translator.name,
            )
        out.append(replace(cue, text=line))
    violations = check_lines(cues, out, glossary, target, where="translation")
    return TranslatedScript(target.code, tuple(out), f"engine:{translator.name}", translator.identity(), violations)


def prepare_translations(
    media: Path | str, source_cues: Sequence[Cue], languages: Sequence[Language], *,
    source: Language | None = None, scripts_dir: Path | str | None = None,
    translator: Translator | None = None, glossary: Glossary | None = None, duration: float | None = None,
) -> dict[str, TranslatedScript]:
    """Every language's script: supplied scripts first, else the translator (sources.py precedence).

    All languages are resolved before any engine call, so a missing script fails fast.
    """
    found = require_sources(media, languages, scripts_dir=scripts_dir, have_translator=translator is not None,
                            source_language=source)
    out: dict[str, TranslatedScript] = {}
    for lang in languages:
        src = found[lang.code]
        if src is not None:
            cues = load_translation(src, duration=duration)
            violations = check_lines(source_cues, cues, glossary, lang) if glossary else ()
            out[lang.code] = TranslatedScript(
                lang.code, cues, f"script:{src.path}",
                {"script": str(src.path), "sha256": file_digest(src.path)}, violations,
            )
        elif source is not None and lang.code == source.code:
            out[lang.code] = TranslatedScript(lang.code, tuple(source_cues), "source", {"source": True})
        else:
            assert translator is not None  # require_sources guarantees it
            out[lang.code] = translate_cues(source_cues, lang, translator, source=source, glossary=glossary)
    return out
