"""The one Ray adapter: a pool of long-lived actors that each hold a worker object, fed one call at a time.

Only this module imports `ray` (an optional dependency: `pip install "dubkit[ray]"`). An actor is
created per worker slot (`num_cpus` CPUs, `num_gpus` GPUs each) and keeps what its worker loads
(engines, recognisers) for the whole campaign: a model is loaded once per actor, never per task.
An actor whose process dies is restarted by Ray and the call it was running is retried there
(`max_restarts`, `max_task_retries`); a retried call finds every finished stage result in the output
folder's cache, so nothing finished is computed twice.

`--ray auto` joins the cluster this machine belongs to (`ray start`, `RAY_ADDRESS`), else starts a
local one bound to 127.0.0.1; `--ray ADDRESS` joins that cluster. A Ray session this process has
already opened (`ray.init` by a caller) is used as it is and left open.
"""
from __future__ import annotations

import secrets
import threading
import time
from concurrent.futures import Future
from pathlib import Path
from typing import Any

from dubkit.errors import InputError, OutputError

INSTALL_HINT = ('--ray needs Ray, which is not installed: pip install "dubkit[ray]" '
                '(from a checkout: pip install -e ".[ray]")')
SHARED_CHECK = ".dubkit-shared-check"
RETRIES = 3  # restarts of a dead actor, and retries of the call it was running


def _ray():
    try:
        import ray
    except ImportError:
        raise InputError(INSTALL_HINT) from None
    return ray


def _connect(ray, address: str) -> bool:
    """Join or start a cluster; True when this call started (and so must stop) the session."""
    if ray.is_initialized():
        return False
    quiet = {"include_dashboard": False, "log_to_driver": False, "configure_logging": False}
    if address == "auto":
        try:
            ray.init(address="auto", **quiet)
        except ConnectionError:  # no cluster on this machine: a local one for this campaign
            ray.init(_node_ip_address="127.0.0.1", **quiet)
        return True
    try:
        ray.init(address=address, **quiet)
    except (ConnectionError, ValueError, RuntimeError) as err:
        raise InputError(f"--ray {address}: cannot join that Ray cluster ({err})") from None
    return True


class RayPool:
    """Actors of `worker_cls` (one per slot); `submit(method, *args)` calls `worker.call` on a free one."""

    name = "ray"

    def __init__(self, worker_cls: type, *, address: str = "auto", workers: int | None = None,
                 num_cpus: float = 1, num_gpus: float | str = 0):
        self.ray = ray = _ray()
        self.started = _connect(ray, address)
        resources = ray.cluster_resources()
        if num_gpus == "auto":  # one GPU per actor where the cluster has GPUs, else CPU actors
            num_gpus = 1 if resources.get("GPU", 0) >= 1 else 0
        if workers is None:
            workers = int(resources.get("GPU", 0) // num_gpus) if num_gpus else int(resources.get("CPU", 1) // num_cpus)
        self.workers = max(1, workers)
        actor = ray.remote(worker_cls).options(
            num_cpus=num_cpus, num_gpus=num_gpus, max_restarts=RETRIES, max_task_retries=RETRIES,
            runtime_env={"env_vars": {"OMP_NUM_THREADS": str(max(1, int(num_cpus)))}},
        )
        self.actors = [actor.remote() for _ in range(self.workers)]
        self.busy = [0] * self.workers  # calls in flight per actor
        self.lock = threading.Lock()  # Ray settles futures on its own thread

    def room(self) -> int:
        with self.lock:
            return self.workers - sum(self.busy)

    def submit(self, method: str, *args: Any) -> Future:
        with self.lock:
            slot = min(range(self.workers), key=lambda i: self.busy[i])
            self.busy[slot] += 1
        ref = self.actors[slot].call.remote(method, *args)
        future: Future = Future()

        def settle(done: Future) -> None:
            with self.lock:
                self.busy[slot] -= 1
            try:
                future.set_result(done.result())
            except self.ray.exceptions.RayTaskError as err:  # the worker's own exception, as raised there
                cause = getattr(err, "cause", None)
                future.set_exception(cause if isinstance(cause, BaseException) else err)
            except Exception as err:  # an actor lost for good, a cancelled call
                future.set_exception(err)

        ref.future().add_done_callback(settle)
        return future

    def share(self, value: Any) -> Any:
        """Store a value every call of a spot reuses once in the object store; calls get a reference."""
        return self.ray.put(value)

    def check_shared(self, folder: Path) -> None:
        """OutputError unless every actor reads the token this process writes in `folder`: a cluster
        needs the output folder on a filesystem that every node mounts at the same path."""
        token, path = secrets.token_hex(16), Path(folder).resolve() / SHARED_CHECK
        path.write_text(token, "utf-8")
        try:
            found = self.ray.get([a.call.remote("sees", str(path), token) for a in self.actors])
        finally:
            path.unlink(missing_ok=True)
        problems = [f for f in found if f]
        if problems:
            raise OutputError(f"the Ray workers do not see the output folder {folder} ({'; '.join(problems)}); "
                              "a cluster needs OUT on a filesystem every node mounts at the same path")

    def close(self, *, cancel: bool = False) -> None:
        """Stop: on `cancel` the calls in flight are dropped (their finished stages stay cached)."""
        if cancel:
            for actor in self.actors:
                self.ray.kill(actor, no_restart=True)
            time.sleep(0.1)
        if self.started:
            self.ray.shutdown()
