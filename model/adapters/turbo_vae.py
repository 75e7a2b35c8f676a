"""The Turbo VAE decoder ("TurboVAED"): the light video decoder the official pipeline turns latents into frames
with (docs/model.md, "Turbo VAE").

A convolutional student of the Wan2.2 decoder: 48-channel normalised latent [B,48,T,H,W] -> RGB [B,3,4T−3,16H,16W]
in nominally [−1, 1]. No attention, no learnable norm scales, no encoder. Decoding de-normalises the latent, pads it
in time to 7 + 7k frames and decodes overlapping windows of 7 latent frames (one frame of context on each side),
each from scratch.

Loading is strict: the checkpoint's tensor names and shapes must be exactly those the config builds (the official
loader is not). `.ckpt` files are read with `torch.load(weights_only=True)`, which refuses any pickled object
that is not a tensor or a plain container, so a checkpoint cannot run code.
"""

from __future__ import annotations

import json
import pickle
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch
import torch.nn.functional as F
from torch import nn

from model.adapters.video_vae import LATENT_MEAN, LATENT_STD, VideoVAEError
from model.errors import CheckpointError, ConfigError
from model.weights import turbo_vae_files

NORM_EPS = 1e-8  # every channel RMSNorm except the shortcut norm (that one uses `resnet_norm_eps`)
TRAINING_ONLY_PREFIX = "aligned_feature_projection"  # feature-matching heads used in training; never loaded
RELEASED_CONFIG = Path(__file__).resolve().parent.parent / "turbo_vae_released.json"
_DTYPES = (torch.float32, torch.bfloat16)

# The official class's defaults, used for fields a config file leaves out (as the official loader does).
CLASS_DEFAULTS: dict[str, Any] = {
    "in_channels": 3, "out_channels": 3, "latent_channels": 128,
    "decoder_block_out_channels": [128, 256, 512, 512], "decoder_layers_per_block": [4, 3, 3, 3, 4],
    "decoder_spatio_temporal_scaling": [True, True, True, False], "decoder_spatio_only": [False] * 4,
    "decoder_is_dw_conv": [False] * 5, "decoder_dw_kernel_size": 3, "decoder_causal": False,
    "patch_size": 4, "patch_size_t": 1, "resnet_norm_eps": 1e-6, "scaling_factor": 1.0,
    "first_chunk_size": 3, "step_size": 5, "spatial_compression_ratio": 16, "temporal_compression_ratio": 4,
    "use_unpatchify": False,
}
# Stored in the file but without effect on decoding.
_UNUSED_FIELDS = ("in_channels", "patch_size_t", "scaling_factor", "spatial_compression_ratio",
                  "decoder_dw_kernel_size")


# ------------------------------------------------------------------------------------------------ config
@dataclass(frozen=True)
class TurboVAEConfig:
    """The fields of the official JSON config that shape the decoder. Lists are in the file's (encoder) order,
    shallow to deep; the decoder walks them reversed."""

    block_out_channels: tuple[int, ...]
    layers_per_block: tuple[int, ...]
    spatio_temporal_scaling: tuple[bool, ...]
    spatio_only: tuple[bool, ...]
    latent_channels: int = 48
    out_channels: int = 3
    patch_size: int = 2
    resnet_norm_eps: float = 1e-6
    first_chunk_size: int = 7
    step_size: int = 7
    temporal_compression_ratio: int = 4
    source: str = "<dict>"
    defaulted: tuple[str, ...] = ()  # decoder fields the file left out (class default used)
    ignored: tuple[str, ...] = ()  # fields in the file without effect on decoding
    fields: Mapping[str, Any] = field(default_factory=dict, compare=False, repr=False)  # the file as read

    @classmethod
    def load(cls, config: TurboVAEConfig | Mapping[str, Any] | str | Path) -> TurboVAEConfig:
        """From a dict of the official config's fields or a path to such a JSON file; ConfigError if unusable."""
        if isinstance(config, TurboVAEConfig):
            return config
        if isinstance(config, (str, Path)):
            return _parse(read_config_fields(config), str(config))
        if not isinstance(config, Mapping):
            raise ConfigError(f"Turbo VAE config must be a dict or a JSON path, got {type(config).__name__}")
        return _parse(dict(config), "<dict>")

    @property
    def widths(self) -> tuple[int, ...]:
        """Decoder widths, deep to shallow (conv_in output first)."""
        return tuple(reversed(self.block_out_channels))


