"""Stage 8, report: the job report, JSON for machines and HTML for people.

Per language and window: the line, what the recogniser heard, the error rate against the threshold,
every attempt with its seed and timings, a thumbnail, pass/fail; then the overall verdict and what
reproduces the job (versions, seeds, prompts, checkpoint hashes). Thumbnails are inline base64 JPEG
so the HTML is one self-contained file that can be mailed to a client.
"""
from __future__ import annotations

import html
import json
import platform
from collections.abc import Sequence
from dataclasses import asdict
from pathlib import Path
from typing import Any

from dubkit.adapters import package_version
from dubkit.stages.deliver import LanguageSummary
from dubkit.store.files import atomic_write_text
from dubkit.translate.timing import LineFit

REPORT_VERSION = 1
_PACKAGES = ("dubkit", "numpy", "torch", "av", "faster-whisper", "ctranslate2", "jiwer", "pysubs2",
             "imageio-ffmpeg", "espeakng-loader", "piper-tts", "pyopenjtalk-plus", "diffusers", "transformers")


def versions() -> dict[str, str]:
    """Installed versions of the packages that shape the output (for reproduction)."""
    found = {"python": platform.python_version()}
    found.update({name: v for name in _PACKAGES if (v := package_version(name, None))})
    return found


def _attempt(a) -> dict:
    d = asdict(a)
    d["error_rate"] = round(a.error_rate, 4)
    d["seconds_render"] = round(a.seconds_render, 3)
    d["seconds_gate"] = round(a.seconds_gate, 3)
    return d


def _language(summary: LanguageSummary) -> dict:
    windows = []
    for o in summary.outcomes:
        chosen = o.chosen_attempt
        windows.append({
            "index": o.window_index, "start": o.start, "end": o.end, "line": _said(o),
            "speakers": list(o.speakers),
            "heard": chosen.heard, "error_rate": round(chosen.error_rate, 4), "metric": chosen.metric,
            "threshold": chosen.threshold, "passed": o.passed, "chosen_attempt": chosen.number,
            "seed": chosen.seed, "attempts": [_attempt(a) for a in o.attempts],
            "thumbnail": summary.thumbnails.get(o.window_index),
        })
    return {
        "language": summary.language, "passed": summary.passed, "reasons": list(summary.reasons),
        "script": summary.script_origin,
        "video": str(summary.video) if summary.video else None,
        "subtitles": str(summary.subtitles) if summary.subtitles else None,
        "loudness_lufs": summary.loudness_lufs, "duration": summary.duration,
        "windows_passed": sum(o.passed for o in summary.outcomes), "windows": windows,
        "glossary_violations": [asdict(v) for v in summary.glossary_violations],
        "timing_overflows": [_overflow(f) for f in summary.timing_overflows],
        "delivered": _delivered(summary),
    }


def _said(outcome) -> str:
    """The window's lines, each after its speaker's name when the script names speakers."""
    who = outcome.speakers if len(outcome.speakers) == len(outcome.lines) else (None,) * len(outcome.lines)
    if not any(who):
        return " ".join(outcome.lines)
    return " / ".join(f"{s}: {t}" if s else t for s, t in zip(who, outcome.lines, strict=True))


def _overflow(fit: LineFit) -> dict:
    return {"index": fit.index, "text": fit.text, "start": fit.start, "end": fit.end,
            "budget": fit.budget, "estimated": fit.estimated, "speed_factor": fit.speed_factor,
            "max_speed": fit.max_speed}


def _delivered(summary: LanguageSummary) -> dict | None:
    if summary.delivered is None:
        return None
    return {**summary.delivered.to_json(), "notes": list(summary.delivered.notes)}


def build_report(job: dict[str, Any], languages: Sequence[LanguageSummary]) -> dict[str, Any]:
    """The JSON document: `job` (source, options, engine, windows, timings ...) plus per-language results."""
    passed = all(s.passed for s in languages)
    return {
        "report_version": REPORT_VERSION,
        "verdict": "pass" if passed else "fail",
        "passed": passed,
        "versions": versions(),
        **job,
        "languages": {s.language: _language(s) for s in languages},
    }


_CSS = """
body{font-family:system-ui,sans-serif;margin:2em;color:#222}
.badge{display:inline-block;padding:.15em .6em;border-radius:.3em;color:#fff;font-weight:600}
.pass{background:#2a7d2e}.fail{background:#b3261e}.preview{background:#8a5a00}
table{border-collapse:collapse;margin:.6em 0 1.6em}td,th{border:1px solid #ccc;padding:.3em .5em;
vertical-align:top;text-align:left;font-size:.92em}th{background:#f3f3f3}img{display:block}
.small{color:#666;font-size:.85em}code{font-size:.85em}
"""


def _badge(ok: bool) -> str:
    return f'<span class="badge {"pass" if ok else "fail"}">{"PASS" if ok else "FAIL"}</span>'


