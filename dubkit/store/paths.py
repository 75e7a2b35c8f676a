"""Where dubkit keeps things outside an output folder: the home folder, models, MagiHuman weights.

`$DUBKIT_HOME` (default `~/.cache/dubkit`) is read in one place, `eval.whisper_models`, because the
Whisper gate needs it too and `eval/` may not import `dubkit/`; every part of `dubkit/` asks here.
"""
from __future__ import annotations

import os
from pathlib import Path

from eval.whisper_models import dubkit_home, models_dir

__all__ = ["MAGIHUMAN", "checkpoint_hash_store", "dubkit_home", "models_dir", "weights_dir"]

MAGIHUMAN = "magihuman"


def weights_dir() -> Path:
    """Where MagiHuman weights go unless told: `$DUBKIT_WEIGHTS`, else `$DUBKIT_HOME/models/magihuman`."""
    env = os.environ.get("DUBKIT_WEIGHTS")
    return Path(env) if env else models_dir() / MAGIHUMAN


def checkpoint_hash_store() -> Path:
    """The JSON file that remembers checkpoint digests per (path, size, mtime)."""
    return dubkit_home() / "checkpoint-sha256.json"
