"""Benchmark one DiT forward and one sampling step at the packed lengths of a 5 s clip (docs/cost.md).

    python bench/dit_bench.py                          # CUDA if present: 15B, random bf16 weights built on the GPU
    python bench/dit_bench.py --preset tiny --device cpu --seconds 1   # the same code path on a CPU

Cases (5 s, T = 32 latent frames, Na = 126 audio frames, Nt = 350 text tokens by default):
  256p  448x256  latent 16x28  112 tokens/frame   L = 4,060   coords v2, full attention
  540p  896x512  latent 32x56  448 tokens/frame   L = 14,812  coords v1, full attention
  1080p 1920x1088 latent 68x120 2,040 tokens/frame L = 65,756 coords v1, local attention in 32 layers, rf 11
A "step" is pack -> forward -> unpack -> Euler update x += (σ_next - σ)·v of the video and audio latents.
FLOPs follow docs/cost.md §Counting rule: matmuls only (block linears, adapters, heads, QKᵀ and PV),
a multiply-add = 2 FLOPs.
"""

from __future__ import annotations

import argparse
import platform
import resource
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # run from a checkout without installing

from model import DiTConfig, build_dit, local_attention_ranges, pack, unpack  # noqa: E402
from model.attention import LocalPlan  # noqa: E402
from model.config import FRAME_RECEPTIVE_FIELD_1080P, LOCAL_ATTN_LAYERS_1080P  # noqa: E402
from model.generator import clip_lengths  # noqa: E402  (audio frames Na = F = 25S + 1, latent frames T)


@dataclass(frozen=True)
class Case:
    name: str
    latent_hw: tuple[int, int]  # latent H, W (pixels / 16)
    style: str
    local: bool


CASES = {
    "256p": Case("256p", (16, 28), "v2", False),
    "540p": Case("540p", (32, 56), "v1", False),
    "1080p": Case("1080p", (68, 120), "v1", True),
}
# Local-attention layers of the 1080p SR run; the tiny preset uses those of its conformance SR case.
LOCAL_LAYERS = {"15b": LOCAL_ATTN_LAYERS_1080P, "tiny": (0, 1, 2, 4, 5, 6, 7)}


def linear_flops(cfg: DiTConfig, nv: int, na: int, nt: int) -> float:
    """2·[L·(active block-linear weights per token) + adapter/head weights per token of each modality]."""
    d = cfg.hidden_size
    per_token = 0
    for i in range(cfg.num_layers):
        width = cfg.gelu_width if cfg.activation(i) == "gelu7" else cfg.swiglu_width
        up = width if cfg.activation(i) == "gelu7" else 2 * width
        per_token += d * cfg.qkv_width + d * d + d * up + width * d
    video, audio, text = 2 * cfg.video_in_channels * d, 2 * cfg.audio_in_channels * d, cfg.text_in_channels * d
    return 2.0 * ((nv + na + nt) * per_token + nv * video + na * audio + nt * text)


def attention_flops(cfg: DiTConfig, length: int, local_layers, plan: LocalPlan | None) -> float:
    """4·(Hq·head_dim)·P per layer, P = L² for full attention, Σ |queries|·|allowed keys| for local layers."""
    local_pairs = 0 if plan is None else sum(
        _count(q, length) * sum(_count(run, length) for run in runs) for q, runs in plan.groups
    )
    pairs = sum(local_pairs if i in local_layers else length * length for i in range(cfg.num_layers))
    return 4.0 * cfg.num_heads_q * cfg.head_dim * pairs


def _count(sel, length: int) -> int:
    return len(range(length)[sel]) if isinstance(sel, slice) else int(sel.numel())


