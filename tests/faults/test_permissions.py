"""Permissions, as an unprivileged user: every case runs `dubkit localize` as `nobody` (setpriv), so it
runs in CI too, where tests run as root (and root may read and write anything).

Each case starts from a folder holding an earlier run's outputs (a copy of the uninterrupted run),
takes one permission away, and requires exit status 2 with one line naming the path and what is
wrong, no traceback, and the earlier outputs byte for byte as they were. One case runs the whole job
as nobody in a folder it owns, to show the cases fail for the permission and nothing else.
"""
from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tests.faults import harness

USER = "nobody"


def _nobody_ids() -> tuple[int, int] | None:
    import grp
    import pwd

    try:
        return pwd.getpwnam(USER).pw_uid, grp.getgrnam("nogroup").gr_gid
    except KeyError:
        return None


def _why_not() -> str | None:
    """Why the cases cannot run here (None: they can)."""
    if os.geteuid() != 0:
        return "needs root to switch to nobody"
    if not shutil.which("setpriv") or _nobody_ids() is None:
        return "needs setpriv (util-linux) and the nobody/nogroup user"
    probe = subprocess.run(
        ["setpriv", f"--reuid={USER}", "--regid=nogroup", "--clear-groups", "--", sys.executable, "-c",
         "import cli, dubkit.pipeline"], cwd="/", env=harness.child_env(), capture_output=True, text=True,
        check=False)
    if probe.returncode != 0:
        return (f"nobody cannot run {sys.executable} with this checkout ({harness.REPO}): make the interpreter, "
                f"the virtual environment and the checkout world-readable ({probe.stderr.strip()[-300:]})")
    return None


WHY_NOT = _why_not()
# slow: every case starts from the uninterrupted run's folder (the session's baseline run)
pytestmark = [pytest.mark.slow, pytest.mark.skipif(WHY_NOT is not None, reason=WHY_NOT or "")]


def _chown_tree(folder: Path) -> None:
    uid, gid = _nobody_ids()
    for path in [folder, *folder.rglob("*")]:
        os.lchown(path, uid, gid)


@pytest.fixture
def earlier(baseline, folders):
    """A case folder owned by nobody: the example's inputs and an earlier run's whole output folder."""
    case = folders("perm")
    source = harness.example_case(case)
    shutil.copytree(baseline.out, case / "out")
    (case / "home" / "tmp").mkdir(parents=True)  # nobody's HOME (its dubkit home) and TMPDIR
    _chown_tree(case)
    return case, source, case / "out"


def _as_nobody(case: Path, *args: str, timeout: float = 300) -> harness.Run:
    return harness.dubkit(args, cwd=case, user=USER, env=harness.child_env(home=case / "home"), timeout=timeout)


def _refusal(run: harness.Run, *words: str) -> list[str]:
    problems = []
    if run.rc != 2:
        problems.append(f"exit status {run.rc}, not 2")
    if run.traceback:
        problems.append("traceback")
    errors = run.error_lines()
    if len(errors) != 1 or not all(w in errors[0] for w in words):
        problems.append(f"no one-line error with {words}: {errors or run.output[-600:]}")
    return problems


def _root_only(path: Path, mode: int) -> None:
    os.lchown(path, 0, 0)
    path.chmod(mode)


def _own_file(case: Path, name: str, data: bytes) -> Path:
    """A file of the case that only root may read."""
    (case / name).write_bytes(data)
    _root_only(case / name, 0o600)
    return case / name


def _home_not_writable(case: Path, out: Path) -> None:
    _root_only(case / "home", 0o755)  # where the packaged Whisper model is unpacked on first use


def _no_cache_writes(case: Path, out: Path) -> None:
    shutil.rmtree(out / harness.CACHE)
    (out / harness.CACHE).mkdir()
    _root_only(out / harness.CACHE, 0o755)


def _unlistable_scripts(case: Path, out: Path) -> None:
    (case / "scripts").mkdir()
    _root_only(case / "scripts", 0o700)


CASES = {
    # name: (what is taken away, extra arguments, words the one-line error must hold)
    "output folder not writable": (lambda case, out: _root_only(out, 0o755), (), ("out", "not writable")),
    "source not readable": (lambda case, out: _root_only(case / "ad.mp4", 0o600), (), ("ad.mp4", "ermission")),
    "source script not readable": (
        lambda case, out: _own_file(case, "ad.en.srt", (harness.EXAMPLES / "ad.en.srt").read_bytes()),
        ("--source-script", "ad.en.srt"), ("ad.en.srt", "ermission")),
    "translated script not readable": (lambda case, out: _root_only(case / "ad.ja.srt", 0o600), (),
                                       ("ad.ja.srt", "ermission")),
    "scripts folder not listable": (_unlistable_scripts, ("--scripts", "scripts"), ("scripts", "ermission")),
    "glossary not readable": (lambda case, out: _own_file(case, "glossary.toml", b'keep = ["Sunrise"]\n'),
                              ("--glossary", "glossary.toml"), ("glossary.toml", "ermission")),
    "music track not readable": (
        lambda case, out: _own_file(case, "me.m4a", (harness.EXAMPLES / "ad.me.m4a").read_bytes()),
        ("--me-track", "me.m4a"), ("me.m4a", "ermission")),
    "run lock owned by another user": (lambda case, out: _root_only(out / ".dubkit.lock", 0o644), (),
                                       (".dubkit.lock", "ermission")),
    "cache folder not writable": (_no_cache_writes, (), (harness.CACHE, "ermission")),
    "dubkit home not writable": (_home_not_writable, (), ("home", "ermission")),
}


@pytest.mark.parametrize("name", list(CASES))
def test_a_missing_permission_is_refused_in_one_line_and_earlier_outputs_stay(earlier, name):
    case, source, out = earlier
    take_away, extra, words = CASES[name]
    take_away(case, out)
    before = harness.tree(out, skip=[out / harness.CACHE])
    run = _as_nobody(case, *harness.localize_args(source, out, *extra))
    problems = _refusal(run, *words)
    after = harness.tree(out, skip=[out / harness.CACHE])
    harness.record("permission", name, survived=not problems, identical=before == after, lost=0,
                   problems=problems, error=run.error_lines())
    assert not problems, (problems, run.output[-2000:])
    assert before == after


def test_nobody_can_run_the_whole_job_in_a_folder_it_owns(baseline, earlier):
    case, source, out = earlier
    run = _as_nobody(case, *harness.localize_args(source, out), timeout=harness.RUN_TIMEOUT)
    problems = harness.output_differences(out, baseline.out)
    harness.record("permission", "whole job as nobody", survived=run.rc == baseline.rc and not run.traceback,
                   identical=not problems, lost=0, problems=problems)
    assert run.rc == baseline.rc and not run.traceback, run.output[-2000:]
    assert not problems, problems
