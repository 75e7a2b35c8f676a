"""The daVinci-MagiHuman model: DiT network, packing and checkpoint loading (samplers, VAEs, text encoder and the
generator live in sibling modules). This package imports nothing from the rest of dubkit."""

from model.config import (
    AUDIO,
    FRAME_RECEPTIVE_FIELD_1080P,
    LOCAL_ATTN_LAYERS_1080P,
    PRESETS,
    TEXT,
    VIDEO,
    DiTConfig,
)
from model.dit import DiT
from model.errors import CheckpointError, ConfigError, ModelError, PackingError
from model.loading import build_dit, load_dit
from model.packing import (
    Packed,
    local_attention_ranges,
    local_attention_ranges_for,
    pack,
    patchify_video,
    unpack,
    unpatchify_video,
)

__all__ = [
    "AUDIO", "FRAME_RECEPTIVE_FIELD_1080P", "LOCAL_ATTN_LAYERS_1080P", "PRESETS", "TEXT", "VIDEO", "DiTConfig",
    "DiT", "CheckpointError", "ConfigError", "ModelError", "PackingError", "build_dit", "load_dit", "Packed",
    "local_attention_ranges", "local_attention_ranges_for", "pack", "patchify_video", "unpack", "unpatchify_video",
]
