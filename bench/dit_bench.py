"""Benchmark one DiT forward and one sampling step at the packed lengths of a 5 s clip (docs/cost.md).

    python bench/dit_bench.py                          # CUDA if present: 15B, random bf16 weights built on the GPU
    python bench/dit_bench.py --preset tiny --device cpu --seconds 1   # the same code path on a CPU
    python bench/dit_bench.py --sdpa-backends          # one attention call per SDPA kernel at 4k and 65k tokens

The DiT is built as `Generator.from_pretrained` builds it (`model.loading.with_fast_paths`: MLP padded to a
multiple of 64 and chunked, layers compiled with a dynamic token count on CUDA, the SDPA attention backend), so
the figures are the generator's; `--pad-mlp 0`, `--compile off` or `--backend flex` measure the alternatives.
`--sdpa-backends` times the attention as the generator calls it (queries grouped per KV head; at 1080p also the
local layers' windowed calls merged by log-sum-exp) under each of flash, cuDNN, memory-efficient and math
(`torch.nn.attention.sdpa_kernel`), and names the kernels this machine or torch build does not offer.

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
import warnings
from dataclasses import dataclass
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # run from a checkout without installing

from model import DiTConfig, build_dit, local_attention_ranges, local_attention_ranges_for, pack, unpack  # noqa: E402
from model.attention import LocalPlan, attention  # noqa: E402
from model.config import FRAME_RECEPTIVE_FIELD_1080P, LOCAL_ATTN_LAYERS_1080P  # noqa: E402
from model.generator import clip_lengths  # noqa: E402  (audio frames Na = F = 25S + 1, latent frames T)
from model.loading import MLP_CHUNK_TOKENS, MLP_PAD_MULTIPLE, with_fast_paths  # noqa: E402


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
    local = 0 if plan is None else local_pairs(plan, length)
    pairs = sum(local if i in local_layers else length * length for i in range(cfg.num_layers))
    return 4.0 * cfg.num_heads_q * cfg.head_dim * pairs


def local_pairs(plan: LocalPlan, length: int) -> int:
    """(query, key) pairs a local layer computes: Σ over query classes of |queries|·|allowed keys|."""
    return sum(_count(q, length) * sum(_count(run, length) for run in runs) for q, runs in plan.groups)


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
    h, w = latent_hw(case, args)
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


def latent_hw(case: Case, args) -> tuple[int, int]:
    """The case's latent H, W, or the --latent-hw override (even sizes, for the 2×2 patch)."""
    if not args.latent_hw:
        return case.latent_hw
    h, w = (int(n) for n in args.latent_hw.lower().split("x"))
    return h, w


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


def machine(device: torch.device) -> str:
    """One line naming the machine the figures come from: host, device, torch / CUDA / cuDNN versions."""
    parts = [f"machine: {platform.node() or 'unknown host'}", device_name(device), f"torch {torch.__version__}"]
    if device.type == "cuda":
        parts += [f"CUDA {torch.version.cuda}", f"cuDNN {torch.backends.cudnn.version()}"]
    return " | ".join(parts)


# --sdpa-backends ------------------------------------------------------------------------------------------------

SDPA_KERNELS = {"flash": "FLASH_ATTENTION", "cudnn": "CUDNN_ATTENTION", "efficient": "EFFICIENT_ATTENTION",
                "math": "MATH"}


