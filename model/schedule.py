"""Learning-rate schedules of Yi pretraining.

- ``cosine``: linear warm-up, then cosine decay to ``min_lr`` (the Llama/Yi
  recipe, arXiv 2403.04652 §3).
- ``wsd``: Yi-Lightning's three phases (arXiv 2412.01253 §3): linear warm-up,
  a long stable phase at the peak rate, and a fast final decay over the last
  ``decay_fraction`` of the steps (cosine-shaped to ``min_lr``).

The batch-size ramp is megatron-core's ``num_microbatches_calculator`` (the
``rampup_batch_size`` = [start, increment, ramp samples] convention).
"""
from __future__ import annotations

import math
from dataclasses import dataclass


@dataclass(frozen=True)
class LRSchedule:
    """Learning rate at each optimizer step.

    Args:
        lr: peak learning rate.
        min_lr: final learning rate.
        warmup_steps: linear warm-up from 0 to ``lr``.
        total_steps: steps of the run (the decay ends here).
        kind: "cosine" or "wsd".
        decay_fraction: (wsd) share of the steps spent in the final decay.
    """

    lr: float
    min_lr: float
    warmup_steps: int
    total_steps: int
    kind: str = "cosine"
    decay_fraction: float = 0.1

    def __post_init__(self):
        if self.kind not in ("cosine", "wsd"):
            raise ValueError(f"schedule must be 'cosine' or 'wsd', not {self.kind!r}")
        if not 0 <= self.warmup_steps <= self.total_steps:
            raise ValueError("warmup_steps must be within [0, total_steps]")

    def __call__(self, step: int) -> float:
        """LR for step ``step`` (0-based)."""
        if step < self.warmup_steps:
            return self.lr * (step + 1) / self.warmup_steps
        if self.kind == "cosine":
            start, length = self.warmup_steps, self.total_steps - self.warmup_steps
        else:
            length = max(1, round(self.decay_fraction * self.total_steps))
            start = max(self.warmup_steps, self.total_steps - length)
            if step < start:
                return self.lr
        progress = min(1.0, (step - start) / max(1, length))
        return self.min_lr + 0.5 * (self.lr - self.min_lr) * (1 + math.cos(math.pi * progress))
