"""Building the DiT and loading official checkpoints strictly (docs/model.md §Loading).

The model is built on the meta device, every checkpoint key is checked against it (missing, unexpected,
mis-shaped, unsupported dtype), and only then are real tensors allocated and filled one at a time, cast into the model's
dtypes. Official key names are used as-is: no remapping, no prefix stripping.
"""

from __future__ import annotations

import json
from pathlib import Path

import torch
from safetensors import safe_open

from model.config import DiTConfig
from model.dit import DiT
from model.errors import CheckpointError, ConfigError
from model.rope import inverse_frequencies

SINGLE_FILE = "model.safetensors"
INDEX_FILE = "model.safetensors.index.json"
OPTIONAL_KEYS = frozenset({"adapter.rope.bands"})  # a deterministic buffer; checkpoints may omit it
MLP_PAD_MULTIPLE = 64  # swiglu width 13652 -> 13696: tensor-core friendly GEMM K/N sizes (exact)
MLP_CHUNK_TOKENS = 16384  # tokens per MLP chunk of loaded DiTs (exact; bounds float32 intermediates)
_DTYPES = (torch.bfloat16, torch.float32)
# On-disk dtypes cast exactly enough into the model's bf16/float32 tensors. FP8 re-quantisations (F8_*) and
# integer tensors are refused: casting them would silently load different weights.
_DISK_DTYPES = ("BF16", "F16", "F32", "F64")


def build_dit(
    preset: str | DiTConfig = "15b",
    device: str | torch.device = "cpu",
    dtype: torch.dtype = torch.bfloat16,
    local_attn_layers=None,
    attn_backend: str = "sdpa",
) -> DiT:
    """A DiT with random weights (or none, on `device="meta"`), in eval mode.

    `dtype=torch.bfloat16` gives the official in-memory layout and bf16 recipe (bf16 block linears, float32
    everything else); `dtype=torch.float32` makes every tensor float32 (the float32 reference path).
    """
    cfg = preset if isinstance(preset, DiTConfig) else DiTConfig.preset(preset)
    if local_attn_layers is not None:
        cfg = cfg.with_local_attn_layers(local_attn_layers)
    if dtype not in _DTYPES:
        raise ConfigError(f"dtype must be torch.bfloat16 (official recipe) or torch.float32, got {dtype}")
    with torch.device(device):
        dit = DiT(cfg, dtype=dtype, attn_backend=attn_backend)
    return dit.eval().requires_grad_(False)


def load_dit(
    path: str | Path,
    preset: str | DiTConfig = "15b",
    device: str | torch.device = "cpu",
    dtype: torch.dtype = torch.bfloat16,
    local_attn_layers=None,
    attn_backend: str = "sdpa",
    pad_mlp_to: int | None = None,
    compile: bool = False,
) -> DiT:
    """Load a DiT checkpoint: a .safetensors file, or a folder with model.safetensors or an index + shards.

    On-disk tensors may be bf16, fp16 or float32; each is cast to the model's dtype for that tensor (see
    `build_dit` for `dtype`). Raises CheckpointError naming the file and the offending keys. `pad_mlp_to`
    zero-pads the MLP widths afterwards (exact), `compile` torch.compiles each layer.
    """
    dit = build_dit(preset, device="meta", dtype=dtype, local_attn_layers=local_attn_layers, attn_backend=attn_backend)
    expected = dit.state_dict()
    sources = checkpoint_sources(Path(path))  # key -> file
    _check_keys(expected, sources, Path(path))

    dit = dit.to_empty(device=device)
    targets = dit.state_dict(keep_vars=True)
    with torch.no_grad():
        for file, keys in _by_file(sources).items():
            with _open(file) as f:
                for key in keys:
                    targets[key].copy_(_read(f, file, key))
        if "adapter.rope.bands" not in sources:
            bands = dit.adapter.rope.bands
            bands.copy_(inverse_frequencies(bands.numel(), dit.cfg.rope_theta))
    if pad_mlp_to:
        dit.pad_mlp_width(pad_mlp_to)
    if compile:
        dit.compile_layers()
    return dit.eval().requires_grad_(False)


def with_fast_paths(
    dit: DiT, device: str | torch.device, compile: bool | None = None, mlp_multiple: int | None = MLP_PAD_MULTIPLE
) -> DiT:
    """The fast paths every DiT of `Generator.from_pretrained` runs with (and `bench/dit_bench.py` measures), each
    exact (docs/model.md §Fast paths): the MLP width zero-padded to a multiple of 64, the MLP run over at most
    16,384 tokens at a time, and (`compile`, default: when `device` is a CUDA device) every layer compiled with a
    dynamic token count. `device` is where the DiT computes, which may differ from where its weights rest.
    `mlp_multiple=None` leaves the official widths (benchmarks compare the two)."""
    if mlp_multiple:
        dit.pad_mlp_width(mlp_multiple)
    dit.chunk_mlp(MLP_CHUNK_TOKENS)
    if compile is None:
        compile = torch.device(device).type == "cuda"
    if compile:
        dit.compile_layers()
    return dit