def attention_inputs(cfg: DiTConfig, case: Case, args, device, dtype):
    """Random q [L, Hq, D], k and v [L, Hkv, D] at the case's packed length, and its local plan (1080p) or None."""
    na, frames = clip_lengths(args.seconds)
    h, w = latent_hw(case, args)
    nv = frames * (h // 2) * (w // 2)
    length = nv + na + args.text_tokens
    g = torch.Generator(device=device).manual_seed(0)
    q, k, v = (torch.randn(length, heads, cfg.head_dim, device=device, generator=g).to(dtype)
               for heads in (cfg.num_heads_q, cfg.num_heads_kv, cfg.num_heads_kv))
    ranges = local_attention_ranges_for(nv, frames, length, FRAME_RECEPTIVE_FIELD_1080P)
    return q, k, v, LocalPlan.from_ranges(*ranges, length, device) if case.local else None


def time_kernel(name: str, q, k, v, plan, args, device) -> tuple[float | None, str]:
    """(median ms, "") of one attention call under SDPA kernel `name` alone, or (None, why it did not run)."""
    from torch.nn.attention import SDPBackend, sdpa_kernel

    length = q.shape[0]
    scores = 2 * q.shape[1] * length * length * 4  # the math kernel's float32 scores and probabilities
    room = torch.cuda.mem_get_info(device)[0] if device.type == "cuda" else 8 * 2**30
    if name == "math" and plan is None and scores > room:
        return None, f"skipped: the math kernel would need {scores / 2**30:.0f} GiB of scores"
    try:
        with warnings.catch_warnings(), sdpa_kernel([getattr(SDPBackend, SDPA_KERNELS[name])]):
            warnings.simplefilter("ignore")  # torch explains each refused kernel in a warning; the error says enough
            return _timed(lambda: attention(q, k, v, "sdpa", plan), device, args.warmup, args.repeats), ""
    except RuntimeError as err:  # "No available kernel", out of memory, unsupported dtype or GPU
        first_line = (str(err).strip() or "?").splitlines()[0][:80]
        return None, f"unavailable on this {device.type} / torch build: {first_line}"


def sdpa_backends_table(cfg: DiTConfig, args, device, dtype) -> None:
    """Time the generator's attention call per SDPA kernel; full layers, and at 1080p also the local layers."""
    print(f"SDPA kernels, {args.dtype}: q [L, {cfg.num_heads_q}, {cfg.head_dim}] over k, v [L, {cfg.num_heads_kv}, "
          f"{cfg.head_dim}], queries grouped per KV head as the generator runs them; median of {args.repeats} "
          f"after {args.warmup} warm-up")
    print(f"{'case':<6} {'L':>7} {'layers':>6} {'kernel':<9} {'ms':>9} {'TFLOP/s':>8}")
    for name in args.cases.split(","):
        q, k, v, plan = attention_inputs(cfg, CASES[name], args, device, dtype)
        length = q.shape[0]
        for layers, layer_plan in (("full", None), ("local", plan)) if plan is not None else (("full", None),):
            pairs = length * length if layer_plan is None else local_pairs(layer_plan, length)
            for kernel in SDPA_KERNELS:
                ms, why = time_kernel(kernel, q, k, v, layer_plan, args, device)
                timing = f"{ms:>9.2f} {4.0 * q.shape[1] * q.shape[2] * pairs / ms / 1e9:>8.2f}" if ms else why
                print(f"{name:<6} {length:>7} {layers:>6} {kernel:<9} {timing}", flush=True)


# main -----------------------------------------------------------------------------------------------------------


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--preset", default="15b", choices=["15b", "tiny"])
    parser.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu")
    parser.add_argument("--dtype", default="bf16", choices=["bf16", "fp32"], help="bf16 = the official recipe")
    parser.add_argument("--backend", default="sdpa", choices=["sdpa", "flex", "reference"])
    parser.add_argument("--pad-mlp", type=int, default=MLP_PAD_MULTIPLE,
                        help="zero-pad MLP widths to this multiple (default: the generator's; 0 = off)")
    parser.add_argument("--compile", nargs="?", const="on", default="auto", choices=["auto", "on", "off"],
                        help="torch.compile each layer, dynamic token count (auto = as the generator: on CUDA)")
    parser.add_argument("--sdpa-backends", action="store_true",
                        help="time the attention call under each SDPA kernel (flash, cuDNN, efficient, math)")
    parser.add_argument("--cases", default=None, help="default 256p,540p,1080p (--sdpa-backends: 256p,1080p)")
    parser.add_argument("--seconds", type=float, default=5.0, help="clip length (5 s: T = 32, Na = 126)")
    parser.add_argument("--text-tokens", type=int, default=350)
    parser.add_argument("--latent-hw", default=None, help="latent HxW for every case, e.g. 4x6 (CPU smoke runs)")
    parser.add_argument("--warmup", type=int, default=1)
    parser.add_argument("--repeats", type=int, default=2)
    parser.add_argument("--threads", type=int, default=0, help="CPU threads for torch (0 = torch's default)")
    return parser


def main(argv=None) -> int:
    args = _parser().parse_args(argv)
    if args.threads:
        torch.set_num_threads(args.threads)
    device = torch.device(args.device)
    dtype = torch.bfloat16 if args.dtype == "bf16" else torch.float32
    # TF32 stays at torch's default (off), as in the generator: the bench times exactly what the generator runs.
    print(machine(device))
    if args.sdpa_backends:
        args.cases = args.cases or "256p,1080p"
        sdpa_backends_table(DiTConfig.preset(args.preset), args, device, dtype)
        return 0
    args.cases = args.cases or "256p,540p,1080p"
    t0 = time.perf_counter()
    compile = {"auto": None, "on": True, "off": False}[args.compile]
    dit = with_fast_paths(build_dit(args.preset, device=device, dtype=dtype, attn_backend=args.backend), device,
                          compile, args.pad_mlp or None)
    compiled = device.type == "cuda" if compile is None else compile
    _sync(device)
    print(f"preset {args.preset} ({dit.num_parameters() / 1e9:.3f} B params, random) | {args.dtype} | attention "
          f"{args.backend} | mlp pad {args.pad_mlp or 'off'} | mlp chunk {MLP_CHUNK_TOKENS} | compile "
          f"{'on (dynamic)' if compiled else 'off'} | built in {time.perf_counter() - t0:.1f} s "
          f"(as Generator.from_pretrained: model.loading.with_fast_paths)")
    forward_table(dit, args, device)
    return 0


def forward_table(dit, args, device) -> None:
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


if __name__ == "__main__":
    raise SystemExit(main())
