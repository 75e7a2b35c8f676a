"""Stage 8, report: the job report, JSON for machines (docs/report-schema.md) and HTML for people.

Per language and window: the line, what the recogniser heard, the error rate against the threshold,
every attempt with its seed and timings, a thumbnail, pass/fail; per line (`lines`): its timecode, what
was heard of it, its own error rate and the review's decisions; then the overall verdict and what
reproduces the job (versions, seeds, prompts, checkpoint hashes). The HTML is the shared report page
(eval.report_page, docs/review.md): a summary first, then each language's lines with a diff, a play
button, the takes and the review buttons, the job's facts folded at the end. Thumbnails are inline
base64 JPEG so the page is one self-contained file (besides the videos it links and the small PNGs of
each window's lip-sync mask, written beside the report in MASK_DIR).
"""
from __future__ import annotations

import json
import platform
from collections.abc import Mapping, Sequence
from dataclasses import asdict
from pathlib import Path
from typing import Any

import numpy as np

from dubkit.adapters import package_version
from dubkit.adapters.images import thumbnail_png
from dubkit.stages.deliver import LanguageSummary
from dubkit.stages.review import REVIEW_VERSION, Reviewed
from dubkit.store.files import atomic_write_bytes, atomic_write_text, write_failed
from dubkit.translate.timing import LineFit
from eval.report_html import lang_tag, render_bars, render_diff
from eval.report_page import BORDERLINE, VERDICT_TEXT, pct, render_page, timecode, verdict_of
from eval.scoring import AlignedUnit, score_lines
from langs import get_language

REPORT_VERSION = 2  # 2: per-line results (`lines`), `script_sha256`, the review
MASK_DIR = "report-masks"  # beside report.json: window-<index>.png, the region each window may regenerate
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


