"""The one grammar of translator specs (`--translator`, `open_translator`), see docs/translation.md.

    ct2:DIR[#nllb|#m2m]        a CTranslate2 model folder (alias `ctranslate2:`), with its prefix style
    openai:URL[#MODEL]         an OpenAI-compatible server (URL starts with http:// or https://)
    openai:MODEL               the same, the URL given apart (`base_url`, or $DUBKIT_OPENAI_BASE_URL)
    LANG=SPEC                  (a list of specs only) the spec for one language; without it, for all
"""
from __future__ import annotations

import os
from dataclasses import dataclass
from typing import Sequence

from dubkit.errors import InputError
from langs import get_language

BASE_URL_ENV = "DUBKIT_OPENAI_BASE_URL"
CT2_KINDS = ("ct2", "ctranslate2")
DEFAULT_OPENAI_MODEL = "default"  # what a server is asked for when `openai:URL` names no model
GRAMMAR = "'ctranslate2:MODEL_DIR[#nllb|#m2m]' (alias ct2:FOLDER) or 'openai:URL[#MODEL]'"


@dataclass(frozen=True)
class TranslatorSpec:
    """A parsed spec: kind "ctranslate2" (model folder, prefix style) or "openai" (base URL, model)."""

    kind: str
    model: str  # the model folder (ctranslate2) or the model name the server is asked for (openai)
    prefix_style: str = "none"  # ctranslate2 only
    base_url: str = ""  # openai only


def parse_translator_spec(spec: str, *, base_url: str | None = None) -> TranslatorSpec:
    """`spec` parsed; InputError naming it when it is not in the grammar or an openai spec has no URL.

    Nothing is opened or checked on disk here (a model folder is checked when the translator opens).
    """
    kind, sep, rest = spec.partition(":")
    if not sep or not rest or kind not in (*CT2_KINDS, "openai"):
        raise InputError(f"translator {spec!r} is not {GRAMMAR}")
    if kind in CT2_KINDS:
        folder, _, style = rest.partition("#")
        return TranslatorSpec("ctranslate2", folder, prefix_style=style or "none")
    if rest.startswith(("http://", "https://")):
        url, _, model = rest.partition("#")
        return TranslatorSpec("openai", model or DEFAULT_OPENAI_MODEL, base_url=url)
    url = base_url or os.environ.get(BASE_URL_ENV, "")
    if not url:
        raise InputError(f"translator {spec!r} needs a base URL: --translator openai:URL[#MODEL] (or ${BASE_URL_ENV})")
    return TranslatorSpec("openai", rest, base_url=url)


def parse_translator_specs(specs: Sequence[str]) -> dict[str | None, str]:
    """`--translator` values as {language code or None (all languages): spec}, each spec checked.

    A `LANG=` prefix is recognised only before the spec's first colon, so an "=" inside a path or URL
    is not a language.
    """
    table: dict[str | None, str] = {}
    for raw in specs:
        lang, sep, spec = raw.partition("=") if "=" in raw.split(":", 1)[0] else (None, "", raw)
        code = get_language(lang).code if sep else None
        try:
            parse_translator_spec(spec)
        except InputError as err:
            raise InputError(f"--translator {raw!r}: {err}") from err
        if code in table:
            raise InputError(f"--translator given twice for {code or 'all languages'}")
        table[code] = spec
    return table
