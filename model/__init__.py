"""The daVinci-MagiHuman model: DiT network, packing and checkpoint loading (samplers, VAEs, text encoder and the
generator live in sibling modules). This package imports nothing from the rest of dubkit.

Exports resolve lazily (PEP 562) so that importing `model.errors` or `model.prompt` does not import torch:
the CLI stays quick to start.
"""
from __future__ import annotations

import importlib
from typing import Any

_EXPORTS = {
    "model.config": ("AUDIO", "BASE_RESOLUTION", "DEFAULT_MODE", "FRAME_RECEPTIVE_FIELD_1080P",
                     "LOCAL_ATTN_LAYERS_1080P", "MODES", "PRESETS", "RESOLUTIONS", "TEXT", "VIDEO", "DiTConfig"),
    "model.dit": ("DiT",),
    "model.errors": ("CheckpointError", "ConfigError", "ModelError", "PackingError"),
    "model.loading": ("build_dit", "load_dit"),
    "model.packing": ("Packed", "local_attention_ranges", "local_attention_ranges_for", "pack", "patchify_video",
                      "unpack", "unpatchify_video"),
}
_MODULE_OF = {name: module for module, names in _EXPORTS.items() for name in names}
__all__ = list(_MODULE_OF)


def __getattr__(name: str) -> Any:
    if name not in _MODULE_OF:
        raise AttributeError(f"module 'model' has no attribute {name!r}")
    value = getattr(importlib.import_module(_MODULE_OF[name]), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(__all__)
