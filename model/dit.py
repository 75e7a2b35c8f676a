"""The daVinci-MagiHuman DiT (docs/model.md §The DiT): config -> building blocks -> network. No I/O here.

One packed sample: x [L, C] (video, audio, text tokens), coords [L, 9], modality [L] -> velocity rows [L, 192].
There is no timestep input: the network infers the noise level from the latents.

Precision follows the dtype of the block-linear weights (linear_qkv, linear_proj, up_gate_proj, down_proj):
float32 weights run float32 throughout; bf16 weights run the official recipe (docs/model.md §Precision): bf16
matmul inputs and outputs, bf16 attention inputs, and float32 residual stream, norms, RoPE, activations, adapters
and heads.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn.functional as F
from einops import rearrange
from torch import Tensor, nn

from model.attention import BACKENDS, LocalPlan, attention
from model.config import AUDIO, NUM_MODALITIES, TEXT, VIDEO, DiTConfig
from model.errors import ConfigError, PackingError
from model.rope import ElementWiseFourierEmbed, apply_rope

Segments = tuple[tuple[int, int, int], ...]  # (modality id, start, end) runs of equal modality, in token order


@dataclass
class Context:
    """Per-forward values shared by all layers."""

    segments: Segments
    rope: Tensor  # (L, 6·bands) [sin | cos]
    local: LocalPlan | None
    backend: str
    mlp_chunk: int | None = None  # tokens per MLP chunk (memory fast path); None = all at once


# ---------------------------------------------------------------------------------------------------------------
# Building blocks
# ---------------------------------------------------------------------------------------------------------------


def rms_norm(x: Tensor, offset: Tensor, eps: float) -> Tensor:
    """x · rsqrt(mean(x²) + eps) · (1 + offset) over the last dim, in float32, cast back to x's dtype."""
    xf = x.float()
    return (xf * torch.rsqrt(xf.pow(2).mean(-1, keepdim=True) + eps) * (1 + offset.float())).to(x.dtype)


def gelu7(u: Tensor) -> Tensor:
    """Clamped sigmoid-GELU: min(x,7)·σ(1.702·min(x,7))."""
    u = u.clamp(max=7.0)
    return u * torch.sigmoid(1.702 * u)


def swiglu7(u: Tensor) -> Tensor:
    """GPT-OSS style gated unit on an interleaved input: channel 2j gates, channel 2j+1 is linear (+1)."""
    a, b = u[..., 0::2].clamp(max=7.0), u[..., 1::2].clamp(-7.0, 7.0)  # (L, W) each
    return a * torch.sigmoid(1.702 * a) * (b + 1)


class ExpertRMSNorm(nn.Module):
    """RMSNorm over the last dim; with 3 experts the weight [3·dim] is picked per token by modality."""

    def __init__(self, dim: int, num_experts: int = 1, eps: float = 1e-6):
        super().__init__()
        self.dim, self.num_experts, self.eps = dim, num_experts, eps
        self.weight = nn.Parameter(torch.zeros(num_experts * dim))  # offset from 1

    def forward(self, x: Tensor, segments: Segments) -> Tensor:
        if self.num_experts == 1:
            return rms_norm(x, self.weight, self.eps)
        w = self.weight.view(self.num_experts, self.dim)  # (E, dim)
        out = torch.empty_like(x)
        for e, s, t in segments:
            out[s:t] = rms_norm(x[s:t], w[e], self.eps)
        return out


class ExpertLinear(nn.Module):
    """Bias-free block linear; with 3 experts the weight [3·out, in] holds expert e in rows [e·out, (e+1)·out).

    Input and output are float32; the matmul runs in the weight's dtype (bf16 in the official recipe), so the
    output is rounded to bf16 before being upcast.
    """

    def __init__(self, in_features: int, out_features: int, num_experts: int = 1, dtype=torch.bfloat16):
        super().__init__()
        self.in_features, self.out_features, self.num_experts = in_features, out_features, num_experts
        self.weight = nn.Parameter(torch.empty(num_experts * out_features, in_features, dtype=dtype))
        self.reset_parameters()

    def reset_parameters(self) -> None:
        if not self.weight.is_meta:
            nn.init.normal_(self.weight, std=self.in_features**-0.5)

    def forward(self, x: Tensor, segments: Segments) -> Tensor:
        if self.num_experts == 1:
            return F.linear(x.to(self.weight.dtype), self.weight).float()
        w = self.weight.view(self.num_experts, self.out_features, self.in_features)  # (E, out, in)
        out = x.new_empty(x.shape[0], self.out_features, dtype=torch.float32)
        for e, s, t in segments:
            out[s:t] = F.linear(x[s:t].to(w.dtype), w[e]).float()
        return out