def read_config_fields(path: str | Path) -> dict[str, Any]:
    """The fields of a Turbo VAE JSON config file, as written (ConfigError naming the file if unreadable)."""
    try:
        fields = json.loads(Path(path).read_text(encoding="utf-8"))
    except (OSError, ValueError) as err:
        raise ConfigError(f"Turbo VAE config {path} is not a readable JSON file: {err}") from err
    if not isinstance(fields, dict):
        raise ConfigError(f"Turbo VAE config {path} must be a JSON object, got {type(fields).__name__}")
    return fields


def _parse(raw: dict[str, Any], source: str) -> TurboVAEConfig:
    values = {k: raw.get(k, v) for k, v in CLASS_DEFAULTS.items()}
    defaulted = tuple(k for k in CLASS_DEFAULTS if k not in raw and k not in _UNUSED_FIELDS)
    ignored = tuple(sorted(k for k in raw if not k.startswith("_") and (k not in CLASS_DEFAULTS or k in _UNUSED_FIELDS)))
    try:
        cfg = TurboVAEConfig(
            block_out_channels=_ints(values["decoder_block_out_channels"]),
            layers_per_block=_ints(values["decoder_layers_per_block"]),
            spatio_temporal_scaling=_bools(values["decoder_spatio_temporal_scaling"]),
            spatio_only=_bools(values["decoder_spatio_only"]),
            latent_channels=_int(values["latent_channels"]), out_channels=_int(values["out_channels"]),
            patch_size=_int(values["patch_size"]), resnet_norm_eps=float(values["resnet_norm_eps"]),
            first_chunk_size=_int(values["first_chunk_size"]), step_size=_int(values["step_size"]),
            temporal_compression_ratio=_int(values["temporal_compression_ratio"]),
            source=source, defaulted=defaulted, ignored=ignored, fields=raw,
        )
    except (TypeError, ValueError) as err:
        raise ConfigError(f"Turbo VAE config {source}: {err}") from err
    _validate(cfg, values)
    return cfg


def _int(value) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise ValueError(f"expected a positive integer, got {value!r}")
    return value


def _ints(values) -> tuple[int, ...]:
    return tuple(_int(v) for v in _list(values))


def _bools(values) -> tuple[bool, ...]:
    out = tuple(_list(values))
    if not all(isinstance(v, bool) for v in out):
        raise ValueError(f"expected a list of true/false, got {values!r}")
    return out


def _list(values) -> list:
    if not isinstance(values, (list, tuple)) or not values:
        raise ValueError(f"expected a non-empty list, got {values!r}")
    return list(values)


def _validate(cfg: TurboVAEConfig, values: Mapping[str, Any]) -> None:
    """Refuse what the official class refuses (patch size, causal convs) and what this decoder does not build."""
    problems = []
    n = len(cfg.block_out_channels)
    if len(cfg.layers_per_block) != n + 1:
        problems.append(f"decoder_layers_per_block needs {n + 1} entries (mid block + {n} up blocks), "
                        f"got {len(cfg.layers_per_block)}")
    if len(cfg.spatio_temporal_scaling) != n or len(cfg.spatio_only) != n:
        problems.append(f"decoder_spatio_temporal_scaling and decoder_spatio_only need {n} entries each")
    if cfg.latent_channels != len(LATENT_MEAN):
        problems.append(f"latent_channels must be {len(LATENT_MEAN)} (the Wan2.2 latent), got {cfg.latent_channels}")
    if cfg.patch_size != 2:
        problems.append(f"patch_size must be 2, got {cfg.patch_size}")
    if values["use_unpatchify"] is not True:
        problems.append("use_unpatchify must be true (only the un-patchify head is supported)")
    if values["decoder_causal"] is not False:
        problems.append("decoder_causal must be false")
    if any(v is not False for v in _list(values["decoder_is_dw_conv"])):
        problems.append("decoder_is_dw_conv must be all false (depthwise convs are not supported)")
    if not problems:
        time_up = 2 ** sum(s and not o for s, o in zip(cfg.spatio_temporal_scaling, cfg.spatio_only))
        if time_up != cfg.temporal_compression_ratio:
            problems.append(f"the up blocks upsample time {time_up}x but temporal_compression_ratio is "
                            f"{cfg.temporal_compression_ratio}")
    if problems:
        raise ConfigError(f"Turbo VAE config {cfg.source}: " + "; ".join(problems))


