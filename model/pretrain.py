"""Pretrain a Yi model on the token shards: the shared trainer
(model/trainer.py) with pretraining's config, the GPT data and the LM loss.

    python -m model.pretrain --preset yi-tiny --data SHARDS --out RUN_DIR [--resume] [--init-from CKPT]
    torchrun --nproc-per-node 8 -m model.pretrain --preset yi-6b --data SHARDS --out RUN_DIR --tp 2

Hyper-parameters come from [pretrain] in config/default.toml (a
[pretrain.<name>] section chosen with ``--recipe`` overrides them; command-line
flags override both). ``--resume`` continues the run in RUN_DIR (everything:
weights, optimizer, RNG, data position); ``--init-from CKPT`` starts a new run
from another run's weights only (fresh optimizer, step 0, data from the start).
Parallelism follows megatron: tensor (``--tp``) and pipeline (``--pp``) model
parallel, the rest of the world data parallel. CPU (gloo) runs with the
patches of model/cpu_patches.py; GPU (nccl) runs bf16 with fp32 master
weights and fused AdamW (docs/megatron-cpu.md).

Writes to RUN_DIR: ``log.jsonl`` (per step: loss, lr, grad norm, tokens/s, MFU;
eval loss every ``eval_interval``), ``checkpoints/iter_NNNNNNN`` (see
model/checkpoint.py), ``loss.png`` and ``run.json`` (the resolved settings).
"""
from __future__ import annotations

import argparse
import sys
import warnings
from dataclasses import dataclass, fields
from pathlib import Path
from typing import Optional

warnings.filterwarnings("ignore", message=".*(Apex|Transformer Engine|TE).*")

from model.trainer import TrainConfig  # noqa: E402


@dataclass(kw_only=True)
class PretrainConfig(TrainConfig):
    """Pretraining: the trainer's settings (``TrainConfig``) plus

    Args:
        preset: model shape (model/presets.py).
        weights: mixture weights by group-name pattern (model/data.py).
        attention: "sdpa" or "local" core attention (model/yi.py).
        seq_length: tokens per sample; absent = the preset's.
    """

    preset: str
    weights: dict
    attention: str
    seq_length: Optional[int] = None

    def __post_init__(self):
        super().__post_init__()
        if self.attention not in ("sdpa", "local"):
            raise ValueError(f"attention must be 'sdpa' or 'local', not {self.attention!r}")

    @classmethod
    def load(cls, cfg, recipe: Optional[str] = None, **overrides) -> "PretrainConfig":
        """[pretrain] of a loaded config, with ``recipe`` and overrides."""
        return cls.from_config(cfg, "pretrain", recipe, **overrides)


def lm_loss(model, batch):
    """Next-token cross-entropy per token [b, s] (megatron's ``GPTModel``
    returns it unmasked when given labels; the trainer applies ``loss_mask``).
    ``attention_mask`` (packed samples) when the batch has one."""
    return model(batch["tokens"], batch["position_ids"], batch.get("attention_mask"), labels=batch["labels"])


def gpt_data(cfg: PretrainConfig, shards: str | Path, seq_length: int, cache: Path):
    """The trainer's data part: megatron ``GPTDataset`` samples of the shards
    (train, and the held-out shards for eval), read by sample position."""
    from model.data import SampleBatches, build_datasets

    def make(dp_rank: int, dp_size: int):
        train_ds, valid_ds, _ = build_datasets(
            shards, seq_length=seq_length, train_samples=cfg.steps * cfg.global_batch,
            eval_samples=max(1, cfg.eval_iters * cfg.global_batch), weights=cfg.weights,
            seed=cfg.seed, cache=cache)
        return (SampleBatches(train_ds, cfg.micro_batch, dp_rank, dp_size),
                SampleBatches(valid_ds, cfg.micro_batch, dp_rank, dp_size) if valid_ds is not None else None)

    return make


