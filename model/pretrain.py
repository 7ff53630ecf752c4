"""Pretrain a Yi model on the token shards.

    python -m model.pretrain --preset yi-tiny --data SHARDS --out RUN_DIR [--resume]
    torchrun --nproc-per-node 8 -m model.pretrain --preset yi-6b --data SHARDS --out RUN_DIR --tp 2

Hyper-parameters come from [pretrain] in config/default.toml (a
[pretrain.<name>] section chosen with ``--recipe`` overrides them; command-line
flags override both). Parallelism follows megatron: tensor (``--tp``) and
pipeline (``--pp``) model parallel through ``parallel_state``, the rest of the
world is data parallel; the step runs megatron's ``get_forward_backward_func``
schedule. CPU (gloo) runs with the patches of model/cpu_patches.py and
``torch.optim.AdamW``; GPU (nccl) runs bf16 with fp32 master weights and fused
AdamW.

Writes to RUN_DIR: ``log.jsonl`` (per step: loss, lr, grad norm, tokens/s, MFU;
eval loss every ``eval_interval``), ``checkpoints/iter_NNNNNNN`` (see
model/checkpoint.py), ``loss.png`` and ``run.json`` (the resolved settings).
"""
from __future__ import annotations

import argparse
import json
import sys
import time
import warnings
from dataclasses import asdict, dataclass, field, fields
from pathlib import Path
from typing import Optional

warnings.filterwarnings("ignore", message=".*(Apex|Transformer Engine|TE).*")

import torch  # noqa: E402


@dataclass
class PretrainConfig:
    """Pretraining hyper-parameters (defaults: [pretrain] in config/default.toml).

    Args:
        preset: model shape (model/presets.py).
        seq_length: tokens per sample; None = the preset's.
        micro_batch: samples per forward/backward on one rank.
        global_batch: samples per optimizer step (all ranks, all micro-batches).
        rampup_batch_size: megatron's [start, increment, ramp_samples] or None.
        steps: optimizer steps of the run.
        lr, min_lr, warmup_steps, schedule, decay_fraction: see model/schedule.py.
        weight_decay, beta1, beta2, eps: AdamW (not applied to norms).
        clip_grad: global gradient-norm clip.
        eval_interval, eval_iters: eval every n steps on eval_iters held-out batches.
        save_interval, keep_checkpoints: checkpoint every n steps, keep the newest k.
        log_interval: steps between progress-bar updates.
        weights: mixture weights by group-name pattern (model/data.py).
        peak_flops: accelerator peak for MFU (H100 bf16 dense 989e12); None on CPU.
        tp, pp: tensor / pipeline model-parallel sizes.
        attention: "sdpa" or "local" core attention (model/yi.py).
        seed: init and data-order seed.
    """

    preset: str = "yi-tiny"
    seq_length: Optional[int] = None
    micro_batch: int = 4
    global_batch: int = 8
    rampup_batch_size: Optional[list] = None
    steps: int = 300
    lr: float = 3e-4
    min_lr: float = 3e-5
    warmup_steps: int = 20
    schedule: str = "cosine"
    decay_fraction: float = 0.1
    weight_decay: float = 0.1
    beta1: float = 0.9
    beta2: float = 0.95
    eps: float = 1e-8
    clip_grad: float = 1.0
    eval_interval: int = 100
    eval_iters: int = 2
    save_interval: int = 100
    keep_checkpoints: int = 2
    log_interval: int = 10
    weights: dict = field(default_factory=lambda: {"*": 1.0})
    peak_flops: Optional[float] = None
    tp: int = 1
    pp: int = 1
    attention: str = "sdpa"
    seed: int = 1234

    @classmethod
    def from_config(cls, cfg, recipe: Optional[str] = None, **overrides) -> "PretrainConfig":
        sec = cfg.section("pretrain")
        recipes = {k: sec.pop(k) for k in list(sec) if isinstance(sec[k], dict) and k != "weights"}
        if recipe:
            if recipe not in recipes:
                raise SystemExit(f"unknown recipe [pretrain.{recipe}]; known: {sorted(recipes)}")
            sec.update(recipes[recipe])
        known = {f.name for f in fields(cls)}
        unknown = set(sec) - known
        if unknown:
            raise ValueError(f"unknown [pretrain] keys: {sorted(unknown)}")
        sec.update({k: v for k, v in overrides.items() if v is not None})
        return cls(**sec)