def _window_rows(lang: dict) -> str:
    rows = []
    for w in lang["windows"]:
        thumb = f'<img src="{w["thumbnail"]}" width="160" alt="window {w["index"]}">' if w["thumbnail"] else ""
        attempts = "<br>".join(
            f'#{a["number"]} seed {a["seed"]}: {a["metric"].upper()} {a["error_rate"]:.1%} '
            f'{"pass" if a["passed"] else "fail"} ({a["seconds_render"]:.1f} s render'
            f'{", cached" if a["cached"] else ""}, {a["seconds_gate"]:.1f} s gate)'
            for a in w["attempts"]
        )
        rows.append(
            f'<tr><td>{thumb}</td><td>{w["index"]}<br><span class="small">{w["start"]:.2f}–{w["end"]:.2f} s'
            f'</span></td><td>{html.escape(w["line"])}</td><td>{html.escape(w["heard"])}</td>'
            f'<td>{w["metric"].upper()} {w["error_rate"]:.1%}<br><span class="small">threshold '
            f'{w["threshold"]:.0%}</span></td><td class="small">{attempts}</td><td>{_badge(w["passed"])}</td></tr>'
        )
    return "".join(rows)


def _issues(lang: dict) -> str:
    items = [html.escape(r) for r in lang["reasons"]]
    items += [html.escape(f'glossary: "{v.get("term")}" missing from the {v.get("where")} '
                          f'({_span(v)}): {v.get("text")}') for v in lang["glossary_violations"]]
    items += [html.escape(f'timing: line {t.get("index", 0) + 1} needs {t.get("estimated", 0):.2f} s, has '
                          f'{t.get("budget", 0):.2f} s: {t.get("text")}') for t in lang["timing_overflows"]]
    return "<ul>" + "".join(f"<li>{i}</li>" for i in items) + "</ul>" if items else ""


def _delivered_line(d: dict | None) -> str:
    if not d:
        return ""
    return (f"<p>Delivered file, from its windows as mixed: {d['metric'].upper()} {d['error_rate']:.1%} "
            f"(threshold {d['threshold']:.0%}) "
            f"{_badge(d['passed'])}<br><span class='small'>heard: {html.escape(d.get('heard', ''))}</span></p>")


def _span(item: dict) -> str:
    if item.get("start") is None or item.get("end") is None:
        return "untimed"
    return f'{item["start"]:.2f}–{item["end"]:.2f} s'


def render_html(report: dict[str, Any]) -> str:
    """The report as one self-contained HTML page."""
    engine = report.get("engine", {})
    preview = engine.get("preview", False)
    parts = [
        "<!doctype html><html><head><meta charset='utf-8'><title>dubkit report</title>",
        f"<style>{_CSS}</style></head><body>",
        f"<h1>dubkit localize {_badge(report['passed'])}"
        + (' <span class="badge preview">PREVIEW</span>' if preview else "") + "</h1>",
    ]
    if preview:
        parts.append("<p><b>Preview render:</b> a CPU voice-over over the original frames, no lip-sync. "
                     f"{html.escape(engine.get('reason', ''))}</p>")
    src = report.get("source", {})
    parts.append(
        f"<p>Source <code>{html.escape(str(src.get('path', '')))}</code>, {src.get('duration', 0):.2f} s, "
        f"{src.get('width')}×{src.get('height')} at {src.get('fps')} fps. "
        f"Engine <b>{html.escape(engine.get('name', ''))}</b>. "
        f"Source script: {html.escape(str(report.get('source_script', {}).get('origin', '')))}.</p>"
    )
    for code, lang in report["languages"].items():
        outputs = " · ".join(html.escape(Path(p).name) for p in (lang["video"], lang["subtitles"]) if p)
        loud = f", {lang['loudness_lufs']:.1f} LUFS" if lang.get("loudness_lufs") is not None else ""
        parts.append(
            f"<h2>{html.escape(code)} {_badge(lang['passed'])}</h2><p class='small'>{outputs}{loud}; "
            f"{lang['windows_passed']}/{len(lang['windows'])} windows pass; script "
            f"{html.escape(lang['script'])}</p>{_delivered_line(lang.get('delivered'))}{_issues(lang)}"
            "<table><tr><th></th><th>window</th><th>line</th><th>heard</th><th>error</th><th>attempts</th>"
            f"<th></th></tr>{_window_rows(lang)}</table>"
        )
    repro = {k: report.get(k) for k in ("versions", "engine", "options", "seed")}
    parts.append(
        "<h2>Reproduction</h2><pre class='small'>"
        + html.escape(json.dumps(repro, indent=1, ensure_ascii=False, default=str))
        + "</pre>"
    )
    parts.append("</body></html>")
    return "\n".join(parts)


def write_report(report: dict[str, Any], out: Path) -> tuple[Path, Path]:
    """Write OUT/report.json and OUT/report.html atomically; returns both paths."""
    json_path, html_path = Path(out) / "report.json", Path(out) / "report.html"
    atomic_write_text(json_path, json.dumps(report, indent=1, ensure_ascii=False, default=str))
    atomic_write_text(html_path, render_html(report))
    return json_path, html_path
