"""The stage cache of an output folder.

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
import shutil
import zipfile
from pathlib import Path
from typing import Any

import numpy as np

from dubkit.adapters.av import read_frames
from dubkit.adapters.ffmpeg import encode_frames
from dubkit.errors import MediaError, OutputError
from dubkit.store.files import atomic_output, atomic_write_bytes

CACHE_DIR = ".dubkit-cache"


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
        """Store uint8 (n, H, W, 3) frames as a near-lossless H.264 clip (the dubkit.adapters.ffmpeg adapter).

        Generated windows at 1080p are ~1.2 GB of raw pixels each; a clip is a few MB, and the
        picture is re-encoded at assembly anyway.
        """
        path = self._path(stage, key, ".mp4")
        path.parent.mkdir(parents=True, exist_ok=True)
        with atomic_output(path) as tmp:
            encode_frames(np.ascontiguousarray(frames, dtype=np.uint8), fps, tmp)
        self._written.add(path)

    def get_video(self, stage: str, key: str, n_frames: int, fps: float) -> np.ndarray | None:
        """The `n_frames` frames of a stored clip, or None when absent, disabled or unreadable."""
        path = self._path(stage, key, ".mp4")
        if not self._readable(path):
            return None
        try:
            return np.stack(read_frames(path, [(i + 0.5) / fps for i in range(n_frames)]))
        except (MediaError, ValueError):
            return None
