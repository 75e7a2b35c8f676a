"""Attention kernels: full (non-causal) and block-sparse local attention, with GQA and scale 1/√head_dim.

Layout everywhere: q [L, Hq, D], k and v [L, Hkv, D]; query head h reads KV head h // (Hq/Hkv). One packed sample,
no padding mask (docs/model.md §Attention). Local attention (§Local attention) is given as rows of half-open
token ranges (q_ranges[r], k_ranges[r]); a query's allowed keys are the union of the k ranges of the rows that
contain it.

Backends (each has a CPU equivalence test against "reference"):
* "reference": plain softmax in float32 (dense boolean mask for local layers). Small inputs only.
* "sdpa": torch scaled_dot_product_attention, GQA by grouping the query heads of each KV head into one head's
  query rows (the KV heads are never copied). Local layers take each *query class* (queries sharing the same set
  of rows) against its allowed keys as contiguous runs: one unmasked SDPA call per run on views of k and v (no
  gather), merged by log-sum-exp as the official fallback does; no L×L mask is materialised (L = 65,756 at 1080p).
* "flex": local layers through flex_attention with a BlockMask (GPU; compiled); full layers through SDPA.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn.functional as F
from einops import rearrange
from torch import Tensor

from model.errors import ConfigError, PackingError

BACKENDS = ("reference", "sdpa", "flex")
_BITS = 62  # rows per int64 word of the row-membership bitmask (clear of the sign bit)


@dataclass
class LocalPlan:
    """Row-membership bitmasks of every query and key token, built once per forward from the q/k ranges.

    `q_bits[w, i]` has bit r set when query token i lies in q range (_BITS·w + r); likewise `k_bits` for keys. A
    (query, key) pair is allowed iff the two bitmasks share a bit, which is exactly the union-over-rows rule.
    """

    q_bits: Tensor  # (words, L) int64
    k_bits: Tensor  # (words, L) int64
    groups: list[tuple[Tensor | slice, tuple[slice, ...]]]  # (query selection, contiguous key runs) per query class
    num_rows: int
    _block_mask: object = None

    @classmethod
    def from_ranges(cls, q_ranges: Tensor, k_ranges: Tensor, length: int, device=None) -> LocalPlan:
        """Validate the [R, 2] ranges against a sequence of `length` tokens and build the plan."""
        q_ranges, k_ranges = _check_ranges(q_ranges, "local_q_ranges", length), _check_ranges(
            k_ranges, "local_k_ranges", length
        )
        if len(q_ranges) != len(k_ranges):
            raise PackingError(f"local_q_ranges has {len(q_ranges)} rows but local_k_ranges has {len(k_ranges)}")
        words = max(1, -(-len(q_ranges) // _BITS))
        q_bits = torch.zeros(words, length, dtype=torch.int64)
        k_bits = torch.zeros(words, length, dtype=torch.int64)
        for r, ((qs, qe), (ks, ke)) in enumerate(zip(q_ranges, k_ranges, strict=True)):
            word, bit = divmod(r, _BITS)
            q_bits[word, qs:qe] |= 1 << bit
            k_bits[word, ks:ke] |= 1 << bit
        uncovered = (q_bits == 0).all(0).nonzero().flatten()
        if len(uncovered):
            raise PackingError(
                f"query tokens {uncovered[:8].tolist()}{'...' if len(uncovered) > 8 else ''} lie in no local_q_ranges "
                f"row, so they would attend to nothing"
            )
        classes, inverse = torch.unique(q_bits.T, dim=0, return_inverse=True)  # (C, words), (L,)
        groups = []
        for c, bits in enumerate(classes):
            q_idx = (inverse == c).nonzero().flatten()
            k_idx = ((k_bits & bits[:, None]) != 0).any(0).nonzero().flatten()
            if len(k_idx) == 0:
                raise PackingError(f"query tokens {q_idx[:8].tolist()} have local rows with empty key ranges")
            groups.append((_as_slice(q_idx, device), _runs(k_idx)))
        return cls(q_bits.to(device), k_bits.to(device), groups, len(q_ranges))

    def dense_mask(self) -> Tensor:
        """[L, L] boolean, True where the query may attend to the key (L² bytes: small inputs only)."""
        return ((self.q_bits[:, :, None] & self.k_bits[:, None, :]) != 0).any(0)

    def rows(self, which: str = "q") -> Tensor:
        """[R, L] boolean row membership of every token (the inverse of the bitmask packing)."""
        bits = self.q_bits if which == "q" else self.k_bits
        r = torch.arange(self.num_rows, device=bits.device)
        return ((bits[r // _BITS] >> (r % _BITS)[:, None]) & 1).bool()

    def block_mask(self, length: int, device, block: int = 128):
        """flex_attention BlockMask of the same pattern, built at block granularity (never an L×L tensor).

        A (q block, k block) tile is skipped when no row links them, "full" when one row contains all of both
        blocks, and otherwise partial (the mask_mod decides per element). Built lazily, once per forward.
        """
        if self._block_mask is None:
            from torch.nn.attention.flex_attention import BlockMask

            q_bits, k_bits = self.q_bits.to(device), self.k_bits.to(device)
            n_blocks = -(-length // block)
            pad = n_blocks * block - length

            def tiles(rows: Tensor) -> tuple[Tensor, Tensor]:  # (R, L) -> any, all per (R, n_blocks)
                rows = F.pad(rows, (0, pad)).view(rows.shape[0], n_blocks, block)  # padding is in no row
                return rows.any(-1), rows.all(-1)

            q_any, q_all = tiles(self.rows("q").to(device))
            k_any, k_all = tiles(self.rows("k").to(device))
            full = (q_all[:, :, None] & k_all[:, None, :]).any(0)  # (n_blocks, n_blocks)
            partial = (q_any[:, :, None] & k_any[:, None, :]).any(0) & ~full

            def layout(tile: Tensor) -> tuple[Tensor, Tensor]:  # listed tiles first, as flex expects
                order = torch.argsort((~tile).to(torch.int8), dim=-1, stable=True).to(torch.int32)
                return tile.sum(-1).to(torch.int32)[None, None], order[None, None]  # (1, 1, nq), (1, 1, nq, nk)

            def mask_mod(b, h, q_idx, kv_idx):
                allowed = (q_bits[0][q_idx] & k_bits[0][kv_idx]) != 0
                for w in range(1, q_bits.shape[0]):
                    allowed = allowed | ((q_bits[w][q_idx] & k_bits[w][kv_idx]) != 0)
                return allowed

            (num, idx), (full_num, full_idx) = layout(partial), layout(full)
            self._block_mask = BlockMask.from_kv_blocks(
                num, idx, full_num, full_idx, BLOCK_SIZE=block, mask_mod=mask_mod, seq_lengths=(length, length)
            )
        return self._block_mask


@torch.compiler.disable
def attention(q: Tensor, k: Tensor, v: Tensor, backend: str = "sdpa", local: LocalPlan | None = None) -> Tensor:
    """Softmax attention of one packed sample: [L,Hq,D], [L,Hkv,D], [L,Hkv,D] -> [L,Hq,D] in q's dtype.

    Never compiled: SDPA is one fused kernel already, and the number of local windows follows the clip length, so
    compiled layers break their graph here and a new length reuses them (docs/model.md §Fast paths).
    """
    if backend == "reference":
        return reference_attention(q, k, v, None if local is None else local.dense_mask())
    if backend == "flex" and local is not None:
        return flex_local_attention(q, k, v, local)
    if backend not in BACKENDS:
        raise ConfigError(f"unknown attention backend {backend!r}; known: {BACKENDS}")
    if local is None:
        return sdpa_attention(q, k, v)
    out = torch.empty_like(q)
    for q_sel, k_runs in local.groups:
        out[q_sel] = windowed_attention(q[q_sel], k, v, k_runs)
    return out


def reference_attention(q: Tensor, k: Tensor, v: Tensor, mask: Tensor | None = None) -> Tensor:
    """Plain softmax attention, float32 scores and softmax; probabilities rounded to q's dtype like FlashAttention."""
    group = q.shape[1] // k.shape[1]
    k = k.repeat_interleave(group, dim=1).float()  # (L, Hq, D): query head h uses KV head h // group
    v = v.repeat_interleave(group, dim=1).float()
    scores = torch.einsum("qhd,khd->hqk", q.float(), k) * q.shape[-1] ** -0.5  # (Hq, Lq, Lk)
    if mask is not None:
        scores = scores.masked_fill(~mask, float("-inf"))
    probs = scores.softmax(dim=-1).to(q.dtype).float()
    return torch.einsum("hqk,khd->qhd", probs, v).to(q.dtype)  # (Lq, Hq, D)


