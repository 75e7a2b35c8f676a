"""The stage cache, atomic writes and the run lock of an output folder.

Every stage result lives under `OUT/.dubkit-cache/<stage>/<key>.*`, where the key is a hash of
everything that changes the result: input file contents (sha256), options and model identity. A
changed option therefore invalidates exactly the entries that depend on it, and a killed run finds
every finished entry on restart. Entries are written to a temp file and renamed, so a kill leaves
either a whole entry or none.

Only JSON and `.npz` (loaded with `allow_pickle=False`) are stored: nothing executable.
"""
from __future__ import annotations

import hashlib
import io
import json
import os
import shutil
import tempfile
import zipfile
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Iterator

import numpy as np
from filelock import FileLock, Timeout

from dubkit.errors import OutputError

CACHE_DIR = ".dubkit-cache"
LOCK_NAME = ".dubkit.lock"
# Below this much free space a run refuses to start: a full disk mid-run would waste the work done.
MIN_FREE_BYTES = 200 * 1024 * 1024

_digest_memo: dict[tuple[str, int, int], str] = {}


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def file_digest(path: Path) -> str:
    """sha256 hex of a file's content, memoised per (path, size, mtime) within the process."""
    path = Path(path)
    st = path.stat()
    memo_key = (str(path.resolve()), st.st_size, st.st_mtime_ns)
    if memo_key not in _digest_memo:
        h = hashlib.sha256()
        with open(path, "rb") as f:
            for block in iter(lambda: f.read(1 << 20), b""):
                h.update(block)
        _digest_memo[memo_key] = h.hexdigest()
    return _digest_memo[memo_key]


def _canonical(value: Any) -> Any:
    """JSON-ready form with a stable layout (paths as strings, tuples as lists, sorted dicts)."""
    if isinstance(value, dict):
        return {str(k): _canonical(v) for k, v in sorted(value.items(), key=lambda kv: str(kv[0]))}
    if isinstance(value, (list, tuple)):
        return [_canonical(v) for v in value]
    if isinstance(value, Path):
        return str(value)
    if isinstance(value, float):
        return round(value, 9)  # 1e-9 s is far below a sample; avoids repr noise in keys
    if hasattr(value, "__dataclass_fields__"):
        return _canonical({f: getattr(value, f) for f in value.__dataclass_fields__})
    return value


def cache_key(stage: str, **parts: Any) -> str:
    """A hex key for a stage result: sha256 of the canonical JSON of the stage name and its parts."""
    blob = json.dumps({"stage": stage, **_canonical(parts)}, sort_keys=True, ensure_ascii=False)
    return hashlib.sha256(blob.encode("utf-8")).hexdigest()[:32]


def atomic_write_bytes(path: Path, data: bytes) -> None:
    """Write `data` to `path` so that readers see the old file or the whole new one, never a part."""
    path = Path(path)
    try:
        fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    except OSError as err:
        raise OutputError(f"cannot write in {path.parent}: {err.strerror}") from err
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        os.chmod(tmp, 0o666 & ~_umask())  # mkstemp makes 0600; outputs get the user's usual mode
        os.replace(tmp, path)
    except OSError as err:
        Path(tmp).unlink(missing_ok=True)
        raise OutputError(f"cannot write {path}: {err.strerror}") from err
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def atomic_write_text(path: Path, text: str) -> None:
    """Atomically write UTF-8 text."""
    atomic_write_bytes(path, text.encode("utf-8"))


@contextmanager
def atomic_output(path: Path) -> Iterator[Path]:
    """Yield a temp path in the same folder (same suffix); on success it replaces `path`.

    For tools that write a file themselves (ffmpeg): a failure or a kill leaves `path` untouched.
    """
    path = Path(path)
    tmp = path.with_name(f".{path.stem}.partial{os.getpid()}{path.suffix}")
    try:
        yield tmp
        os.replace(tmp, path)
    except OSError as err:
        raise OutputError(f"cannot write {path}: {err.strerror}") from err
    finally:
        tmp.unlink(missing_ok=True)


def check_output_dir(out: Path, *, need_bytes: int = MIN_FREE_BYTES) -> None:
    """Make sure `out` exists, is writable and has `need_bytes` free; OutputError naming it if not."""
    out = Path(out)
    if out.exists() and not out.is_dir():  # else mkdir's bare "File exists" would be the message
        raise OutputError(f"output path {out} exists and is not a folder")
    try:
        out.mkdir(parents=True, exist_ok=True)
    except OSError as err:
        raise OutputError(f"cannot create output folder {out}: {err.strerror}") from err
    try:
        probe_fd, probe_path = tempfile.mkstemp(prefix=".dubkit-write-test.", dir=out)
        os.close(probe_fd)
        os.unlink(probe_path)
    except OSError as err:
        raise OutputError(f"output folder {out} is not writable: {err.strerror}") from err
    free = shutil.disk_usage(out).free
    if free < need_bytes:
        raise OutputError(
            f"output folder {out} has {free / 1e6:.0f} MB free; this run needs at least "
            f"{need_bytes / 1e6:.0f} MB (free some space or choose another -o)"
        )


# Leftovers of a run killed mid-write: our temp files, ffmpeg partials, the assembly's scratch folders.
_STALE_PATTERNS = (".*.tmp", ".*.partial*", ".assemble-*", ".dubkit-write-test.*")


