"""The stage cache of an output folder.

Every stage result lives under `OUT/.dubkit-cache/<stage>/<key>.*`, where the key is a hash of
everything that changes the result: input file contents (sha256), options and model identity. A
changed option therefore invalidates exactly the entries that depend on it, and a killed run finds
every finished entry on restart. Entries are written to a temp file and renamed, so a kill leaves
either a whole entry or none.

Every entry carries its own checksum and the cache version (docs/localize.md): a JSON entry is an
envelope `{"dubkit_cache", "stage", "key", "sha256", "value"}`; a binary entry (`.npz`, `.mp4`) has a
`.seal` beside it with the same fields for its bytes, written after it. An entry cut short, zeroed,
swapped with another or written by another cache version is damaged: it reads as missing (so it is
computed again) and is reported once, through the `dubkit` logger and `StageCache.damaged`.

Only JSON and `.npz` (loaded with `allow_pickle=False`) are stored: nothing executable.
"""
from __future__ import annotations

import hashlib
import io
import json
import logging
import os
import shutil
import zipfile
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from dubkit.adapters.av import read_frames
from dubkit.adapters.ffmpeg import encode_frames
from dubkit.errors import MediaError, OutputError
from dubkit.store.files import atomic_output, atomic_write_bytes, file_digest, write_failed

CACHE_DIR = ".dubkit-cache"
CACHE_VERSION = 2  # 1: bare entries; 2: every entry sealed with its checksum. Another version is recomputed.
SEAL = ".seal"
log = logging.getLogger("dubkit.cache")


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


def remove_stale_temps(out: Path, subfolders: Sequence[str] = ()) -> int:
    """Delete what a killed run left half-written in `out`, its `subfolders` and its cache; call only under
    RunLock (no other run can be writing then). Finished outputs and entries are never touched."""
    out = Path(out)
    folders = [out, *(out / name for name in subfolders), *(p for p in (out / CACHE_DIR).glob("*") if p.is_dir())]
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


def check_cache_folder(out: Path) -> None:
    """OutputError when the cache folder, or a stage folder in it, is a symbolic link: dubkit writes
    (and clears temp files) only inside the output folder."""
    root = Path(out) / CACHE_DIR
    folders = [root] + (sorted(root.iterdir()) if root.is_dir() and not root.is_symlink() else [])
    for folder in folders:
        if folder.is_symlink():
            raise OutputError(f"cache folder {folder} is a symbolic link (to {os.readlink(folder)}); dubkit "
                              "writes only inside the output folder: remove the link")


def _json_digest(value) -> str:
    blob = json.dumps(value, sort_keys=True, ensure_ascii=False, separators=(",", ":"))
    return hashlib.sha256(blob.encode("utf-8")).hexdigest()


def _seal(stage: str, key: str, digest: str) -> dict:
    return {"dubkit_cache": CACHE_VERSION, "stage": stage, "key": key, "sha256": digest}


def _flaw(doc, stage: str, key: str, digest) -> str | None:
    """Why a sealed document does not vouch for entry `stage/key` with content digest `digest`
    (a callable: the digest is computed only once the seal itself is in order), or None."""
    if not isinstance(doc, dict) or "dubkit_cache" not in doc:
        return "written by an older dubkit, without a cache version"
    if doc["dubkit_cache"] != CACHE_VERSION:
        return f"written by dubkit cache version {doc['dubkit_cache']}, this is version {CACHE_VERSION}"
    if doc.get("stage") != stage or doc.get("key") != key:
        return f"holds the entry {doc.get('stage')}/{doc.get('key')}, not this one"
    if doc.get("sha256") != digest():
        return "its checksum does not match its content"
    return None