def data_identity(manifest: dict, seed: int) -> dict:
    """What a resumed run must share with its checkpoints (saved in each):
    the tokenizer (sha256 of its model, vocabulary, EOD) and the data (the
    shards' names and counts, and the data-order seed), so that the data
    position means the same samples. Paths are left out: moved shards resume."""
    import hashlib
    import json

    tok = manifest["tokenizer"]
    shards = sorted(({k: s.get(k) for k in ("name", "split", "documents", "tokens", "bin_bytes")}
                     for s in manifest["shards"]), key=lambda s: s["name"])
    return {"tokenizer": {"sha256": tok["sha256"], "vocab_size": tok["vocab_size"], "eod": tok["eod"]},
            "data": {"shards_sha256": hashlib.sha256(json.dumps(shards, sort_keys=True).encode()).hexdigest(),
                     "documents": manifest["documents"], "tokens": manifest["tokens"], "seed": seed}}


def pretrain(cfg: PretrainConfig, data: str | Path, out: str | Path, *, resume: bool = False,
             init_from: Optional[str | Path] = None, progress: bool = True) -> dict:
    """Run pretraining; returns a summary (final loss, checkpoint, paths)."""
    from model.data import read_manifest
    from model.presets import get_preset
    from model.trainer import ModelSpec, Trainer

    out = Path(out)
    manifest = read_manifest(data)
    shape = get_preset(cfg.preset, vocab=manifest["tokenizer"]["vocab_size"], seq_length=cfg.seq_length)
    trainer = Trainer(cfg, model=ModelSpec(cfg.preset, shape, cfg.attention),
                      data=gpt_data(cfg, data, shape.seq_length, out / "index-cache"), loss=lm_loss,
                      out=out, name="pretrain", title=f"{cfg.preset} on {Path(data).name}",
                      meta={"data": str(data)}, resume=resume, init_from=init_from, progress=progress,
                      identity=data_identity(manifest, cfg.seed))
    return trainer.fit()


def main(argv=None) -> int:
    from pipeline.config import load_config

    from model.trainer import report
    from model.yi import destroy_parallel

    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--data", required=True, help="token shards directory (with manifest.json)")
    ap.add_argument("--out", required=True, help="run directory: checkpoints, log.jsonl, loss.png")
    ap.add_argument("--config", help="TOML overriding config/default.toml")
    ap.add_argument("--recipe", help="a [pretrain.<recipe>] section overriding [pretrain] (e.g. demo)")
    ap.add_argument("--resume", action="store_true", help="continue from the newest complete checkpoint")
    ap.add_argument("--init-from", metavar="CKPT",
                    help="start from these weights only (iter_* or checkpoints folder): fresh optimizer, step 0")
    ap.add_argument("--no-progress", action="store_true", help="no progress bar")
    for f in ("preset", "steps", "micro_batch", "global_batch", "seq_length", "tp", "pp", "lr", "min_lr", "warmup_steps",
              "save_interval", "eval_interval", "seed", "schedule", "attention"):
        typ = {"lr": float, "min_lr": float, "preset": str, "schedule": str, "attention": str}.get(f, int)
        ap.add_argument("--" + f.replace("_", "-"), dest=f, type=typ)
    args = ap.parse_args(argv)
    cfg = PretrainConfig.load(load_config(args.config), args.recipe,
                              **{f.name: getattr(args, f.name, None) for f in fields(PretrainConfig)})
    from model.checkpoint import CheckpointError
    from model.trainer import NonFiniteError

    try:
        summary = pretrain(cfg, args.data, args.out, resume=args.resume, init_from=args.init_from,
                           progress=not args.no_progress)
    except (CheckpointError, NonFiniteError) as e:  # a clear one-line reason, exit 1
        print(f"[pretrain] error: {e}", file=sys.stderr, flush=True)
        destroy_parallel()
        return 1
    report(summary, "pretrain")
    destroy_parallel()
    return 0


if __name__ == "__main__":
    sys.exit(main())
