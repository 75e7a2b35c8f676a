"""Files on disk: content hashes, atomic writes, the output folder's checks and its run lock.

Every output and cache entry is written through here, so a kill or a full disk leaves either the
old file or the whole new one, never a part. A write the disk refuses (full, over quota, over the
process's file-size limit) is an OutputError naming the folder and its free space (`write_failed`).
"""
from __future__ import annotations

import errno
import hashlib
import os
import shutil
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from filelock import FileLock, Timeout

from dubkit.errors import InputError, OutputError, limit

LOCK_NAME = ".dubkit.lock"
# Below this much free space a run refuses to start: a full disk mid-run would waste the work done.
# DUBKIT_MIN_FREE_MB lowers or raises it (docs/limits.md).
MIN_FREE_BYTES = 200 * 1024 * 1024
_NO_ROOM = {errno.ENOSPC: "the disk is full", errno.EDQUOT: "the disk quota is used up",
            errno.EFBIG: "the file size limit (ulimit -f) is reached"}

_digest_memo: dict[tuple[str, int, int], str] = {}


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def file_digest(path: Path) -> str:
    """sha256 hex of a file's content, memoised per (path, size, mtime) within the process."""
    path = Path(path)
    try:
        st = path.stat()
        memo_key = (str(path.resolve()), st.st_size, st.st_mtime_ns)
        if memo_key not in _digest_memo:
            h = hashlib.sha256()
            with open(path, "rb") as f:
                for block in iter(lambda: f.read(1 << 20), b""):
                    h.update(block)
            _digest_memo[memo_key] = h.hexdigest()
    except OSError as err:  # an input the user cannot read: name it, no traceback
        raise InputError(f"{path} cannot be read: {err.strerror}") from err
    return _digest_memo[memo_key]


def free_space(folder: Path) -> str:
    """The free space of the filesystem holding `folder`, in words ("12.3 MB")."""
    try:
        return f"{shutil.disk_usage(folder).free / 1e6:.1f} MB"
    except OSError:
        return "unknown"


def write_failed(path: Path, err: OSError) -> OutputError:
    """The OutputError for a failed write of `path`: for a full disk (or quota, or file-size limit)
    it names the folder and its free space, and says that finished work is kept."""
    path = Path(path)
    why = _NO_ROOM.get(err.errno)
    if why is None:
        return OutputError(f"cannot write {path}: {err.strerror or err}")
    return OutputError(f"cannot write {path.name} in {path.parent}: {why} ({err.strerror}; "
                       f"{free_space(path.parent)} free); finished work is kept: make room and run again")


def atomic_write_bytes(path: Path, data: bytes) -> None:
    """Write `data` to `path` so that readers see the old file or the whole new one, never a part."""
    path = Path(path)
    try:
        fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    except OSError as err:
        if err.errno in _NO_ROOM:
            raise write_failed(path, err) from err
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
        raise write_failed(path, err) from err
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
        raise write_failed(path, err) from err
    finally:
        tmp.unlink(missing_ok=True)


def check_output_dir(out: Path, *, need_bytes: int | None = None) -> None:
    """Make sure `out` exists, is writable and has `need_bytes` free (default MIN_FREE_BYTES, or
    $DUBKIT_MIN_FREE_MB); OutputError naming it if not."""
    out = Path(out)
    if need_bytes is None:
        need_bytes = int(limit("MIN_FREE_MB", MIN_FREE_BYTES / (1024 * 1024)) * 1024 * 1024)
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
            f"output folder {out} has {free / 1e6:.1f} MB free; this run needs at least "
            f"{need_bytes / 1e6:.0f} MB (free some space, choose another -o, or set DUBKIT_MIN_FREE_MB)"
        )


class RunLock:
    """Exclusive hold on an output folder for one run; a second concurrent run gets OutputError."""

    def __init__(self, out: Path):
        self.path = Path(out) / LOCK_NAME
        self._lock = FileLock(str(self.path), timeout=0)

    def __enter__(self) -> RunLock:
        try:
            self._lock.acquire()
        except Timeout as err:
            raise OutputError(
                f"another dubkit run is using the output folder {self.path.parent} "
                f"(lock {self.path}); wait for it to finish or choose another -o"
            ) from err
        except OSError as err:
            raise OutputError(f"cannot lock the output folder {self.path.parent} with {self.path}: "
                              f"{err.strerror}") from err
        return self

    def __exit__(self, *exc: object) -> None:
        self._lock.release()