def checkpoint_sources(path: Path) -> dict[str, Path]:
    """Map every tensor name to the file that holds it, checking that each file exists and its header parses."""
    if path.is_file():
        return {key: path for key in _keys_of(path)}
    if not path.is_dir():
        raise CheckpointError(f"checkpoint {path} does not exist")
    if (path / INDEX_FILE).is_file():
        return _sharded_sources(path / INDEX_FILE)
    if (path / SINGLE_FILE).is_file():
        return {key: path / SINGLE_FILE for key in _keys_of(path / SINGLE_FILE)}
    raise CheckpointError(f"checkpoint folder {path} holds neither {SINGLE_FILE} nor {INDEX_FILE}")


def _sharded_sources(index: Path) -> dict[str, Path]:
    try:
        weight_map = json.loads(index.read_text())["weight_map"]
    except (OSError, ValueError, KeyError, TypeError) as err:
        raise CheckpointError(f"{index} is not a safetensors index with a 'weight_map': {err}") from err
    sources = {}
    for shard_name in sorted(set(weight_map.values())):
        shard = index.parent / shard_name
        if not shard.is_file():
            zst = shard.with_name(shard.name + ".zst").is_file()
            hint = " (a .zst copy exists: decompress it with `zstd -d`)" if zst else ""
            raise CheckpointError(f"shard {shard} listed in {index} is missing{hint}")
        in_shard = set(_keys_of(shard))
        listed = {k for k, v in weight_map.items() if v == shard_name}
        if listed - in_shard:
            raise CheckpointError(f"{index} maps keys {sorted(listed - in_shard)[:5]} to {shard}, which lacks them")
        sources.update({key: shard for key in listed})
    return sources


def _check_keys(expected: dict, sources: dict[str, Path], path: Path) -> None:
    missing = sorted(set(expected) - set(sources) - OPTIONAL_KEYS)
    unexpected = sorted(set(sources) - set(expected))
    misshaped, bad_dtype = [], []
    for file, keys in _by_file({k: v for k, v in sources.items() if k in expected}).items():
        with _open(file) as f:
            for key in keys:
                sl = f.get_slice(key)
                shape, dt = tuple(sl.get_shape()), sl.get_dtype()
                if shape != tuple(expected[key].shape):
                    misshaped.append(f"{key}: checkpoint {list(shape)} vs model {list(expected[key].shape)}")
                if dt not in _DISK_DTYPES:
                    bad_dtype.append(f"{key}: {dt}")
    problems = []
    if missing:
        problems.append(f"{len(missing)} missing keys: {_listing(missing)}")
    if unexpected:
        problems.append(f"{len(unexpected)} unexpected keys: {_listing(unexpected)}")
    if misshaped:
        problems.append(f"{len(misshaped)} mis-shaped keys: {_listing(misshaped)}")
    if bad_dtype:
        problems.append(
            f"{len(bad_dtype)} keys of an unsupported dtype (need {', '.join(_DISK_DTYPES)}): {_listing(bad_dtype)}"
        )
    if problems:
        raise CheckpointError(f"checkpoint {path} does not match the DiT: " + "; ".join(problems))


def _keys_of(file: Path) -> list[str]:
    with _open(file) as f:
        return list(f.keys())


def _open(file: Path):
    try:
        return safe_open(str(file), framework="pt", device="cpu")
    except Exception as err:  # safetensors raises its own error types for bad headers and short files
        raise CheckpointError(f"{file} is not a readable safetensors file (corrupt or truncated?): {err}") from err


def _read(f, file: Path, key: str) -> torch.Tensor:
    try:
        return f.get_tensor(key)
    except Exception as err:
        raise CheckpointError(f"cannot read tensor {key!r} from {file} (corrupt or truncated?): {err}") from err


def _by_file(sources: dict[str, Path]) -> dict[Path, list[str]]:
    files: dict[Path, list[str]] = {}
    for key, file in sources.items():
        files.setdefault(file, []).append(key)
    return files


def _listing(items: list[str], limit: int = 10) -> str:
    shown = ", ".join(items[:limit])
    return shown + (f", ... ({len(items) - limit} more)" if len(items) > limit else "")