def released_config() -> TurboVAEConfig:
    """The released decoder's config as dubkit reconstructs it (`model/turbo_vae_released.json`)."""
    return TurboVAEConfig.load(RELEASED_CONFIG)


# ------------------------------------------------------------------------------------------------ network
def _rms_norm(x: torch.Tensor, eps: float) -> torch.Tensor:
    """x / sqrt(mean over channels of x² + eps), statistics in float32, result back in x's dtype."""
    variance = x.float().pow(2).mean(1, keepdim=True)
    return (x * torch.rsqrt(variance + eps)).to(x.dtype)


class _Conv3d(nn.Module):
    """3-D conv, stride 1: time padded with copies of the first/last frame, space with zeros."""

    def __init__(self, cin: int, cout: int, kernel: tuple[int, int, int]):
        super().__init__()
        self.time_pad = (kernel[0] - 1) // 2
        self.conv = nn.Conv3d(cin, cout, kernel, padding=(0, kernel[1] // 2, kernel[2] // 2))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.time_pad:
            p = self.time_pad
            x = torch.cat([x[:, :, :1].expand(-1, -1, p, -1, -1), x, x[:, :, -1:].expand(-1, -1, p, -1, -1)], dim=2)
        return self.conv(x)


class _ResBlock(nn.Module):
    """norm, activation A, conv, norm, SiLU, conv, plus the input (through norm + 1×1×1 conv if widths differ)."""

    def __init__(self, cin: int, cout: int, first_relu: bool, shortcut_eps: float):
        super().__init__()
        self.first_relu, self.shortcut_eps = first_relu, shortcut_eps
        self.conv1 = _Conv3d(cin, cout, (3, 3, 3))
        self.conv2 = _Conv3d(cout, cout, (3, 3, 3))
        self.conv_shortcut = _Conv3d(cin, cout, (1, 1, 1)) if cin != cout else None

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        h = _rms_norm(x, NORM_EPS)
        h = self.conv1(F.relu(h) if self.first_relu else F.silu(h))
        h = self.conv2(F.silu(_rms_norm(h, NORM_EPS)))
        skip = x if self.conv_shortcut is None else self.conv_shortcut(_rms_norm(x, self.shortcut_eps))
        return h + skip


class _Nearest2x(nn.Module):
    """Each pixel becomes a 2×2 block (computed in float32, as the official up-sampler)."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return F.interpolate(x.float(), scale_factor=2.0, mode="nearest").to(x.dtype)


class _Upsampler(nn.Module):
    """Optional time doubling ((3,1,1) conv C→2C, half j of frame t -> frame 2t+j; first-chunk mode drops the very
    first frame), then per frame: nearest ×2 in space and a 3×3 conv."""

    def __init__(self, width: int, temporal: bool):
        super().__init__()
        self.resample = nn.Sequential(_Nearest2x(), nn.Conv2d(width, width, 3, padding=1))
        self.time_conv = _Conv3d(width, 2 * width, (3, 1, 1)) if temporal else None

    def forward(self, x: torch.Tensor, first_chunk: bool) -> torch.Tensor:
        b, c, t, h, w = x.shape
        if self.time_conv is not None:
            x = self.time_conv(x).view(b, 2, c, t, h, w).permute(0, 2, 3, 1, 4, 5).reshape(b, c, 2 * t, h, w)
            if first_chunk:
                x = x[:, :, 1:]
            t = x.shape[2]
        frames = self.resample(x.permute(0, 2, 1, 3, 4).reshape(b * t, c, h, w))
        return frames.view(b, t, c, 2 * h, 2 * w).permute(0, 2, 1, 3, 4)


class _MidBlock(nn.Module):
    def __init__(self, width: int, layers: int, shortcut_eps: float):
        super().__init__()
        self.resnets = nn.ModuleList(_ResBlock(width, width, False, shortcut_eps) for _ in range(layers))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        for resnet in self.resnets:
            x = resnet(x)
        return x


class _UpBlock(nn.Module):
    """A width-changing residual block (SiLU first), the up-sampler if any, then residual blocks that start
    with ReLU when the block up-samples."""

    def __init__(self, cin: int, cout: int, layers: int, scaling: bool, spatial_only: bool, shortcut_eps: float):
        super().__init__()
        self.conv_in = _ResBlock(cin, cout, False, shortcut_eps) if cin != cout else None
        self.upsamplers = nn.ModuleList([_Upsampler(cout, temporal=not spatial_only)]) if scaling else None
        self.resnets = nn.ModuleList(_ResBlock(cout, cout, scaling, shortcut_eps) for _ in range(layers))

    def forward(self, x: torch.Tensor, first_chunk: bool) -> torch.Tensor:
        if self.conv_in is not None:
            x = self.conv_in(x)
        for upsampler in self.upsamplers or ():
            x = upsampler(x, first_chunk)
        for resnet in self.resnets:
            x = resnet(x)
        return x


class TurboDecoder(nn.Module):
    """One decoder call on a de-normalised latent window [B,48,t,H,W] -> [B,3,4t−3 (first chunk) or 4t,16H,16W]."""

    def __init__(self, cfg: TurboVAEConfig):
        super().__init__()
        widths, layers = cfg.widths, tuple(reversed(cfg.layers_per_block))
        scaling, spatial_only = tuple(reversed(cfg.spatio_temporal_scaling)), tuple(reversed(cfg.spatio_only))
        eps = cfg.resnet_norm_eps
        self.conv_in = _Conv3d(cfg.latent_channels, widths[0], (3, 3, 3))
        self.mid_block = _MidBlock(widths[0], layers[0], eps)
        self.up_blocks = nn.ModuleList(
            _UpBlock(widths[max(i - 1, 0)], widths[i], layers[i + 1], scaling[i], spatial_only[i], eps)
            for i in range(len(widths))
        )
        self.patch = cfg.patch_size
        self.conv_out = _Conv3d(widths[-1], cfg.out_channels * self.patch**2, (3, 3, 3))

    def forward(self, x: torch.Tensor, first_chunk: bool, taps: dict[str, torch.Tensor] | None = None):
        """`taps`, if given, receives each stage's output (conv_in, mid_block, up_block_i, decoder_out)."""
        tap = taps.__setitem__ if taps is not None else (lambda name, value: None)
        x = self.conv_in(x)
        tap("conv_in", x)
        x = self.mid_block(x)
        tap("mid_block", x)
        for i, block in enumerate(self.up_blocks):
            x = block(x, first_chunk)
            tap(f"up_block_{i}", x)
        x = self.conv_out(F.silu(_rms_norm(x, NORM_EPS)))
        x = _unpatchify(x, self.patch)
        tap("decoder_out", x)
        return x


def _unpatchify(x: torch.Tensor, p: int) -> torch.Tensor:
    """[B, C·p·p, T, H, W] -> [B, C, T, pH, pW] with out[c, t, p·y+i, p·x+j] = in[c·p² + j·p + i, t, y, x]."""
    b, cpp, t, h, w = x.shape
    x = x.view(b, cpp // (p * p), p, p, t, h, w)  # (b, c, j, i, t, y, x)
    return x.permute(0, 1, 4, 5, 3, 6, 2).reshape(b, cpp // (p * p), t, h * p, w * p)


# ------------------------------------------------------------------------------------------------ decode
@dataclass(frozen=True)
class Window:
    """One decoder call: latent frames [start, end) of the padded latent, whether in first-chunk mode, and the
    pixel frames of its output that are kept ([keep_from, len − keep_trim))."""

    start: int
    end: int
    first: bool
    keep_from: int
    keep_trim: int


def window_plan(frames: int, first_chunk: int, step: int, overlap: int) -> tuple[list[Window], int]:
    """(windows, padding frames) for a latent of `frames` frames; `overlap` pixel frames per context frame."""
    pad = first_chunk - frames if frames < first_chunk else -(frames - first_chunk) % step
    total = frames + pad
    if total == first_chunk:
        return [Window(0, first_chunk, True, 0, 0)], pad
    windows = [Window(0, first_chunk + 1, True, 0, overlap)]
    for start in range(first_chunk, total, step):
        last = start + step == total
        windows.append(Window(start - 1, start + step + (0 if last else 1), False, overlap, 0 if last else overlap))
    return windows, pad


class TurboVAE(nn.Module):
    """The Turbo VAE: `decode(latent)` maps the normalised latent to pixels as the official pipeline does."""

    def __init__(self, cfg: TurboVAEConfig):
        super().__init__()
        self.config = cfg
        self.decoder = TurboDecoder(cfg)

    @property
    def dtype(self) -> torch.dtype:
        return self.decoder.conv_in.conv.weight.dtype

    @property
    def device(self) -> torch.device:
        return self.decoder.conv_in.conv.weight.device

    def denormalise(self, latent: torch.Tensor) -> torch.Tensor:
        """z / (1/std) + mean per channel in float32 (the official arithmetic), in the decoder's dtype."""
        shape = (1, -1, 1, 1, 1)
        mean = torch.tensor(LATENT_MEAN, dtype=torch.float32, device=self.device).view(shape)
        inv_std = 1.0 / torch.tensor(LATENT_STD, dtype=torch.float32, device=self.device).view(shape)
        z = latent.to(self.device, self.dtype)
        return (z.float() / inv_std + mean).to(self.dtype)

    def windows(self, frames: int) -> tuple[list[Window], int]:
        """The decoder calls and the time padding for a latent of `frames` frames."""
        cfg = self.config
        return window_plan(frames, cfg.first_chunk_size, cfg.step_size, cfg.temporal_compression_ratio)

    @torch.no_grad()
    def decode(self, latent: torch.Tensor, offload_output: bool = False) -> torch.Tensor:
        """Normalised latent [B,48,T,H,W] -> float32 pixels [B,3,4T−3,16H,16W] (not clamped).

        `offload_output` collects the decoded windows on the CPU (1080p clips on a small card)."""
        if latent.dim() != 5 or latent.shape[1] != self.config.latent_channels or latent.shape[2] < 1:
            raise VideoVAEError(f"latent must be (B, {self.config.latent_channels}, T, H, W) with T >= 1, "
                                f"got {tuple(latent.shape)}")
        z = self.denormalise(latent)
        windows, pad = self.windows(z.shape[2])
        if pad:
            z = torch.cat([z, z[:, :, -1:].expand(-1, -1, pad, -1, -1)], dim=2)
        chunks = []
        for w in windows:
            out = self.decoder(z[:, :, w.start : w.end], w.first)
            out = out[:, :, w.keep_from : out.shape[2] - w.keep_trim].float()
            chunks.append(out.cpu() if offload_output else out)
        video = torch.cat(chunks, dim=2)
        return video[:, :, : video.shape[2] - pad * self.config.temporal_compression_ratio]


# ------------------------------------------------------------------------------------------------ loading
def build_turbo_vae(config, device: str | torch.device = "cpu", dtype: torch.dtype = torch.float32) -> TurboVAE:
    """A Turbo VAE with random weights (none on `device="meta"`), in eval mode."""
    if dtype not in _DTYPES:
        raise ConfigError(f"Turbo VAE dtype must be torch.float32 or torch.bfloat16, got {dtype}")
    cfg = TurboVAEConfig.load(config)
    with torch.device(device):
        vae = TurboVAE(cfg).to(dtype)
    return vae.eval().requires_grad_(False)


def load_turbo_vae(config, weights: str | Path, device: str | torch.device = "cpu",
                   dtype: torch.dtype = torch.float32) -> TurboVAE:
    """Build the decoder from `config` (dict of the official config's fields, or a JSON path) and load `weights`
    (safetensors with the official names, or the official `.ckpt`) strictly: CheckpointError lists missing,
    unexpected and mis-shaped tensors. Training-only feature heads in a `.ckpt` are skipped."""
    vae = build_turbo_vae(config, "meta", dtype)
    state = read_turbo_weights(weights)
    diff = compare_state(vae.state_dict(), state)
    if not diff.ok:
        raise CheckpointError(f"Turbo VAE weights {weights} do not match config {vae.config.source}: {diff.problems()}")
    vae = vae.to_empty(device=device)
    targets = vae.state_dict(keep_vars=True)
    with torch.no_grad():
        for name, target in targets.items():
            target.copy_(state[name])
    return vae.eval().requires_grad_(False)


def read_turbo_weights(path: str | Path) -> dict[str, torch.Tensor]:
    """Tensors by official name from a safetensors file or an official `.ckpt` (its `ema_state_dict`, keys with
    any `module.` prefix stripped, `decoder.` added when no key carries it)."""
    path = Path(path)
    if not path.is_file():
        raise CheckpointError(f"Turbo VAE weights {path} do not exist")
    if path.suffix == ".safetensors":
        from safetensors.torch import load_file

        try:
            state = load_file(str(path))
        except Exception as err:  # safetensors raises its own types for bad headers and short files
            raise CheckpointError(f"{path} is not a readable safetensors file (corrupt or truncated?): {err}") from err
    else:
        state = _ckpt_state(path)
    bad = sorted(k for k, v in state.items() if not isinstance(v, torch.Tensor) or not v.is_floating_point())
    if bad:
        raise CheckpointError(f"{path}: entries that are not floating-point tensors: {', '.join(bad[:10])}")
    return state


def _ckpt_state(path: Path) -> dict[str, torch.Tensor]:
    try:
        ckpt = torch.load(path, map_location="cpu", weights_only=True)
    except pickle.UnpicklingError as err:
        raise CheckpointError(
            f"refusing to load {path}: it holds pickled objects other than tensors and plain containers, which "
            f"could run code when loaded ({_refusal_reason(err)})"
        ) from err
    except (RuntimeError, OSError, EOFError, ValueError) as err:
        raise CheckpointError(f"{path} is not a readable torch checkpoint (corrupt or truncated?): {err}") from err
    if not isinstance(ckpt, dict) or not isinstance(ckpt.get("ema_state_dict"), dict):
        raise CheckpointError(f"{path} has no 'ema_state_dict' (the official Turbo VAE checkpoint keeps its "
                              f"weights there)")
    state = {k.removeprefix("module."): v for k, v in ckpt["ema_state_dict"].items()}
    if not any(k.startswith("decoder.") for k in state):
        state = {(k if k.startswith(TRAINING_ONLY_PREFIX) else f"decoder.{k}"): v for k, v in state.items()}
    return state


def _refusal_reason(err: Exception) -> str:
    """The line of torch's weights-only refusal that names the blocked object (not its generic advice)."""
    lines = [line.strip() for line in str(err).splitlines() if line.strip()]
    specific = [line for line in lines if "GLOBAL" in line or "Unsupported" in line or "unsupported" in line]
    return (specific or lines or ["unpickling refused"])[0]


@dataclass(frozen=True)
class StateDiff:
    """How a checkpoint's tensors differ from what a config builds."""

    missing: tuple[str, ...]
    unexpected: tuple[str, ...]
    misshaped: tuple[str, ...]  # "name: checkpoint [..] vs config [..]"
    ignored: tuple[str, ...]  # training-only heads, skipped
    tensors: int
    parameters: int

    @property
    def ok(self) -> bool:
        return not (self.missing or self.unexpected or self.misshaped)

    def problems(self) -> str:
        from model.loading import _listing

        parts = [f"{len(v)} {k} tensors: {_listing(list(v))}" for k, v in
                 (("missing", self.missing), ("unexpected", self.unexpected), ("mis-shaped", self.misshaped)) if v]
        return "; ".join(parts) or "none"


def compare_state(expected: Mapping[str, torch.Tensor], state: Mapping[str, torch.Tensor]) -> StateDiff:
    """Names and shapes of `state` against `expected` (a state_dict, meta tensors are fine)."""
    ignored = tuple(sorted(k for k in state if k.startswith(TRAINING_ONLY_PREFIX)))
    names = set(state) - set(ignored)
    misshaped = tuple(
        f"{k}: checkpoint {list(state[k].shape)} vs config {list(expected[k].shape)}"
        for k in expected if k in names and tuple(state[k].shape) != tuple(expected[k].shape)
    )
    return StateDiff(
        missing=tuple(k for k in expected if k not in names), unexpected=tuple(sorted(names - set(expected))),
        misshaped=misshaped, ignored=ignored, tensors=len(names),
        parameters=sum(state[k].numel() for k in names),
    )


def check_turbo_checkpoint(weights: str | Path, config=None) -> StateDiff:
    """Compare a Turbo VAE checkpoint's tensor names and shapes with `config` (default: the released config)."""
    expected = build_turbo_vae(config if config is not None else released_config(), "meta").state_dict()
    return compare_state(expected, read_turbo_weights(weights))


@dataclass(frozen=True)
class TurboVAECheck:
    """A downloaded Turbo VAE (config file + checkpoint) compared with the released config as reconstructed."""

    config: Path
    checkpoint: Path
    config_differences: tuple[str, ...]  # fields that shape decoding: "field: file X, released Y"
    config_notes: tuple[str, ...]  # fields without effect on decoding that differ (informational)
    tensors: StateDiff

    @property
    def ok(self) -> bool:
        return not self.config_differences and self.tensors.ok

    def lines(self) -> list[str]:
        """What a person reads: one line per finding."""
        t = self.tensors
        out = [f"turbo_vae checkpoint {self.checkpoint.name}: {t.tensors} tensors, {t.parameters:,} parameters"
               + (f" (+{len(t.ignored)} training-only tensors, not loaded)" if t.ignored else "")]
        if t.ok:
            out.append("turbo_vae tensor names and shapes match the released config")
        else:
            out.append(f"turbo_vae tensors differ from the released config: {t.problems()}")
        out += [f"turbo_vae config {self.config.name} differs: {d}" for d in self.config_differences]
        out += [f"turbo_vae config {self.config.name} differs (no effect on decoding): {d}" for d in self.config_notes]
        return out


def compare_config_fields(fields: Mapping[str, Any], reference: Mapping[str, Any]) -> tuple[str, ...]:
    """Field-by-field differences of two config dicts (keys starting with "_" are comments)."""
    keys = sorted(k for k in set(fields) | set(reference) if not k.startswith("_"))

    def shown(d: Mapping[str, Any], k: str) -> str:
        return repr(d[k]) if k in d else "(absent)"

    return tuple(f"{k}: file {shown(fields, k)}, released {shown(reference, k)}"
                 for k in keys if (k in fields, fields.get(k)) != (k in reference, reference.get(k)))


def _shapes_decoding(name: str) -> bool:
    return name in CLASS_DEFAULTS and name not in _UNUSED_FIELDS


def check_turbo_vae(folder: str | Path, layout: str | None = None) -> TurboVAECheck:
    """Compare the models folder's Turbo VAE config and checkpoint with the released config."""
    config_path, checkpoint = turbo_vae_files(folder, layout)
    released = released_config()
    differences = compare_config_fields(read_config_fields(config_path), released.fields)
    return TurboVAECheck(
        config=config_path, checkpoint=checkpoint,
        config_differences=tuple(d for d in differences if _shapes_decoding(d.split(":")[0])),
        config_notes=tuple(d for d in differences if not _shapes_decoding(d.split(":")[0])),
        tensors=check_turbo_checkpoint(checkpoint, released),
    )
