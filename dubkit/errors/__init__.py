"""Errors that dubkit reports to the user (the CLI prints them and exits with status 2), and the
overrides of the named input limits (docs/limits.md).

A folder of its own, the lowest room of dubkit/: every other folder may import it, it imports nothing.
"""
from __future__ import annotations

import os
from pathlib import Path


class DubkitError(Exception):
    """Bad input or a broken environment. The message names the file or value and what is wrong."""


class InputError(DubkitError):
    """A user-supplied file or value is missing, unreadable or invalid."""


class MediaError(InputError):
    """A media file cannot be read, or lacks a stream the stage needs."""


class ScriptError(InputError):
    """A script (SRT, VTT, ASS, JSON, text) is empty, unparsable or inconsistent with its media."""


class ReviewError(InputError):
    """A review (review.json, --retake, --unpin) names a missing language or line, is stale, or contradicts itself."""


class OutputError(DubkitError):
    """An output folder cannot be written (permissions, full disk, another run holds it)."""


def require_file(path: str | Path, what: str, error: type[DubkitError] = InputError) -> Path:
    """`path` as a Path when it is an existing file; else `error` saying "<what> <path> does not exist"
    or "... is not a file" (a folder, a device). The one "input file exists" check."""
    path = Path(path)
    if not path.exists():
        raise error(f"{what} {path} does not exist")
    if not path.is_file():
        raise error(f"{what} {path} is not a file")
    return path


def limit(name: str, default: float) -> float:
    """The named limit `name` (docs/limits.md): `default`, or the number in `$DUBKIT_<name>` when a
    user needs more. Read at each check, so one run's environment decides."""
    raw = os.environ.get(f"DUBKIT_{name}", "").strip()
    if not raw:
        return default
    try:
        value = float(raw)
    except ValueError:
        raise InputError(f"DUBKIT_{name}={raw!r} is not a number") from None
    if value < 0:
        raise InputError(f"DUBKIT_{name}={raw!r} must not be negative")
    return value
