"""The fontconfig adapter: which installed font covers a text, and what a given font file covers.

Runs fontconfig's own tools (`fc-match`, `fc-query`) with argument lists. A font "covers" a text when
its character map holds every character of it (spaces and line breaks aside); libass would otherwise
draw empty boxes, so burning in subtitles in an uncovered script is refused before anything is written.
"""
from __future__ import annotations

import subprocess
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

from dubkit.errors import InputError

CANDIDATES = 12  # of fontconfig's sorted list for a language, the ones whose character maps are read


@dataclass(frozen=True)
class Font:
    """A font file and the family name libass selects it by."""

    path: Path
    family: str


def _fc(tool: str, *args: str) -> str:
    try:
        proc = subprocess.run([tool, *args], capture_output=True, check=False, text=True)
    except FileNotFoundError:
        raise InputError(f"fontconfig's {tool} is not installed (Debian/Ubuntu: apt install fontconfig); "
                         "burned-in subtitles need it to find and check fonts") from None
    if proc.returncode != 0:
        raise InputError(f"{tool} failed on {args[-1]!r}: {proc.stderr.strip()[-300:]}")
    return proc.stdout


@lru_cache(maxsize=64)
def _charset(path: str) -> tuple[tuple[int, int], ...]:
    """The code point ranges of the font's first face."""
    first = _fc("fc-query", "-f", "%{charset}\n", path).splitlines()
    ranges = []
    for item in (first[0].split() if first else ()):
        lo, _, hi = item.partition("-")
        ranges.append((int(lo, 16), int(hi or lo, 16)))
    return tuple(ranges)


def missing_characters(font: Path, text: str) -> str:
    """The distinct characters of `text` the font has no glyph for, in order of appearance."""
    ranges = _charset(str(Path(font).resolve()))
    missing = []
    for ch in dict.fromkeys(text):
        if ch.isspace() or ch in missing:
            continue
        if not any(lo <= ord(ch) <= hi for lo, hi in ranges):
            missing.append(ch)
    return "".join(missing)


def font_file(path: Path) -> Font:
    """A given font file (TTF, OTF, TTC: its first face); InputError when fontconfig cannot read it."""
    families = _fc("fc-query", "-f", "%{family[0]}\n", str(Path(path).resolve())).splitlines()
    if not families or not families[0].strip():
        raise InputError(f"--subtitle-font {path} is not a font fontconfig can read")
    return Font(Path(path).resolve(), families[0].strip())


def find_font(fc_lang: str, text: str) -> Font | None:
    """The best installed sans-serif font for the fontconfig language `fc_lang` ("zh-cn", "ja" ...) whose
    character map covers `text`; None when none of fontconfig's first candidates does."""
    listing = _fc("fc-match", "-s", "-f", "%{file}\t%{family[0]}\n", f"sans-serif:lang={fc_lang}")
    seen = set()
    for line in listing.splitlines()[:CANDIDATES]:
        file, _, family = line.partition("\t")
        if not file or (file, family) in seen:
            continue
        seen.add((file, family))
        # a collection's faces share one character map in practice; libass picks the face by family name
        if Path(file).is_file() and not missing_characters(Path(file), text):
            return Font(Path(file), family)
    return None
