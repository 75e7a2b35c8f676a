"""The campaign's driver: every spot through the single-source recipe, its units of work on a backend.

    1. check    every spot's options (manifest.py), before anything is written
    2. lock     OUT and each spot's folder; the backend must see OUT (a Ray cluster: a shared filesystem)
    3. prepare  one call per spot: steps 1-5                     (Worker.prepare)
    4. windows  one call per (spot, language, window): step 6    (Worker.window)
    5. deliver  one call per (spot, language): step 7            (Worker.deliver)
    6. report   each spot's report.json/html (step 8, here), then OUT/campaign.json + campaign.html

Calls are started as a backend has room and as the calls they depend on finish, so all spots share
the workers. One spot's failure (an unreadable video found at its probe, a worker lost for good) fails
that spot with the reason; the rest of the campaign finishes. Ctrl-C stops the backend's calls; every
finished stage result is in the cache, so the same command resumes.
"""
from __future__ import annotations

import time
from collections import deque
from collections.abc import Callable
from concurrent.futures import FIRST_COMPLETED, Future, wait
from contextlib import ExitStack
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from dubkit.campaign.backends import Backend
from dubkit.campaign.manifest import Spot
from dubkit.errors import DubkitError
from dubkit.pipeline import LocalizeResult, Prepared, finish, open_job
from dubkit.stages.deliver import LanguageSummary
from dubkit.stages.render import WindowOutcome
from dubkit.store.files import RunLock, check_output_dir
from eval.errors import EvalError
from langs import LanguageError
from model.errors import ModelError

_SPOT_ERRORS = (DubkitError, EvalError, LanguageError, ModelError)


@dataclass(frozen=True)
class Tick:
    """Progress: a window or a (spot, language) finished, or a spot failed."""

    kind: str  # "window" | "language" | "failed"
    spot: str
    language: str | None
    done: int  # windows finished in the whole campaign
    total: int  # windows known so far (a spot's are known once it is prepared)
    per_language: dict[str, tuple[int, int]]  # language -> (windows done, windows in all)
    summary: LanguageSummary | None = None
    reason: str | None = None


@dataclass(frozen=True)
class Call:
    """One unit of work as the driver saw it (for the benchmark: the backend's overhead per call)."""

    method: str
    spot: str
    language: str | None
    window: int | None
    seconds: float  # inside the worker
    wall: float  # from submit to the driver seeing the result
    worker: str


@dataclass
class SpotRun:
    """One spot's state in the campaign, and in the end its result."""

    spot: Spot
    prepared: Prepared | None = None
    shared: Any = None  # the prepared job as the backend passes it (a Ray object reference)
    steps: dict[str, float] = field(default_factory=dict)
    pending: dict[str, set[int]] = field(default_factory=dict)  # language -> windows still rendering
    outcomes: dict[str, list[WindowOutcome]] = field(default_factory=dict)
    summaries: dict[str, LanguageSummary] = field(default_factory=dict)
    result: LocalizeResult | None = None
    error: str | None = None
    started: float = field(default_factory=time.perf_counter)

    @property
    def name(self) -> str:
        return self.spot.name

    @property
    def languages(self) -> tuple[str, ...]:
        return tuple(lang.code for lang in self.spot.options.languages)


@dataclass(frozen=True)
class CampaignRun:
    """Every spot's run and every call."""

    spots: tuple[SpotRun, ...]
    calls: tuple[Call, ...]
    seconds: float

    @property
    def passed(self) -> bool:
        return all(s.result is not None and s.result.passed for s in self.spots)


def run_spots(spots: list[Spot], backend: Backend, out: Path,
              progress: Callable[[Tick], None] | None = None) -> CampaignRun:
    """Steps 2-6 (the report of each spot; the campaign report is the caller's)."""
    folders = [Path(out)] + [s.options.out_dir for s in spots if s.options.out_dir != Path(out)]
    for folder in folders:
        check_output_dir(folder)
    with ExitStack() as stack:
        for folder in folders:
            stack.enter_context(RunLock(folder))
        for spot in spots:
            open_job(spot.options, owner=True)  # the owner's checks: cache folder, half-written leftovers
        backend.check_shared(Path(out))
        driver = _Driver([SpotRun(s) for s in spots], backend, progress or (lambda tick: None))
        try:
            return driver.run()
        except BaseException:
            backend.close(cancel=True)
            raise