def _language(summary: LanguageSummary, reviewed: Reviewed | None) -> dict:
    windows = []
    for o in summary.outcomes:
        chosen = o.chosen_attempt
        windows.append({
            "index": o.window_index, "start": o.start, "end": o.end, "line": _said(o),
            "speakers": list(o.speakers),
            "heard": chosen.heard, "error_rate": round(chosen.error_rate, 4), "metric": chosen.metric,
            "threshold": chosen.threshold, "passed": o.passed, "chosen_attempt": chosen.number,
            "seed": chosen.seed, "attempts": [_attempt(a) for a in o.attempts],
            "thumbnail": summary.thumbnails.get(o.window_index), "pinned": o.pinned,
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
        "lines": _lines(summary, reviewed),
        "script_sha256": reviewed.digests.get(summary.language) if reviewed else None,
        "loudness": summary.loudness.to_json() if summary.loudness else None,
        "deliverables": [d.to_json() for d in summary.deliverables],
        "subtitle_violations": [{**asdict(v), "message": v.message} for v in summary.subtitle_violations],
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




def _line_times(summary: LanguageSummary, reviewed: Reviewed | None) -> dict[int, list]:
    """Window index -> [(line number, cue)] from the run's script (numbered in the whole script)."""
    script = reviewed.scripts.get(summary.language) if reviewed else None
    if script is None:  # a report built without the scripts (the Python API): number the windows' lines
        numbers, found = iter(range(1, 1 << 30)), {}
        for o in summary.outcomes:
            found[o.window_index] = [(next(numbers), None) for _ in o.lines]
        return found
    position = {id(c): i + 1 for i, c in enumerate(script.cues)}
    return {w: [(position.get(id(c)) or script.cues.index(c) + 1, c) for c in cues]
            for w, cues in enumerate(script.per_window)}


def _lines(summary: LanguageSummary, reviewed: Reviewed | None) -> list[dict]:
    """Each line on its own: its share of the window's recognition (scored as the gate scores, then
    split line by line), its take, and the review's word on it."""
    language, numbered = get_language(summary.language), _line_times(summary, reviewed)
    decisions = reviewed.decisions.get(summary.language, {}) if reviewed else {}
    edited = reviewed.edited_from.get(summary.language, {}) if reviewed else {}
    lines = []
    for o in summary.outcomes:
        chosen = o.chosen_attempt
        scores = score_lines(o.lines, chosen.heard, language)
        for (number, cue), text, speaker, sc in zip(numbered[o.window_index], o.lines,
                                                    o.speakers or (None,) * len(o.lines), scores, strict=True):
            decision = decisions.get(number)
            lines.append({
                "number": number, "start": cue.start if cue else None, "end": cue.end if cue else None,
                "text": text, "speaker": speaker, "window": o.window_index, "heard": sc.hypothesis,
                "error_rate": round(sc.error_rate, 4), "passed": sc.error_rate <= chosen.threshold,
                "alignment": [[a.op, a.ref, a.hyp] for a in sc.alignment],
                "review": decision.to_json() if decision else None, "edited_from": edited.get(number),
            })
    return sorted(lines, key=lambda line: line["number"])


def build_report(job: dict[str, Any], languages: Sequence[LanguageSummary],
                 reviewed: Reviewed | None = None) -> dict[str, Any]:
    """The JSON document: `job` (source, options, engine, windows, timings ...) plus per-language results
    and, when the run read one, the review it applied."""
    passed = all(s.passed for s in languages)
    return {
        "report_version": REPORT_VERSION,
        "verdict": "pass" if passed else "fail",
        "passed": passed,
        "versions": versions(),
        **job,
        "review": {"source": reviewed.source, "written": {k: str(v) for k, v in reviewed.written.items()}}
        if reviewed else None,
        "languages": {s.language: _language(s, reviewed) for s in languages},
    }


def _rate_figure(lang: dict) -> tuple[float | None, float | None, str]:
    """The language's headline error rate: the delivered file's, else the worst window's."""
    d = lang.get("delivered")
    if d:
        return d["error_rate"], d["threshold"], d["metric"].upper()
    worst = max(lang["windows"], key=lambda w: w["error_rate"], default=None)
    return (worst["error_rate"], worst["threshold"], worst["metric"].upper()) if worst else (None, None, "")


def _summary_row(code: str, lang: dict) -> dict:
    rate, threshold, metric = _rate_figure(lang)
    verdict = verdict_of(lang["passed"], rate, threshold)
    links = [{"label": Path(p).name, "href": Path(p).name} for p in (lang["video"], lang["subtitles"]) if p]
    return {
        "code": code, "name": get_language(code).english_name, "anchor": f"lang-{code}", "verdict": verdict,
        "verdict_text": VERDICT_TEXT[verdict], "error_rate": pct(rate), "metric": metric, "threshold": pct(threshold),
        "lines_ok": sum(line["passed"] for line in lang["lines"]), "lines_total": len(lang["lines"]),
        "duration": f"{lang['duration']:.1f} s" if lang.get("duration") else "–",
        "loudness": _loudness_text(lang),
        "links": [*links, {"label": "lines", "href": f"#lang-{code}"}],
    }


def _next_step(code: str, reason: str, lang: dict, preview: bool) -> str:
    """What to do about one failure, in words a producer can act on."""
    if "glossary" in reason:
        return "put the term back: edit the line below (or in the translated script) and run again"
    voices = {w["attempts"][w["chosen_attempt"] - 1]["info"].get("voice", "") for w in lang["windows"]}
    espeak = get_language(code).preview_voice.startswith("espeak-ng") and not any("voice track" in v for v in voices)
    if preview and espeak:
        return (f"the preview voice for {code} is espeak-ng (robotic) and is expected to fail; give "
                f"--voice-track {code}=FILE (a recorded voice) or run the magihuman engine on a GPU")
    return "play the failing lines below; retake them (a new seed) or edit the line, then run again"


def _problems(code: str, lang: dict, preview: bool) -> tuple[list[dict], list[dict]]:
    """Failures with their next step, and warnings (which do not fail the language) with theirs."""
    problems = [{"text": r, "next": _next_step(code, r, lang, preview)} for r in lang["reasons"]]
    for here, after in zip(problems, problems[1:], strict=False):  # one next step for a run of the same
        if here["next"] == after["next"]:
            here["next"] = None
    warnings = [{"text": f"line {t['index'] + 1} runs {t['estimated'] - t['budget']:.1f} s over its "
                         f"{t['budget']:.1f} s: {t['text']}",
                 "next": "shorten it — the template from `dubkit script` shows each line's budget"}
                for t in lang["timing_overflows"]]
    warnings += [{"text": f'the recogniser did not hear glossary term "{v["term"]}" ({_span(v)}): {v["text"]}',
                  "next": "play the line; retake it if the term is slurred"}
                 for v in lang["glossary_violations"] if v.get("where") == "speech"]
    warnings += [{"text": f"subtitles: {v['message']}", "next": "shorten or split the line (docs/delivery.md: the "
                          "subtitle rules)"} for v in lang.get("subtitle_violations", ())]
    notes = (lang.get("delivered") or {}).get("notes", [])
    warnings += [{"text": f"delivered file: {n}", "next": None} for n in notes]
    return problems, warnings


def _origin(origin: str) -> str:
    """"script:PATH" -> "lines from the translated script PATH" (and the engine / reviewed forms)."""
    kind, _, what = origin.partition(":")
    words = {"script": "the translated script", "engine": "the translator", "reviewed": "the reviewed script"}
    return f"Lines from {words.get(kind, kind)} {Path(what).name if kind != 'engine' else what}".rstrip()


def _loudness_text(lang: dict) -> str:
    """The summary's loudness cell: the delivered file's integrated loudness and true peak (ebur128) against the
    profile's target and ceiling, else the mix's integrated loudness."""
    m = lang.get("loudness") or {}
    if m.get("delivered_i") is not None:
        def db(key: str) -> str:  # None: silence (minus infinity)
            return "-inf" if m.get(key) is None else f"{m[key]:.1f}"

        return (f"{db('delivered_i')} LUFS, {db('delivered_tp')} dBTP (target {db('target')}, ceiling "
                f"{db('ceiling')}; {m.get('method')})")
    return f"{lang['loudness_lufs']:.1f} LUFS" if lang.get("loudness_lufs") is not None else "–"


def _deliverables(lang: dict) -> list[dict]:
    """Every file delivered for the language with its checksum (docs/delivery.md)."""
    return [{"kind": d["kind"], "name": Path(d["path"]).name, "sha256": d["sha256"]}
            for d in lang.get("deliverables", ())]


def _span(item: dict) -> str:
    if item.get("start") is None or item.get("end") is None:
        return "untimed"
    return f'{item["start"]:.2f}–{item["end"]:.2f} s'


def _recipes_note(report: dict[str, Any]) -> list[str]:
    """Which sampling recipes the chosen renders ran (magihuman), each with its window count; the fast and
    experimental ones are labelled."""
    used: dict[str, list] = {}
    for lang in report["languages"].values():
        for w in lang["windows"]:
            attempt = next((a for a in w["attempts"] if a["number"] == w["chosen_attempt"]), None)
            recipe = (attempt or {}).get("info", {}).get("recipe")
            if recipe:
                used.setdefault(recipe["recipe"], [recipe, 0])[1] += 1
    if not used:
        return []
    items = [f"{name} ({count} window{'s' if count != 1 else ''}; {recipe.get('label') or recipe['status']})"
             for name, (recipe, count) in used.items()]
    return ["Sampling recipes: " + " · ".join(items) + "."]


def _page_line(line: dict, window: dict | None, threshold: float, metric: str) -> dict:
    steps = tuple(AlignedUnit(op, ref, hyp) for op, ref, hyp in line["alignment"])
    review = line.get("review") or {}
    chosen = window["chosen_attempt"] if window else None
    return {
        "number": line["number"], "start": line["start"], "end": line["end"],
        "timecode": timecode(line["start"], line["end"]), "script": line["text"], "speaker": line["speaker"],
        "heard": line["heard"], "diff": render_diff(steps, metric.lower()), "rate": pct(line["error_rate"]),
        "verdict": verdict_of(line["passed"], line["error_rate"], threshold), "window": line["window"],
        "thumbnail": window["thumbnail"] if window else None,
        "take": {"attempt": chosen, "seed": window["seed"]} if window else None,
        "takes": len(window["attempts"]) if window else 0, "pinned": bool(window and window.get("pinned")),
        "alternatives": [{"attempt": a["number"], "seed": a["seed"], "rate": pct(a["error_rate"])}
                         for a in (window["attempts"] if window else []) if a["number"] != chosen],
        "edited": {"was": line["edited_from"], "by": review.get("by"), "at": review.get("at")}
        if line.get("edited_from") is not None else None,
        "comments": [review["comment"]] if review.get("comment") else [],
    }


def _section(code: str, lang: dict, preview: bool, row: dict) -> dict:
    windows = {w["index"]: w for w in lang["windows"]}
    threshold = next((w["threshold"] for w in lang["windows"]), 0.0)
    metric = next((w["metric"] for w in lang["windows"]), get_language(code).metric).upper()
    lines = [_page_line(line, windows.get(line["window"]), threshold, metric) for line in lang["lines"]]
    problems, warnings = _problems(code, lang, preview)
    return {
        "code": code, "name": row["name"], "tag": lang_tag(get_language(code)), "anchor": row["anchor"],
        "verdict": row["verdict"], "verdict_text": row["verdict_text"],
        "video": Path(lang["video"]).name if lang.get("video") else None,
        "poster": next((w["thumbnail"] for w in lang["windows"] if w.get("thumbnail")), None),
        "problems": problems, "warnings": warnings, "notes": [_origin(lang["script"])],
        "deliverables": _deliverables(lang),
        "chart": render_bars([line["error_rate"] for line in lang["lines"]], [line["passed"] for line in lang["lines"]],
                             threshold) if lines else None,
        "lines": lines, "columns": {"thumb": True, "take": True, "review": True}, "metric_short": metric,
    }


def _facts(report: dict[str, Any]) -> list:
    """The job's facts as (label, value) pairs, nested for mappings: shown folded at the end."""
    def pairs(value: Any) -> Any:
        if isinstance(value, dict):
            return [(str(k), pairs(v)) for k, v in value.items() if v not in (None, {}, [], "")] or "–"
        if isinstance(value, (list, tuple)):
            return ", ".join(str(v) for v in value) or "–"
        return str(value)

    engine = report.get("engine", {})
    facts = [("engine", f"{engine.get('name', '')}: {engine.get('reason', '')}"),
             ("models and hashes", pairs(engine.get("identity", {}))), ("recogniser", pairs(report.get("asr", {}))),
             ("job seed", str(report.get("seed"))), ("source", pairs(report.get("source", {}))),
             ("source script", str(report.get("source_script", {}).get("origin", ""))),
             ("review", pairs(report.get("review") or {})), ("versions", pairs(report.get("versions", {}))),
             ("wall time, s", pairs(report.get("timings", {}))), ("options", pairs(report.get("options", {})))]
    return [(k, v) for k, v in facts if v not in ("", "None", "–")]


def _review_data(report: dict[str, Any]) -> dict:
    """What the page's review buttons start from: the review this run applied, per language."""
    return {"review_version": REVIEW_VERSION,
            "source": {k: report.get("source", {}).get(k) for k in ("path", "sha256")},
            "languages": {code: {"script_sha256": lang.get("script_sha256") or "",
                                 "lines": {str(line["number"]): line["review"] for line in lang["lines"]
                                           if line.get("review")}}
                          for code, lang in report["languages"].items()}}


def _add_pictures(sections: list[dict], report: dict[str, Any], preview: bool) -> None:
    """Each line's picture decision (stages/composite.py): lip-sync or voice-only, why, and the window's mask
    thumbnail. A preview keeps every original frame, so there it is what a generating engine would do."""
    lipsync = {w["index"]: w["lipsync"] for w in report.get("windows", []) if w.get("lipsync")}
    for section in sections:
        for line in section["lines"]:
            decision = lipsync.get(line["window"])
            line["picture"] = {"label": decision["picture"] + (" (with a generating engine)" if preview else ""),
                               "reason": decision["reason"], "mask": decision.get("mask")} if decision else None


def _master_note(report: dict[str, Any]) -> list[str]:
    master = (report.get("delivery") or {}).get("master")
    if not master:
        return []
    return [f"Master: {Path(master['path']).name} (every language's audio and subtitles), sha256 {master['sha256']}"]


def page_of(report: dict[str, Any]) -> dict:
    """The report page (eval.report_page's page model) for a localize report."""
    engine = report.get("engine", {})
    preview = bool(engine.get("preview"))
    rows = [_summary_row(code, lang) for code, lang in report["languages"].items()]
    sections = [_section(code, lang, preview, row) for (code, lang), row in zip(report["languages"].items(), rows,
                                                                                strict=True)]
    _add_pictures(sections, report, preview)
    passing = [r["code"] for r in rows if r["verdict"] != "fail"]
    verdict = "fail" if not report["passed"] else ("borderline" if any(r["verdict"] == "borderline" for r in rows)
                                                   else "pass")
    src = report.get("source", {})
    units = sorted({"characters" if get_language(c).metric == "cer" else "words" for c in report["languages"]})
    return {
        "kind": "localize", "title": f"dubkit localize: {Path(str(src.get('path', ''))).name}",
        "heading": "Localization report", "verdict": verdict, "verdict_text": "PASS" if report["passed"] else "FAIL",
        "meta_line": f"{Path(str(src.get('path', ''))).name} · {src.get('duration', 0):.1f} s · "
                     f"{src.get('width')}×{src.get('height')} at {src.get('fps')} fps · "
                     f"engine {engine.get('name', '')}",
        "badges": ["PREVIEW"] if preview else [],
        "headline": f"{len(passing)} of {len(rows)} languages pass the speech check: what a recogniser hears in the "
                    "dub is compared with the script (lower error is better).",
        "notes": ([f"Preview render: a CPU voice-over over the original picture, no lip-sync. "
                   f"{engine.get('reason', '')}"] if preview else []) + _recipes_note(report)
                 + _master_note(report),
        "summary": rows, "sections": sections, "units": " or ".join(units), "borderline": f"{BORDERLINE:.2f}",
        "review": _review_data(report), "facts": _facts(report), "facts_title": "Job facts",
        "footer": f"Generated by dubkit localize (report version {report.get('report_version')}).",
    }


def render_html(report: dict[str, Any]) -> str:
    """The report as one self-contained HTML page (the shared template, eval.report_page)."""
    return render_page(page_of(report))


def write_report(report: dict[str, Any], out: Path, masks: Mapping[int, np.ndarray] | None = None) -> tuple[Path, Path]:
    """Write OUT/report.json and OUT/report.html atomically; returns both paths. Each window's mask thumbnail
    in `masks` (by window index) is written first, as MASK_DIR/window-<index>.png, and linked from both."""
    json_path, html_path = Path(out) / "report.json", Path(out) / "report.html"
    for window in report.get("windows", []):
        if masks and window["index"] in masks and window.get("lipsync"):
            name = f"{MASK_DIR}/window-{window['index']}.png"
            try:
                (Path(out) / MASK_DIR).mkdir(exist_ok=True)
            except OSError as err:
                raise write_failed(Path(out) / MASK_DIR, err) from err
            atomic_write_bytes(Path(out) / name, thumbnail_png(masks[window["index"]]))
            window["lipsync"]["mask"] = name
    atomic_write_text(json_path, json.dumps(report, indent=1, ensure_ascii=False, default=str))
    atomic_write_text(html_path, render_html(report))
    return json_path, html_path
