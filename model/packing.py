"""Packing encoded conversations into fixed-length rows without
cross-contamination (issue #14 part 2).

Input: encoded samples ``(ids, mask)`` (``pipeline.chat.encode_chatml``:
``mask[j] = 1`` where token ``j`` is a response token to learn). Output:
rows of ``seq_length`` tokens, several samples per row, and for each row

  tokens        the samples' ids one after another, then ``pad_id``
  labels        the next token *within the same sample*; at a sample's last
                position and on padding the label is ``pad_id`` (never the
                next sample's first token)
  loss_mask     ``mask[j + 1]`` at position ``j`` (the label's mask: learn to
                predict response tokens), 0 at every sample's last position
                (the border), 0 on padding
  position_ids  restarting at 0 at every sample (``packed_position_ids``)
  cu_seqlens    ``[0, n1, n1+n2, ...]`` (padding excluded)
  attention_mask  block-diagonal causal [R, 1, s, s], True = masked out
                (``packed_attention_mask``): no token attends into another
                sample or into padding's segment
  seq_lengths   [R, K] the samples' lengths per row, 0-padded (for NEFTune)

Algorithms (both deterministic; ties broken by input order):
  ``best_fit``  samples by length, longest first; each goes into the open row
                with the least room left that still fits it, else a new row
                (best-fit decreasing: fewest rows in practice).
  ``greedy``    input order; a sample goes into the current row when it fits,
                else it starts a new row (keeps order, more padding).

A sample longer than ``seq_length``: ``overflow="error"`` (default) raises
``ValueError``; ``overflow="truncate"`` keeps its first ``seq_length`` tokens
(and their mask) and counts it in ``truncated``. Empty samples are an error.

``padding_share``: padding tokens / all tokens of the rows.

The loss is megatron's per-token loss ``GPTModel(..., labels=)`` [b, s]
averaged under ``loss_mask`` (the shared trainer's ``masked_mean``); the
returned ``batch()`` dict feeds ``model.pretrain.lm_loss`` unchanged.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Sequence

import torch

from model.layers.attention import packed_attention_mask, packed_position_ids

Sample = tuple[Sequence[int], Sequence[int]]  # (ids, response mask)


@dataclass
class Packed:
    tokens: torch.Tensor          # [R, s] long
    labels: torch.Tensor          # [R, s] long
    loss_mask: torch.Tensor       # [R, s] float
    position_ids: torch.Tensor    # [R, s] long
    attention_mask: torch.Tensor  # [R, 1, s, s] bool, True = masked
    cu_seqlens: list[torch.Tensor]
    rows: list[list[int]]         # input indices of the samples in each row, in row order
    seq_length: int
    truncated: int = 0
    stats: dict = field(default_factory=dict)

    @property
    def seq_lengths(self) -> torch.Tensor:
        """[R, K] sample lengths per row, 0-padded."""
        k = max(len(c) - 1 for c in self.cu_seqlens)
        out = torch.zeros(len(self.cu_seqlens), k, dtype=torch.long)
        for r, cu in enumerate(self.cu_seqlens):
            d = cu[1:] - cu[:-1]
            out[r, :d.numel()] = d
        return out

    @property
    def padding_share(self) -> float:
        total = self.tokens.numel()
        used = sum(int(c[-1]) for c in self.cu_seqlens)
        return (total - used) / total if total else 0.0

    def batch(self, rows: slice | None = None) -> dict[str, torch.Tensor]:
        """The trainer's batch dict (all tensors), optionally a slice of rows."""
        sl = rows if rows is not None else slice(None)
        return {"tokens": self.tokens[sl], "labels": self.labels[sl], "loss_mask": self.loss_mask[sl],
                "position_ids": self.position_ids[sl], "attention_mask": self.attention_mask[sl],
                "seq_lengths": self.seq_lengths[sl]}


