"""The `dubkit script` job: a timed source script and one fill-in template per language.

For a translator: DIR/<stem>.source.srt is the timed source; DIR/<stem>.<lang>.template.srt has one
cue per source line, same timing, whose text is

    SRC: the source line
    ZH:                          <- the translation goes after the language marker

Any subtitle editor (or a text editor) fills it in; dubkit reads it back (`read_template`, or as a
translated script found by `dubkit.translate.scripts`). DIR/<stem>.<lang>.fit.tsv lists, per line,
the time budget, roughly how many syllables fit, and for filled lines the estimated spoken duration,
the speed-up needed and whether it fits. Re-running the command keeps filled templates and refreshes
the tables, so a translator sees which lines are still too long. Format: docs/translation.md.
"""
from __future__ import annotations

from dataclasses import dataclass, replace
from pathlib import Path
from typing import Mapping, Sequence

from dubkit.adapters.subtitles import (
    TIMED_FORMATS,
    check_cues,
    read_script,
    write_script,
)
from dubkit.errors import InputError, OutputError, ScriptError
from dubkit.stages.probe import probe_source
from dubkit.stages.transcribe import language_from_name, load_source_script
from dubkit.store.cache import StageCache
from dubkit.store.files import atomic_write_text, check_output_dir
from dubkit.translate.scripts import find_script, load_translation
from dubkit.translate.template import (
    LINE_BREAK,
    TEMPLATE_FORMATS,
    read_template,
    template_text,
)
from dubkit.translate.timing import LineFit, fit_line, max_units
from eval.asr import LazyRecognizer
from eval.types import Cue
from langs import Language


@dataclass(frozen=True)
class LanguagePackage:
    """What was written for one language, and how its filled lines fit."""

    language: str
    template: Path
    fit_table: Path
    filled: int
    total: int
    fits: tuple[LineFit, ...]  # one per filled line
    kept: bool  # an existing (filled) template was kept rather than written

    @property
    def overflow(self) -> tuple[LineFit, ...]:
        return tuple(f for f in self.fits if not f.fits)


@dataclass(frozen=True)
class ScriptPackage:
    source: Path
    packages: dict[str, LanguagePackage]


def _same_timing(a: Sequence[Cue], b: Sequence[Cue]) -> bool:
    return len(a) == len(b) and all(
        round(x.start or 0.0, 3) == round(y.start or 0.0, 3) and round(x.end or 0.0, 3) == round(y.end or 0.0, 3)
        for x, y in zip(a, b)
    )


def _fmt(seconds: float | None) -> str:
    return "" if seconds is None else f"{seconds:.3f}"


def _tsv_cell(text: str) -> str:
    return " ".join(LINE_BREAK.split(text)).replace("\t", " ").strip()


def _source_text(source_cues: Sequence[Cue], cue: Cue) -> str:
    """The source lines overlapping `cue` in time (a translator may split or merge lines)."""
    return " ".join(
        s.text for s in source_cues if min(s.end, cue.end) - max(s.start, cue.start) > 0  # type: ignore[operator]
    )


def _fit_table(rows_in: Sequence[tuple[str, Cue]], language: Language) -> tuple[str, tuple[LineFit, ...]]:
    header = ["index", "start", "end", "budget_s", "max_units", "source", "translation",
              "estimated_s", "speed_factor", "fits"]
    rows, fits = ["\t".join(header)], []
    for i, (source_text, tr) in enumerate(rows_in):
        budget = tr.duration or 0.0
        cells = [str(i + 1), _fmt(tr.start), _fmt(tr.end), f"{budget:.3f}", str(max_units(language, budget)),
                 _tsv_cell(source_text), _tsv_cell(tr.text)]
        if tr.text.strip():
            fit = fit_line(tr.text, language, budget, index=i, start=tr.start, end=tr.end)
            fits.append(fit)
            cells += [f"{fit.estimated:.3f}", f"{fit.speed_factor:.3f}", "yes" if fit.fits else "NO"]
        else:
            cells += ["", "", ""]
        rows.append("\t".join(cells))
    return "\n".join(rows) + "\n", tuple(fits)


