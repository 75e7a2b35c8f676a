"""Attention kernels: full (non-causal) and block-sparse local attention, with GQA and scale 1/√head_dim.

Layout everywhere: q [L, Hq, D], k and v [L, Hkv, D]; query head h reads KV head h // (Hq/Hkv). One packed sample,
no padding mask (docs/model.md §Attention). Local attention (§Local attention) is given as rows of half-open
token ranges (q_ranges[r], k_ranges[r]); a query's allowed keys are the union of the k ranges of the rows that
contain it.

Backends (each has a CPU equivalence test against "reference"):
* "reference": plain softmax in float32 (dense boolean mask for local layers). Small inputs only.
* "sdpa": torch scaled_dot_product_attention. Local layers run one unmasked SDPA call per *query class* (queries
  sharing the same set of rows) over that class's gathered keys, so flash kernels stay usable and no L×L mask is
  materialised (the 1080p sequence has L = 65,756).
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
    groups: list[tuple[Tensor | slice, Tensor | slice]]  # (query selection, key selection) per query class
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
            groups.append((_as_slice(q_idx, device), _as_slice(k_idx, device)))
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


def attention(q: Tensor, k: Tensor, v: Tensor, backend: str = "sdpa", local: LocalPlan | None = None) -> Tensor:
    """Softmax attention of one packed sample: [L,Hq,D], [L,Hkv,D], [L,Hkv,D] -> [L,Hq,D] in q's dtype."""
    if backend == "reference":
        return reference_attention(q, k, v, None if local is None else local.dense_mask())
    if backend == "flex" and local is not None:
        return flex_local_attention(q, k, v, local)
    if backend not in BACKENDS:
        raise ConfigError(f"unknown attention backend {backend!r}; known: {BACKENDS}")
    if local is None:
        return sdpa_attention(q, k, v)
    out = torch.empty_like(q)
    for q_sel, k_sel in local.groups:
        out[q_sel] = sdpa_attention(q[q_sel], k[k_sel], v[k_sel])
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
    """Unmasked non-causal attention through torch SDPA (flash / efficient kernels on GPU)."""
    group = q.shape[1] // k.shape[1]
    if q.is_cuda and group > 1:
        # Materialise the KV heads so the flash kernel is always eligible, whatever the GQA support of this torch
        # build; the math fallback would allocate Hq·L² scores (345 GB at the 1080p length).
        k, v = k.repeat_interleave(group, dim=1), v.repeat_interleave(group, dim=1)  # (L, Hq, D)
    q4, k4, v4 = (rearrange(t, "l h d -> 1 h l d") for t in (q, k, v))
    out = F.scaled_dot_product_attention(q4, k4, v4, enable_gqa=q.shape[1] != k.shape[1])
    return rearrange(out, "1 h l d -> l h d")


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