# ---------------------------------------------------------------------------------------------------------------
# Transformer layer
# ---------------------------------------------------------------------------------------------------------------


class Attention(nn.Module):
    """Pre-norm, fused q|k|v|gate projection, qk-norm, RoPE, GQA softmax attention, sigmoid head gate, out proj."""

    def __init__(self, cfg: DiTConfig, layer: int, dtype=torch.bfloat16):
        super().__init__()
        e, d, hd = cfg.num_experts(layer), cfg.hidden_size, cfg.head_dim
        self.cfg, self.local = cfg, layer in cfg.local_attn_layers
        # Registration order = official state-dict order.
        self.pre_norm = ExpertRMSNorm(d, e, cfg.norm_eps)
        self.linear_qkv = ExpertLinear(d, cfg.qkv_width, e, dtype)
        self.linear_proj = ExpertLinear(d, d, e, dtype)
        self.q_norm = ExpertRMSNorm(hd, e, cfg.norm_eps)
        self.k_norm = ExpertRMSNorm(hd, e, cfg.norm_eps)

    def forward(self, h: Tensor, ctx: Context) -> Tensor:
        cfg, seg = self.cfg, ctx.segments
        qkvg = self.linear_qkv(self.pre_norm(h, seg), seg)  # (L, qkv_width) float32
        hq, hkv, hd = cfg.num_heads_q, cfg.num_heads_kv, cfg.head_dim
        q, k, v, gate = qkvg.split([hq * hd, hkv * hd, hkv * hd, qkvg.shape[-1] - (hq + 2 * hkv) * hd], dim=-1)
        q = rearrange(q, "l (h d) -> l h d", d=hd)  # (L, Hq, D), head-major rows
        k = rearrange(k, "l (h d) -> l h d", d=hd)  # (L, Hkv, D)
        v = rearrange(v, "l (h d) -> l h d", d=hd)  # (L, Hkv, D)
        q = apply_rope(self.q_norm(q, seg), ctx.rope)
        k = apply_rope(self.k_norm(k, seg), ctx.rope)
        dt = self.linear_qkv.weight.dtype  # attention runs on bf16 q/k/v in the bf16 recipe
        o = attention(q.to(dt), k.to(dt), v.to(dt), ctx.backend, ctx.local if self.local else None).float()
        if cfg.enable_attn_gating:
            o = o * torch.sigmoid(gate)[..., None]  # (L, Hq, D) * (L, Hq, 1)
        return self.linear_proj(rearrange(o, "l h d -> l (h d)"), seg)


