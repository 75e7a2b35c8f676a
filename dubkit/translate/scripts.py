"""Where each language's translated script comes from.

Precedence, per language (docs/translation.md):
1. `--scripts DIR`: DIR/<stem>.<tag>.<ext>, or DIR/<tag>.<ext>;
2. beside the input media: <stem>.<tag>.<ext> (e.g. ad.zh.srt, ad.zh-CN.vtt, ad.cmn.json);
3. a translator engine, when one is configured;
otherwise a TranslationError naming the languages that have neither.

<tag> is the language code or any of its aliases (langs resolves it); <ext> is .srt .vtt .ass .json.
Within one folder a finished script beats a `dubkit script` template (<stem>.<tag>.template.<ext>);
two finished scripts (or two templates) for the same language in one folder are an error naming
both, never a silent pick.
"""
from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace
from pathlib import Path

from dubkit.adapters.subtitles import read_script
from dubkit.errors import ScriptError
from dubkit.translate.base import TranslationError
from dubkit.translate.template import is_template_text, parse_template_text
from eval.types import Cue
from langs import Language, LanguageError, get_language

SCRIPT_EXTENSIONS = (".srt", ".vtt", ".ass", ".json")
_TEMPLATE = ".template"


@dataclass(frozen=True)
class ScriptSource:
    """A translated script (or filled template) found for a language."""

    language: str
    path: Path
    template: bool = False


def _listing(folder: Path) -> list[Path]:
    try:
        return sorted(folder.iterdir())
    except OSError as err:
        raise ScriptError(f"scripts folder {folder} cannot be listed: {err.strerror}") from err


def _candidates(folder: Path, stem: str, language: Language, allow_bare: bool) -> list[ScriptSource]:
    found = []
    for path in _listing(folder):
        if path.suffix.lower() not in SCRIPT_EXTENSIONS:
            continue
        name = path.name[: -len(path.suffix)]
        template = name.lower().endswith(_TEMPLATE)
        if template:
            name = name[: -len(_TEMPLATE)]
        if name.startswith(stem + "."):
            tag = name[len(stem) + 1 :]
        elif allow_bare:
            tag = name
        else:
            continue
        try:
            if get_language(tag).code != language.code:
                continue
        except LanguageError:
            continue  # ad.final.srt, ad.source.srt ...: not a language tag
        if not path.is_file():  # named as this language's script: a folder or device there is a mistake
            target = f" (a link to {path.resolve()})" if path.is_symlink() else ""
            raise ScriptError(f"translated script {path} is not a file{target}")
        found.append(ScriptSource(language.code, path, template))
    return found


def _pick(found: list[ScriptSource], language: Language, folder: Path) -> ScriptSource | None:
    for want_template in (False, True):
        group = [s for s in found if s.template == want_template]
        if len(group) > 1:
            names = ", ".join(s.path.name for s in group)
            raise ScriptError(f"{len(group)} scripts for {language.code} in {folder}: {names}; keep one")
        if group:
            return group[0]
    return None


def find_script(media: Path | str, language: Language, scripts_dir: Path | str | None = None) -> ScriptSource | None:
    """The translated script for `language`, by the precedence above, or None."""
    media = Path(media)
    stem = media.stem
    if scripts_dir is not None:
        scripts_dir = Path(scripts_dir)
        if not scripts_dir.is_dir():
            raise ScriptError(f"scripts folder {scripts_dir} does not exist")
        hit = _pick(_candidates(scripts_dir, stem, language, allow_bare=True), language, scripts_dir)
        if hit:
            return hit
    folder = media.parent if str(media.parent) else Path(".")
    if folder.is_dir():
        return _pick(_candidates(folder, stem, language, allow_bare=False), language, folder)
    return None


def load_translation(src: ScriptSource, *, duration: float | None = None) -> tuple[Cue, ...]:
    """Read a translated script; filled `dubkit script` templates are read back to their translations.

    A template line still empty is a ScriptError naming the lines (a dub cannot say nothing).
    """
    language = get_language(src.language)
    cues = read_script(src.path, duration=duration).cues
    if not any(is_template_text(c.text) for c in cues):
        return tuple(cues)
    out, empty = [], []
    for i, cue in enumerate(cues):
        text = parse_template_text(cue.text, language, i, str(src.path))
        if not text:
            empty.append(i + 1)
        out.append(replace(cue, text=text))
    if empty:
        shown = ", ".join(map(str, empty[:10])) + (" ..." if len(empty) > 10 else "")
        raise ScriptError(f"{src.path}: {len(empty)} template line(s) not translated yet: {shown}")
    return tuple(out)


def require_sources(
    media: Path | str, languages: Sequence[Language], *, scripts_dir: Path | str | None = None,
    have_translator: bool = False, source_language: Language | None = None,
) -> dict[str, ScriptSource | None]:
    """Find every language's script up front; TranslationError naming every language left without one.

    A language with no script maps to None (the translator, or the source itself when the target
    is the source language, provides it).
    """
    found = {lang.code: find_script(media, lang, scripts_dir) for lang in languages}
    missing = [
        code for code, src in found.items()
        if src is None and not have_translator and not (source_language and code == source_language.code)
    ]
    if missing:
        where = f"{scripts_dir} or beside {media}" if scripts_dir else f"beside {media}"
        examples = ", ".join(f"{Path(media).stem}.{c}.srt" for c in missing)
        raise TranslationError(
            f"no translated script for {', '.join(missing)} ({where}: expected e.g. {examples}) "
            f"and no translator configured (--translator)"
        )
    return found
