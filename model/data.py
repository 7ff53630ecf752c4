"""Pretraining data: the token shards (jobs/shards.py) through megatron-core's
``BlendedMegatronDatasetBuilder`` → ``GPTDataset`` (samples of seq_length+1
tokens packed across documents, EOD between them).

Mixture weights come from config ([pretrain.data] weights): glob patterns over
group names (``source.lang``), first match wins; a pattern's weight is shared
among its shards in proportion to their tokens, so ``{"*" = 1.0}`` is the
natural mixture. Eval samples come from the held-out shards (``heldout.*``,
documents that jobs/shards.py kept out of every training group).
"""
from __future__ import annotations

import fnmatch
import json
from dataclasses import dataclass
from pathlib import Path

import torch


def read_manifest(shards: str | Path) -> dict:
    path = Path(shards) / "manifest.json"
    if not path.is_file():
        raise FileNotFoundError(f"{path} not found: run jobs/shards.py first (`make shards`)")
    return json.loads(path.read_text())


def blend(shards: str | Path, weights: dict[str, float], split: str = "train") -> tuple[list[str], list[float]]:
    """(shard path prefixes, weights) for megatron's ``blend`` of one split.
    Train: shards matching no pattern, with weight 0, or empty are left out.
    Valid: the held-out shards, weighted by tokens."""
    manifest = read_manifest(shards)
    by_pattern: dict[str, list[dict]] = {}
    for m in manifest["shards"]:
        if m["documents"] == 0 or m["split"] != split:
            continue
        pat = "*" if split == "valid" else next((p for p in weights if fnmatch.fnmatchcase(m["group"], p)), None)
        w = 1.0 if split == "valid" else weights.get(pat, 0)
        if pat is not None and w > 0:
            by_pattern.setdefault(pat, []).append(m)
    paths, ws = [], []
    for pat, ms in sorted(by_pattern.items()):
        total = sum(m["tokens"] for m in ms)
        for m in sorted(ms, key=lambda m: m["name"]):
            paths.append(str(Path(shards).resolve() / m["name"]))
            ws.append((1.0 if split == "valid" else weights[pat]) * m["tokens"] / total)
    if not paths:
        raise ValueError(f"no non-empty {split} shard in {shards} matches the weights {weights}")
    return paths, ws


@dataclass
class ShardTokenizer:
    """What ``GPTDataset`` needs of a tokenizer, read from the manifest."""

    eod: int
    vocab_size: int
    sha256: str

    @property
    def unique_identifiers(self) -> dict:
        return {"class": "YiTokenizer", "sha256": self.sha256}


def build_datasets(shards: str | Path, *, seq_length: int, train_samples: int, eval_samples: int,
                   weights: dict[str, float], seed: int, cache: str | Path):
    """(train, validation) ``GPTDataset``/``BlendedDataset`` of
    ``train_samples``/``eval_samples`` samples. Index files are built on rank
    0 into ``cache`` while the other ranks wait, then loaded by all."""
    import torch.distributed as dist
    from megatron.core.datasets.blended_megatron_dataset_builder import BlendedMegatronDatasetBuilder
    from megatron.core.datasets.gpt_dataset import GPTDataset, GPTDatasetConfig

    manifest = read_manifest(shards)
    tok = ShardTokenizer(manifest["tokenizer"]["eod"], manifest["tokenizer"]["vocab_size"],
                         manifest["tokenizer"]["sha256"])
    has_valid = any(m["split"] == "valid" and m["documents"] for m in manifest["shards"])
    config = GPTDatasetConfig(
        random_seed=seed, sequence_length=seq_length,
        blend_per_split=[blend(shards, weights), blend(shards, weights, "valid") if has_valid else None, None],
        path_to_cache=str(cache), tokenizer=tok, reset_position_ids=False, reset_attention_mask=False,
        eod_mask_loss=False, create_attention_mask=False, mid_level_dataset_surplus=0.005,
    )
    rank = dist.get_rank() if dist.is_initialized() else 0
    out = None
    for turn in (0, 1):  # rank 0 builds the cache, then the others read it
        if (rank == 0) == (turn == 0):
            out = BlendedMegatronDatasetBuilder(GPTDataset, [train_samples, eval_samples, 0],
                                                lambda: True, config).build()
        if dist.is_initialized():
            dist.barrier()
    return out[0], out[1], tok


class SampleBatches:
    """Deterministic batches from a dataset by sample position: the batch at
    ``consumed`` samples is always the same, so a resumed run sees exactly the
    data an uninterrupted one would. This rank reads its data-parallel slice."""

    def __init__(self, dataset, micro_batch: int, dp_rank: int = 0, dp_size: int = 1):
        self.dataset, self.micro_batch = dataset, micro_batch
        self.dp_rank, self.dp_size = dp_rank, dp_size

    def micro_batches(self, consumed: int, global_batch: int):
        """Iterator over this rank's micro-batches of the global batch that
        starts at sample ``consumed``: dicts of tokens/labels/loss_mask/position_ids."""
        per_rank = global_batch // self.dp_size
        start = consumed + self.dp_rank * per_rank
        for i in range(0, per_rank, self.micro_batch):
            items = [self.dataset[(start + i + j) % len(self.dataset)] for j in range(self.micro_batch)]
            yield {k: torch.stack([it[k] for it in items]) for k in ("tokens", "labels", "loss_mask", "position_ids")}
