"""Benchmark `dubkit localize` with the preview engine on the CPU.

    python bench/localize_bench.py                                  # the example looped 4 times, zh,ko,ja
    python bench/localize_bench.py --loops 8 --size 1920x1080 --to ja,ko
    python bench/localize_bench.py --loops 75 --size 1920x1080 --to ja --no-resume   # a 10-minute source

The example (8 s) is looped N times, scaled to --size when given, with its scripts looped to match
(written by the bench into a temporary folder, never committed). Reports, per minute of source and per
language: wall and CPU seconds of a fresh run, the peak RSS summed over the run's process tree (the
run and the ffmpeg it starts, sampled every 0.1 s), the recognition share of the wall time, and whether
each language's delivered verdict agrees with its windows (passes exactly when every window passed, its
error rate the windows' errors over their reference units, as jiwer gives on the concatenation).
A second run on the same output folder measures a resume with every stage cached.

Each run happens in a fresh subprocess so that its memory and CPU are its own.
"""
from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import replace
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))  # run from a checkout without installing

EXAMPLE = REPO / "examples" / "ad.mp4"
EXAMPLE_SECONDS = 8.0

_RUN = r"""
import json, resource, sys, time
from pathlib import Path
args = json.loads(sys.argv[1])  # paths travel as data, never spliced into code
sys.path.insert(0, args["repo"])
from dubkit.pipeline import localize
from dubkit.options import LocalizeOptions
t0 = time.perf_counter()
result = localize(LocalizeOptions(source=Path(args["source"]), languages=args["langs"], out=Path(args["out"]),
                                  engine="preview", scripts_dir=Path(args["scripts"]),
                                  source_script=Path(args["script"]) if args["script"] else None))
wall = time.perf_counter() - t0
report = json.loads(result.report_json.read_text("utf-8"))
usage = [resource.getrusage(who) for who in (resource.RUSAGE_SELF, resource.RUSAGE_CHILDREN)]
print(json.dumps({"wall": wall, "cpu": sum(u.ru_utime + u.ru_stime for u in usage), "timings": result.timings,
                  "languages": report["languages"], "source_script": report["source_script"]["origin"]}))
"""


def make_source(folder: Path, loops: int, languages: list[str], size: str | None = None) -> tuple[Path, Path]:
    """The example looped `loops` times (concat; scaled to `size` "WxH" when given, else stream copy),
    with its scripts shifted to match: `folder`/spot.mp4 and `folder`/scripts/spot.<lang>.srt."""
    import imageio_ffmpeg

    from dubkit.adapters.subtitles import read_script, write_script

    ffmpeg_exe = imageio_ffmpeg.get_ffmpeg_exe()
    clip = EXAMPLE
    if size:  # scale one loop, then stream-copy it N times: a 10-minute 1080p source in seconds, not minutes
        width, height = (int(v) for v in size.lower().split("x"))
        clip = folder / "clip.mp4"
        subprocess.run([ffmpeg_exe, "-v", "error", "-i", str(EXAMPLE), "-vf", f"scale={width}:{height}",
                        "-c:v", "libx264", "-preset", "veryfast", "-crf", "20", "-pix_fmt", "yuv420p",
                        "-c:a", "copy", str(clip)], check=True)
    listing = folder / "list.txt"
    quoted = str(clip).replace("'", "'\\''")  # the concat list's quoting rule for a literal '
    listing.write_text("".join(f"file '{quoted}'\n" for _ in range(loops)))
    source = folder / "spot.mp4"
    subprocess.run([ffmpeg_exe, "-v", "error", "-f", "concat", "-safe", "0", "-i", str(listing), "-c", "copy",
                    str(source)], check=True)
    scripts = folder / "scripts"
    scripts.mkdir()
    for code in ["en", *languages]:
        cues = read_script(REPO / "examples" / f"ad.{code}.srt").cues
        looped = [replace(c, start=c.start + k * EXAMPLE_SECONDS, end=c.end + k * EXAMPLE_SECONDS)
                  for k in range(loops) for c in cues]
        write_script(looped, scripts / f"spot.{code}.srt")
    return source, scripts


def tree_rss_mb(root: int) -> float:
    """Resident memory of `root` and all its descendants now, in MB (Linux /proc)."""
    parents: dict[int, int] = {}
    rss: dict[int, int] = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat", "rb") as f:
                fields = f.read().rsplit(b")", 1)[1].split()
            parents[int(entry)], rss[int(entry)] = int(fields[1]), int(fields[21])
        except (OSError, IndexError, ValueError):
            continue
    tree, frontier = {root}, [root]
    while frontier:
        pid = frontier.pop()
        kids = [p for p, parent in parents.items() if parent == pid and p not in tree]
        tree.update(kids)
        frontier += kids
    return sum(rss.get(p, 0) for p in tree) * os.sysconf("SC_PAGE_SIZE") / 2**20


