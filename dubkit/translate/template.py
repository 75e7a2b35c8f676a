"""The translator's template format: one cue per source line, same timing, whose text is

    SRC: the source line
    ZH:                          <- the translation goes after the language marker

Written by the `dubkit script` job (dubkit.jobs.script) and read back wherever a translated script is
found (dubkit.translate.scripts). Format: docs/translation.md.
"""
from __future__ import annotations

import re
from dataclasses import replace
from pathlib import Path

from dubkit.adapters.subtitles import read_script
from dubkit.errors import ScriptError
from eval.types import Cue
from langs import Language

SOURCE_LABEL = "SRC:"
TEMPLATE_FORMATS = ("srt", "vtt")
LINE_BREAK = re.compile(r"\\N|\n")


def marker(language: Language) -> str:
    """The label after which the translation of a template line goes ("ZH:")."""
    return f"{language.code.upper()}:"


def template_text(source_text: str, language: Language, translation: str = "") -> str:
    """The text of one template cue."""
    flat = " ".join(LINE_BREAK.split(source_text)).strip()
    return f"{SOURCE_LABEL} {flat}\n{marker(language)} {translation}".rstrip()


def is_template_text(text: str) -> bool:
    """Whether a cue's text is in template form (it starts with the source label)."""
    return text.lstrip().startswith(SOURCE_LABEL)


def parse_template_text(text: str, language: Language, index: int, where: str) -> str:
    """The translation written in a template cue ("" when not filled in yet).

    Script readers may join a cue's lines with spaces, so the marker is found inline: the first
    upper-case "ZH:" standing as a word after the source label. Text without the source label is
    a plain translated line and is returned as it is.
    """
    if not is_template_text(text):
        return " ".join(text.split())
    label = marker(language)
    found = re.search(rf"(?:^|\s){re.escape(label)}", text)
    if found is None:
        raise ScriptError(
            f"{where}: line {index + 1} has no {label!r} marker for the {language.code} translation: {text!r}"
        )
    return " ".join(text[found.end():].split())


def read_template(path: Path, language: Language, duration: float | None = None) -> tuple[tuple[Cue, ...], int]:
    """Read a (partly) filled template: cues carrying the translations, and how many are unfilled.

    Unfilled lines come back with empty text; callers decide whether that is acceptable.
    """
    script = read_script(path, duration=duration)
    cues, unfilled = [], 0
    for i, cue in enumerate(script.cues):
        translation = parse_template_text(cue.text, language, i, str(path))
        unfilled += not translation
        cues.append(replace(cue, text=translation))
    return tuple(cues), unfilled
