"""Benchmark a campaign: local `--jobs 1` against Ray with 2 workers of one CPU thread each.

    python bench/campaign_bench.py                 # 4 spots × zh,ko,ja, preview engine
    python bench/campaign_bench.py --to ja --spots 2

The spots are the example and variants the bench makes from it (mirrored, brighter, re-encoded: other
pictures, the same speech timing, so the example's scripts fit them). Each backend runs the campaign
into a fresh output folder, in a fresh process (so that peak memory is that run's alone). Prints, per
backend: wall time of the campaign and per spot-language; for Ray, the per-call overhead (the time
from submitting a call to the driver seeing its result, less the time the call took inside the worker:
scheduling, argument and result transfer) as a share of the call's wall time; CPU seconds of the
worker processes (and the driver); peak RSS per worker process (VmHWM). And the machine it ran on,
with its load at the start (a shared machine skews wall times; CPU seconds much less).
"""
from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))  # run from a checkout without installing

EXAMPLES = REPO / "examples"
VARIANTS = {"ad": None, "ad_mirror": "hflip", "ad_bright": "eq=brightness=0.08", "ad_recut": "null"}

_RUN = r"""
import json, os, resource, sys, time
from pathlib import Path
args = json.loads(sys.argv[1])  # paths travel as data, never spliced into code
sys.path.insert(0, args["repo"])
os.environ["OMP_NUM_THREADS"] = "1"
from dubkit.campaign import localize_campaign
from dubkit.campaign.backends import make_backend
from dubkit.campaign.manifest import spots_from_sources
spots = spots_from_sources([Path(s) for s in args["sources"]], Path(args["out"]),
                           {"languages": args["langs"], "engine": "preview", "source_script": Path(args["script"])})
if args["ray"]:
    import ray
    ray.init(num_cpus=2, include_dashboard=False, _node_ip_address="127.0.0.1", log_to_driver=False)
    backend = make_backend(ray="auto", ray_workers=2)
else:
    backend = make_backend(1)
t0 = time.perf_counter()
result = localize_campaign(spots, Path(args["out"]), backend)
wall = time.perf_counter() - t0
def hwm(pid):
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) * 1024
def cpu(pid):  # own and waited-for children's (ffmpeg) user + system seconds
    fields = Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()
    return sum(int(x) for x in fields[11:15]) / os.sysconf("SC_CLK_TCK")
workers = sorted({c.worker.rpartition(":")[2] for c in result.run.calls})
rss = {pid: hwm(int(pid)) for pid in workers}
cpus = {pid: cpu(int(pid)) for pid in workers}
if str(os.getpid()) not in cpus:
    cpus["driver"] = cpu(os.getpid())
calls = [{"method": c.method, "seconds": c.seconds, "wall": c.wall, "worker": c.worker} for c in result.run.calls]
driver = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
print(json.dumps({"wall": wall, "calls": calls, "rss": rss, "driver_rss": driver, "cpu": cpus,
                  "errors": [s.error for s in result.run.spots if s.error]}))
"""


def make_spots(folder: Path, count: int) -> list[Path]:
    """The example and variants of it, each with the example's scripts under its stem."""
    from imageio_ffmpeg import get_ffmpeg_exe

    sources = []
    for stem, vf in list(VARIANTS.items())[:count]:
        target = folder / f"{stem}.mp4"
        if vf is None:
            shutil.copy(EXAMPLES / "ad.mp4", target)
        else:
            subprocess.run([get_ffmpeg_exe(), "-v", "error", "-y", "-i", str(EXAMPLES / "ad.mp4"), "-vf", vf,
                            "-c:v", "libx264", "-crf", "20", "-c:a", "copy", str(target)], check=True)
        for script in EXAMPLES.glob("ad.*.srt"):
            shutil.copy(script, folder / f"{stem}.{script.name.split('.', 1)[1]}")
        sources.append(target)
    return sources


def run(sources: list[Path], out: Path, langs: str, ray: bool) -> dict:
    args = {"repo": str(REPO), "sources": [str(s) for s in sources], "out": str(out), "langs": langs,
            "script": str(sources[0].with_name("ad.en.srt")), "ray": ray}
    done = subprocess.run([sys.executable, "-c", _RUN, json.dumps(args)], capture_output=True, text=True,
                          env={**os.environ, "PYTHONPATH": str(REPO)})
    if done.returncode != 0:
        raise SystemExit(f"the {'Ray' if ray else 'local'} run failed:\n{done.stderr[-3000:]}")
    return json.loads(done.stdout.strip().splitlines()[-1])


def machine() -> str:
    model = next((line.split(":", 1)[1].strip() for line in Path("/proc/cpuinfo").read_text().splitlines()
                  if line.startswith("model name")), platform.processor() or platform.machine())
    memory = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30
    import ray

    return (f"{model}, {os.cpu_count()} cores, {memory:.0f} GiB, {platform.system()} {platform.release()}, "
            f"python {platform.python_version()}, ray {ray.__version__}, load average at start "
            f"{' '.join(f'{x:.1f}' for x in os.getloadavg())}")


def summarize(name: str, result: dict, cells: int) -> None:
    window = [c for c in result["calls"] if c["method"] == "window"]
    overhead = sum(c["wall"] - c["seconds"] for c in result["calls"]) / sum(c["wall"] for c in result["calls"])
    per_call = sum(c["wall"] - c["seconds"] for c in result["calls"]) / len(result["calls"])
    rss = ", ".join(f"{v / 2**20:.0f} MiB" for v in result["rss"].values())
    print(f"| {name} | {result['wall']:.1f} s | {result['wall'] / cells:.1f} s | {sum(result['cpu'].values()):.0f} s "
          f"| {len(result['calls'])} ({len(window)} windows) | {100 * overhead:.2f} % ({1000 * per_call:.0f} ms per "
          f"call) | {rss} |")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--to", default="zh,ko,ja")
    parser.add_argument("--spots", type=int, default=4, choices=range(1, len(VARIANTS) + 1))
    args = parser.parse_args()
    print(f"machine: {machine()}")
    with tempfile.TemporaryDirectory(prefix="dubkit-campaign-bench-") as tmp:
        sources = make_spots(Path(tmp), args.spots)
        cells = len(sources) * len(args.to.split(","))
        local = run(sources, Path(tmp) / "local", args.to, ray=False)
        on_ray = run(sources, Path(tmp) / "ray", args.to, ray=True)
    print(f"{len(sources)} spots × {args.to} = {cells} spot-languages, preview engine")
    print("| backend | campaign wall | per spot-language | CPU (workers + driver) | calls "
          "| backend overhead (share of call wall) | peak RSS per worker |")
    print("|---|---|---|---|---|---|---|")
    summarize("local --jobs 1", local, cells)
    summarize("Ray, 2 actors × 1 CPU", on_ray, cells)
    for name, result in (("local", local), ("ray", on_ray)):
        if result["errors"]:
            print(f"{name}: failed spots: {result['errors']}")


if __name__ == "__main__":
    main()
