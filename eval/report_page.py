"""The one report page for people: `dubkit eval` and `dubkit localize` render the same Jinja2 template
(eval/templates/report.html) with one stylesheet and one script, inlined so the page is a single file.

This is the only module that imports jinja2. Callers build a `page` dict (the fields are listed in
docs/review.md, "The page model"); this module turns it into HTML. Autoescaping is on: only
fields named `diff`, `whole_diff` and `chart` carry HTML, made by eval.report_html's own escaping code.
"""
from __future__ import annotations

from functools import lru_cache
from importlib.resources import files
from typing import Any

BORDERLINE = 0.05
"""A pass within this distance of the threshold is a *borderline pass* (error rates are 0..1)."""

VERDICT_TEXT = {"pass": "pass", "borderline": "borderline pass", "fail": "fail"}


def verdict_of(passed: bool, error_rate: float | None, threshold: float | None) -> str:
    """"pass", "borderline" (passed, within BORDERLINE of the threshold) or "fail"."""
    if not passed:
        return "fail"
    if error_rate is not None and threshold is not None and threshold - error_rate <= BORDERLINE + 1e-9:
        return "borderline"
    return "pass"


def pct(x: float | None) -> str:
    """0.343 -> "34.3 %" ("–" for no figure)."""
    return "–" if x is None else f"{100 * x:.1f} %"


def timecode(start: float | None, end: float | None) -> str:
    """"00:03.10–00:05.90" (minutes:seconds), "–" for an untimed line."""
    if start is None or end is None:
        return "–"

    def one(t: float) -> str:
        minutes, seconds = divmod(max(t, 0.0), 60.0)
        return f"{int(minutes):02d}:{seconds:05.2f}"

    return f"{one(start)}–{one(end)}"


@lru_cache(maxsize=1)
def _environment():
    from jinja2 import Environment, PackageLoader, StrictUndefined, select_autoescape

    return Environment(loader=PackageLoader("eval", "templates"), autoescape=select_autoescape(["html"]),
                       undefined=StrictUndefined, trim_blocks=True, lstrip_blocks=True)


def _asset(name: str) -> str:
    return files("eval.templates").joinpath(name).read_text(encoding="utf-8")


_SECTION_DEFAULTS = {"video": None, "poster": None, "problems": [], "warnings": [], "notes": [], "chart": None,
                     "whole_diff": None, "columns": {"thumb": False, "take": False, "review": False}}
_LINE_DEFAULTS = {"speaker": None, "take": None, "takes": 0, "alternatives": [], "pinned": False, "thumbnail": None,
                  "window": None, "edited": None, "comments": [], "start": None, "end": None}
_PAGE_DEFAULTS = {"badges": [], "notes": [], "review": None, "facts": [], "footer": "", "html_lang": "en",
                  "borderline": f"{BORDERLINE:.2f}", "facts_title": "Job facts"}


def _filled(page: dict[str, Any]) -> dict[str, Any]:
    """The page with every optional field present (the template is strict about names)."""
    sections = [{**_SECTION_DEFAULTS, **s, "lines": [{**_LINE_DEFAULTS, **line} for line in s["lines"]]}
                for s in page["sections"]]
    return {**_PAGE_DEFAULTS, **page, "sections": sections}


def render_page(page: dict[str, Any]) -> str:
    """The page as one self-contained HTML document."""
    template = _environment().get_template("report.html")
    return template.render(page=_filled(page), css=_asset("report.css"), js=_asset("report.js"))
