"""Benchmark `dubkit localize` with the preview engine on the CPU.

    python bench/localize_bench.py                       # the example looped to 32 s, zh,ko,ja
    python bench/localize_bench.py --repeat 8 --to zh    # 64 s of source, one language

Reports, per minute of source: wall time of a fresh run, its peak memory (this process and its
ffmpeg children), and the pipeline's own overhead: everything except the engine's renders and
speech recognition (the source's ASR and the gate's transcriptions), as a share of the total.
A second run on the same output folder measures a resume with every stage cached.

Each run happens in a fresh subprocess so that peak memory is that run's alone.
"""
from __future__ import annotations

import argparse
import json
import platform
import subprocess
import sys
import tempfile
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
rss = max(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss, resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss)
print(json.dumps({"wall": wall, "peak_rss_mb": rss / 1024, "timings": result.timings,
                  "windows": sum(len(l["windows"]) for l in report["languages"].values()),
                  "source_script": report["source_script"]["origin"]}))
"""


def make_source(folder: Path, repeat: int, languages: list[str]) -> tuple[Path, Path]:
    """The example looped `repeat` times (concat, stream copy) with its scripts shifted to match."""
    import imageio_ffmpeg

    from dubkit.adapters.subtitles import read_script, write_script

    listing = folder / "list.txt"
    quoted = str(EXAMPLE).replace("'", "'\\''")  # the concat list's quoting rule for a literal '
    listing.write_text("".join(f"file '{quoted}'\n" for _ in range(repeat)))
    source = folder / "spot.mp4"
    subprocess.run([imageio_ffmpeg.get_ffmpeg_exe(), "-v", "error", "-f", "concat", "-safe", "0", "-i",
                    str(listing), "-c", "copy", str(source)], check=True)
    scripts = folder / "scripts"
    scripts.mkdir()
    for code in ["en", *languages]:
        cues = read_script(REPO / "examples" / f"ad.{code}.srt").cues
        looped = [replace(c, start=c.start + k * EXAMPLE_SECONDS, end=c.end + k * EXAMPLE_SECONDS)
                  for k in range(repeat) for c in cues]
        write_script(looped, scripts / f"spot.{code}.srt")
    return source, scripts


def run_once(source: Path, scripts: Path, out: Path, languages: str, asr: bool) -> dict:
    args = {"repo": str(REPO), "source": str(source), "langs": languages, "out": str(out),
            "scripts": str(scripts), "script": None if asr else str(scripts / "spot.en.srt")}
    done = subprocess.run([sys.executable, "-c", _RUN, json.dumps(args)], capture_output=True, text=True,
                          check=False)
    if done.returncode != 0:
        raise SystemExit(f"localize failed:\n{done.stderr[-3000:]}")
    return json.loads(done.stdout.strip().splitlines()[-1])


def summarize(name: str, run: dict, minutes: float) -> None:
    t = run["timings"]
    recognition = t.get("gate", 0.0) + (t.get("source_script", 0.0) if run["source_script"].startswith("asr") else 0)
    engine = t.get("engine", 0.0)
    overhead = max(0.0, run["wall"] - engine - recognition)
    print(f"{name}: wall {run['wall']:.1f} s = {run['wall'] / minutes:.1f} s per minute of source; "
          f"peak RSS {run['peak_rss_mb']:.0f} MB; {run['windows']} (window, language) renders")
    print(f"    engine {engine:.1f} s, recognition {recognition:.1f} s, pipeline overhead {overhead:.1f} s "
          f"({100 * overhead / max(run['wall'], 1e-9):.0f} % of the total)")
    steps = {k: v for k, v in t.items() if k not in ("engine", "gate", "total")}
    print("    steps: " + ", ".join(f"{k} {v:.1f} s" for k, v in steps.items()))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--repeat", type=int, default=4, help="loop the 8 s example this many times")
    parser.add_argument("--to", default="zh,ko,ja")
    parser.add_argument("--asr", action="store_true", help="recognise the source script instead of reading it")
    args = parser.parse_args()
    languages = args.to.split(",")
    minutes = args.repeat * EXAMPLE_SECONDS / 60
    print(f"localize bench: {args.repeat * EXAMPLE_SECONDS:.0f} s of source, languages {args.to}, preview engine, "
          f"{platform.processor() or platform.machine()}, python {platform.python_version()}")
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        t0 = time.perf_counter()
        source, scripts = make_source(tmp, args.repeat, languages)
        print(f"(source built in {time.perf_counter() - t0:.1f} s)")
        fresh = run_once(source, scripts, tmp / "out", args.to, args.asr)
        summarize("fresh run", fresh, minutes)
        resumed = run_once(source, scripts, tmp / "out", args.to, args.asr)
        summarize("resumed run (all cached)", resumed, minutes)


if __name__ == "__main__":
    main()
