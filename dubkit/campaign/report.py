"""The campaign report: the matrix spots × languages, JSON for machines and one HTML page for people.

Each cell: the verdict, the delivered file's error rate against its threshold, the windows that
passed, and links (relative to OUT) to the video, the subtitles and the spot's own report. A spot
that failed before its languages were judged shows its reason across its row.
"""
from __future__ import annotations

import html
import json
import os
from pathlib import Path
from typing import Any

from dubkit.campaign.run import CampaignRun, SpotRun
from dubkit.stages.deliver import LanguageSummary
from dubkit.store.files import atomic_write_text

CAMPAIGN_VERSION = 1


def _link(path: Path | None, out: Path) -> str | None:
    return None if path is None else os.path.relpath(Path(path).resolve(), Path(out).resolve())


def _cell(summary: LanguageSummary | None, run: SpotRun, out: Path) -> dict[str, Any]:
    if summary is None:
        return {"verdict": "error" if run.error else "not run", "reason": run.error}
    delivered = summary.delivered
    report = run.result.report_html if run.result else None
    return {
        "verdict": "pass" if summary.passed else "fail",
        "error_rate": None if delivered is None else round(delivered.error_rate, 4),
        "metric": None if delivered is None else delivered.metric,
        "threshold": None if delivered is None else delivered.threshold,
        "windows_passed": sum(o.passed for o in summary.outcomes), "windows": len(summary.outcomes),
        "reasons": list(summary.reasons), "video": _link(summary.video, out),
        "subtitles": _link(summary.subtitles, out), "report": _link(report, out),
    }


def build_campaign(campaign: CampaignRun, out: Path, backend: str) -> dict[str, Any]:
    """The campaign.json document."""
    languages = sorted({code for run in campaign.spots for code in run.languages})
    spots = []
    for run in campaign.spots:
        spots.append({
            "name": run.name, "source": str(run.spot.options.source), "folder": _link(run.spot.options.out_dir, out),
            "verdict": "error" if run.error else ("pass" if run.result and run.result.passed else "fail"),
            "error": run.error,
            "languages": {code: _cell(run.summaries.get(code), run, out) for code in run.languages},
        })
    return {"campaign_version": CAMPAIGN_VERSION, "verdict": "pass" if campaign.passed else "fail",
            "passed": campaign.passed, "backend": backend, "seconds": round(campaign.seconds, 3),
            "languages": languages, "spots": spots}


_CSS = """body{font-family:system-ui,sans-serif;margin:2em;color:#222}
table{border-collapse:collapse}td,th{border:1px solid #ccc;padding:.4em .6em;vertical-align:top;text-align:left}
th{background:#f3f3f3}.pass{background:#e3f4e4}.fail{background:#fbe3e1}.error,.not{background:#eee}
.small{color:#555;font-size:.85em}"""


def _html_cell(cell: dict | None) -> str:
    if cell is None:
        return "<td class='small'>—</td>"
    verdict = cell["verdict"]
    if verdict in ("error", "not run"):
        return f"<td class='{verdict.split()[0]}'><b>{verdict.upper()}</b></td>"
    rate = ("" if cell["error_rate"] is None else
            f"<br>{cell['metric'].upper()} {cell['error_rate']:.1%} vs {cell['threshold']:.0%}")
    links = " · ".join(f"<a href='{html.escape(cell[k])}'>{k}</a>" for k in ("video", "subtitles", "report")
                       if cell.get(k))
    why = "".join(f"<br><span class='small'>{html.escape(r)}</span>" for r in cell["reasons"][:3])
    return (f"<td class='{verdict}'><b>{verdict.upper()}</b>{rate}<br><span class='small'>"
            f"{cell['windows_passed']}/{cell['windows']} windows pass</span><br>{links}{why}</td>")


def render_campaign_html(doc: dict[str, Any]) -> str:
    """The matrix as one self-contained page."""
    head = "".join(f"<th>{html.escape(code)}</th>" for code in doc["languages"])
    rows = []
    for spot in doc["spots"]:
        cells = "".join(_html_cell(spot["languages"].get(code)) for code in doc["languages"])
        error = f"<br><span class='small'>{html.escape(spot['error'])}</span>" if spot["error"] else ""
        rows.append(f"<tr><th>{html.escape(spot['name'])}<br><span class='small'>{html.escape(spot['source'])}"
                    f"</span>{error}</th>{cells}</tr>")
    return (f"<!doctype html><html><head><meta charset='utf-8'><title>dubkit campaign</title><style>{_CSS}</style>"
            f"</head><body><h1>dubkit campaign: {doc['verdict'].upper()}</h1><p class='small'>{len(doc['spots'])} "
            f"spot(s) × {len(doc['languages'])} language(s), backend {html.escape(doc['backend'])}, "
            f"{doc['seconds']:.1f} s</p><table><tr><th>spot</th>{head}</tr>{''.join(rows)}</table></body></html>")


def write_campaign(doc: dict[str, Any], out: Path) -> tuple[Path, Path]:
    """OUT/campaign.json and OUT/campaign.html, written atomically."""
    json_path, html_path = Path(out) / "campaign.json", Path(out) / "campaign.html"
    atomic_write_text(json_path, json.dumps(doc, indent=1, ensure_ascii=False))
    atomic_write_text(html_path, render_campaign_html(doc))
    return json_path, html_path
