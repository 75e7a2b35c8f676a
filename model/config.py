"""DiT configuration: one frozen dataclass, two presets (the released 15B model and the tiny golden model).

Field names follow the official `ModelConfig`. MagiHuman is timestep-free, so there is no timestep field.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, replace

from model.errors import ConfigError

# What a generation can be asked for, the one list (the generator, the weights' components, dubkit and its
# CLI all read it here; this module imports no torch). Sampling modes: 8-step distilled or 32-step UniPC.
MODES = ("distill", "base")
DEFAULT_MODE = "distill"
BASE_RESOLUTION = "256p"
# Output resolutions as (width, height) in pixels, as the official example scripts run them
# (docs/model.md §Resolutions and lengths).
RESOLUTIONS: Mapping[str, tuple[int, int]] = {"256p": (448, 256), "540p": (896, 512), "1080p": (1920, 1088)}

VIDEO, AUDIO, TEXT = 0, 1, 2  # modality ids; expert weights are stacked in this order
NUM_MODALITIES = 3

# The 1080p SR run (`SR2_1080=true`): full attention only in layers 3, 7, ..., 31 (docs/model.md §Local attention).
LOCAL_ATTN_LAYERS_1080P: tuple[int, ...] = tuple(i for i in range(40) if i >= 32 or i % 4 != 3)
FRAME_RECEPTIVE_FIELD_1080P = 11


@dataclass(frozen=True)
class DiTConfig:
    """Architecture of the MagiHuman DiT. Derived sizes are properties so they can never disagree."""

    num_layers: int
    hidden_size: int
    head_dim: int
    num_heads_q: int
    num_heads_kv: int
    text_in_channels: int
    mm_layers: tuple[int, ...]
    gelu7_layers: tuple[int, ...]
    video_in_channels: int = 192  # 48 latent channels x 1x2x2 patch
    audio_in_channels: int = 64
    local_attn_layers: tuple[int, ...] = ()
    enable_attn_gating: bool = True
    norm_eps: float = 1e-6
    rope_theta: float = 10000.0

    def __post_init__(self) -> None:
        if self.num_heads_q * self.head_dim != self.hidden_size:
            raise ConfigError(
                f"num_heads_q*head_dim = {self.num_heads_q}*{self.head_dim} must equal hidden_size {self.hidden_size}"
            )
        if self.num_heads_kv <= 0 or self.num_heads_q % self.num_heads_kv:
            raise ConfigError(f"num_heads_q {self.num_heads_q} is not a multiple of num_heads_kv {self.num_heads_kv}")
        if self.head_dim % 8:
            raise ConfigError(f"head_dim {self.head_dim} must be a multiple of 8 (3-axis RoPE uses head_dim//8 bands)")
        for name in ("mm_layers", "gelu7_layers", "local_attn_layers"):
            layers = getattr(self, name)
            bad = [i for i in layers if not 0 <= i < self.num_layers]
            if bad:
                raise ConfigError(f"{name} has layer indices {bad} outside 0..{self.num_layers - 1}")

    # -- derived sizes -------------------------------------------------------------------------------------
    @property
    def swiglu_width(self) -> int:
        """swiglu7 MLP width ⌊⌊8D/3⌋/4⌋·4 (13652 for D = 5120); the up projection has twice as many rows."""
        return int(self.hidden_size * 8 / 3) // 4 * 4

    @property
    def gelu_width(self) -> int:
        """gelu7 MLP width 4D (not gated)."""
        return 4 * self.hidden_size

    @property
    def gqa_group(self) -> int:
        """Query heads per KV head; query head h reads KV head h // gqa_group."""
        return self.num_heads_q // self.num_heads_kv

    @property
    def rope_bands(self) -> int:
        """Frequencies per RoPE axis (t, h, w); 6·bands of the head dims are rotated."""
        return self.head_dim // 8

    @property
    def qkv_width(self) -> int:
        """Rows of the fused projection per expert: q | k | v | one gate per query head."""
        gate = self.num_heads_q if self.enable_attn_gating else 0
        return (self.num_heads_q + 2 * self.num_heads_kv) * self.head_dim + gate

    @property
    def out_channels(self) -> int:
        """Width of the model output (video rows use all of it, audio rows the first 64 columns)."""
        return max(self.video_in_channels, self.audio_in_channels)

    def num_experts(self, layer: int) -> int:
        """3 modality experts in an mm layer, 1 shared set of weights elsewhere."""
        return NUM_MODALITIES if layer in self.mm_layers else 1

    def activation(self, layer: int) -> str:
        """'gelu7' or 'swiglu7' for this layer."""
        return "gelu7" if layer in self.gelu7_layers else "swiglu7"

    def with_local_attn_layers(self, layers) -> DiTConfig:
        """The same architecture run with block-sparse local attention in `layers` (no parameters change)."""
        return replace(self, local_attn_layers=tuple(sorted(int(i) for i in layers)))

    @classmethod
    def preset(cls, name: str) -> DiTConfig:
        """The named preset: '15b' (all four released DiTs) or 'tiny' (the conformance model)."""
        try:
            return PRESETS[name]
        except KeyError:
            raise ConfigError(f"unknown DiT preset {name!r}; known: {sorted(PRESETS)}") from None


PRESETS: dict[str, DiTConfig] = {
    "15b": DiTConfig(
        num_layers=40, hidden_size=5120, head_dim=128, num_heads_q=40, num_heads_kv=8, text_in_channels=3584,
        mm_layers=(0, 1, 2, 3, 36, 37, 38, 39), gelu7_layers=(0, 1, 2, 3),
    ),
    # tests/conformance/tiny_config.json
    "tiny": DiTConfig(
        num_layers=8, hidden_size=160, head_dim=16, num_heads_q=10, num_heads_kv=2, text_in_channels=256,
        mm_layers=(0, 1, 6, 7), gelu7_layers=(0, 1),
    ),
}
