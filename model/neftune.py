"""NEFTune, done right (issue #14 part 3; Jain et al. 2023, arXiv 2310.05914;
Yi uses alpha 5 for 6B, 45 for 34B).

Uniform noise ``u ~ U[-1, 1]`` is added to the word-embedding output in
training only, scaled ``alpha / sqrt(L * d)`` where ``d`` is the hidden size
and ``L`` is **each sample's own length**: in a packed row every sample gets
the scale of its own length, and padding gets no noise. (transformers'
``neftune_post_forward_hook`` uses the padded/packed row length for every
sample, transformers issue #34659: packed and padded batches are
under-scaled.) With this scale a sample's noise has expected squared norm
``L*d/3 * alpha^2/(L*d) = alpha^2/3`` whatever its length.

Where the lengths come from: ``NEFTune.lengths(seq_lengths)`` (a context:
[b, K] per-row sample lengths, 0-padded, as ``model.packing.Packed.batch()``
gives them; or a list of ``cu_seqlens`` per row). ``wrap_loss(loss)`` sets
them from ``batch["seq_lengths"]`` around each forward of the trainer. With
no lengths set, each row is taken to be one sample of the full row length
(right for unpadded, unpacked rows only).

A forward hook on ``model.embedding.word_embeddings`` (output [b, s, h]). Off
when that module is not training (``model.eval()``: the trainer's eval loss
and generation) and when ``alpha == 0``. Noise comes from the hook's own
seeded ``torch.Generator`` (CPU, then moved): deterministic and it leaves the
global RNG (dropout) untouched; ``state_dict``/``load_state_dict`` carry its
state across a resume. Give data-parallel ranks different seeds.
"""
from __future__ import annotations

import math
from contextlib import contextmanager
from typing import Callable, Optional, Sequence

import torch


def word_embedding_module(model) -> torch.nn.Module:
    """The word-embedding module of a (possibly wrapped) megatron GPTModel."""
    m = model
    while not hasattr(m, "embedding") and hasattr(m, "module"):
        m = m.module  # Float16Module / DDP wrappers
    return m.embedding.word_embeddings


def lengths_tensor(lengths, batch: int) -> torch.Tensor:
    """[b, K] sample lengths from [b, K] lengths or a list of ``cu_seqlens``."""
    if isinstance(lengths, torch.Tensor) and lengths.dim() == 2:
        out = lengths.long().cpu()
    else:
        rows = [torch.as_tensor(c, dtype=torch.long).cpu() for c in lengths]
        diffs = [c[1:] - c[:-1] for c in rows]
        out = torch.zeros(len(rows), max(d.numel() for d in diffs), dtype=torch.long)
        for r, d in enumerate(diffs):
            out[r, :d.numel()] = d
    if out.size(0) != batch:
        raise ValueError(f"lengths for {out.size(0)} rows, batch has {batch}")
    return out


def noise_scale(lengths: torch.Tensor, seq: int, hidden: int, alpha: float) -> torch.Tensor:
    """[b, s] per-position scale: ``alpha / sqrt(L_k * d)`` on sample k's
    positions, 0 past the last sample (padding)."""
    b = lengths.size(0)
    scale = torch.zeros(b, seq)
    for r in range(b):
        at = 0
        for n in lengths[r].tolist():
            if n <= 0:
                continue
            if at + n > seq:
                raise ValueError(f"row {r}: sample lengths {lengths[r].tolist()} exceed the row length {seq}")
            scale[r, at:at + n] = alpha / math.sqrt(n * hidden)
            at += n
    return scale


class NEFTune:
    """``NEFTune(alpha, seed).attach(model)``; see the module docstring."""

    def __init__(self, alpha: float, seed: int = 0):
        if alpha < 0:
            raise ValueError(f"alpha must be >= 0, not {alpha}")
        self.alpha = float(alpha)
        self.generator = torch.Generator().manual_seed(seed)
        self._lengths = None
        self._handle = None
        self.last_noise: Optional[torch.Tensor] = None  # the noise added by the last training forward

    # -- hook ----------------------------------------------------------------
    def attach(self, model) -> "NEFTune":
        if self._handle is not None:
            raise RuntimeError("NEFTune is already attached")
        self._handle = word_embedding_module(model).register_forward_hook(self._hook)
        return self

    def detach(self) -> None:
        if self._handle is not None:
            self._handle.remove()
            self._handle = None

    def _hook(self, module, inputs, output):
        if not module.training or self.alpha == 0:
            return output
        b, s, d = output.shape
        lengths = (lengths_tensor(self._lengths, b) if self._lengths is not None
                   else torch.full((b, 1), s, dtype=torch.long))
        scale = noise_scale(lengths, s, d, self.alpha)
        u = torch.empty(b, s, d).uniform_(-1.0, 1.0, generator=self.generator)
        noise = (u * scale[..., None]).to(device=output.device, dtype=output.dtype)
        self.last_noise = noise.detach()
        return output + noise

    # -- lengths -------------------------------------------------------------
    @contextmanager
    def lengths(self, lengths: torch.Tensor | Sequence | None):
        prev, self._lengths = self._lengths, lengths
        try:
            yield self
        finally:
            self._lengths = prev

    def wrap_loss(self, loss: Callable) -> Callable:
        """``loss(model, batch)`` run with the batch's ``seq_lengths``."""
        def wrapped(model, batch):
            with self.lengths(batch.get("seq_lengths")):
                return loss(model, batch)
        return wrapped

    # -- resume --------------------------------------------------------------
    def state_dict(self) -> dict:
        return {"alpha": self.alpha, "generator": self.generator.get_state()}

    def load_state_dict(self, state: dict) -> None:
        self.alpha = float(state["alpha"])
        self.generator.set_state(state["generator"])