class MasterWeights:
    """bf16 model parameters with fp32 master copies that AdamW updates
    (the mixed-precision recipe of megatron's Float16OptimizerWithFloat16Params,
    with torch's fused AdamW: faster than megatron's non-fused fallback
    without apex/TE, shared/notes/stack.md). On fp32 models it is a no-op."""

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


def build_optimizer(params, cfg: PretrainConfig) -> torch.optim.AdamW:
    """AdamW; weight decay on matrices only (not on norms). torch's fused
    kernel on CPU and GPU alike (no per-parameter temporaries; it is also what
    Hugging Face's Trainer uses by default with torch >= 2.8)."""
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


def accumulate(*, forward_step_func, data_iterator, model, num_microbatches, forward_only=False, **_):
    """Gradient accumulation without pipelining, with the contract of
    megatron's ``forward_backward_no_pipelining`` (which allocates on cuda):
    each micro-batch loss is divided by the count before backward; returns
    the loss dicts."""
    out = []
    for _ in range(num_microbatches):
        output, loss_func = forward_step_func(data_iterator, model[0])
        loss, reduced = loss_func(output)
        if not forward_only:
            (loss / num_microbatches).backward()
        out.append(reduced)
    return out


def plot_loss(log_path: Path, png: Path, title: str) -> None:
    """Training and eval loss against tokens seen, PNG (matplotlib Agg)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    train, evals = {}, {}
    for line in log_path.read_text().splitlines():
        r = json.loads(line)
        (evals if "eval_loss" in r else train)[r["step"]] = r
    fig, ax = plt.subplots(figsize=(7, 4))
    ts = sorted(train)
    ax.plot([train[s]["tokens"] / 1e6 for s in ts], [train[s]["loss"] for s in ts], lw=1, label="train")
    if evals:
        es = sorted(evals)
        ax.plot([evals[s]["tokens"] / 1e6 for s in es], [evals[s]["eval_loss"] for s in es], "o-", label="eval (held out)")
    ax.set_xlabel("tokens (M)")
    ax.set_ylabel("loss (nats/token)")
    ax.set_title(title)
    ax.grid(alpha=0.3)
    ax.legend()
    fig.tight_layout()
    fig.savefig(png, dpi=120)
    plt.close(fig)


def pretrain(cfg: PretrainConfig, data: str | Path, out: str | Path, *, resume: bool = False,
             progress: bool = True) -> dict:
    """Run pretraining; returns a summary (final loss, checkpoint, paths)."""
    import torch.distributed as dist
    from megatron.core import parallel_state as ps
    from megatron.core.num_microbatches_calculator import (destroy_num_microbatches_calculator,
                                                           get_current_global_batch_size,
                                                           get_num_microbatches,
                                                           init_num_microbatches_calculator,
                                                           update_num_microbatches)
    from megatron.core.pipeline_parallel import get_forward_backward_func

    from model import checkpoint
    from model.data import SampleBatches, build_datasets, read_manifest
    from model.presets import get_preset
    from model.schedule import LRSchedule
    from model.yi import build_model, init_parallel

    out = Path(out)
    cuda = torch.cuda.is_available()
    init_parallel(cfg.tp, cfg.pp, cfg.seed)
    rank, dp, dp_size = dist.get_rank(), ps.get_data_parallel_rank(), ps.get_data_parallel_world_size()
    if cfg.global_batch % (cfg.micro_batch * dp_size):
        raise ValueError(f"global_batch {cfg.global_batch} must be a multiple of micro_batch × data-parallel "
                         f"size ({cfg.micro_batch} × {dp_size})")
    destroy_num_microbatches_calculator()
    init_num_microbatches_calculator(rank, cfg.rampup_batch_size, cfg.global_batch, cfg.micro_batch, dp_size)

    manifest = read_manifest(data)
    shape = get_preset(cfg.preset, vocab=manifest["tokenizer"]["vocab_size"], seq_length=cfg.seq_length)
    model = build_model(shape, tp=cfg.tp, pp=cfg.pp, bf16=cuda, attention=cfg.attention)
    params = [p for p in model.parameters() if p.requires_grad]
    master = MasterWeights(params)
    optimizer = build_optimizer(master.masters, cfg)
    sched = LRSchedule(cfg.lr, cfg.min_lr, cfg.warmup_steps, cfg.steps, cfg.schedule, cfg.decay_fraction)

    train_ds, valid_ds, _ = build_datasets(
        data, seq_length=shape.seq_length, train_samples=cfg.steps * cfg.global_batch,
        eval_samples=max(1, cfg.eval_iters * cfg.global_batch), weights=cfg.weights,
        seed=cfg.seed, cache=out / "index-cache")
    train_batches = SampleBatches(train_ds, cfg.micro_batch, dp, dp_size)
    valid_batches = SampleBatches(valid_ds, cfg.micro_batch, dp, dp_size) if valid_ds is not None else None

    step, consumed, tokens = 0, 0, 0
    ckpt_dir = out / "checkpoints"
    if resume:
        st = checkpoint.load_latest(ckpt_dir, model, optimizer, master.by_master())
        if st is not None:
            step, consumed, tokens = st["step"], st["consumed_samples"], st["tokens"]
            master.master_to_model()
            if rank == 0:
                print(f"[pretrain] resumed from {st['path']} at step {step}", file=sys.stderr, flush=True)
    elif rank == 0 and ckpt_dir.exists() and checkpoint.complete_checkpoints(ckpt_dir):
        raise SystemExit(f"{ckpt_dir} holds checkpoints: pass --resume, or choose a new --out")

    log_path = out / "log.jsonl"
    if rank == 0:
        out.mkdir(parents=True, exist_ok=True)
        (out / "run.json").write_text(json.dumps({"config": asdict(cfg), "shape": shape.to_dict(),
                                                  "data": str(data), "world_size": dist.get_world_size()},
                                                 indent=2, sort_keys=True) + "\n")
        if not resume and log_path.exists():
            log_path.unlink()
    if cfg.pp > 1 and not cuda:
        raise SystemExit("pipeline parallel needs CUDA (megatron's pipeline schedules allocate on cuda)")
    fwd_bwd = get_forward_backward_func() if cfg.pp > 1 else accumulate
    dev = torch.device("cuda") if cuda else torch.device("cpu")

    def forward_step(it, m):
        b = {k: v.to(dev, non_blocking=True) for k, v in next(it).items()}
        losses = m(b["tokens"], b["position_ids"], None, labels=b["labels"])

        def loss_func(output):
            mask = b["loss_mask"].float()
            loss = (output.float() * mask).sum() / mask.sum().clamp(min=1)
            return loss, {"lm loss": loss.detach()}

        return losses, loss_func

    def mean_loss(reduced) -> float:
        """Average the micro-batch losses of the last pipeline stage over
        pipeline (others add 0) and data-parallel ranks."""
        v = torch.stack([r["lm loss"] for r in reduced]).mean() if reduced else torch.zeros((), device=dev)
        v = v.float().clone()
        dist.all_reduce(v, group=ps.get_pipeline_model_parallel_group())
        dist.all_reduce(v, group=ps.get_data_parallel_group())
        return v.item() / dp_size

    def run_eval() -> float:
        model.eval()
        with torch.no_grad():
            vals = []
            for i in range(cfg.eval_iters):
                it = valid_batches.micro_batches(i * cfg.global_batch, cfg.global_batch)
                vals.append(mean_loss(fwd_bwd(forward_step_func=forward_step, data_iterator=it, model=[model],
                                              num_microbatches=cfg.global_batch // (cfg.micro_batch * dp_size),
                                              seq_length=shape.seq_length, micro_batch_size=cfg.micro_batch,
                                              forward_only=True)))
        model.train()
        return sum(vals) / len(vals)

    def log(rec: dict):
        if rank == 0:
            with open(log_path, "a") as fh:
                fh.write(json.dumps(rec, sort_keys=True) + "\n")

    bar = None
    if rank == 0 and progress:
        from tqdm import tqdm
        bar = tqdm(total=cfg.steps, initial=step, desc=f"pretrain {cfg.preset}", file=sys.stderr,
                   mininterval=2.0, dynamic_ncols=True)
    model.train()
    loss = float("nan")
    t_run = time.time()
    while step < cfg.steps:
        update_num_microbatches(consumed, consistency_check=True)
        gb, nmb = get_current_global_batch_size(), get_num_microbatches()
        lr = sched(step)
        for g in optimizer.param_groups:
            g["lr"] = lr
        t0 = time.time()
        for p in params:
            p.grad = None
        it = train_batches.micro_batches(consumed, gb)
        reduced = fwd_bwd(forward_step_func=forward_step, data_iterator=it, model=[model], num_microbatches=nmb,
                          seq_length=shape.seq_length, micro_batch_size=cfg.micro_batch, forward_only=False)
        if dp_size > 1:
            for p in params:
                if p.grad is not None:
                    dist.all_reduce(p.grad, group=ps.get_data_parallel_group())
                    p.grad.div_(dp_size)
        master.grads_to_master()
        gnorm = grad_norm_and_clip(master.masters, cfg.clip_grad)
        optimizer.step()
        master.master_to_model()
        loss = mean_loss(reduced)
        if cuda:
            torch.cuda.synchronize()
        dt = time.time() - t0
        step += 1
        consumed += gb
        tokens += gb * shape.seq_length
        tps = gb * shape.seq_length / dt
        rec = {"step": step, "loss": loss, "lr": lr, "grad_norm": round(gnorm, 6),
               "global_batch": gb, "tokens": tokens, "tokens_per_s": round(tps, 1),
               "mfu": round(shape.flops_per_token() * tps / cfg.peak_flops, 4) if cfg.peak_flops and cuda else None}
        log(rec)
        if bar is not None:
            bar.update(1)
            if step % cfg.log_interval == 0 or step == cfg.steps:
                bar.set_postfix(loss=f"{loss:.3f}", lr=f"{lr:.2e}", tok_s=f"{tps:.0f}", refresh=False)
        if cfg.eval_interval and valid_batches is not None and (step % cfg.eval_interval == 0 or step == cfg.steps):
            ev = run_eval()
            log({"step": step, "eval_loss": round(ev, 6), "tokens": tokens})
            if bar is not None:
                bar.write(f"[pretrain] step {step}: train loss {loss:.4f}, eval loss {ev:.4f}")
        if cfg.save_interval and (step % cfg.save_interval == 0 or step == cfg.steps):
            checkpoint.save(ckpt_dir, step, model, optimizer,
                            {"consumed_samples": consumed, "tokens": tokens, "preset": cfg.preset,
                             "shape": shape.to_dict()}, keep=cfg.keep_checkpoints, masters=master.by_master())
    if bar is not None:
        bar.close()
    summary = {"steps": step, "final_loss": loss, "tokens": tokens, "seconds": round(time.time() - t_run, 1),
               "log": str(log_path), "checkpoints": str(ckpt_dir), "png": str(out / "loss.png")}
    if rank == 0 and log_path.exists():
        plot_loss(log_path, out / "loss.png", f"{cfg.preset} on {Path(data).name}")
    return summary


def main(argv=None) -> int:
    from pipeline.config import load_config

    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--data", required=True, help="token shards directory (with manifest.json)")
    ap.add_argument("--out", required=True, help="run directory: checkpoints, log.jsonl, loss.png")
    ap.add_argument("--config", help="TOML overriding config/default.toml")
    ap.add_argument("--recipe", help="a [pretrain.<recipe>] section overriding [pretrain] (e.g. demo)")
    ap.add_argument("--resume", action="store_true", help="continue from the newest complete checkpoint")
    ap.add_argument("--no-progress", action="store_true", help="no progress bar")
    for f in ("preset", "steps", "micro_batch", "global_batch", "seq_length", "tp", "pp", "lr", "min_lr", "warmup_steps",
              "save_interval", "eval_interval", "seed", "schedule", "attention"):
        typ = {"lr": float, "min_lr": float, "preset": str, "schedule": str, "attention": str}.get(f, int)
        ap.add_argument("--" + f.replace("_", "-"), dest=f, type=typ)
    args = ap.parse_args(argv)
    cfg = PretrainConfig.from_config(load_config(args.config), args.recipe,
                                     **{f.name: getattr(args, f.name, None) for f in fields(PretrainConfig)})
    summary = pretrain(cfg, args.data, args.out, resume=args.resume, progress=not args.no_progress)
    import torch.distributed as dist

    if dist.get_rank() == 0:
        print(f"[pretrain] {summary['steps']} steps, final loss {summary['final_loss']:.4f}, "
              f"{summary['tokens']} tokens in {summary['seconds']} s", file=sys.stderr)
        print(f"[pretrain] checkpoint: {summary['checkpoints']}\n[pretrain] log: {summary['log']}\n"
              f"[pretrain] loss curve: {summary['png']}", file=sys.stderr, flush=True)
    from model.yi import destroy_parallel

    destroy_parallel()
    return 0


if __name__ == "__main__":
    sys.exit(main())
