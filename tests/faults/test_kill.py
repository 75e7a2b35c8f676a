"""Kill anywhere: SIGKILL a real `dubkit localize` at points drawn over an uninterrupted run's duration,
rerun it to the end, and require what an uninterrupted run gives, with no finished work done twice.

The kill points are K = 20 fractions of the measured duration from a generator seeded with the commit
(`harness.commit_seed`): CI runs the first FAULTS_KILLS of them (default 3), so successive commits
cover different points; `python tests/faults/report.py` runs all 20. The whole process group is
killed (the run and the ffmpeg it started), as when a machine or container dies.
"""
from __future__ import annotations

import os

import numpy as np
import pytest

from tests.faults import harness

K = 20
SEED = harness.commit_seed()
FRACTIONS = [float(f) for f in np.random.default_rng(SEED).uniform(0.02, 1.0, K)]
POINTS = FRACTIONS if harness.run_all() else FRACTIONS[: int(os.environ.get("FAULTS_KILLS", "3"))]

pytestmark = pytest.mark.slow


@pytest.mark.parametrize("point", range(len(POINTS)), ids=[f"kill{i}-at{f:.2f}" for i, f in enumerate(POINTS)])
def test_a_run_killed_anywhere_resumes_to_the_same_outputs_without_redoing_finished_work(baseline, folders, point):
    fraction = POINTS[point]
    case = folders(f"kill{point}")
    source = harness.example_case(case)
    out = case / "out"
    args = harness.localize_args(source, out)

    killed = harness.run_and_kill(args, cwd=case, after=fraction * baseline.seconds)
    finished = harness.finished_work(out)
    entries_at_kill = harness.entry_counts(out)
    rerun = harness.dubkit(args, cwd=case)
    lost = harness.redone(finished, out)
    problems = harness.output_differences(out, baseline.out)
    temps = harness.leftovers(out)
    entries = harness.entry_counts(out)
    new = {stage: entries.get(stage, 0) - entries_at_kill.get(stage, 0) for stage in entries}
    harness.record(
        "kill", f"SIGKILL at {fraction:.3f} of the run ({killed.seconds:.1f} s, seed {SEED})",
        survived=rerun.rc == baseline.rc and not rerun.traceback, identical=not problems and not temps,
        lost=len(lost), lost_files=lost, problems=problems, leftovers=temps, killed_rc=killed.rc,
        entries_at_kill=entries_at_kill, engine_calls_after=new.get("render", 0),
        recogniser_calls_after=sum(new.get(s, 0) for s in ("source_script", "gate")),
    )
    assert rerun.rc == baseline.rc and not rerun.traceback, rerun.output[-3000:]
    assert not problems, problems
    assert not temps, temps
    assert not lost, f"finished work recomputed after the kill: {lost}"
    assert entries == baseline.entries  # every stage result once: no engine or recogniser call twice
