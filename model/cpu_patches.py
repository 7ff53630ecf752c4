"""The three patches that let megatron-core 0.16.1 train on a CPU.

megatron-core assumes CUDA in three places a CPU run reaches (measured, see
docs/megatron-cpu.md): the current device, the model-parallel RNG tracker,
and the default causal mask. ``apply()`` redirects each to its CPU equivalent.
It does nothing when CUDA is present: GPU runs use megatron unpatched.
"""
from __future__ import annotations

import torch

_applied = False


def apply() -> bool:
    """Patch megatron-core for CPU; idempotent. Returns True if patched."""
    global _applied
    if torch.cuda.is_available():
        return False
    if _applied:
        return True
    from megatron.core.fusions import fused_softmax
    from megatron.core.tensor_parallel import random as mp_random
    from megatron.core.transformer import utils as tf_utils

    # 1. device queries: there is no current CUDA device, and nothing to sync.
    torch.cuda.current_device = lambda: torch.device("cpu")
    torch.cuda.synchronize = lambda *a, **k: None

    # 2. RNG tracker: megatron forks named CUDA generator states for dropout
    #    and initialization; on CPU these are the CPU generator's states.
    torch.cuda.get_rng_state = lambda *a, **k: torch.get_rng_state()
    torch.cuda.set_rng_state = lambda state, *a, **k: torch.set_rng_state(state)
    torch.cuda.manual_seed = lambda seed: torch.manual_seed(seed)
    mp_random._get_cuda_rng_state = lambda *a, **k: torch.get_rng_state()
    mp_random._set_cuda_rng_state = lambda state, *a, **k: torch.set_rng_state(state)

    # 3. the default causal mask is built with device="cuda".
    def causal_mask(sq: int) -> torch.Tensor:
        return torch.triu(torch.ones(sq, sq, dtype=torch.bool), diagonal=1)

    tf_utils.get_default_causal_mask = causal_mask
    fused_softmax.get_default_causal_mask = causal_mask
    _applied = True
    return True
