"""The gate's JSON report (schema in docs/report-schema.md) and the atomic writer both reports use."""
from __future__ import annotations

import json
import os
import tempfile
from pathlib import Path

from eval.errors import EvalError
from eval.gate import GateResult
from eval.scoring import Score

SCHEMA_VERSION = 1


def write_text_atomic(path: Path, text: str) -> Path:
    """Write `text` to `path` through a temporary file in the same folder and a rename."""
    path = Path(path)
    folder = path.parent if str(path.parent) else Path(".")
    if not folder.is_dir():
        raise EvalError(f"cannot write report {path}: folder {folder} does not exist")
    try:
        fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=folder)
    except OSError as err:  # a folder that refuses new files
        raise EvalError(f"cannot write report {path}: {err}") from err
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            f.write(text)
        os.replace(tmp, path)
    except OSError as err:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise EvalError(f"cannot write report {path}: {err}") from err
    return path


def _round(x: float | None) -> float | None:
    return None if x is None else round(float(x), 6)


def _score_dict(score: Score) -> dict:
    return {
        "error_rate": _round(score.error_rate),
        "hits": score.hits,
        "substitutions": score.substitutions,
        "deletions": score.deletions,
        "insertions": score.insertions,
        "reference_normalized": score.reference,
        "hypothesis_normalized": score.hypothesis,
        "alignment": [{"op": a.op, "ref": a.ref, "hyp": a.hyp} for a in score.alignment],
    }


def report_dict(result: GateResult) -> dict:
    """The report as plain JSON-able data (see docs/report-schema.md)."""
    return {
        "schema_version": SCHEMA_VERSION,
        "media": result.media,
        "script": result.script,
        "language": result.language,
        "whisper_language": result.transcript.language,
        "model": result.model,
        "metric": result.metric,
        "error_rate": _round(result.error_rate),
        "threshold": result.threshold,
        "passed": result.passed,
        "notes": list(result.notes),
        "duration": _round(result.transcript.duration),
        "whole": _score_dict(result.whole),
        "transcript": result.transcript.text,
        "segments": [
            {
                "index": s.index,
                "start": _round(s.start),
                "end": _round(s.end),
                "reference": s.reference,
                "hypothesis": s.hypothesis,
                "error_rate": _round(s.error_rate),
                "passed": s.passed,
                **{k: v for k, v in _score_dict(s.score).items() if k != "error_rate"},
            }
            for s in result.segments
        ],
    }


def write_json(result: GateResult, path: Path) -> Path:
    """Write the JSON report atomically; return its path."""
    text = json.dumps(report_dict(result), ensure_ascii=False, indent=2) + "\n"
    return write_text_atomic(Path(path), text)