def remove_stale_temps(out: Path) -> int:
    """Delete what a killed run left half-written in `out` and its cache; call only under RunLock
    (no other run can be writing then). Finished outputs and entries are never touched."""
    out = Path(out)
    folders = [out, *(p for p in (out / CACHE_DIR).glob("*") if p.is_dir())]
    removed = 0
    for folder in folders:
        for pattern in _STALE_PATTERNS:
            for path in folder.glob(pattern):
                if path.is_dir():
                    shutil.rmtree(path, ignore_errors=True)
                else:
                    path.unlink(missing_ok=True)
                removed += 1
    return removed


class RunLock:
    """Exclusive hold on an output folder for one run; a second concurrent run gets OutputError."""

    def __init__(self, out: Path):
        self.path = Path(out) / LOCK_NAME
        self._lock = FileLock(str(self.path), timeout=0)

    def __enter__(self) -> "RunLock":
        try:
            self._lock.acquire()
        except Timeout as err:
            raise OutputError(
                f"another dubkit run is using the output folder {self.path.parent} "
                f"(lock {self.path}); wait for it to finish or choose another -o"
            ) from err
        except OSError as err:
            raise OutputError(f"cannot lock output folder {self.path.parent}: {err.strerror}") from err
        return self

    def __exit__(self, *exc: object) -> None:
        self._lock.release()


class StageCache:
    """Stage results under OUT/.dubkit-cache/<stage>/<key>.{json,npz}; `enabled=False` reads nothing
    that an earlier run left (used for --force: everything is recomputed and written afresh), but
    does read back what this instance wrote: later stages load the renders chosen by earlier ones."""

    def __init__(self, out: Path, *, enabled: bool = True):
        self.root = Path(out) / CACHE_DIR
        self.enabled = enabled
        self._written: set[Path] = set()

    def _path(self, stage: str, key: str, suffix: str) -> Path:
        return self.root / stage / f"{key}{suffix}"

    def _readable(self, path: Path) -> bool:
        return (self.enabled or path in self._written) and path.is_file()

    def _write(self, path: Path, data: bytes) -> None:
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
        except OSError as err:
            raise OutputError(f"cannot create cache folder {path.parent}: {err.strerror}") from err
        atomic_write_bytes(path, data)
        self._written.add(path)

    def exists(self, stage: str, key: str, suffix: str) -> bool:
        """Whether the entry's `suffix` file (".json", ".npz", ".mp4") is present (and the cache enabled)."""
        return self._readable(self._path(stage, key, suffix))

    def get_json(self, stage: str, key: str) -> dict | None:
        """The cached JSON value, or None when absent, disabled or unreadable (then it is recomputed)."""
        path = self._path(stage, key, ".json")
        if not self._readable(path):
            return None
        try:
            return json.loads(path.read_text("utf-8"))
        except (OSError, ValueError):
            return None

    def put_json(self, stage: str, key: str, value: dict) -> None:
        """Store a JSON value atomically."""
        text = json.dumps(_canonical(value), ensure_ascii=False, indent=1)
        self._write(self._path(stage, key, ".json"), text.encode("utf-8"))

    def get_arrays(self, stage: str, key: str) -> dict[str, np.ndarray] | None:
        """The cached arrays, or None when absent, disabled or unreadable."""
        path = self._path(stage, key, ".npz")
        if not self._readable(path):
            return None
        try:
            with np.load(path, allow_pickle=False) as npz:
                return {name: npz[name] for name in npz.files}
        except (OSError, ValueError, EOFError, zipfile.BadZipFile):
            return None

    def put_arrays(self, stage: str, key: str, arrays: dict[str, np.ndarray]) -> None:
        """Store arrays atomically as one compressed .npz."""
        buf = io.BytesIO()
        np.savez_compressed(buf, **arrays)
        self._write(self._path(stage, key, ".npz"), buf.getvalue())

    def put_video(self, stage: str, key: str, frames: np.ndarray, fps: float) -> None:
        """Store uint8 (n, H, W, 3) frames as a near-lossless H.264 clip (the dubkit.ffmpeg adapter).

        Generated windows at 1080p are ~1.2 GB of raw pixels each; a clip is a few MB, and the
        picture is re-encoded at assembly anyway.
        """
        from dubkit.ffmpeg import encode_frames

        path = self._path(stage, key, ".mp4")
        path.parent.mkdir(parents=True, exist_ok=True)
        with atomic_output(path) as tmp:
            encode_frames(np.ascontiguousarray(frames, dtype=np.uint8), fps, tmp)
        self._written.add(path)

    def get_video(self, stage: str, key: str, n_frames: int, fps: float) -> np.ndarray | None:
        """The `n_frames` frames of a stored clip, or None when absent, disabled or unreadable."""
        from dubkit.errors import MediaError
        from dubkit.media import read_frames

        path = self._path(stage, key, ".mp4")
        if not self._readable(path):
            return None
        try:
            return np.stack(read_frames(path, [(i + 0.5) / fps for i in range(n_frames)]))
        except (MediaError, ValueError):
            return None

    def count(self, stage: str) -> int:
        """Number of finished entries a stage holds (an entry is finished once its JSON exists)."""
        folder = self.root / stage
        if not folder.is_dir():
            return 0
        return len({p.stem for p in folder.iterdir() if p.suffix == ".json" and not p.name.startswith(".")})
