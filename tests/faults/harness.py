"""Shared machinery of the fault-injection suite: run `dubkit localize` as a real subprocess on the
example spot, kill it, starve it, compare what it leaves with an uninterrupted run.

Every case appends one record (JSON line) to `$FAULTS_RECORD` when that is set; `report.py` tallies
them into the suite's figure. A record is written from what was measured, before the test asserts.
"""
from __future__ import annotations

import hashlib
import json
import os
import resource
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[2]
EXAMPLES = REPO / "examples"
LANGS = ("zh", "ja")  # espeak-ng and OpenJTalk: two voices, two encodes, one window each
CACHE = ".dubkit-cache"
RUN_TIMEOUT = 900  # seconds for one whole localize run on a loaded 2-core machine
# Names a killed or failed run may leave half-written (dubkit's temp files, ffmpeg partials, scratch folders).
TEMP_MARKERS = (".tmp", ".partial", ".assemble-", ".dubkit-write-test")
OUTPUT_SUFFIXES = (".mp4", ".srt")


# ---------------------------------------------------------------- running dubkit


@dataclass(frozen=True)
class Run:
    """One finished (or killed) dubkit process."""

    rc: int
    output: str  # stdout and stderr together
    seconds: float

    @property
    def traceback(self) -> bool:
        return "Traceback (most recent call last)" in self.output

    def error_lines(self) -> list[str]:
        return [line for line in self.output.splitlines() if line.startswith("error:")]


def cli_command(*args: str) -> list[str]:
    """`python -m cli ARGS` on this checkout's code (also in a process started by another user)."""
    return [sys.executable, "-m", "cli", *map(str, args)]


def localize_args(source: Path, out: Path, *extra: str, languages: Sequence[str] = LANGS) -> list[str]:
    return ["localize", str(source), "--to", ",".join(languages), "-o", str(out), "--engine", "preview", *extra]


def child_env(home: Path | None = None, **extra: str) -> dict[str, str]:
    """The environment of a dubkit child: this checkout first on the path; HOME (and TMPDIR under it)
    where given; the caller's DUBKIT_HOME (the models) kept."""
    env = {k: v for k, v in os.environ.items()
           if k == "DUBKIT_HOME" or not k.startswith(("DUBKIT_", "PYTEST_", "FAULTS_"))}
    env["PYTHONPATH"] = str(REPO)
    env["PYTHONDONTWRITEBYTECODE"] = "1"  # another user cannot write __pycache__ here anyway
    if home is not None:  # its own home: its own dubkit home (models) too
        env.pop("DUBKIT_HOME", None)
        home.mkdir(parents=True, exist_ok=True)
        (home / "tmp").mkdir(exist_ok=True)
        env.update(HOME=str(home), TMPDIR=str(home / "tmp"))
    env.update(extra)
    return env


def _limiter(address_space: int | None, file_size: int | None) -> Callable[[], None] | None:
    if address_space is None and file_size is None:
        return None

    def apply() -> None:  # runs in the child between fork and exec
        if address_space is not None:
            resource.setrlimit(resource.RLIMIT_AS, (address_space, address_space))
        if file_size is not None:
            resource.setrlimit(resource.RLIMIT_FSIZE, (file_size, file_size))

    return apply


def start(args: Sequence[str], *, cwd: Path, env: dict[str, str] | None = None, user: str | None = None,
          address_space: int | None = None, file_size: int | None = None) -> subprocess.Popen:
    """Start `dubkit ARGS` in its own process group (so a kill takes ffmpeg children with it)."""
    command = cli_command(*args)
    if user is not None:
        command = ["setpriv", f"--reuid={user}", "--regid=nogroup", "--clear-groups", "--", *command]
    return subprocess.Popen(
        command, cwd=cwd, env=env or child_env(), stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
        stdin=subprocess.DEVNULL, text=True, errors="replace", start_new_session=True,
        preexec_fn=_limiter(address_space, file_size),  # noqa: PLW1509 - setrlimit only, before exec
    )


def kill_group(proc: subprocess.Popen) -> None:
    """SIGKILL the process and everything it started (ffmpeg), then reap it."""
    try:
        os.killpg(proc.pid, signal.SIGKILL)
    except ProcessLookupError:
        pass
    proc.wait()


def finish(proc: subprocess.Popen, started: float, timeout: float) -> Run:
    try:
        output, _ = proc.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        kill_group(proc)
        output = (proc.stdout.read() if proc.stdout else "") + f"\n[harness: killed after {timeout:.0f} s]"
        return Run(rc=-signal.SIGKILL, output=output, seconds=time.monotonic() - started)
    return Run(rc=proc.returncode, output=output, seconds=time.monotonic() - started)


def dubkit(args: Sequence[str], *, cwd: Path, timeout: float = RUN_TIMEOUT, **kw) -> Run:
    """Run `dubkit ARGS` to the end (or kill it after `timeout` seconds)."""
    t0 = time.monotonic()
    return finish(start(args, cwd=cwd, **kw), t0, timeout)


