"""Where a campaign's units of work run: one interface, three backends.

    local   --jobs 1   in this process, one call at a time
    pool    --jobs N   N worker processes (a process pool), each with its own engine and Whisper
    ray     --ray ...  Ray actors on a cluster (dubkit.adapters.ray_cluster)

A backend takes `submit(method, *args)` (a Worker call by name) and returns a
concurrent.futures.Future of its `Done`; `room()` says how many more calls it can start now, so the
campaign keeps every worker busy without queueing work on one that another could take. `share(x)`
returns what to pass for a value every call of a spot reuses (Ray stores it once).
"""
from __future__ import annotations

import multiprocessing
import os
from concurrent.futures import Future, ProcessPoolExecutor
from pathlib import Path
from typing import Any, Protocol

from dubkit.campaign.worker import Worker
from dubkit.engines.base import Engine
from dubkit.errors import InputError


class Backend(Protocol):
    name: str
    workers: int

    def room(self) -> int: ...

    def submit(self, method: str, *args: Any) -> Future: ...

    def share(self, value: Any) -> Any: ...

    def check_shared(self, folder: Path) -> None: ...

    def close(self, *, cancel: bool = False) -> None: ...


class LocalBackend:
    """In this process, one call at a time (the call runs inside submit)."""

    name, workers = "local", 1

    def __init__(self, engine: Engine | None = None):
        self.worker = Worker(engine)

    def room(self) -> int:
        return 1

    def submit(self, method: str, *args: Any) -> Future:
        future: Future = Future()
        try:
            future.set_result(self.worker.call(method, *args))
        except Exception as err:  # the campaign decides what a failed call means
            future.set_exception(err)
        return future

    def share(self, value: Any) -> Any:
        return value

    def check_shared(self, folder: Path) -> None:
        return None  # one process sees what it wrote

    def close(self, *, cancel: bool = False) -> None:
        return None


_POOL_WORKER: Worker | None = None


def _pool_start() -> None:
    global _POOL_WORKER
    os.environ.setdefault("OMP_NUM_THREADS", "1")  # N processes share the cores; one thread each
    _POOL_WORKER = Worker()


def _pool_call(method: str, *args: Any) -> Any:
    assert _POOL_WORKER is not None, "pool worker not started"
    return _POOL_WORKER.call(method, *args)


class PoolBackend:
    """N worker processes (spawned, so no parent state is inherited), each with its own Worker."""

    name = "pool"

    def __init__(self, jobs: int):
        self.workers = jobs
        self.pool = ProcessPoolExecutor(jobs, mp_context=multiprocessing.get_context("spawn"),
                                        initializer=_pool_start)
        self.in_flight: set[Future] = set()

    def room(self) -> int:
        self.in_flight = {f for f in self.in_flight if not f.done()}
        return self.workers - len(self.in_flight)

    def submit(self, method: str, *args: Any) -> Future:
        future = self.pool.submit(_pool_call, method, *args)
        self.in_flight.add(future)
        return future

    def share(self, value: Any) -> Any:
        return value

    def check_shared(self, folder: Path) -> None:
        return None  # one machine

    def close(self, *, cancel: bool = False) -> None:
        self.pool.shutdown(wait=not cancel, cancel_futures=cancel)


def make_backend(jobs: int = 1, ray: str | None = None, *, engine: Engine | None = None,
                 ray_workers: int | None = None, gpu: bool = False) -> Backend:
    """The backend for `--jobs N` / `--ray auto|ADDRESS` (InputError for a bad combination). `gpu`: the
    spots may use a generating engine, so on a cluster with GPUs each Ray actor takes one."""
    if jobs < 1:
        raise InputError(f"--jobs must be at least 1, got {jobs}")
    if ray is not None:
        if jobs != 1:
            raise InputError("--jobs and --ray do not go together: Ray places the work itself")
        from dubkit.adapters.ray_cluster import RayPool

        return RayPool(Worker, address=ray, workers=ray_workers, num_gpus="auto" if gpu else 0)
    if engine is not None and jobs > 1:
        raise InputError("an engine object given by the caller runs with jobs=1 only")
    return LocalBackend(engine) if jobs == 1 else PoolBackend(jobs)
