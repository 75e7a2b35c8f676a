"""Diarization: error rate on real-speech dialogues, and its cost in seconds per minute of audio.

Builds the dialogues of tests/dialogues.py (real speech from Debian packages, ground truth from the
clips' boundaries), diarizes each with the speaker count found automatically (one threshold,
`dubkit.stages.diarize.THRESHOLD`, for all of them), and prints per dialogue: the number of speakers
found and expected, DER with a 0.25 s collar (miss, false alarm, confusion), and the wall time of
`diarize` (VAD + embeddings + clustering; the encoder is loaded once beforehand and timed apart).

Usage:  python bench/diarize_bench.py [--repeat 3]
"""
from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from eval_bench import machine  # noqa: E402 (bench/ is on sys.path when a bench script runs)

from dubkit.adapters.av import read_audio  # noqa: E402
from dubkit.stages.diarize import THRESHOLD, diarize, shared_encoder  # noqa: E402
from eval.der import diarization_error  # noqa: E402
from tests.dialogues import DIALOGUES, build_dialogue  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=3, help="timed runs per dialogue (the median is printed)")
    opts = parser.parse_args()
    print(f"machine: {machine()}, load average {os.getloadavg()[0]:.1f}")
    t0 = time.perf_counter()
    shared_encoder()
    print(f"encoder load (hash check + weights): {time.perf_counter() - t0:.2f} s; threshold {THRESHOLD}")
    print("| dialogue | length | speakers found / true | DER | miss | false alarm | confusion | s per min of audio |")
    print("|---|---|---|---|---|---|---|---|")
    with tempfile.TemporaryDirectory() as folder:
        for name, speakers in DIALOGUES.items():
            dialogue = build_dialogue(Path(folder), name, speakers)
            samples = read_audio(dialogue.path)
            times = []
            for _ in range(max(1, opts.repeat)):
                t = time.perf_counter()
                found = diarize(samples)
                times.append(time.perf_counter() - t)
            r = diarization_error(dialogue.reference, [(t.start, t.end, t.speaker) for t in found.turns])
            per_min = statistics.median(times) / dialogue.duration * 60
            print(f"| {name} | {dialogue.duration:.1f} s | {len(found.speakers)} / {len(speakers)} | {r.der:.3f} | "
                  f"{r.missed:.2f} s | {r.false_alarm:.2f} s | {r.confusion:.2f} s | {per_min:.2f} |")


if __name__ == "__main__":
    main()
