"""The campaign's worker: what one process (in-process, a pool process, or a Ray actor) holds and does.

A worker keeps its engines and its recogniser for its whole life, so a model is loaded once per
worker, never per task. Its three calls are the campaign's units of work, each through the
single-source recipe's seams (dubkit.pipeline) with the cache keys a plain `dubkit localize` uses:

    prepare(options)                      steps 1-5 of one spot
    window(prepared, language, index)     step 6 for one (spot, language, window): render + gate
    deliver(prepared, language, outcomes) step 7 for one (spot, language): assembly + judgement

Each call returns a `Done`: the value, the seconds the call took inside the worker and who ran it
(so the campaign can tell the backend's own overhead from the work). Every engine call is also
journalled in the spot's cache (`journal/engine.jsonl`: one line when a render starts, one when it
is stored), which is how a campaign shows that no finished window was rendered twice.
"""
from __future__ import annotations

import json
import os
import socket
import time
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from dubkit.engines.base import Engine, WindowRequest
from dubkit.options import LocalizeOptions
from dubkit.pipeline import Prepared, choose_engine, deliver, language_work, open_job, prepare
from dubkit.stages.render import WindowOutcome, run_window
from dubkit.stages.review import find_review
from dubkit.store.cache import CACHE_DIR
from eval.asr import LazyRecognizer

JOURNAL = Path(CACHE_DIR) / "journal" / "engine.jsonl"


@dataclass(frozen=True)
class Done:
    """A finished call: its value, its seconds inside the worker, and the worker (host:pid)."""

    value: Any
    seconds: float
    worker: str
    steps: dict[str, float] = field(default_factory=dict)  # prepare: wall time per recipe step


class JournaledEngine:
    """Delegates to `inner` (same identity, so the same cache keys); appends a line to `journal`
    before and after each render. A line is one small O_APPEND write: whole, even with several
    writers, and kept when the process is killed right after."""

    def __init__(self, inner: Engine, journal: Path):
        self.inner, self.journal = inner, Path(journal)
        self.name, self.is_preview, self.uses_seed = inner.name, inner.is_preview, inner.uses_seed
        self.uses_reference = inner.uses_reference

    def identity(self) -> dict:
        return self.inner.identity()

    def _note(self, event: str, request: WindowRequest) -> None:
        line = json.dumps({"event": event, "window": request.index, "language": request.language.code,
                           "seed": request.seed, "pid": os.getpid(), "time": time.time()})
        self.journal.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(self.journal, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
        try:
            os.write(fd, (line + "\n").encode())
        finally:
            os.close(fd)

    def render(self, request: WindowRequest):
        self._note("start", request)
        render = self.inner.render(request)
        self._note("done", request)
        return render


def read_journal(out: Path) -> list[dict]:
    """The engine calls journalled in a spot's output folder (none when it never rendered); a line
    being written now (no newline yet) is left for the next read."""
    path = Path(out) / JOURNAL
    if not path.is_file():
        return []
    whole = path.read_text("utf-8").rpartition("\n")[0]
    return [json.loads(line) for line in whole.splitlines() if line.strip()]


class Worker:
    """Engines (one per engine setting) and one recogniser, loaded on first use and kept."""

    def __init__(self, engine: Engine | None = None):
        self._given = engine  # an engine object given by the caller (the Python API, tests)
        self._engines: dict[tuple, Engine] = {}
        self._recognizers: dict[str | None, LazyRecognizer] = {}
        self._jobs: dict[tuple, Any] = {}  # one job context (so one cache object) per spot and process
        self.name = f"{socket.gethostname()}:{os.getpid()}"

    def _engine(self, options: LocalizeOptions) -> Engine:
        key = (options.engine, str(options.weights), options.resolution, options.mode)
        if key not in self._engines:
            self._engines[key] = choose_engine(options, self._given).engine
        return self._engines[key]

    def _job(self, options: LocalizeOptions):
        """The spot's job context, kept: with --force (one process) its cache reads back only what this
        process wrote, so the assembly must see the renders through the same cache object."""
        key = (str(options.out_dir), options.force, options.asr_model)
        if key not in self._jobs:
            if options.asr_model not in self._recognizers:
                self._recognizers[options.asr_model] = LazyRecognizer(options.asr_model)
            self._jobs[key] = replace(open_job(options, owner=False), asr=self._recognizers[options.asr_model])
        return self._jobs[key]

    def _timed(self, call, *args) -> Done:
        t0 = time.perf_counter()
        value = call(*args)
        return Done(value, time.perf_counter() - t0, self.name)

    def prepare(self, options: LocalizeOptions) -> Done:
        """Steps 1-5 of one spot; the result travels without the engine instance."""
        job = self._job(options)
        job.steps.seconds.clear()
        review = find_review(options.out_dir, options.review)
        done = self._timed(lambda: prepare(job, self._engine(options), review).portable())
        return replace(done, steps=dict(job.steps.seconds))

    def window(self, prepared: Prepared, language: str, index: int) -> Done:
        """Render and gate one window of one language (retrying as the recipe does)."""
        return self._timed(self._window, prepared, language, index)

    def _window(self, prepared: Prepared, language: str, index: int) -> WindowOutcome:
        options = prepared.options
        engine = JournaledEngine(self._engine(options), options.out_dir / JOURNAL)
        work = language_work(self._job(options), prepared, language, engine)
        request = next(r for r in work.requests if r.index == index)
        return run_window(work.settings, request, work.gate)

    def deliver(self, prepared: Prepared, language: str, outcomes: Sequence[WindowOutcome]) -> Done:
        """Assemble one language of one spot and judge it."""
        return self._timed(self._deliver, prepared, language, outcomes)

    def _deliver(self, prepared: Prepared, language: str, outcomes: Sequence[WindowOutcome]):
        job = self._job(prepared.options)
        work = language_work(job, prepared, language, self._engine(prepared.options))
        return deliver(job, prepared, work, sorted(outcomes, key=lambda o: o.window_index))

    def sees(self, path: str, token: str) -> str | None:
        """None when this worker reads `token` in the file `path`, else what it found instead (the
        shared-output-folder check: every node must see the same OUT)."""
        try:
            found = Path(path).read_text("utf-8")
        except OSError as err:
            return f"{self.name} cannot read {path}: {err.strerror}"
        return None if found == token else f"{self.name} reads another {path} (not this campaign's)"

    def call(self, method: str, *args) -> Done | str | None:
        """One entry point for every backend: `method` by name."""
        if method not in ("prepare", "window", "deliver", "sees"):
            raise ValueError(f"a worker has no call {method!r}")
        return getattr(self, method)(*args)
