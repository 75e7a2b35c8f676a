"""Benchmark `dubkit eval` against a bare faster-whisper call on the same minute of speech.

The gate's own work (probing, script parsing, scoring, reports) should cost little next to speech
recognition: the figure is the ratio of the two wall times (target: at most 1.10).

Both sides run as fresh processes, alternately, `--repeat` times each, on the same WAV, with the
same model folder, beam size, word timestamps, VAD and thread count:
  bare  = python -c: import faster_whisper, load the model, decode the file, transcribe (list segments)
  eval  = python -m cli eval MEDIA --script SCRIPT --lang en --json --html (the real command)
Wall time is measured around each process; CPU time (user + system) and peak memory (max RSS)
come from the process's own rusage (os.wait4). On a shared machine wall time swings with the
neighbours' load; CPU time is the steadier figure for the ratio.

Usage:  python bench/eval_bench.py [--repeat 5] [--out bench/RESULTS-eval.md]
"""
from __future__ import annotations

import argparse
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from dubkit.adapters.subtitles import write_script  # noqa: E402
from eval.whisper_models import packaged_base  # noqa: E402
from tests import speech_data  # noqa: E402

BARE = """
import os, sys
from faster_whisper import WhisperModel, decode_audio
# one thread per usable core, as eval.asr.Recognizer sets it
model = WhisperModel(sys.argv[1], device="cpu", compute_type="int8", cpu_threads=len(os.sched_getaffinity(0)))
audio = decode_audio(sys.argv[2], sampling_rate=16000)
segments, info = model.transcribe(audio, language="en", beam_size=5, word_timestamps=True,
                                  vad_filter=True, condition_on_previous_text=False)
print(" ".join(s.text.strip() for s in segments))
"""


def build_minute(folder: Path) -> speech_data.Clip:
    """About a minute of real English speech: the five LibriVox sentences, twice, with pauses."""
    utterances = list(speech_data.librivox().values())
    clip = speech_data.build_clip(folder / "minute.wav", utterances * 2)
    write_script(clip.cues, folder / "minute.srt")
    return clip


def run_measured(args: list[str]) -> tuple[float, float, float, int, str]:
    """(wall seconds, CPU seconds, peak RSS in MiB, exit status, stdout) of one child process."""
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err:
        start = time.perf_counter()
        proc = subprocess.Popen(args, cwd=REPO, env=env, stdout=out, stderr=err)
        _, status, usage = os.wait4(proc.pid, 0)  # this child's own rusage, peak RSS included
        wall = time.perf_counter() - start
        code = os.waitstatus_to_exitcode(status)
        out.seek(0)
        err.seek(0)
        stdout, stderr = out.read().decode(), err.read().decode()
    if code not in (0, 1):  # 1 is a failed gate, a result
        raise RuntimeError(f"{args[:4]} failed ({code}): {stderr[-2000:]}")
    return wall, usage.ru_utime + usage.ru_stime, usage.ru_maxrss / 1024, code, stdout


def time_gate_stages(clip: speech_data.Clip, folder: Path) -> dict[str, float]:
    """Seconds of each stage of the job other than recognition, measured in this process."""
    from dubkit.adapters.av import probe, read_audio
    from dubkit.adapters.subtitles import read_script
    from eval.asr import Recognizer
    from eval.gate import gate
    from eval.report_html import write_html
    from eval.report_json import write_json

    transcript = Recognizer().transcribe(read_audio(clip.path), "en")
    timings = {}
    t = time.perf_counter()
    info = probe(clip.path)
    script = read_script(folder / "minute.srt", duration=info.duration)
    timings["probe + script"] = time.perf_counter() - t
    t = time.perf_counter()
    read_audio(clip.path)
    timings["decode audio"] = time.perf_counter() - t
    t = time.perf_counter()
    result = gate(script.cues, transcript, "en")
    timings["score + gate"] = time.perf_counter() - t
    t = time.perf_counter()
    write_json(result, folder / "stage.json")
    write_html(result, folder / "stage.html")
    timings["JSON + HTML reports"] = time.perf_counter() - t
    return timings