def assign_rows(lengths: Sequence[int], seq_length: int, method: str = "best_fit") -> list[list[int]]:
    """Indices of the samples in each row (every length must be in
    [1, seq_length]); see the module docstring for the algorithms."""
    for i, n in enumerate(lengths):
        if not 1 <= n <= seq_length:
            raise ValueError(f"sample {i} has {n} tokens; rows hold 1..{seq_length}")
    rows: list[list[int]] = []
    room: list[int] = []
    if method == "greedy":
        for i, n in enumerate(lengths):
            if not rows or room[-1] < n:
                rows.append([])
                room.append(seq_length)
            rows[-1].append(i)
            room[-1] -= n
        return rows
    if method != "best_fit":
        raise ValueError(f"unknown packing method {method!r} (best_fit, greedy)")
    for i in sorted(range(len(lengths)), key=lambda i: (-lengths[i], i)):
        n = lengths[i]
        best = -1
        for r, left in enumerate(room):
            if left >= n and (best < 0 or left < room[best]):
                best = r
        if best < 0:
            rows.append([])
            room.append(seq_length)
            best = len(rows) - 1
        rows[best].append(i)
        room[best] -= n
    return rows


def pack(samples: Sequence[Sample], seq_length: int, pad_id: int, *, method: str = "best_fit",
         overflow: str = "error") -> Packed:
    """Pack ``(ids, mask)`` samples into rows of ``seq_length`` (module docstring)."""
    if overflow not in ("error", "truncate"):
        raise ValueError(f"overflow must be 'error' or 'truncate', not {overflow!r}")
    clean: list[tuple[list[int], list[int]]] = []
    truncated = 0
    for i, (ids, mask) in enumerate(samples):
        ids, mask = list(ids), list(mask)
        if len(ids) != len(mask):
            raise ValueError(f"sample {i}: {len(ids)} ids but {len(mask)} mask values")
        if not ids:
            raise ValueError(f"sample {i} is empty")
        if len(ids) > seq_length:
            if overflow == "error":
                raise ValueError(f"sample {i} has {len(ids)} tokens, more than seq_length {seq_length} "
                                 "(overflow='truncate' keeps its first seq_length tokens)")
            ids, mask = ids[:seq_length], mask[:seq_length]
            truncated += 1
        clean.append((ids, mask))
    rows = assign_rows([len(i) for i, _ in clean], seq_length, method)
    R = len(rows)
    tokens = torch.full((R, seq_length), pad_id, dtype=torch.long)
    labels = torch.full((R, seq_length), pad_id, dtype=torch.long)
    loss_mask = torch.zeros(R, seq_length)
    cus = []
    for r, members in enumerate(rows):
        cu, at = [0], 0
        for i in members:
            ids, mask = clean[i]
            n = len(ids)
            t = torch.tensor(ids, dtype=torch.long)
            tokens[r, at:at + n] = t
            labels[r, at:at + n - 1] = t[1:]        # the last position keeps pad_id: no cross-sample label
            loss_mask[r, at:at + n - 1] = torch.tensor(mask[1:], dtype=torch.float)  # border stays 0
            at += n
            cu.append(at)
        cus.append(torch.tensor(cu, dtype=torch.long))
    packed = Packed(tokens=tokens, labels=labels, loss_mask=loss_mask,
                    position_ids=packed_position_ids(cus, seq_length),
                    attention_mask=packed_attention_mask(cus, seq_length), cu_seqlens=cus, rows=rows,
                    seq_length=seq_length, truncated=truncated)
    packed.stats = {"samples": len(clean), "rows": R, "tokens": R * seq_length,
                    "sample_tokens": sum(len(i) for i, _ in clean), "padding_share": packed.padding_share,
                    "truncated": truncated, "method": method}
    return packed


def padding_share_unpacked(lengths: Sequence[int], seq_length: int) -> float:
    """Padding share of one sample per row of ``seq_length`` (the baseline)."""
    total = len(lengths) * seq_length
    return (total - sum(min(n, seq_length) for n in lengths)) / total if total else 0.0