def run_once(source: Path, scripts: Path, out: Path, languages: str, asr: bool) -> dict:
    args = {"repo": str(REPO), "source": str(source), "langs": languages, "out": str(out),
            "scripts": str(scripts), "script": None if asr else str(scripts / "spot.en.srt")}
    proc = subprocess.Popen([sys.executable, "-c", _RUN, json.dumps(args)], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)
    peak = [0.0]

    def watch() -> None:
        while proc.poll() is None:
            peak[0] = max(peak[0], tree_rss_mb(proc.pid))
            time.sleep(0.1)

    watcher = threading.Thread(target=watch, daemon=True)
    watcher.start()
    stdout, stderr = proc.communicate()
    watcher.join()
    if proc.returncode != 0:
        raise SystemExit(f"localize failed:\n{stderr[-3000:]}")
    return {**json.loads(stdout.strip().splitlines()[-1]), "peak_rss_mb": peak[0]}


def agreement(lang: dict) -> bool:
    """The delivered verdict agrees with the windows: passes exactly when all pass, and its error rate is
    jiwer's over the concatenation of the windows' references and what was heard in each."""
    import jiwer

    from eval.scoring import units

    d, windows = lang["delivered"], lang["windows"]
    if d is None:
        return not windows
    refs = [" ".join(units(a["reference"], lang["language"])) for w in windows
            for a in [w["attempts"][w["chosen_attempt"] - 1]]]
    hyps = [" ".join(units(w["heard"], lang["language"])) for w in windows]
    concatenated = jiwer.process_words(refs, hyps)
    errors = concatenated.substitutions + concatenated.deletions + concatenated.insertions
    rate = errors / (concatenated.hits + concatenated.substitutions + concatenated.deletions)
    return d["passed"] == all(w["passed"] for w in windows) and abs(d["error_rate"] - rate) < 1e-6


def summarize(name: str, run: dict, minutes: float) -> None:
    t = run["timings"]
    n_lang = len(run["languages"])
    recognition = t.get("gate", 0.0) + (t.get("source_script", 0.0) if run["source_script"].startswith("asr") else 0)
    engine = t.get("engine", 0.0)
    per = minutes * n_lang
    windows = sum(len(lang["windows"]) for lang in run["languages"].values())
    print(f"{name}: wall {run['wall']:.1f} s, CPU {run['cpu']:.1f} s = {run['wall'] / per:.1f} s wall and "
          f"{run['cpu'] / per:.1f} s CPU per source-minute per language; peak RSS (process tree) "
          f"{run['peak_rss_mb']:.0f} MB; {windows} (window, language) renders")
    share = 100 * recognition / max(run["wall"], 1e-9)
    print(f"    engine {engine:.1f} s, recognition {recognition:.1f} s ({share:.0f} % of the wall time)")
    for code, lang in run["languages"].items():
        d = lang["delivered"] or {}
        print(f"    {code}: {'PASS' if lang['passed'] else 'FAIL'}, windows passed {lang['windows_passed']}/"
              f"{len(lang['windows'])}, delivered {d.get('metric', '').upper()} {d.get('error_rate', 0):.3f}; "
              f"verdict agrees with the windows: {'yes' if agreement(lang) else 'NO'}")
    steps = {k: v for k, v in t.items() if k not in ("engine", "gate", "total")}
    print("    steps: " + ", ".join(f"{k} {v:.1f} s" for k, v in steps.items()))


def machine() -> str:
    model = next((line.split(":", 1)[1].strip() for line in Path("/proc/cpuinfo").read_text().splitlines()
                  if line.startswith("model name")), platform.processor() or platform.machine()) \
        if Path("/proc/cpuinfo").is_file() else platform.processor() or platform.machine()
    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
    return f"{model}, {len(os.sched_getaffinity(0))} usable cores, load average {load:.1f}"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--loops", "--repeat", dest="loops", type=int, default=4,
                        help="loop the 8 s example this many times")
    parser.add_argument("--size", default=None, help="scale the looped source to WxH, e.g. 1920x1080")
    parser.add_argument("--to", default="zh,ko,ja")
    parser.add_argument("--asr", action="store_true", help="recognise the source script instead of reading it")
    parser.add_argument("--no-resume", action="store_true", help="skip the second, all-cached run")
    args = parser.parse_args()
    languages = args.to.split(",")
    minutes = args.loops * EXAMPLE_SECONDS / 60
    print(f"localize bench: {args.loops * EXAMPLE_SECONDS:.0f} s of source at {args.size or '384x384'}, languages "
          f"{args.to}, preview engine; {machine()}; python {platform.python_version()}")
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        t0 = time.perf_counter()
        source, scripts = make_source(tmp, args.loops, languages, args.size)
        print(f"(source built in {time.perf_counter() - t0:.1f} s)", flush=True)
        fresh = run_once(source, scripts, tmp / "out", args.to, args.asr)
        summarize("fresh run", fresh, minutes)
        if not args.no_resume:
            resumed = run_once(source, scripts, tmp / "out", args.to, args.asr)
            summarize("resumed run (all cached)", resumed, minutes)


if __name__ == "__main__":
    main()