def _language_package(source_cues: Sequence[Cue], language: Language, out_dir: Path, stem: str, fmt: str,
                      translation: Sequence[Cue] | None) -> LanguagePackage:
    template = out_dir / f"{stem}.{language.code}.template.{fmt}"
    fit_path = out_dir / f"{stem}.{language.code}.fit.tsv"
    kept = False
    filled_cues: tuple[Cue, ...] = tuple(replace(c, text="") for c in source_cues)
    if template.exists():
        existing, unfilled = read_template(template, language)
        if _same_timing(existing, source_cues):
            filled_cues, kept = existing, True
        elif unfilled < len(existing):
            raise OutputError(
                f"{template} holds translations for a different source script "
                f"({len(existing)} lines, the source has {len(source_cues)}); move it away to start over"
            )
    if not kept:
        write_script([replace(c, text=template_text(c.text, language, t.text))
                      for c, t in zip(source_cues, filled_cues)], template)
    if translation is not None:
        # A finished script the translator delivered: checked against its own timing.
        rows = [(_source_text(source_cues, c), c) for c in translation]
    else:
        rows = [(s.text, t) for s, t in zip(source_cues, filled_cues)]
    table, fits = _fit_table(rows, language)
    atomic_write_text(fit_path, table)
    filled = sum(1 for _, c in rows if c.text.strip())
    return LanguagePackage(language.code, template, fit_path, filled, len(rows), fits, kept)


def _ensure_dir(out_dir: Path) -> Path:
    check_output_dir(out_dir, need_bytes=0)  # a few text files: no free-space floor
    return out_dir


def write_script_package(
    source_cues: Sequence[Cue], languages: Sequence[Language], out_dir: Path | str, stem: str,
    *, fmt: str = "srt", translations: Mapping[str, Sequence[Cue]] | None = None,
) -> ScriptPackage:
    """Write the source script, one template and one fit table per language; keep filled templates.

    `translations` (language code -> timed cues), e.g. a finished script the translator delivered,
    are checked against their own timing instead of the template's contents.
    """
    if fmt not in TEMPLATE_FORMATS:
        raise InputError(f"template format {fmt!r} is not one of {', '.join(TEMPLATE_FORMATS)}")
    if not source_cues:
        raise ScriptError("the source script has no lines: nothing to translate")
    check_cues(source_cues, name="the source script")  # templates need a timed source script
    out_dir = _ensure_dir(Path(out_dir))
    source_path = write_script(list(source_cues), out_dir / f"{stem}.source.srt")
    packages = {
        lang.code: _language_package(source_cues, lang, out_dir, stem, fmt, (translations or {}).get(lang.code))
        for lang in languages
    }
    return ScriptPackage(source=Path(source_path), packages=packages)


SCRIPT_SUFFIXES = tuple(TIMED_FORMATS)  # MEDIA with one of these is a source script, not media


def _script_stem(path: Path) -> str:
    """The job's stem when MEDIA is a script: `ad.en.srt` and `ad.source.srt` stand for `ad`, so the
    outputs are `ad.zh.template.srt` (not `ad.en.zh...`) and `ad.zh.srt` beside it is found."""
    base, _, tag = path.stem.rpartition(".")
    return base if base and (tag == "source" or language_from_name(path)) else path.stem


def make_script_package(
    media: Path | str, languages: Sequence[Language], out_dir: Path | str, *,
    source_script: Path | None = None, scripts_dir: Path | None = None, asr_model: str | None = None,
    fmt: str = "srt", recognizer=None,
) -> ScriptPackage:
    """The `dubkit script` job: source lines from `media` (a script file, the given source script,
    or speech recognition of the media, cached under `out_dir`), then `write_script_package`.

    Finished translated scripts found for a language (beside the media or in `scripts_dir`, see
    dubkit.translate.scripts) are fit-checked too, so a translator sees which lines are too long.
    """
    media, out_dir = Path(media), Path(out_dir)
    duration = None
    if media.suffix.lower() in SCRIPT_SUFFIXES and source_script is None:
        cues = read_script(media).cues
        media = media.with_name(_script_stem(media) + media.suffix)  # names the outputs and the lookup
    else:
        source = probe_source(media)
        duration = source.duration

        # The same recognition cache as `dubkit localize` (keyed by the recogniser's identity).
        lazy = LazyRecognizer(asr_model, recognizer=recognizer)
        cues = load_source_script(source, source_script, StageCache(_ensure_dir(out_dir)), lazy).cues
    translations = {}
    for lang in languages:
        found = find_script(media, lang, scripts_dir)
        if found is not None and not found.template:
            translations[lang.code] = load_translation(found, duration=duration)
    return write_script_package(cues, languages, out_dir, media.stem, fmt=fmt, translations=translations)
