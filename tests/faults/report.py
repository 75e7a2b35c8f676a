"""The fault-injection suite's figure: run every case (all 20 kill points, every corruption) and tally.

    python tests/faults/report.py              # everything (FAULTS_ALL=1)
    python tests/faults/report.py --sample     # what CI runs: a sample seeded by the commit
    python tests/faults/report.py --seed 7     # other kill points / damages

Prints, from the cases' own records (tests/faults/harness.record):

    faults injected N, survived N, outputs identical N, lost work 0
    hostile inputs tried M, clean errors M

A fault is a kill, a full disk, a missing permission or a damaged cache entry. Survived: the run
failed cleanly where it had to (exit 2, one line naming the folder or path) and the rerun finished,
or it recovered by itself. Outputs identical: afterwards every output equals the uninterrupted run's
(decoded frame for frame and sample for sample) with no temp file left, or, for a refused run, the
earlier outputs are byte for byte as they were. Lost work: finished cache entries and outputs that
a later run computed again. A hostile input's clean answer is exit 2 with one line naming the file
and what is wrong (a finished run for the legitimate odd ones), nothing written outside the output
folder, within its time and memory bounds. Exit status 0 when every figure is whole, else 1.
"""
from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
FAULTS = ("kill", "disk", "permission", "corrupt")


def machine() -> str:
    try:
        model = next(line.split(":", 1)[1].strip() for line in Path("/proc/cpuinfo").read_text().splitlines()
                     if line.startswith("model name"))
    except (OSError, StopIteration):
        model = platform.processor() or "unknown CPU"
    return f"{model}, {os.cpu_count()} cores, {platform.system()} {platform.release()}"


def tally(records: list[dict]) -> tuple[str, str, bool]:
    faults = [r for r in records if r["category"] in FAULTS]
    hostile = [r for r in records if r["category"] == "hostile"]
    survived = sum(bool(r.get("survived")) for r in faults)
    identical = sum(bool(r.get("identical")) for r in faults)
    lost = sum(int(r.get("lost", 0)) for r in faults)
    clean = sum(bool(r.get("clean")) for r in hostile)
    first = f"faults injected {len(faults)}, survived {survived}, outputs identical {identical}, lost work {lost}"
    second = f"hostile inputs tried {len(hostile)}, clean errors {clean}"
    whole = survived == identical == len(faults) and lost == 0 and clean == len(hostile)
    return first, second, whole


def failures(records: list[dict]) -> list[str]:
    lines = []
    for r in records:
        if r["category"] in FAULTS and (not r.get("survived") or not r.get("identical") or r.get("lost")):
            details = {k: v for k, v in r.items() if k not in ("category", "case") and v not in (None, [], {}, 0)}
            lines.append(f"  {r['category']}: {r['case']}: {json.dumps(details, ensure_ascii=False)[:400]}")
        elif r["category"] == "hostile" and not r.get("clean"):
            lines.append(f"  hostile: {r['case']}: {json.dumps(r.get('problems') or r.get('outside'))[:400]}")
    return lines


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--sample", action="store_true", help="only CI's seeded sample, not every case")
    parser.add_argument("--seed", type=int, default=None, help="seed of the kill points and damages (default: commit)")
    parser.add_argument("pytest_args", nargs="*", help="more pytest arguments (e.g. -k kill)")
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory() as tmp:
        record = Path(tmp) / "records.jsonl"
        env = {**os.environ, "FAULTS_RECORD": str(record), "PYTHONPATH": str(REPO)}
        if not args.sample:
            env["FAULTS_ALL"] = "1"
        if args.seed is not None:
            env["FAULTS_SEED"] = str(args.seed)
        t0 = time.monotonic()
        subprocess.run([sys.executable, "-m", "pytest", "tests/faults", "-q", "-p", "no:cacheprovider",
                        "-o", "timeout=3600", *args.pytest_args], cwd=REPO, env=env, check=False)
        minutes = (time.monotonic() - t0) / 60
        records = [json.loads(line) for line in record.read_text("utf-8").splitlines()] if record.exists() else []
    first, second, whole = tally(records)
    kinds = Counter(r["category"] for r in records)
    print()
    print(f"machine: {machine()}; {minutes:.1f} min; cases: {dict(kinds)}")
    for line in failures(records):
        print(line)
    print(first)
    print(second)
    return 0 if whole and records else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