def sdpa_attention(q: Tensor, k: Tensor, v: Tensor) -> Tensor:
    """Unmasked non-causal attention through torch SDPA (whichever kernel its backend switches allow)."""
    out = F.scaled_dot_product_attention(group_queries(q, k.shape[1]), *map(heads_first, (k, v)))
    return ungroup_queries(out, q.shape[1])


def windowed_attention(q: Tensor, k: Tensor, v: Tensor, runs: tuple[slice, ...]) -> Tensor:
    """Attention of q over the union of the key runs: one SDPA call per run on views of k and v, merged by
    log-sum-exp (exactly the softmax over the union; the official fallback's recipe for MagiAttention)."""
    if len(runs) == 1:
        return sdpa_attention(q, k[runs[0]], v[runs[0]])
    q4 = group_queries(q, k.shape[1])  # (1, Hkv, Lq·G, D)
    parts = [sdpa_with_lse(q4, heads_first(k[run]), heads_first(v[run])) for run in runs]
    # Each part is softmax-normalised over its own run; exp(lse_r) is that run's share of the union's normaliser.
    shares = torch.softmax(torch.stack([lse for _, lse in parts]), dim=0)  # (R, 1, Hkv, Lq·G)
    out = sum(share[..., None] * o.float() for share, (o, _) in zip(shares, parts, strict=True))
    return ungroup_queries(out.to(q.dtype), q.shape[1])


