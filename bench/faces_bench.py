"""Benchmark brand-safe regeneration on the CPU: the faces step and the composite, per second of window.

    python bench/faces_bench.py                 # 384, 720 and 1080 lines, a 4-second window each
    python bench/faces_bench.py --heights 1080 --seconds 8

The source is the astronaut portrait (the example spot's photo) centred in a 16:9 frame of each height, at
25 fps; the "generated" frames are the source's inverted. Reported per second of window: the wall time of
`window_faces` (decode DETECT_FPS frames, scale, detect) and of `composite_render` (decode every source frame,
blend inside the face ellipse), and the composite's peak memory growth. The machine and its load average
are printed first: on a shared machine the times are pessimistic.
"""
from __future__ import annotations

import argparse
import os
import platform
import resource
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))  # run from a checkout without installing

from dubkit.adapters import ffmpeg  # noqa: E402
from dubkit.engines.base import WindowRender  # noqa: E402
from dubkit.stages.composite import DETECT_FPS, composite_render, window_faces  # noqa: E402
from dubkit.stages.plan import Window  # noqa: E402
from dubkit.stages.probe import probe_source  # noqa: E402


def machine() -> str:
    cpu = platform.processor() or platform.machine()
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as f:
            cpu = next((line.split(":", 1)[1].strip() for line in f if line.startswith("model name")), cpu)
    except OSError:
        pass
    load = " ".join(f"{x:.1f}" for x in os.getloadavg())
    return f"{cpu}, {os.cpu_count()} cores visible, load average {load}, python {platform.python_version()}"


def portrait_frame(height: int) -> np.ndarray:
    from PIL import Image
    from skimage import data

    width = round(height * 16 / 9) // 2 * 2
    frame = np.full((height, width, 3), 128, np.uint8)
    photo = np.asarray(Image.fromarray(data.astronaut()).resize((height, height), Image.LANCZOS))
    x = (width - height) // 2
    frame[:, x : x + height] = photo
    return frame


def one(height: int, seconds: float, folder: Path) -> dict:
    frame = portrait_frame(height)
    n = round(seconds * 25)
    source = probe_source(ffmpeg.encode_frames(np.repeat(frame[None], n, axis=0), 25.0, folder / f"{height}.mp4"))
    window = Window(0, 0.0, seconds, ())
    t0 = time.perf_counter()
    faces = window_faces(source, window, "auto")
    t_faces = time.perf_counter() - t0
    render = WindowRender(audio=np.zeros((10, 1), np.float32), sample_rate=10,
                          frames=np.repeat((255 - frame)[None], n, axis=0), fps=25.0)
    rss0 = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    t0 = time.perf_counter()
    composite_render(source, window, render, faces)
    t_composite = time.perf_counter() - t0
    grown = (resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - rss0) / 1024
    return {"height": height, "lipsync": faces.lipsync, "faces_s": t_faces / seconds,
            "composite_s": t_composite / seconds, "composite_peak_growth_mb": grown}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--heights", type=int, nargs="+", default=[384, 720, 1080])
    parser.add_argument("--seconds", type=float, default=4.0)
    opts = parser.parse_args()
    print(f"machine: {machine()}")
    print(f"window {opts.seconds:g} s at 25 fps, {DETECT_FPS:g} frames looked at per second")
    print("| height | decision | faces, s per window second | composite, s per window second | composite peak growth |")
    print("|---|---|---|---|---|")
    with tempfile.TemporaryDirectory() as tmp:
        for height in opts.heights:
            r = one(height, opts.seconds, Path(tmp))
            print(f"| {r['height']} | {'lip-sync' if r['lipsync'] else 'voice-only'} | {r['faces_s']:.3f} | "
                  f"{r['composite_s']:.3f} | {r['composite_peak_growth_mb']:.0f} MB |")


if __name__ == "__main__":
    main()
