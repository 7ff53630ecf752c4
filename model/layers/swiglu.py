"""SwiGLU (Shazeer 2020), the activation of Yi's MLP, as one autograd
function for runs without a fused kernel (CPU).

megatron-core's unfused gated MLP (``MLP.forward``, ``glu``) chunks fc1's
output, computes ``silu(gate) * (up + glu_linear_offset)``, and lets autograd
differentiate it: one extra pass for the offset add in the forward, and in the
backward a ``torch.cat`` of the two half-gradients, a full copy of fc1's
[tokens, 2·ffn] output per layer.

``SwiGLU`` computes ``silu(gate) * up`` and writes both half-gradients straight
into one buffer (the gate's with aten's one-pass ``silu_backward``). It plugs
into megatron as the MLP's ``activation_func`` submodule, which megatron calls
on the whole fc1 output when ``use_te_activation_func`` is set (the flag only
says "call the spec's activation module"; no Transformer Engine is involved).
GPU runs keep megatron's own fused ``bias_activation_fusion`` kernel.
"""
from __future__ import annotations

import torch
import torch.nn.functional as F


class _SwiGLU(torch.autograd.Function):
    @staticmethod
    def forward(ctx, y):
        gate, up = y.chunk(2, dim=-1)
        silu_gate = F.silu(gate)
        ctx.save_for_backward(y, silu_gate)
        return silu_gate * up

    @staticmethod
    def backward(ctx, g):
        y, silu_gate = ctx.saved_tensors
        gate, up = y.chunk(2, dim=-1)
        dy = torch.empty(y.shape, dtype=g.dtype, device=g.device)
        d_gate, d_up = dy.chunk(2, dim=-1)
        torch.ops.aten.silu_backward.grad_input(g * up, gate, grad_input=d_gate)
        torch.mul(g, silu_gate, out=d_up)
        return dy


class SwiGLU(torch.nn.Module):
    """``silu(y[..., :f]) * y[..., f:]`` for fc1's output ``y`` [..., 2f];
    megatron builds it with ``config=`` (unused: no parameters)."""

    def __init__(self, config=None, **_):
        super().__init__()

    def forward(self, y: torch.Tensor) -> torch.Tensor:
        return _SwiGLU.apply(y)

    def sharded_state_dict(self, prefix="", sharded_offsets=(), metadata=None):
        return {}  # no parameters (megatron's dist_checkpointing asks every submodule)