class MLP(nn.Module):
    """Pre-norm, up projection, gelu7 or swiglu7 (interleaved gate/linear channels), down projection."""

    def __init__(self, cfg: DiTConfig, layer: int, dtype=torch.bfloat16):
        super().__init__()
        e, d = cfg.num_experts(layer), cfg.hidden_size
        self.activation = cfg.activation(layer)
        width = cfg.gelu_width if self.activation == "gelu7" else cfg.swiglu_width
        up_rows = width if self.activation == "gelu7" else 2 * width
        self.pre_norm = ExpertRMSNorm(d, e, cfg.norm_eps)
        self.up_gate_proj = ExpertLinear(d, up_rows, e, dtype)
        self.down_proj = ExpertLinear(width, d, e, dtype)

    def forward(self, h: Tensor, ctx: Context) -> Tensor:
        if ctx.mlp_chunk and h.shape[0] > ctx.mlp_chunk:
            return self._chunked(h, ctx)
        return self._tokens(h, ctx.segments)

    @torch.compiler.disable(recursive=False)
    def _chunked(self, h: Tensor, ctx: Context) -> Tensor:
        # The MLP acts per token, so token chunks give the same result with a bounded float32
        # intermediate (65,756 x 27,304 x 4 B = 7.2 GB unchunked at 1080p). Chunks never straddle two modalities
        # and torch.compile traces `_tokens`, not this loop: one graph per modality, whatever the length. Each
        # modality run is cut into near-equal chunks, so no chunk is a 1-token remainder (compile specialises size 1).
        pieces = []
        for e, start, end in ctx.segments:
            n = -(-(end - start) // ctx.mlp_chunk)  # chunks in this run
            cuts = [start + i * (end - start) // n for i in range(n + 1)]
            pieces += [(e, s, t) for s, t in zip(cuts, cuts[1:], strict=False)]
        return torch.cat([self._tokens(h[s:t], ((e, 0, t - s),)) for e, s, t in pieces])

    def _tokens(self, h: Tensor, seg: Segments) -> Tensor:
        u = self.up_gate_proj(self.pre_norm(h, seg), seg)  # (L, up_rows) float32
        act = gelu7(u) if self.activation == "gelu7" else swiglu7(u)  # (L, width)
        return self.down_proj(act, seg)

    def pad_width(self, multiple: int) -> None:
        """Zero-pad the hidden width to a multiple of `multiple`. Exact: a zero gate row gives a zero activation."""
        up, down = self.up_gate_proj, self.down_proj
        width = down.in_features
        padded = -(-width // multiple) * multiple
        if padded == width:
            return
        per_unit = up.out_features // width  # 2 rows per channel for swiglu7 (gate, linear), 1 for gelu7
        w_up = up.weight.data.view(up.num_experts, up.out_features, up.in_features)  # (E, rows, D)
        w_up = F.pad(w_up, (0, 0, 0, (padded - width) * per_unit)).flatten(0, 1)  # (E·rows', D)
        w_down = F.pad(down.weight.data, (0, padded - width))  # (E·D, width')
        up.weight, up.out_features = nn.Parameter(w_up, requires_grad=False), padded * per_unit
        down.weight, down.in_features = nn.Parameter(w_down, requires_grad=False), padded


class TransformerLayer(nn.Module):
    """Pre-norm layer with two residual branches; no post-norms, no modulation."""

    def __init__(self, cfg: DiTConfig, layer: int, dtype=torch.bfloat16):
        super().__init__()
        self.attention = Attention(cfg, layer, dtype)
        self.mlp = MLP(cfg, layer, dtype)

    def forward(self, h: Tensor, ctx: Context) -> Tensor:
        h = h + self.attention(h, ctx)
        return h + self.mlp(h, ctx)


class TransformerBlock(nn.Module):
    """The 40-layer sandwich: mm layers at both ends, shared layers in the middle."""

    def __init__(self, cfg: DiTConfig, dtype=torch.bfloat16):
        super().__init__()
        self.layers = nn.ModuleList(TransformerLayer(cfg, i, dtype) for i in range(cfg.num_layers))

    def forward(self, h: Tensor, ctx: Context) -> Tensor:
        for layer in self.layers:
            h = layer(h, ctx)
        return h


class Adapter(nn.Module):
    """Per-modality input embedders (float32 Linear with bias, reading each modality's own features) and RoPE."""

    def __init__(self, cfg: DiTConfig):
        super().__init__()
        d = cfg.hidden_size
        self.video_embedder = nn.Linear(cfg.video_in_channels, d)
        self.text_embedder = nn.Linear(cfg.text_in_channels, d)
        self.audio_embedder = nn.Linear(cfg.audio_in_channels, d)
        self.rope = ElementWiseFourierEmbed(cfg.rope_bands, cfg.rope_theta)

    def forward(self, x: Tensor, coords: Tensor, segments: Segments) -> tuple[Tensor, Tensor]:
        embedders = {VIDEO: self.video_embedder, AUDIO: self.audio_embedder, TEXT: self.text_embedder}
        h = x.new_empty(x.shape[0], self.video_embedder.out_features, dtype=torch.float32)  # (L, D)
        for e, s, t in segments:
            emb = embedders[e]
            h[s:t] = emb(x[s:t, : emb.in_features].float())
        return h, self.rope(coords)


# ---------------------------------------------------------------------------------------------------------------
# Network
# ---------------------------------------------------------------------------------------------------------------


class DiT(nn.Module):
    """daVinci-MagiHuman DiT. `dit(x, coords, modality, local_q_ranges, local_k_ranges) -> [L, 192]` float32."""

    def __init__(self, cfg: DiTConfig, dtype=torch.bfloat16, attn_backend: str = "sdpa"):
        super().__init__()
        if attn_backend not in BACKENDS:
            raise ConfigError(f"unknown attention backend {attn_backend!r}; known: {BACKENDS}")
        self.cfg, self.attn_backend = cfg, attn_backend
        self.mlp_chunk: int | None = None
        d = cfg.hidden_size
        self.adapter = Adapter(cfg)
        self.block = TransformerBlock(cfg, dtype)
        self.final_norm_video = ExpertRMSNorm(d, 1, cfg.norm_eps)
        self.final_norm_audio = ExpertRMSNorm(d, 1, cfg.norm_eps)
        self.final_linear_video = nn.Linear(d, cfg.video_in_channels, bias=False)
        self.final_linear_audio = nn.Linear(d, cfg.audio_in_channels, bias=False)

    def forward(
        self,
        x: Tensor,
        coords: Tensor,
        modality: Tensor,
        local_q_ranges: Tensor | None = None,
        local_k_ranges: Tensor | None = None,
    ) -> Tensor:
        segments = self._check_inputs(x, coords, modality)
        local = None
        if self.cfg.local_attn_layers:
            if local_q_ranges is None or local_k_ranges is None:
                raise PackingError(
                    f"layers {list(self.cfg.local_attn_layers)} use local attention, so local_q_ranges and "
                    f"local_k_ranges are required (see model.packing.local_attention_ranges)"
                )
            local = LocalPlan.from_ranges(local_q_ranges, local_k_ranges, x.shape[0], x.device)
        h, rope = self.adapter(x, coords, segments)  # (L, D), (L, 6·bands)
        h = self.block(h, Context(segments, rope, local, self.attn_backend, self.mlp_chunk))
        return self._heads(h, segments)

    def _heads(self, h: Tensor, segments: Segments) -> Tensor:
        out = h.new_zeros(h.shape[0], self.cfg.out_channels)  # text rows stay zero
        one = ((VIDEO, 0, h.shape[0]),)
        for e, s, t in segments:
            if e == VIDEO:
                out[s:t, : self.cfg.video_in_channels] = self.final_linear_video(self.final_norm_video(h[s:t], one))
            elif e == AUDIO:
                out[s:t, : self.cfg.audio_in_channels] = self.final_linear_audio(self.final_norm_audio(h[s:t], one))
        return out

    def _check_inputs(self, x: Tensor, coords: Tensor, modality: Tensor) -> Segments:
        if x.ndim != 2 or coords.ndim != 2 or coords.shape != (x.shape[0], 9) or modality.shape != (x.shape[0],):
            raise PackingError(
                f"expected one packed sample x [L, C], coords [L, 9], modality [L]; got x {tuple(x.shape)}, "
                f"coords {tuple(coords.shape)}, modality {tuple(modality.shape)}"
            )
        segments = modality_segments(modality)
        need = {VIDEO: self.cfg.video_in_channels, AUDIO: self.cfg.audio_in_channels, TEXT: self.cfg.text_in_channels}
        for e, s, t in segments:
            if not 0 <= e < NUM_MODALITIES:
                raise PackingError(f"modality id {e} at tokens {s}..{t - 1}; expected 0 video, 1 audio, 2 text")
            if x.shape[1] < need[e]:
                raise PackingError(f"x has {x.shape[1]} columns but modality {e} tokens need {need[e]}")
        return segments

    # -- fast paths (each is exact; see tests/model/test_fast_paths.py) ----------------------------------------
    def pad_mlp_width(self, multiple: int = 128) -> DiT:
        """Zero-pad every MLP width to a multiple of `multiple` (13652 -> 13696): exact, aligns the down-proj GEMM.

        The padded state dict no longer has the official shapes; pad after loading, never before saving.
        """
        for layer in self.block.layers:
            layer.mlp.pad_width(multiple)
        return self

    def chunk_mlp(self, tokens: int | None = 16384) -> DiT:
        """Run every MLP over at most `tokens` tokens at a time (None: all at once). Exact; bounds the MLP's
        float32 intermediates, which dominate peak memory at 1080p."""
        if tokens is not None and tokens < 1:
            raise ConfigError(f"MLP chunk must be a positive token count, got {tokens}")
        self.mlp_chunk = tokens
        return self

    def set_local_attn_layers(self, layers) -> DiT:
        """Run `layers` with block-sparse local attention from now on (local attention has no parameters)."""
        self.cfg = self.cfg.with_local_attn_layers(layers)
        for i, layer in enumerate(self.block.layers):
            layer.attention.cfg = self.cfg
            layer.attention.local = i in self.cfg.local_attn_layers
        return self

    def compile_layers(self, **kwargs) -> DiT:
        """torch.compile each transformer layer in place (state-dict names unchanged), by default with a dynamic
        token count, so a new prompt or clip length reuses the compiled graphs. The attention kernels and the MLP's
        chunk loop stay outside the graphs (their call counts follow the length); `kwargs` go to `torch.compile`."""
        kwargs.setdefault("dynamic", True)
        for layer in self.block.layers:
            layer.compile(**kwargs)
        return self

    def num_parameters(self) -> int:
        """Parameter count (buffers excluded); 15,299,419,136 for the 15b preset."""
        return sum(p.numel() for p in self.parameters())


def modality_segments(modality: Tensor) -> Segments:
    """Runs of equal modality id: the packed order video, audio, text gives three contiguous segments."""
    if modality.numel() == 0:
        return ()
    change = (modality[1:] != modality[:-1]).nonzero().flatten() + 1
    starts = [0, *change.tolist()]
    ends = [*starts[1:], modality.numel()]
    ids = modality[torch.tensor(starts, device=modality.device)].tolist()
    return tuple((int(e), s, t) for e, s, t in zip(ids, starts, ends, strict=True))

