"""The uninterrupted run every fault is compared with, measured once per session."""
from __future__ import annotations

import os
import shutil
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.faults import harness


@dataclass(frozen=True)
class Baseline:
    """The example localized without interference: its folder, exit status, wall time, entries."""

    source: Path
    out: Path
    rc: int
    seconds: float
    entries: dict[str, int]


def _cleanup(folder: Path) -> None:
    if not os.environ.get("FAULTS_KEEP"):
        shutil.rmtree(folder, ignore_errors=True)


@pytest.fixture(scope="session")
def folders():
    """world_folder() for the tests; every folder is removed at the end (FAULTS_KEEP=1 keeps them)."""
    made: list[Path] = []

    def make(prefix: str) -> Path:
        made.append(harness.world_folder(prefix))
        return made[-1]

    yield make
    for folder in made:
        _cleanup(folder)


@pytest.fixture(scope="session")
def baseline(folders) -> Baseline:
    case = folders("baseline")
    source = harness.example_case(case)
    out = case / "out"
    run = harness.dubkit(harness.localize_args(source, out), cwd=case)
    assert run.rc in (0, 1) and not run.traceback, run.output[-3000:]
    assert not harness.leftovers(out), harness.leftovers(out)
    harness.record("baseline", "uninterrupted run", seconds=round(run.seconds, 1), rc=run.rc,
                   entries=harness.entry_counts(out))
    return Baseline(source=source, out=out, rc=run.rc, seconds=run.seconds, entries=harness.entry_counts(out))
