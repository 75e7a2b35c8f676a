"""Disk full for real: the output folder on a small filesystem, so writes fail with the kernel's own error.

Two ways, both real: a size-limited tmpfs mounted as the output folder (when this machine lets the
test mount, as root does outside unprivileged containers), and RLIMIT_FSIZE on the child, which makes
any write past the limit fail with EFBIG (and kills an ffmpeg child with SIGXFSZ). The run must stop
with exit status 2 and one line naming the folder and its free space, leave an earlier run's files
and every finished entry intact, and a rerun with space must complete with the uninterrupted run's
outputs. `DUBKIT_MIN_FREE_MB=0` lowers the up-front free-space check (docs/limits.md) so the disk
fills mid-run, not before it starts. CI runs two tmpfs levels and one file-size level, rotated by the
commit seed; `python tests/faults/report.py` runs all six.
"""
from __future__ import annotations

import os
import re
import shutil
import subprocess
from contextlib import contextmanager
from pathlib import Path

import pytest

from tests.faults import harness

KiB, MiB = 1024, 1024 * 1024
# Free bytes when the run starts. The example's run writes ~1.1 MB per render entry, a 3 MB mix and a
# 0.5 MB mp4 per language: these fill up at a cache write, the mix, ffmpeg's encode, the second language.
TMPFS_LEVELS = (64 * KiB, 3 * MiB, int(4.6 * MiB), int(5.6 * MiB))
FSIZE_LEVELS = (256 * KiB, 2 * MiB)  # largest file the child may write
FREE_WORDS = re.compile(r"\d+(\.\d+)? ?[kKMG]i?B free")
SEED = harness.commit_seed()


def _sample(levels: tuple[int, ...], n: int) -> list[int]:
    """Every level under report.py; CI runs `n` of them, rotated by the commit seed."""
    if harness.run_all():
        return list(levels)
    return sorted({levels[(SEED + i) % len(levels)] for i in range(n)})


TMPFS_RUN, FSIZE_RUN = _sample(TMPFS_LEVELS, 2), _sample(FSIZE_LEVELS, 1)

pytestmark = pytest.mark.slow


def _mount_works() -> bool:
    if os.geteuid() != 0 or not shutil.which("mount"):
        return False
    probe = harness.world_folder("mountprobe")
    try:
        ok = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=1m", "tmpfs", str(probe)],
                            capture_output=True, check=False).returncode == 0
        if ok:
            subprocess.run(["umount", str(probe)], check=True)
        return ok
    finally:
        shutil.rmtree(probe, ignore_errors=True)


MOUNT = _mount_works()


@contextmanager
def tmpfs(folder: Path, size: int):
    folder.mkdir(parents=True, exist_ok=True)
    subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={size},mode=0755", "tmpfs", str(folder)], check=True)
    try:
        yield folder
    finally:
        subprocess.run(["umount", "-l", str(folder)], check=False)


def _resize(folder: Path, size: int) -> None:
    subprocess.run(["mount", "-o", f"remount,size={size}", str(folder)], check=True)


def _earlier_run(out: Path) -> dict[str, bytes]:
    """Files an earlier run left in the folder (a user's note, an old output, an old report)."""
    files = {"notes.txt": b"approved by the client on Monday\n",
             "ad.zh.mp4": (harness.EXAMPLES / "ad.mp4").read_bytes(), "report.json": b'{"verdict": "old"}'}
    for name, data in files.items():
        (out / name).write_bytes(data)
    return files


def _intact(out: Path, earlier: dict[str, bytes], baseline_out: Path) -> list[str]:
    """Files that are neither the earlier run's nor complete new ones."""
    bad = []
    for name, data in earlier.items():
        now = (out / name).read_bytes() if (out / name).is_file() else None
        if now == data:
            continue
        if name.endswith(".mp4") and now is not None and not harness.file_difference(out / name, baseline_out / name):
            continue  # replaced by the complete new output
        if name == "report.json" and now is not None:
            continue  # a finished run's new report replaces the old one
        bad.append(name)
    return bad


def _check_failure(run: harness.Run, out: Path) -> list[str]:
    problems = []
    if run.rc != 2:
        problems.append(f"exit status {run.rc}, not 2")
    if run.traceback:
        problems.append("traceback")
    errors = run.error_lines()
    if len(errors) != 1 or str(out) not in errors[0] or not FREE_WORDS.search(errors[0]):
        problems.append(f"no one-line error naming {out} and its free space: {errors or run.output[-500:]}")
    if not harness.cache_files(out):
        problems.append("the run stopped before writing anything (the disk did not fill mid-run)")
    return problems


def _case(baseline, folders, name: str, fill, **limits):
    """Run into a full disk (`fill` makes the folder small), then rerun with space; record and check."""
    case = folders(name)
    source = harness.example_case(case)
    out = case / "out"
    args = harness.localize_args(source, out)
    env = harness.child_env(DUBKIT_MIN_FREE_MB="0")
    with fill(out) as (squeeze, grow):
        earlier = _earlier_run(out)
        squeeze()
        free = shutil.disk_usage(out).free
        failed = harness.dubkit(args, cwd=case, env=env, **limits)
        failure = _check_failure(failed, out)
        kept = _intact(out, earlier, baseline.out)
        temps_after_failure = harness.leftovers(out)
        finished = harness.finished_work(out)
        grow()
        rerun = harness.dubkit(args, cwd=case)
        lost = harness.redone(finished, out)
        problems = harness.output_differences(out, baseline.out)
        temps = harness.leftovers(out)
    harness.record(
        "disk", f"{name} ({free / MiB:.2f} MiB free at start)",
        survived=not failure and not kept and rerun.rc == baseline.rc,
        identical=not problems and not temps and not temps_after_failure, lost=len(lost), failure=failure,
        not_intact=kept, error=failed.error_lines(), problems=problems, leftovers=temps + temps_after_failure,
    )
    assert not failure, (failure, failed.output[-2000:])
    assert not kept, f"earlier files damaged: {kept}"
    assert not temps_after_failure, temps_after_failure
    assert rerun.rc == baseline.rc and not rerun.traceback, rerun.output[-2000:]
    assert not problems and not temps, (problems, temps)
    assert not lost, lost


@pytest.mark.skipif(not MOUNT, reason="this machine does not let the test mount a tmpfs (not root, or a container)")
@pytest.mark.parametrize("free", TMPFS_RUN, ids=[f"tmpfs-{b // KiB}KiB" for b in TMPFS_RUN])
def test_a_full_filesystem_mid_run_fails_cleanly_and_a_rerun_with_space_completes(baseline, folders, free):
    @contextmanager
    def fill(out: Path):
        with tmpfs(out, 8 * MiB):
            # once the earlier files are in, `free` bytes are left; then room for the rerun
            yield (lambda: _resize(out, shutil.disk_usage(out).used + free), lambda: _resize(out, 400 * MiB))

    _case(baseline, folders, f"tmpfs-{free // KiB}KiB", fill)


@pytest.mark.parametrize("limit", FSIZE_RUN, ids=[f"fsize-{b // KiB}KiB" for b in FSIZE_RUN])
def test_a_file_size_limit_mid_run_fails_cleanly_and_a_rerun_without_it_completes(baseline, folders, limit):
    @contextmanager
    def fill(out: Path):
        out.mkdir(parents=True, exist_ok=True)
        yield (lambda: None), (lambda: None)  # the rerun simply runs without the limit

    _case(baseline, folders, f"fsize-{limit // KiB}KiB", fill, file_size=limit)
