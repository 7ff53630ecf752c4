"""Core attention with torch ``scaled_dot_product_attention`` in megatron's
``core_attention`` slot, and the masks of packed samples.

``SDPAAttention`` replaces the local spec's ``DotProductAttention`` (unfused
baddbmm + softmax + bmm): flash/cuDNN kernels on GPU, 2.6× faster at the Yi-6B
shape, one fused kernel on CPU too (docs/megatron-cpu.md).

Masks follow megatron's convention: a boolean ``attention_mask`` [b, 1, s, s]
that is True where a query must NOT see a key. Without a mask the layer takes
the causal fast path (``is_causal=True``). Packed samples (several documents
in one row, SFT and long context) pass the block-diagonal causal mask of
``packed_attention_mask``, built from the per-sample boundaries
(``cu_seqlens``), with positions restarting at each sample
(``packed_position_ids``); RoPE is relative, so mask and positions make each
sample's logits those of a separate run. megatron's own packing path
(``PackedSeqParams``, thd layout) needs Transformer Engine.
"""
from __future__ import annotations

from typing import Optional, Sequence

import torch
import torch.nn.functional as F


class SDPAAttention(torch.nn.Module):
    """megatron core-attention module on ``F.scaled_dot_product_attention``.

    Same interface as megatron's ``DotProductAttention``: query [sq, b, np, hn],
    key/value [sk, b, ng, hn] (ng query groups, not repeated), returns
    [sq, b, np·hn]. ``attention_mask``: None (causal) or megatron's boolean
    [b or 1, 1, sq, sk], True = masked out (it must carry causality itself)."""

    def __init__(self, config, layer_number: int, attn_mask_type, attention_type: str,
                 attention_dropout: Optional[float] = None, softmax_scale: Optional[float] = None,
                 cp_comm_type: Optional[str] = None, pg_collection=None):
        super().__init__()
        self.config = config
        self.dropout = config.attention_dropout if attention_dropout is None else attention_dropout
        self.softmax_scale = softmax_scale

    def forward(self, query, key, value, attention_mask=None, attn_mask_type=None,
                attention_bias=None, packed_seq_params=None):
        if packed_seq_params is not None or attention_bias is not None:
            raise NotImplementedError("SDPAAttention: pass packed samples as attention_mask "
                                      "(packed_attention_mask), not PackedSeqParams; no attention bias")
        q, k, v = (t.permute(1, 2, 0, 3) for t in (query, key, value))  # [b, heads, s, hn]
        if attention_mask is None:
            mask, causal = None, True  # fast path: no mask tensor at all
        else:
            mask, causal = ~attention_mask.to(torch.bool), False  # SDPA: True = attend
        out = F.scaled_dot_product_attention(
            q, k, v, attn_mask=mask, is_causal=causal, enable_gqa=q.size(1) != k.size(1),
            scale=self.softmax_scale, dropout_p=self.dropout if self.training else 0.0)
        sq, b = query.size(0), query.size(1)
        return out.permute(2, 0, 1, 3).reshape(sq, b, -1)

    def sharded_state_dict(self, prefix="", sharded_offsets=(), metadata=None):
        return {}  # no parameters


def _rows(cu_seqlens) -> list[torch.Tensor]:
    """One 1-D boundary tensor per batch row (a single tensor = one row)."""
    if isinstance(cu_seqlens, torch.Tensor) and cu_seqlens.dim() == 1:
        return [cu_seqlens]
    return [torch.as_tensor(c) for c in cu_seqlens]


def _segment_ids(cu: torch.Tensor, seq_length: int) -> torch.Tensor:
    """Sample index of every position; positions past ``cu[-1]`` (padding)
    form one more segment of their own."""
    cu = torch.as_tensor(cu, dtype=torch.long)
    if cu.dim() != 1 or cu.numel() < 2 or cu[0].item() != 0:
        raise ValueError(f"cu_seqlens must be 1-D, start at 0 and hold at least one sample: {cu.tolist()}")
    if bool((cu[1:] <= cu[:-1]).any()) or cu[-1].item() > seq_length:
        raise ValueError(f"cu_seqlens must be strictly increasing and end at most at {seq_length}: {cu.tolist()}")
    return torch.bucketize(torch.arange(seq_length), cu[1:], right=True)


def packed_attention_mask(cu_seqlens: torch.Tensor | Sequence, seq_length: int) -> torch.Tensor:
    """Block-diagonal causal mask [b, 1, s, s] (megatron's convention: True =
    masked out) from per-sample boundaries: ``cu_seqlens`` [0, len_1,
    len_1+len_2, ...] for one row, or a list of them, one per batch row."""
    masks = []
    for cu in _rows(cu_seqlens):
        seg = _segment_ids(cu, seq_length)
        same = seg[:, None] == seg[None, :]
        causal = torch.ones(seq_length, seq_length, dtype=torch.bool).tril()
        masks.append(~(same & causal))
    return torch.stack(masks)[:, None]


def packed_position_ids(cu_seqlens: torch.Tensor | Sequence, seq_length: int) -> torch.Tensor:
    """Positions [b, s] restarting at 0 at every sample boundary."""
    rows = []
    for cu in _rows(cu_seqlens):
        seg = _segment_ids(cu, seq_length)
        rows.append(torch.arange(seq_length) - torch.as_tensor(cu, dtype=torch.long)[seg])
    return torch.stack(rows)
