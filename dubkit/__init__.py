"""dubkit: localize video into other languages with lip-synced speech, gated by a Whisper check.

The public Python API (loaded lazily so that `import dubkit.errors` stays light):

    from dubkit import localize, LocalizeOptions
    result = localize(LocalizeOptions(source=Path("ad.mp4"), languages="zh,ko,ja"))
    result.passed, result.outputs["zh"].video, result.report_html

Errors the user can cause are `dubkit.errors.DubkitError` subclasses (plus `langs.LanguageError`
and `eval.errors.EvalError`); a failed quality gate is `result.passed == False`, not an exception.
"""
from __future__ import annotations

import os
from importlib import import_module
from typing import Any

# onnxruntime (under the Piper and OpenJTalk voices and Whisper's voice detector) otherwise writes a
# device id under ~/.cache/Microsoft and queues telemetry for upload: dubkit works offline and writes
# only into its output folder and its home folder (docs/limits.md).
os.environ.setdefault("ORT_DISABLE_TELEMETRY", "1")

_EXPORTS = {
    "localize": "dubkit.pipeline",
    "LocalizeResult": "dubkit.pipeline",
    "LanguageOutput": "dubkit.pipeline",
    "LocalizeOptions": "dubkit.options",
    "select_engine": "dubkit.engines",
    "EngineChoice": "dubkit.engines",
    "DubkitError": "dubkit.errors",
    "InputError": "dubkit.errors",
    "MediaError": "dubkit.errors",
    "ScriptError": "dubkit.errors",
    "OutputError": "dubkit.errors",
}

__all__ = sorted(_EXPORTS)


def __getattr__(name: str) -> Any:
    if name in _EXPORTS:
        value = getattr(import_module(_EXPORTS[name]), name)
        # Importing dubkit.pipeline binds the *module* to dubkit.pipeline; the public name is the function.
        globals()[name] = value
        return value
    raise AttributeError(f"module 'dubkit' has no attribute {name!r}")