class StageCache:
    """Stage results under OUT/.dubkit-cache/<stage>/<key>.{json,npz}; `enabled=False` reads nothing
    that an earlier run left (used for --force: everything is recomputed and written afresh), but
    does read back what this instance wrote: later stages load the renders chosen by earlier ones."""

    def __init__(self, out: Path, *, enabled: bool = True):
        self.root = Path(out) / CACHE_DIR
        self.enabled = enabled
        self._written: set[Path] = set()
        self._pinned: set[tuple[str, str]] = set()  # (stage, key) entries read even when not enabled
        self.damaged: dict[str, str] = {}  # "stage/key.suffix" -> why; each entry reported once

    def _damage(self, path: Path, why: str) -> None:
        name = f"{path.parent.name}/{path.name}"
        if name not in self.damaged:
            self.damaged[name] = why
            log.warning("cache entry %s is damaged (%s); computing it again", name, why)

    def _path(self, stage: str, key: str, suffix: str) -> Path:
        return self.root / stage / f"{key}{suffix}"

    def _readable(self, path: Path) -> bool:
        pinned = (path.parent.name, path.name.split(".")[0]) in self._pinned
        return (self.enabled or path in self._written or pinned) and path.is_file()

    def pin(self, stage: str, key: str) -> None:
        """Read the entry `stage/key` even when this cache is not `enabled`: an approved take
        (docs/review.md) is never computed again, not even with --force."""
        self._pinned.add((stage, key))

    def _folder(self, path: Path) -> None:
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
        except OSError as err:
            raise write_failed(path, err) from err

    def _write(self, path: Path, data: bytes) -> None:
        self._folder(path)
        atomic_write_bytes(path, data)
        self._written.add(path)

    def _seal_file(self, stage: str, key: str, path: Path) -> None:
        """Seal a binary entry just written: its checksum and the cache version, beside it."""
        digest = file_digest(path)  # streamed: a picture entry may be hundreds of MB
        self._write(path.with_name(path.name + SEAL), json.dumps(_seal(stage, key, digest)).encode())

    def _sealed_bytes(self, stage: str, key: str, suffix: str) -> bytes | None:
        """A binary entry's bytes when its seal vouches for them; None when absent, unsealed (a run
        killed before sealing it) or damaged (reported once)."""
        path = self._sealed_path(stage, key, suffix)
        if path is None:
            return None
        try:
            return path.read_bytes()
        except OSError:
            self._damage(path, "unreadable")
            return None

    def _sealed_path(self, stage: str, key: str, suffix: str) -> Path | None:
        """A binary entry's path when its seal vouches for its content (checked by a streamed sha256, never
        read whole into memory); None when absent, unsealed or damaged (reported once)."""
        path = self._path(stage, key, suffix)
        seal = path.with_name(path.name + SEAL)
        if not self._readable(path) or not self._readable(seal):
            return None
        try:
            doc = json.loads(seal.read_text("utf-8"))
        except (OSError, ValueError):
            self._damage(seal, "cut short or unreadable")
            return None
        why = _flaw(doc, stage, key, lambda: file_digest(path))
        if why is not None:
            self._damage(path, why)
            return None
        return path

    def exists(self, stage: str, key: str, suffix: str) -> bool:
        """Whether the entry's `suffix` file (".json", ".npz", ".mp4") is present and intact (and the
        cache enabled)."""
        if suffix == ".json":
            return self.get_json(stage, key) is not None
        return self._sealed_path(stage, key, suffix) is not None

    def file(self, stage: str, key: str, suffix: str, make) -> Path:
        """The entry's file (".mp4", ".mov"): reused when present and intact, else made by `make(path)` (a
        tool writing the file at `path`), atomically, then sealed. Returns where it lies in the cache."""
        found = self._sealed_path(stage, key, suffix)
        if found is not None:
            return found
        path = self._path(stage, key, suffix)
        self._folder(path)
        with atomic_output(path) as tmp:
            make(tmp)
        self._written.add(path)
        self._seal_file(stage, key, path)
        return path

    def get_json(self, stage: str, key: str) -> dict | None:
        """The cached JSON value, or None when absent, disabled or damaged (then it is recomputed)."""
        path = self._path(stage, key, ".json")
        if not self._readable(path):
            return None
        try:
            doc = json.loads(path.read_text("utf-8"))
        except (OSError, ValueError):
            self._damage(path, "cut short or unreadable")
            return None
        why = _flaw(doc, stage, key, lambda: _json_digest(doc.get("value")))
        if why is not None:
            self._damage(path, why)
            return None
        return doc["value"]

    def put_json(self, stage: str, key: str, value: dict) -> dict:
        """Store a JSON value atomically, in its sealed envelope; returns it as get_json will (floats rounded
        to 9 digits, tuples as lists), so a fresh result and a resumed one report the same."""
        body = _canonical(value)
        doc = {**_seal(stage, key, _json_digest(body)), "value": body}
        self._write(self._path(stage, key, ".json"), json.dumps(doc, ensure_ascii=False, indent=1).encode("utf-8"))
        return body

    def get_arrays(self, stage: str, key: str) -> dict[str, np.ndarray] | None:
        """The cached arrays, or None when absent, disabled or damaged."""
        data = self._sealed_bytes(stage, key, ".npz")
        if data is None:
            return None
        try:
            with np.load(io.BytesIO(data), allow_pickle=False) as npz:
                return {name: npz[name] for name in npz.files}
        except (OSError, ValueError, EOFError, zipfile.BadZipFile):
            self._damage(self._path(stage, key, ".npz"), "not a readable array file")
            return None

    def put_arrays(self, stage: str, key: str, arrays: dict[str, np.ndarray]) -> None:
        """Store arrays atomically as one compressed .npz, then its seal."""
        buf = io.BytesIO()
        np.savez_compressed(buf, **arrays)
        path = self._path(stage, key, ".npz")
        self._write(path, buf.getvalue())
        self._seal_file(stage, key, path)

    def put_video(self, stage: str, key: str, frames: np.ndarray, fps: float) -> None:
        """Store uint8 (n, H, W, 3) frames as a near-lossless H.264 clip (the dubkit.adapters.ffmpeg adapter).

        Generated windows at 1080p are ~1.2 GB of raw pixels each; a clip is a few MB, and the
        picture is re-encoded at assembly anyway.
        """
        path = self._path(stage, key, ".mp4")
        self._folder(path)
        with atomic_output(path) as tmp:
            encode_frames(np.ascontiguousarray(frames, dtype=np.uint8), fps, tmp)
        self._written.add(path)
        self._seal_file(stage, key, path)

    def video_file(self, stage: str, key: str) -> Path | None:
        """The stored clip itself (for a caller that splices it as it is), or None when absent or damaged."""
        return self._sealed_path(stage, key, ".mp4")

    def get_video(self, stage: str, key: str, n_frames: int, fps: float) -> np.ndarray | None:
        """The `n_frames` frames of a stored clip, or None when absent, disabled or damaged."""
        if self._sealed_bytes(stage, key, ".mp4") is None:
            return None
        path = self._path(stage, key, ".mp4")
        try:
            return np.stack(read_frames(path, [(i + 0.5) / fps for i in range(n_frames)]))
        except (MediaError, ValueError):
            self._damage(path, "not a readable clip")
            return None
