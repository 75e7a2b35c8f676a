"""Delivery profiles on the example spot: the loudness step and what the delivered file measures, per profile.

Renders the spot's Mandarin speech once with the preview engine, assembles it over the music-and-effects
stem once per profile (with stems), and prints per profile: the mix before (loudnorm's first pass), the
method (linear gain or true-peak limiting), the gain and the deepest limiting, the delivered file by ffmpeg's
ebur128 (integrated, true peak) and pyloudnorm, the stems' residual against the mix, and the wall time of
`assemble` (loudness, mux, stems, measurement).

Usage:  python bench/delivery_bench.py
"""
from __future__ import annotations

import os
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

import numpy as np  # noqa: E402
import scipy.io.wavfile  # noqa: E402
from eval_bench import machine  # noqa: E402 (bench/ is on sys.path when a bench script runs)

from dubkit.adapters.fonts import find_font  # noqa: E402
from dubkit.adapters.subtitles import read_script  # noqa: E402
from dubkit.engines.base import WindowRequest  # noqa: E402
from dubkit.engines.preview import PreviewEngine  # noqa: E402
from dubkit.stages.deliver import Delivery, PlacedRender, assemble  # noqa: E402
from dubkit.stages.delivery.profiles import PROFILES  # noqa: E402
from dubkit.stages.probe import probe_source  # noqa: E402
from langs import get_language  # noqa: E402

EXAMPLES = REPO / "examples"


def _residual_db(stems: dict[str, Path]) -> float:
    read = {k: scipy.io.wavfile.read(p)[1].astype(np.float64) / 2**31 for k, p in stems.items()}
    residual = read["stem:mix"] - read["stem:dialogue"] - read["stem:me"]
    return float(20 * np.log10(np.abs(residual).max() + 1e-12))


def main() -> None:
    print(f"machine: {machine()}, load average {os.getloadavg()[0]:.1f}")
    zh = get_language("zh")
    source = probe_source(EXAMPLES / "ad.mp4")
    cues = read_script(EXAMPLES / "ad.zh.srt").cues
    placed = PlacedRender(0.2, 7.76, PreviewEngine().render(WindowRequest(0, 0.2, 7.76, zh, cues, seed=0)))
    font = find_font("zh-cn", "".join(c.text for c in cues))
    print("| profile | target / ceiling | mix before: I, TP | method | gain | limiter | delivered: ebur128 I, TP "
          "| pyloudnorm | stems residual | assemble s |")
    print("|---|---|---|---|---|---|---|---|---|---|")
    with tempfile.TemporaryDirectory() as tmp:
        for name, profile in PROFILES.items():
            t0 = time.perf_counter()
            result = assemble(source, [placed], cues, zh, Path(tmp) / name, me_track=EXAMPLES / "ad.me.m4a",
                              delivery=Delivery(profile=profile, stems=True,
                                                burn_in=font if profile.burn_in else None))
            seconds = time.perf_counter() - t0
            m = result.loudness
            stems = {d.kind: d.path for d in result.deliverables if d.kind.startswith("stem:")}
            print(f"| {name} | {m.target:.0f} LUFS / {m.ceiling:.0f} dBTP | {m.before['input_i']:.1f}, "
                  f"{m.before['input_tp']:.1f} | {m.method} | {m.gain_db:+.1f} dB | {m.limiter_db:.1f} dB | "
                  f"{m.delivered_i:.1f} LUFS, {m.delivered_tp:.1f} dBTP | {m.delivered_pyloudnorm:.2f} | "
                  f"{_residual_db(stems):.0f} dBFS | {seconds:.1f} |")


if __name__ == "__main__":
    main()
