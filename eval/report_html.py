"""The gate's HTML report for people: verdict first, a chart, then every line with its differences.

The page is the shared report template (eval.report_page) with one language; it is self-contained
(inline CSS and an inline SVG chart) so it can be mailed to a client. The diff and chart helpers here
serve the localize report too.
"""
from __future__ import annotations

from collections.abc import Sequence
from html import escape
from pathlib import Path

from eval.gate import GateResult
from eval.report_json import write_text_atomic
from eval.report_page import BORDERLINE, VERDICT_TEXT, pct, render_page, timecode, verdict_of
from eval.scoring import AlignedUnit
from langs import Language, get_language

_METRIC_NAMES = {"wer": "word error rate", "cer": "character error rate"}
_UNITS = {"wer": "words", "cer": "characters"}
_NORMALISATION = {
    "wer": "case, punctuation and spacing ignored; scored in words",
    "cer": "punctuation and spacing ignored, Chinese compared in simplified characters; scored in characters",
}


def render_diff(alignment: tuple[AlignedUnit, ...], metric: str) -> str:
    """The alignment as HTML: equal text plain, deletions in <del>, insertions in <ins>."""
    sep = "" if metric == "cer" else " "
    parts = []
    for step in alignment:
        if step.op == "equal":
            parts.append(escape(step.ref or ""))
        elif step.op == "substitute":
            parts.append(
                f'<span class="sub"><del>{escape(step.ref or "")}</del><ins>{escape(step.hyp or "")}</ins></span>'
            )
        elif step.op == "delete":
            parts.append(f"<del>{escape(step.ref or '')}</del>")
        else:
            parts.append(f"<ins>{escape(step.hyp or '')}</ins>")
    return sep.join(parts) or "<em>(nothing)</em>"


def render_chart(result: GateResult, width: int = 1000, bar_area: int = 180) -> str:
    """An inline SVG bar chart of a gate result: one bar per line (see render_bars)."""
    return render_bars([s.error_rate for s in result.segments], [s.passed for s in result.segments],
                       result.threshold, width, bar_area)


def render_bars(rates: Sequence[float], passed: Sequence[bool], threshold: float, width: int = 1000,
                bar_area: int = 180) -> str:
    """An inline SVG bar chart: one bar per line, red above the threshold, a dashed threshold line."""
    top = max([1.0, threshold, *rates])
    left, bottom, pad_top = 44, 24, 10
    height = pad_top + bar_area + bottom
    n = max(len(rates), 1)
    slot = (width - left - 10) / n
    bar = max(min(slot * 0.7, 60), 2)

    def y(v: float) -> float:
        return pad_top + bar_area * (1 - v / top)

    out = [f'<svg role="img" aria-label="error rate per line" viewBox="0 0 {width} {height}" width="100%">']
    for tick in (0.0, 0.25, 0.5, 0.75, 1.0):
        if tick <= top:
            out.append(
                f'<line x1="{left}" x2="{width - 10}" y1="{y(tick):.1f}" y2="{y(tick):.1f}" stroke="#e4e8eb"/>'
                f'<text x="{left - 6}" y="{y(tick) + 4:.1f}" text-anchor="end">{int(tick * 100)}%</text>'
            )
    for i, (ok, rate) in enumerate(zip(passed, rates, strict=True)):
        x = left + i * slot + (slot - bar) / 2
        colour = "#1f7a3d" if ok else "#b3261e"
        label = f"line {i + 1}: {pct(rate)}"
        out.append(
            f'<rect x="{x:.1f}" y="{y(rate):.1f}" width="{bar:.1f}" height="{y(0) - y(rate):.1f}" '
            f'fill="{colour}"><title>{escape(label)}</title></rect>'
        )
        if n <= 40:
            out.append(f'<text x="{x + bar / 2:.1f}" y="{height - 8}" text-anchor="middle">{i + 1}</text>')
    ty = y(threshold)
    out.append(
        f'<line x1="{left}" x2="{width - 10}" y1="{ty:.1f}" y2="{ty:.1f}" stroke="#e0a800" '
        f'stroke-width="2" stroke-dasharray="6 4"/>'
        f'<text x="{width - 12}" y="{ty - 4:.1f}" text-anchor="end">threshold {pct(threshold)} '
        f'(lower is better)</text>'
    )
    out.append("</svg>")
    return "".join(out)


