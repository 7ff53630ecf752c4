"""Rotary position embedding (RoPE, Su et al. 2021; Yi uses base 5e6) as one
autograd function, for runs without Transformer Engine.

megatron-core's unfused RoPE (``rope_utils._apply_rotary_pos_emb_bshd``)
builds ``rotate_half(t)`` with a ``torch.cat`` and then concatenates the
result with an empty pass-through slice: two full copies of q and k per layer,
and their backward through ``cat`` and slicing (Hugging Face's Llama pays one
copy). The gain is small: with ``model/layers/swiglu.py`` a ``bench/train_cpu.py``
step is 0.9% faster (median of 40 side-by-side steps, quartiles −1.8%…+3.1%),
since matrix multiplies take ~83% of it.

``rope`` writes both halves of the rotated tensor straight into one output
and its backward is the inverse rotation:

    out[:d/2] = x1·cos − x2·sin        dx1 =  g1·cos + g2·sin
    out[d/2:] = x2·cos + x1·sin        dx2 = −g1·sin + g2·cos

It is plugged into megatron through the slot Transformer Engine fills,
``rope_utils.fused_apply_rotary_pos_emb``, and enabled with the config flag
``apply_rope_fusion``; ``install()`` leaves the slot alone when TE has filled
it. Plain torch: the same code runs on CPU and GPU.
"""
from __future__ import annotations

import torch


class _Rotate(torch.autograd.Function):
    """Non-interleaved rotation of the last dim of ``t`` by angles whose
    cos/sin (half width, broadcastable to ``t``'s first half) are given."""

    @staticmethod
    def forward(ctx, t, cos, sin):
        x1, x2 = t.chunk(2, dim=-1)
        out = torch.empty(t.shape, dtype=t.dtype, device=t.device)
        o1, o2 = out.chunk(2, dim=-1)
        torch.mul(x1, cos, out=o1)
        o1.addcmul_(x2, sin, value=-1)
        torch.mul(x2, cos, out=o2)
        o2.addcmul_(x1, sin)
        ctx.save_for_backward(cos, sin)
        return out

    @staticmethod
    def backward(ctx, g):
        cos, sin = ctx.saved_tensors
        g1, g2 = g.chunk(2, dim=-1)
        dt = torch.empty(g.shape, dtype=g.dtype, device=g.device)
        d1, d2 = dt.chunk(2, dim=-1)
        torch.mul(g1, cos, out=d1)
        d1.addcmul_(g2, sin)
        torch.mul(g2, cos, out=d2)
        d2.addcmul_(g1, sin, value=-1)
        return dt, None, None


def rope(t: torch.Tensor, freqs: torch.Tensor, interleaved: bool = False) -> torch.Tensor:
    """RoPE on ``t`` [s, b, heads, d] with megatron's ``freqs`` [s, 1, 1, d]
    (angles, the half-width vector repeated twice: ``cat(f, f)``).

    Same signature as Transformer Engine's fused kernel that megatron calls.
    A rotary dim smaller than ``d`` rotates the leading ``rot`` channels and
    passes the rest through, as megatron does."""
    if interleaved:
        raise NotImplementedError("rope: interleaved rotary layout is not supported (Yi is not interleaved)")
    rot = freqs.shape[-1]
    half = freqs[..., : rot // 2]  # angles in their own dtype (fp32 from megatron), as megatron does
    cos, sin = half.cos().to(t.dtype), half.sin().to(t.dtype)
    if rot == t.shape[-1]:
        return _Rotate.apply(t, cos, sin)
    return torch.cat((_Rotate.apply(t[..., :rot], cos, sin), t[..., rot:]), dim=-1)


def install() -> bool:
    """Put ``rope`` in megatron's fused-RoPE slot unless Transformer Engine
    has filled it. Must run before a ``TransformerConfig`` with
    ``apply_rope_fusion=True`` is built (its validation checks the slot).
    Returns True when ours is (now) in the slot."""
    from megatron.core.models.common.embeddings import rope_utils

    if rope_utils.fused_apply_rotary_pos_emb is None:
        rope_utils.fused_apply_rotary_pos_emb = rope
    return rope_utils.fused_apply_rotary_pos_emb is rope