def _sync(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def _timed(fn, device, warmup: int, repeats: int) -> float:
    """Median wall time of fn() in ms after `warmup` untimed calls."""
    for _ in range(warmup):
        fn()
    times = []
    for _ in range(repeats):
        _sync(device)
        start = time.perf_counter()
        fn()
        _sync(device)
        times.append((time.perf_counter() - start) * 1e3)
    return sorted(times)[len(times) // 2]


def run_case(dit, case: Case, args, device) -> dict:
    cfg = dit.cfg
    na, frames = clip_lengths(args.seconds)
    h, w = case.latent_hw
    g = torch.Generator(device=device).manual_seed(0)
    video = torch.randn(48, frames, h, w, device=device, generator=g)
    audio = torch.randn(na, 64, device=device, generator=g)
    text = torch.randn(args.text_tokens, cfg.text_in_channels, device=device, generator=g)
    packed = pack(video, audio, text, style=case.style)
    local_layers = LOCAL_LAYERS.get(args.preset, ()) if case.local else ()
    dit.set_local_attn_layers(local_layers)
    ranges = local_attention_ranges(packed, FRAME_RECEPTIVE_FIELD_1080P) if case.local else (None, None)
    plan = LocalPlan.from_ranges(*ranges, packed.length) if case.local else None
    sigma, sigma_next = 0.9522, 0.8821  # an SR-schedule interval; any pair times the same

    def forward():
        return dit(packed.x, packed.coords, packed.modality, *ranges)

    def step():
        p = pack(video, audio, text, style=case.style)
        v_video, v_audio = unpack(dit(p.x, p.coords, p.modality, *ranges), p)
        return video + (sigma_next - sigma) * v_video, audio + (sigma_next - sigma) * v_audio

    if device.type == "cuda":
        torch.cuda.reset_peak_memory_stats(device)
    with torch.inference_mode():
        fwd_ms = _timed(forward, device, args.warmup, args.repeats)
        step_ms = _timed(step, device, 0, args.repeats)
    flops = linear_flops(cfg, packed.num_video, packed.num_audio, packed.num_text) + attention_flops(
        cfg, packed.length, local_layers, plan
    )
    peak = torch.cuda.max_memory_allocated(device) / 2**30 if device.type == "cuda" else _peak_rss_gib()
    return dict(case=case.name, L=packed.length, nv=packed.num_video, na=packed.num_audio, nt=packed.num_text,
                local=len(local_layers), fwd_ms=fwd_ms, step_ms=step_ms, tflop=flops / 1e12,
                tflops=flops / 1e12 / (fwd_ms / 1e3), step_tflops=flops / 1e12 / (step_ms / 1e3), peak=peak)


def _peak_rss_gib() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2**20  # KiB on Linux


def device_name(device: torch.device) -> str:
    if device.type == "cuda":
        return torch.cuda.get_device_name(device)
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip() + f" ({torch.get_num_threads()} threads)"
    except OSError:
        pass
    return platform.processor() or "cpu"


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--preset", default="15b", choices=["15b", "tiny"])
    parser.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu")
    parser.add_argument("--dtype", default="bf16", choices=["bf16", "fp32"], help="bf16 = the official recipe")
    parser.add_argument("--backend", default="sdpa", choices=["sdpa", "flex", "reference"])
    parser.add_argument("--pad-mlp", type=int, default=128, help="zero-pad MLP widths to this multiple (0 = off)")
    parser.add_argument("--compile", action="store_true", help="torch.compile each layer")
    parser.add_argument("--cases", default="256p,540p,1080p")
    parser.add_argument("--seconds", type=float, default=5.0, help="clip length (5 s: T = 32, Na = 126)")
    parser.add_argument("--text-tokens", type=int, default=350)
    parser.add_argument("--warmup", type=int, default=1)
    parser.add_argument("--repeats", type=int, default=2)
    parser.add_argument("--threads", type=int, default=0, help="CPU threads for torch (0 = torch's default)")
    args = parser.parse_args(argv)
    if args.threads:
        torch.set_num_threads(args.threads)

    device = torch.device(args.device)
    dtype = torch.bfloat16 if args.dtype == "bf16" else torch.float32
    if device.type == "cuda" and dtype == torch.bfloat16:
        # Only the small float32 adapter/head matmuls are affected in the bf16 recipe; an --dtype fp32 run stays
        # true float32 (TF32 there would time a different, lower-precision model).
        torch.backends.cuda.matmul.allow_tf32 = True
    t0 = time.perf_counter()
    dit = build_dit(args.preset, device=device, dtype=dtype, attn_backend=args.backend)
    if args.pad_mlp:
        dit.pad_mlp_width(args.pad_mlp)
    if args.compile:
        dit.compile_layers()
    _sync(device)
    print(f"device: {device_name(device)} | torch {torch.__version__} | preset {args.preset} "
          f"({dit.num_parameters() / 1e9:.3f} B params, random) | {args.dtype} | attention {args.backend} | "
          f"mlp pad {args.pad_mlp or 'off'} | compile {args.compile} | built in {time.perf_counter() - t0:.1f} s")
    na, frames = clip_lengths(args.seconds)
    print(f"clip {args.seconds:g} s: T = {frames} latent frames, Na = {na}, Nt = {args.text_tokens}; "
          f"median of {args.repeats} after {args.warmup} warm-up")
    header = (f"{'case':<6} {'L':>7} {'Nv/Na/Nt':>17} {'local':>5} {'fwd ms':>10} {'step ms':>10} "
              f"{'TFLOP/fwd':>10} {'TFLOP/s fwd':>11} {'TFLOP/s step':>12} {'peak GiB':>9}")
    print(header)
    for name in args.cases.split(","):
        r = run_case(dit, CASES[name], args, device)
        counts = f"{r['nv']}/{r['na']}/{r['nt']}"
        print(f"{r['case']:<6} {r['L']:>7} {counts:>17} {r['local']:>5} "
              f"{r['fwd_ms']:>10.1f} {r['step_ms']:>10.1f} {r['tflop']:>10.3f} {r['tflops']:>11.3f} "
              f"{r['step_tflops']:>12.3f} {r['peak']:>9.2f}", flush=True)
    if device.type != "cuda":
        print("peak = process peak RSS (CPU); on CUDA it is torch.cuda.max_memory_allocated")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