def _lines(result: GateResult) -> list[dict]:
    return [{
        "number": s.index + 1, "start": s.start, "end": s.end, "timecode": timecode(s.start, s.end),
        "script": s.reference, "speaker": None, "heard": s.score.hypothesis,
        "diff": render_diff(s.score.alignment, result.metric), "rate": pct(s.error_rate),
        "verdict": verdict_of(s.passed, s.error_rate, result.threshold), "edited": None, "comments": [],
    } for s in result.segments]


def page_of(result: GateResult) -> dict:
    """The report page (eval.report_page) for one gate result: one language, one section."""
    lang = get_language(result.language)
    verdict = verdict_of(result.passed, result.error_rate, result.threshold)
    w, media = result.whole, result.media or "audio"
    section = {
        "code": lang.code, "name": lang.english_name, "tag": lang_tag(lang), "anchor": f"lang-{lang.code}",
        "verdict": verdict, "verdict_text": VERDICT_TEXT[verdict], "video": None,
        "problems": [], "warnings": [{"text": n, "next": None} for n in result.notes], "notes": [],
        "chart": render_chart(result), "lines": _lines(result), "whole_diff": render_diff(w.alignment, result.metric),
        "columns": {"thumb": False, "take": False, "review": False}, "metric_short": result.metric.upper(),
    }
    row = {"code": lang.code, "name": lang.english_name, "anchor": section["anchor"], "verdict": verdict,
           "verdict_text": VERDICT_TEXT[verdict], "error_rate": pct(result.error_rate), "metric": result.metric.upper(),
           "threshold": pct(result.threshold), "lines_ok": sum(s.passed for s in result.segments),
           "lines_total": len(result.segments), "duration": f"{result.transcript.duration:.1f} s",
           "loudness": "–", "links": []}
    return {
        "kind": "eval", "html_lang": "en", "title": f"dubkit eval: {media} ({result.language})",
        "heading": "Speech quality report",
        "meta_line": f"{media}" + (f" against {result.script}" if result.script else "") + f" · language {lang.code}",
        "verdict": verdict, "verdict_text": "PASSED" if result.passed else "FAILED", "badges": [],
        "headline": f"{_METRIC_NAMES[result.metric]} {pct(result.error_rate)} against a threshold of "
                    f"{pct(result.threshold)} (lower is better); {row['lines_ok']} of {row['lines_total']} "
                    f"lines within it; hits / substitutions / deletions / insertions "
                    f"{w.hits} / {w.substitutions} / {w.deletions} / {w.insertions}.",
        "notes": [], "review": None, "summary": [row], "sections": [section], "units": _UNITS[result.metric],
        "borderline": f"{BORDERLINE:.2f}", "facts_title": "Recogniser and scoring",
        "facts": [("recogniser", result.model), ("language forced to", result.transcript.language),
                  ("normalisation", _NORMALISATION[result.metric])],
        "footer": "Generated by dubkit eval.",
    }


def lang_tag(lang: Language) -> str:
    """The HTML `lang` value for a language's text: Chinese is scored (and shown) in simplified characters."""
    return {"zh": "zh-Hans", "yue": "yue-Hant"}.get(lang.code, lang.code)


def render_html(result: GateResult) -> str:
    """The whole report page as a string."""
    return render_page(page_of(result))


def write_html(result: GateResult, path: Path) -> Path:
    """Write the HTML report atomically; return its path."""
    return write_text_atomic(Path(path), render_html(result))