def machine() -> str:
    model = "unknown CPU"
    try:
        for line in subprocess.run(["lscpu"], capture_output=True, text=True).stdout.splitlines():
            if line.startswith("Model name:"):
                model = line.split(":", 1)[1].strip()
    except OSError:
        pass
    return f"{model}, {os.cpu_count()} cores visible ({platform.python_version()}, {platform.machine()})"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--out", type=Path, default=None, help="write the results as Markdown here")
    opts = parser.parse_args()

    model = packaged_base()
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        clip = build_minute(folder)
        bare_cmd = [sys.executable, "-c", BARE, str(model), str(clip.path)]
        eval_cmd = [sys.executable, "-m", "cli", "eval", str(clip.path), "--script", str(folder / "minute.srt"),
                    "--lang", "en", "--json", str(folder / "r.json"), "--html", str(folder / "r.html")]
        stages = time_gate_stages(clip, folder)
        runs: dict[str, list[tuple[float, float, float]]] = {"bare": [], "eval": []}
        verdict = ""
        for i in range(opts.repeat):
            # Alternate the order so that a neighbour's load on the shared CPU hits both sides alike.
            for name in (("bare", "eval") if i % 2 == 0 else ("eval", "bare")):
                wall, cpu, rss, status, out = run_measured(bare_cmd if name == "bare" else eval_cmd)
                runs[name].append((wall, cpu, rss))
                if name == "eval":
                    verdict = out.strip().splitlines()[0]
                print(f"run {i + 1} {name:>4}: {wall:6.2f} s wall, RTF {wall / clip.duration:.3f}, "
                      f"CPU {cpu:6.2f} s, peak RSS {rss:5.0f} MiB", flush=True)

    wall = {k: statistics.median(r[0] for r in v) for k, v in runs.items()}
    cpu = {k: statistics.median(r[1] for r in v) for k, v in runs.items()}
    rss = {k: max(r[2] for r in v) for k, v in runs.items()}
    pairs = list(zip(runs["eval"], runs["bare"], strict=True))
    wall_pairs = ", ".join(f"{e[0] / b[0]:.3f}" for e, b in pairs)
    cpu_pairs = ", ".join(f"{e[1] / b[1]:.3f}" for e, b in pairs)
    report = "\n".join([
        "| | wall (median) | RTF (wall) | CPU time (median) | RTF (CPU) | peak RSS |",
        "|---|---|---|---|---|---|",
        *(f"| {label} | {wall[k]:.2f} s | {wall[k] / clip.duration:.3f} | {cpu[k]:.2f} s | "
          f"{cpu[k] / clip.duration:.3f} | {rss[k]:.0f} MiB |"
          for k, label in (("bare", "bare faster-whisper"), ("eval", "`dubkit eval` (JSON + HTML)"))),
        f"| **ratio eval / bare** | **{wall['eval'] / wall['bare']:.3f}** | | **{cpu['eval'] / cpu['bare']:.3f}** | | "
        f"**{rss['eval'] / rss['bare']:.3f}** |",
        "",
        f"Per alternating pair, eval/bare: wall {wall_pairs}; CPU {cpu_pairs}.",
        "",
        f"Audio: {clip.duration:.1f} s of LibriVox English ({len(clip.cues)} cues), Whisper base int8, "
        f"beam 5, word timestamps, VAD; {opts.repeat} runs each, alternating. Machine: {machine()}.",
        f"Gate verdict on the file: `{verdict}`",
        "",
        "The job's stages other than recognition, timed in-process: "
        + ", ".join(f"{k} {1000 * v:.0f} ms" for k, v in stages.items()) + ".",
    ])
    print()
    print(report)
    if opts.out:
        opts.out.write_text(report + "\n", encoding="utf-8")


if __name__ == "__main__":
    main()
