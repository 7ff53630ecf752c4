"""Optimizer parts of the trainer: AdamW without weight decay on norms,
fp32 master weights for bf16 models, the global gradient-norm clip.

megatron's own optimizer and DDP wrapper allocate on cuda; on GPU without
apex/TE they build a non-fused AdamW, slower than torch's fused kernel with
fp32 masters (docs/megatron-cpu.md). So both CPU and GPU train with these.
"""
from __future__ import annotations

import torch


class MasterWeights:
    """bf16 model parameters with fp32 master copies that AdamW updates
    (the mixed-precision recipe of megatron's Float16OptimizerWithFloat16Params,
    with torch's fused AdamW). On fp32 models it is a no-op."""

    def __init__(self, params):
        self.params = list(params)
        self.mixed = any(p.dtype != torch.float32 for p in self.params)
        self.masters = [p.detach().float().clone().requires_grad_(True) for p in self.params] \
            if self.mixed else self.params

    def by_master(self) -> dict | None:
        """{id(master): model parameter} for checkpointing; None if not mixed."""
        return {id(m): p for p, m in zip(self.params, self.masters)} if self.mixed else None

    def grads_to_master(self):
        if self.mixed:
            for p, m in zip(self.params, self.masters):
                m.grad = None if p.grad is None else p.grad.float()

    def master_to_model(self):
        if self.mixed:
            with torch.no_grad():
                for p, m in zip(self.params, self.masters):
                    p.copy_(m)


def build_optimizer(params, cfg) -> torch.optim.AdamW:
    """AdamW from ``cfg`` (lr, beta1, beta2, eps, weight_decay); weight decay
    on matrices only (not on norms). torch's fused kernel on CPU and GPU alike
    (no per-parameter temporaries; it is also what Hugging Face's Trainer uses
    by default with torch >= 2.8)."""
    params = list(params)
    return torch.optim.AdamW(
        [{"params": [p for p in params if p.dim() >= 2], "weight_decay": cfg.weight_decay},
         {"params": [p for p in params if p.dim() < 2], "weight_decay": 0.0}],
        lr=cfg.lr, betas=(cfg.beta1, cfg.beta2), eps=cfg.eps, fused=True)


def _is_tp_duplicate(p) -> bool:
    from megatron.core import parallel_state as ps

    return not getattr(p, "tensor_model_parallel", False) and ps.get_tensor_model_parallel_rank() > 0


def grad_norm_and_clip(params, clip: float) -> float:
    """Global L2 grad norm over all model-parallel ranks (replicated params
    counted once), then clip in place; returns the norm before clipping."""
    import torch.distributed as dist
    from megatron.core import parallel_state as ps

    dev = params[0].device
    sq = torch.zeros((), dtype=torch.float32, device=dev)
    for p in params:
        if p.grad is not None and not _is_tp_duplicate(p):
            sq += p.grad.float().pow(2).sum()
    dist.all_reduce(sq, group=ps.get_model_parallel_group())
    norm = sq.sqrt().item()
    if clip and norm > clip:
        for p in params:
            if p.grad is not None:
                p.grad.mul_(clip / (norm + 1e-6))
    return norm