def group_queries(q: Tensor, kv_heads: int) -> Tensor:
    """[Lq, Hq, D] -> [1, Hkv, Lq·G, D]: query head h reads KV head h // G, so the G query heads of one KV head
    become extra query rows of one head. SDPA then sees plain multi-head attention with Hkv heads (every kernel is
    eligible, nothing needs `enable_gqa`) and the KV heads are never expanded; only q is copied."""
    grouped = rearrange(q, "l (hk g) d -> 1 (l g) hk d", hk=kv_heads)  # (1, Lq·G, Hkv, D), one copy
    return grouped.transpose(1, 2)  # (1, Hkv, Lq·G, D) view: the token-major layout the fused kernels read


def ungroup_queries(out: Tensor, q_heads: int) -> Tensor:
    """The inverse of `group_queries`: [1, Hkv, Lq·G, D] -> [Lq, Hq, D]."""
    return rearrange(out, "1 hk (l g) d -> l (hk g) d", g=q_heads // out.shape[1])


def heads_first(t: Tensor) -> Tensor:
    """[L, H, D] -> [1, H, L, D] (a view)."""
    return rearrange(t, "l h d -> 1 h l d")


def sdpa_with_lse(q: Tensor, k: Tensor, v: Tensor) -> tuple[Tensor, Tensor]:
    """Unmasked attention [1,H,Lq,D] x [1,H,Lk,D] -> (output [1,H,Lq,D] in q's dtype, log-sum-exp [1,H,Lq] float32).

    Public SDPA does not return the log-sum-exp, so this calls the fused kernels SDPA dispatches to directly,
    obeying its backend switches (`torch.nn.attention.sdpa_kernel`), in the order flash (CPU or CUDA), cuDNN,
    memory-efficient, then the float32 math path. A kernel that refuses the inputs raises before running and the
    next is tried.
    """
    scale = q.shape[-1] ** -0.5
    for kernel in _lse_kernels(q.device):
        try:
            out, lse = kernel(q, k, v, scale)
        except torch.OutOfMemoryError:
            raise  # a real failure, not an ineligible kernel
        except (RuntimeError, NotImplementedError):  # not eligible here (dtype, head dim, device, build)
            continue
        return out, lse.reshape(*q.shape[:2], -1)[..., : q.shape[2]].float()  # some kernels pad or add a dim
    if not torch.backends.cuda.math_sdp_enabled():
        raise RuntimeError(f"no enabled SDPA kernel accepts {q.dtype} attention on {q.device} (with log-sum-exp)")
    return _math_with_lse(q, k, v, scale)


def _lse_kernels(device: torch.device):
    aten, switches = torch.ops.aten, torch.backends.cuda
    if switches.flash_sdp_enabled():
        if device.type == "cpu":
            yield lambda q, k, v, s: aten._scaled_dot_product_flash_attention_for_cpu(q, k, v, 0.0, False, scale=s)
        elif device.type == "cuda":
            yield lambda q, k, v, s: aten._scaled_dot_product_flash_attention(q, k, v, 0.0, False, False, scale=s)[:2]
    if device.type != "cuda":
        return
    if switches.cudnn_sdp_enabled():
        yield lambda q, k, v, s: aten._scaled_dot_product_cudnn_attention(q, k, v, None, True, 0.0, False, False,
                                                                          scale=s)[:2]
    if switches.mem_efficient_sdp_enabled():
        yield lambda q, k, v, s: aten._scaled_dot_product_efficient_attention(q, k, v, None, True, 0.0, False,
                                                                              scale=s)[:2]


def _math_with_lse(q: Tensor, k: Tensor, v: Tensor, scale: float) -> tuple[Tensor, Tensor]:
    """float32 scores in query chunks of at most 2**28 scores (the fallback: small inputs or no fused kernel)."""
    outs, lses = [], []
    step = max(1, 2**28 // (q.shape[1] * max(1, k.shape[2])))
    for s in range(0, q.shape[2], step):
        scores = torch.einsum("bhqd,bhkd->bhqk", q[:, :, s : s + step].float(), k.float()) * scale  # (1,H,q,Lk)
        lse = scores.logsumexp(-1)
        outs.append(torch.einsum("bhqk,bhkd->bhqd", torch.exp(scores - lse[..., None]), v.float()).to(q.dtype))
        lses.append(lse)
    return torch.cat(outs, 2), torch.cat(lses, 2)


def flex_local_attention(q: Tensor, k: Tensor, v: Tensor, local: LocalPlan) -> Tensor:
    """Block-sparse attention through flex_attention (compiled on CUDA; eager, slow but exact, on CPU)."""
    from torch.nn.attention.flex_attention import flex_attention

    fn = _compiled_flex() if q.is_cuda else flex_attention
    q4, k4, v4 = (rearrange(t, "l h d -> 1 h l d") for t in (q, k, v))
    out = fn(q4, k4, v4, block_mask=local.block_mask(q.shape[0], q.device), enable_gqa=q.shape[1] != k.shape[1])
    return rearrange(out, "1 h l d -> l h d")


_FLEX = None


def _compiled_flex():
    global _FLEX
    if _FLEX is None:
        from torch.nn.attention.flex_attention import flex_attention

        _FLEX = torch.compile(flex_attention, dynamic=False)
    return _FLEX


def _check_ranges(ranges: Tensor, name: str, length: int) -> list[tuple[int, int]]:
    if not isinstance(ranges, Tensor) or ranges.ndim != 2 or ranges.shape[1] != 2:
        shape = tuple(ranges.shape) if isinstance(ranges, Tensor) else type(ranges).__name__
        raise PackingError(f"{name} must be an [R, 2] tensor of [start, end) token ranges, got {shape}")
    rows = [(int(s), int(e)) for s, e in ranges.tolist()]
    bad = [(s, e) for s, e in rows if not 0 <= s <= e <= length]
    if bad:
        raise PackingError(f"{name} rows {bad[:4]} are outside [0, {length}] or have start > end")
    return rows


def _as_slice(idx: Tensor, device) -> Tensor | slice:
    """A contiguous index run becomes a slice (a view, no gather); anything else stays an index tensor."""
    if len(idx) and int(idx[-1]) - int(idx[0]) + 1 == len(idx):
        return slice(int(idx[0]), int(idx[-1]) + 1)
    return idx.to(device)


def _runs(idx: Tensor) -> tuple[slice, ...]:
    """Sorted token indices as maximal contiguous runs: [3, 4, 5, 9, 10] -> (slice(3, 6), slice(9, 11))."""
    breaks = ((idx[1:] - idx[:-1]) != 1).nonzero().flatten() + 1
    starts, ends = [0, *breaks.tolist()], [*breaks.tolist(), len(idx)]
    return tuple(slice(int(idx[s]), int(idx[e - 1]) + 1) for s, e in zip(starts, ends, strict=True))
