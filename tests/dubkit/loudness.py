"""An independent loudness meter for tests: ffmpeg's ebur128 filter (dubkit itself measures with pyloudnorm,
so a delivered file's loudness is checked by a second implementation)."""
from __future__ import annotations

import re
from pathlib import Path

import ffmpeg as ffmpeg_python

from dubkit.adapters import ffmpeg


def measure_loudness(path: Path) -> float:
    """Integrated loudness (EBU R128, LUFS) of a media file's audio, by ffmpeg's ebur128 filter."""
    stream = ffmpeg_python.input(str(path)).audio.filter("ebur128").output("-", format="null")
    stderr = ffmpeg.run(stream, what=f"measuring loudness of {path}")
    found = re.findall(r"I:\s+(-?[\d.]+|-inf)\s+LUFS", stderr)
    assert found, f"no integrated loudness in ebur128 output for {path}: {stderr[-500:]}"
    return float(found[-1])  # the last one is the summary


def measure_true_peak(path: Path) -> tuple[float, float]:
    """(integrated LUFS, true peak dBTP) of a media file's audio by ffmpeg's ebur128 filter with peak=true,
    parsed here from its summary (independently of the adapter's parser)."""
    stream = ffmpeg_python.input(str(path)).audio.filter("ebur128", peak="true").output("-", format="null")
    stderr = ffmpeg.run(stream, what=f"measuring loudness of {path}")
    summary = stderr[stderr.rfind("Summary:"):]
    integrated = re.search(r"I:\s+(-?[\d.]+|-inf)\s+LUFS", summary)
    peak = re.search(r"True peak:\s+Peak:\s+(-?[\d.]+|-inf)\s+dBFS", summary)
    assert integrated and peak, f"no ebur128 summary for {path}: {stderr[-500:]}"
    return float(integrated[1]), float(peak[1])