class _Driver:
    def __init__(self, runs: list[SpotRun], backend: Backend, progress: Callable[[Tick], None]):
        self.runs, self.backend, self.progress = runs, backend, progress
        self.queue: deque[tuple[str, tuple, tuple]] = deque()
        self.in_flight: dict[Future, tuple[tuple, float]] = {}
        self.finished_at: dict[Future, float] = {}
        self.calls: list[Call] = []

    def run(self) -> CampaignRun:
        t0 = time.perf_counter()
        for i, run in enumerate(self.runs):
            self.queue.append(("prepare", (run.spot.options,), (i, None, None)))
        while self.queue or self.in_flight:
            while self.queue and self.backend.room() > 0:
                method, args, tag = self.queue.popleft()
                if self.runs[tag[0]].error is None:  # a failed spot's remaining work is dropped
                    self._start(method, args, tag)
            if not self.in_flight:
                continue
            done, _ = wait(list(self.in_flight), return_when=FIRST_COMPLETED)
            for future in done:
                self._settle(future)
        self.backend.close()
        return CampaignRun(tuple(self.runs), tuple(self.calls), time.perf_counter() - t0)

    def _start(self, method: str, args: tuple, tag: tuple) -> None:
        submitted = time.perf_counter()
        future = self.backend.submit(method, *args)
        future.add_done_callback(lambda f: self.finished_at.setdefault(f, time.perf_counter()))
        self.in_flight[future] = (tag, submitted)

    def _settle(self, future: Future) -> None:
        (i, language, window), submitted = self.in_flight.pop(future)
        run = self.runs[i]
        try:
            done = future.result()
        except _SPOT_ERRORS as err:
            return self._fail(run, str(err))
        except Exception as err:  # a worker lost for good, or a fault in one spot: the others go on
            return self._fail(run, f"{type(err).__name__}: {err}")
        method = "prepare" if language is None else ("window" if window is not None else "deliver")
        wall = self.finished_at.pop(future, time.perf_counter()) - submitted
        self.calls.append(Call(method, run.name, language, window, done.seconds, wall, done.worker))
        if run.error is None:
            getattr(self, f"_{method}_done")(run, i, language, done)

    def _prepare_done(self, run: SpotRun, i: int, language: None, done) -> None:
        run.prepared, run.steps = done.value, dict(done.steps)
        run.shared = self.backend.share(done.value)
        for code in run.languages:
            ls = run.prepared.scripts[code]
            windows = [w.index for w, lines in zip(run.prepared.plan.windows, ls.per_window, strict=False) if lines]
            run.pending[code], run.outcomes[code] = set(windows), []
            for index in windows:
                self.queue.append(("window", (run.shared, code, index), (i, code, index)))
            if not windows:
                self.queue.append(("deliver", (run.shared, code, []), (i, code, None)))

    def _window_done(self, run: SpotRun, i: int, language: str, done) -> None:
        outcome: WindowOutcome = done.value
        run.pending[language].discard(outcome.window_index)
        run.outcomes[language].append(outcome)
        self._tick("window", run, language)
        if not run.pending[language]:
            self.queue.append(("deliver", (run.shared, language, run.outcomes[language]), (i, language, None)))

    def _deliver_done(self, run: SpotRun, i: int, language: str, done) -> None:
        run.summaries[language] = done.value
        self._tick("language", run, language, summary=done.value)
        if len(run.summaries) == len(run.languages):
            self._report(run)

    def _report(self, run: SpotRun) -> None:
        """Step 8 for a finished spot, here in the driver: its calls' seconds are its step times."""
        job = open_job(run.spot.options, owner=False)
        job.steps.start = run.started
        mine = [c for c in self.calls if c.spot == run.name]
        job.steps.seconds.update(run.steps)
        job.steps.seconds["render_gate"] = sum(c.seconds for c in mine if c.method == "window")
        job.steps.seconds["assemble"] = sum(c.seconds for c in mine if c.method == "deliver")
        run.result = finish(job, run.prepared, [run.summaries[code] for code in run.languages])

    def _fail(self, run: SpotRun, reason: str) -> None:
        if run.error is None:
            run.error = reason
            self._tick("failed", run, None, reason=reason)

    def _tick(self, kind: str, run: SpotRun, language: str | None, **extra) -> None:
        per_language: dict[str, list[int]] = {}
        for r in self.runs:
            for code, outcomes in r.outcomes.items():
                count = per_language.setdefault(code, [0, 0])
                count[0] += len(outcomes)
                count[1] += len(outcomes) + len(r.pending.get(code, ()))
        done, total = sum(c[0] for c in per_language.values()), sum(c[1] for c in per_language.values())
        self.progress(Tick(kind, run.name, language, done, total,
                           {k: (v[0], v[1]) for k, v in per_language.items()}, **extra))
