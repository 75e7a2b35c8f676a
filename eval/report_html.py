"""The gate's HTML report for people: verdict first, a chart, then every line with its differences.

The page is self-contained (inline CSS and an inline SVG chart) so it can be mailed to a client.
"""
from __future__ import annotations

from html import escape
from importlib.resources import files
from pathlib import Path
from string import Template

from eval.gate import GateResult
from eval.report_json import write_text_atomic
from eval.scoring import AlignedUnit

_METRIC_NAMES = {"wer": "word error rate", "cer": "character error rate"}
_NORMALISATION = {
    "wer": "case, punctuation and spacing ignored; scored in words",
    "cer": "punctuation and spacing ignored, Chinese compared in simplified characters; scored in characters",
}


def _pct(x: float) -> str:
    return f"{100 * x:.1f} %"


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
    """An inline SVG bar chart: one bar per line, red above the threshold, a dashed threshold line."""
    rates = [s.error_rate for s in result.segments]
    top = max([1.0, result.threshold, *rates])
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
    for i, (seg, rate) in enumerate(zip(result.segments, rates, strict=True)):
        x = left + i * slot + (slot - bar) / 2
        colour = "#1f7a3d" if seg.passed else "#b3261e"
        label = f"line {i + 1}: {_pct(rate)}"
        out.append(
            f'<rect x="{x:.1f}" y="{y(rate):.1f}" width="{bar:.1f}" height="{y(0) - y(rate):.1f}" '
            f'fill="{colour}"><title>{escape(label)}</title></rect>'
        )
        if n <= 40:
            out.append(f'<text x="{x + bar / 2:.1f}" y="{height - 8}" text-anchor="middle">{i + 1}</text>')
    ty = y(result.threshold)
    out.append(
        f'<line x1="{left}" x2="{width - 10}" y1="{ty:.1f}" y2="{ty:.1f}" stroke="#e0a800" '
        f'stroke-width="2" stroke-dasharray="6 4"/>'
        f'<text x="{width - 12}" y="{ty - 4:.1f}" text-anchor="end">threshold {_pct(result.threshold)}</text>'
    )
    out.append("</svg>")
    return "".join(out)


def _time(start: float | None, end: float | None) -> str:
    if start is None or end is None:
        return "&ndash;"
    return f"{start:.2f}&ndash;{end:.2f} s"


def render_html(result: GateResult) -> str:
    """The whole report page as a string."""
    rows = []
    for s in result.segments:
        rows.append(
            f'<tr class="{"good" if s.passed else "bad"}"><td class="num">{s.index + 1}</td>'
            f'<td class="num">{_time(s.start, s.end)}</td><td>{escape(s.reference)}</td>'
            f'<td>{escape(s.hypothesis) or "<em>(nothing heard)</em>"}</td>'
            f'<td class="diff">{render_diff(s.score.alignment, result.metric)}</td>'
            f'<td class="num rate">{_pct(s.error_rate)}</td></tr>'
        )
    notes = ""
    if result.notes:
        notes = '<div class="notes"><ul>' + "".join(f"<li>{escape(n)}</li>" for n in result.notes) + "</ul></div>"
    media = escape(result.media or "audio")
    script = f" against {escape(result.script)}" if result.script else ""
    w = result.whole
    template = Template(files("eval").joinpath("report_template.html").read_text(encoding="utf-8"))
    return template.substitute(
        title=escape(f"{result.media or 'audio'} ({result.language})"),
        media_line=f"{media}{script} &middot; language <b>{escape(result.language)}</b>",
        verdict_class="pass" if result.passed else "fail",
        verdict="PASSED" if result.passed else "FAILED",
        error_rate=_pct(result.error_rate),
        metric_name=_METRIC_NAMES[result.metric],
        metric_short=result.metric.upper(),
        threshold=_pct(result.threshold),
        counts=f"{w.hits} / {w.substitutions} / {w.deletions} / {w.insertions}",
        n_passed=sum(s.passed for s in result.segments),
        n_segments=len(result.segments),
        notes=notes,
        chart=render_chart(result),
        normalisation=_NORMALISATION[result.metric],
        rows="\n".join(rows),
        whole_diff=render_diff(w.alignment, result.metric),
        model=escape(result.model),
        whisper_language=escape(result.transcript.language),
    )


def write_html(result: GateResult, path: Path) -> Path:
    """Write the HTML report atomically; return its path."""
    return write_text_atomic(Path(path), render_html(result))