def run_and_kill(args: Sequence[str], *, cwd: Path, after: float, env: dict[str, str] | None = None) -> Run:
    """Start dubkit and SIGKILL its whole process group `after` seconds later (unless it ended first)."""
    t0 = time.monotonic()
    proc = start(args, cwd=cwd, env=env)
    try:
        output, _ = proc.communicate(timeout=after)
        return Run(rc=proc.returncode, output=output, seconds=time.monotonic() - t0)
    except subprocess.TimeoutExpired:
        kill_group(proc)
        return Run(rc=-signal.SIGKILL, output=proc.stdout.read() if proc.stdout else "",
                   seconds=time.monotonic() - t0)


# ---------------------------------------------------------------- folders


def world_folder(prefix: str) -> Path:
    """A fresh folder under /tmp that every user can enter (pytest's own tmp folders are 0700)."""
    path = Path(tempfile.mkdtemp(prefix=f"dubkit-faults-{prefix}-", dir="/tmp"))
    path.chmod(0o755)
    return path


def example_case(folder: Path) -> Path:
    """Copy the example spot and its translated scripts into `folder`; returns the source's path."""
    folder.mkdir(parents=True, exist_ok=True)
    for item in [EXAMPLES / "ad.mp4", *(EXAMPLES / f"ad.{code}.srt" for code in LANGS)]:
        shutil.copy(item, folder / item.name)
    return folder / "ad.mp4"


def tree(folder: Path, *, skip: Iterable[Path] = ()) -> dict[str, tuple[int, str]]:
    """relative path -> (size, sha256) of every file under `folder`, except under `skip`."""
    skip = [Path(s) for s in skip]
    found = {}
    for path in sorted(Path(folder).rglob("*")):
        if any(path == s or s in path.parents for s in skip) or not path.is_file() or path.is_symlink():
            continue
        found[str(path.relative_to(folder))] = (path.stat().st_size, sha256(path))
    return found


def sha256(path: Path) -> str:
    return hashlib.sha256(Path(path).read_bytes()).hexdigest()


def stamps(folder: Path) -> dict[str, tuple[int, int, int]]:
    """relative path -> (size, mtime_ns, inode) of every file under `folder` (cheap for big models)."""
    if not Path(folder).is_dir():
        return {}
    return {str(p.relative_to(folder)): (p.stat().st_size, p.stat().st_mtime_ns, p.stat().st_ino)
            for p in sorted(Path(folder).rglob("*")) if p.is_file()}


def dubkit_home() -> Path:
    """The dubkit home folder a child uses (models live there): $DUBKIT_HOME, else ~/.cache/dubkit."""
    return Path(os.environ.get("DUBKIT_HOME") or Path.home() / ".cache" / "dubkit").expanduser()


def leftovers(out: Path) -> list[str]:
    """Half-written things a killed or failed run left anywhere under `out`."""
    if not out.exists():
        return []
    return sorted(str(p.relative_to(out)) for p in out.rglob("*") if any(m in p.name for m in TEMP_MARKERS))


# ---------------------------------------------------------------- the cache and the work it records


def entry_value(path: Path):
    """A cache entry's JSON value (inside dubkit's entry envelope when it has one)."""
    data = json.loads(Path(path).read_text("utf-8"))
    if isinstance(data, dict) and "dubkit_cache" in data and "value" in data:
        return data["value"]
    return data


def cache_files(out: Path) -> dict[str, tuple[int, int]]:
    """relative path -> (inode, mtime_ns) of every cache file: a rewritten entry gets a new inode."""
    root = out / CACHE
    if not root.is_dir():
        return {}
    return {str(p.relative_to(out)): (p.stat().st_ino, p.stat().st_mtime_ns)
            for p in sorted(root.rglob("*")) if p.is_file() and not any(m in p.name for m in TEMP_MARKERS)}


def finished_work(out: Path) -> dict[str, tuple[int, int]]:
    """The files that hold finished work: every cache entry whose JSON exists (a render's audio and
    picture count once their JSON is written) and every output an `assemble` entry names."""
    files = cache_files(out)
    done = {}
    for rel, stamp in files.items():
        folder, _, name = rel.rpartition("/")
        if f"{folder}/{name.split('.')[0]}.json" in files:  # keys hold no dots: key.npz, key.npz.seal ...
            done[rel] = stamp
    for rel in files:
        if rel.startswith(f"{CACHE}/assemble/") and rel.endswith(".json"):
            try:
                value = entry_value(out / rel)
            except (OSError, ValueError):
                continue
            for name in (value.get("video"), value.get("subtitles")):
                if name and (out / Path(name).name).is_file():
                    p = out / Path(name).name
                    done[p.name] = (p.stat().st_ino, p.stat().st_mtime_ns)
    return done


def redone(before: dict[str, tuple[int, int]], out: Path) -> list[str]:
    """Finished work (as `finished_work` saw it before) that a later run wrote again."""
    now = {**cache_files(out), **{p.name: (p.stat().st_ino, p.stat().st_mtime_ns)
                                  for p in out.glob("*") if p.is_file()}}
    return sorted(rel for rel, stamp in before.items() if now.get(rel) != stamp)


def entry_counts(out: Path) -> dict[str, int]:
    """Finished entries per cache stage (render: one per engine call; gate and source_script: one per
    recogniser call)."""
    root = out / CACHE
    if not root.is_dir():
        return {}
    return {d.name: len(list(d.glob("*.json"))) for d in sorted(root.iterdir()) if d.is_dir()}


# ---------------------------------------------------------------- comparing outputs


def decode(path: Path) -> tuple[np.ndarray, np.ndarray]:
    """(every video frame as uint8 RGB, every audio sample as float32) of a media file, via PyAV."""
    import av

    with av.open(str(path)) as container:
        frames = [f.to_ndarray(format="rgb24") for f in container.decode(container.streams.video[0])]
    with av.open(str(path)) as container:
        audio = [f.to_ndarray() for f in container.decode(container.streams.audio[0])]
    return np.stack(frames), np.concatenate(audio, axis=1)


def verdicts(report: Path) -> dict:
    """What a report decides, without paths and timings: per language the verdict, its reasons, each
    window's scores and the delivered file's (assembled from the windows)."""
    data = json.loads(Path(report).read_text("utf-8"))
    out = {"passed": data.get("passed"), "verdict": data.get("verdict")}
    for code, lang in data.get("languages", {}).items():
        out[code] = {
            "passed": lang["passed"], "reasons": lang["reasons"],
            "delivered": {k: lang["delivered"][k] for k in ("passed", "error_rate", "heard")}
            if lang.get("delivered") else None,
            "windows": [(w["passed"], w["error_rate"], w["heard"]) for w in lang["windows"]],
        }
    return out


def file_difference(got: Path, want: Path) -> str | None:
    """How output `got` differs from `want` (None: identical). Media are compared byte for byte, else
    decoded frame for frame and sample for sample; other files byte for byte."""
    if not got.is_file():
        return f"{got.name} missing"
    if got.read_bytes() == want.read_bytes():
        return None
    if got.suffix != ".mp4":
        return f"{got.name} differs"
    try:
        (gf, ga), (wf, wa) = decode(got), decode(want)
    except Exception as err:  # noqa: BLE001 - a damaged output is a difference, whatever PyAV raises
        return f"{got.name} cannot be decoded: {err}"
    if gf.shape != wf.shape or not np.array_equal(gf, wf):
        return f"{got.name}: frames differ ({gf.shape} vs {wf.shape})"
    if ga.shape != wa.shape or not np.array_equal(ga, wa):
        return f"{got.name}: audio differs ({ga.shape} vs {wa.shape})"
    return None


def output_differences(out: Path, expected: Path, languages: Sequence[str] = LANGS) -> list[str]:
    """How the outputs in `out` differ from those in `expected` (empty: identical): every video and
    subtitle file, and the report's verdicts."""
    problems = [file_difference(out / f"ad.{code}{suffix}", expected / f"ad.{code}{suffix}")
                for code in languages for suffix in OUTPUT_SUFFIXES]
    problems = [p for p in problems if p]
    if not (out / "report.json").is_file():
        problems.append("report.json missing")
    elif verdicts(out / "report.json") != verdicts(expected / "report.json"):
        problems.append("report verdicts differ")
    return problems


# ---------------------------------------------------------------- the figure's records


def record(category: str, case: str, **facts) -> None:
    """Append one measured case to $FAULTS_RECORD (report.py's input); no-op when unset."""
    path = os.environ.get("FAULTS_RECORD")
    if not path:
        return
    line = json.dumps({"category": category, "case": case, **facts}, ensure_ascii=False, default=str)
    with open(path, "a", encoding="utf-8") as f:
        f.write(line + "\n")


def commit_seed() -> int:
    """$FAULTS_SEED, else the first 8 hex digits of this checkout's commit (so successive commits draw
    different kill points), else 0."""
    if os.environ.get("FAULTS_SEED"):
        return int(os.environ["FAULTS_SEED"])
    try:
        head = subprocess.run(["git", "rev-parse", "HEAD"], cwd=REPO, capture_output=True, text=True, check=True)
        return int(head.stdout.strip()[:8], 16)
    except (OSError, subprocess.CalledProcessError, ValueError):
        return 0


def run_all() -> bool:
    """True under report.py (FAULTS_ALL=1): every kill point and every corruption, not CI's sample."""
    return os.environ.get("FAULTS_ALL") == "1"
