"""One trainer for every training stage (pretraining, SFT, long context, ...),
its parts passed in, in the spirit of torchtitan's ``Trainer`` + model spec:

- ``TrainConfig``: the hyper-parameters every stage has (batch, steps,
  optimizer, schedule, eval, checkpoints, parallelism, seed); a stage's config
  extends it and reads its TOML section (defaults live in config/default.toml).
- ``model``: a ``ModelSpec`` (name, ``ModelConfig``, ``build``).
- ``data``: ``data(dp_rank, dp_size)`` → (train, valid or None) batch sources,
  each with ``micro_batches(consumed, global_batch)`` yielding dicts of
  tensors (at least ``loss_mask``; model/data.py ``SampleBatches``).
- ``loss``: ``loss(model, batch)`` → per-token loss [b, s]; the trainer
  averages it over ``batch["loss_mask"]`` (SFT's response-only loss is just
  another mask).

The trainer owns the rest: process groups (``init_parallel``) and megatron's
global micro-batch calculator (batch ramp), AdamW with fp32 masters and the
LR schedule (model/optim.py, model/schedule.py), gradient accumulation or
megatron's pipeline schedule, data-parallel gradient averaging, checkpoints
(model/checkpoint.py: ``resume`` restores everything; ``init_from`` loads only
the weights: fresh optimizer, step 0, data from the start), and the run log,
progress bar and loss plot (model/runlog.py).

Run directory: ``log.jsonl``, ``checkpoints/iter_NNNNNNN``, ``loss.png``,
``run.json`` (the resolved settings).
"""
from __future__ import annotations

import json
import math
import sys
import time
from dataclasses import asdict, dataclass, fields
from pathlib import Path
from typing import Callable, Optional

import torch

from model.presets import ModelConfig


@dataclass(kw_only=True)
class TrainConfig:
    """Hyper-parameters shared by every training stage. No defaults here: a
    stage's section of config/default.toml holds them (``from_config``);
    this class documents and validates.

    Args:
        micro_batch: samples per forward/backward on one rank.
        global_batch: samples per optimizer step (all ranks, all micro-batches).
        steps: optimizer steps of the run.
        lr, min_lr, warmup_steps, schedule, decay_fraction: see model/schedule.py.
        weight_decay, beta1, beta2, eps: AdamW (not applied to norms).
        clip_grad: global gradient-norm clip (0: none).
        eval_interval, eval_iters: eval every n steps (0: never) on eval_iters held-out batches.
        save_interval, keep_checkpoints: checkpoint every n steps (0: only never), keep the newest k.
        log_interval: steps between progress-bar updates.
        max_nonfinite_skips: steps with a non-finite loss or grad norm that are
            skipped (no update, counted in the log as ``skipped``) before the
            next one stops training with ``NonFiniteError`` (0: the first stops it).
        tp, pp: tensor / pipeline model-parallel sizes.
        seed: init and data-order seed.
        rampup_batch_size: megatron's [start, increment, ramp_samples]; absent = no ramp.
        peak_flops: accelerator peak for the MFU column (GPU runs); absent = no MFU.
    """

    micro_batch: int
    global_batch: int
    steps: int
    lr: float
    min_lr: float
    warmup_steps: int
    schedule: str
    decay_fraction: float
    weight_decay: float
    beta1: float
    beta2: float
    eps: float
    clip_grad: float
    eval_interval: int
    eval_iters: int
    save_interval: int
    keep_checkpoints: int
    log_interval: int
    max_nonfinite_skips: int
    tp: int
    pp: int
    seed: int
    rampup_batch_size: Optional[list] = None  # optional settings: TOML has no null, absent = off
    peak_flops: Optional[float] = None

    def __post_init__(self):
        for name in ("micro_batch", "global_batch", "steps", "eval_iters", "log_interval", "tp", "pp"):
            v = getattr(self, name)
            if isinstance(v, bool) or not isinstance(v, int) or v < 1:
                raise ValueError(f"{name} must be a positive integer, not {v!r}")
        for name in ("warmup_steps", "eval_interval", "save_interval", "keep_checkpoints", "seed",
                     "max_nonfinite_skips"):
            v = getattr(self, name)
            if isinstance(v, bool) or not isinstance(v, int) or v < 0:
                raise ValueError(f"{name} must be an integer >= 0, not {v!r}")
        if self.global_batch % self.micro_batch:
            raise ValueError(f"global_batch {self.global_batch} must be a multiple of micro_batch {self.micro_batch}")
        if not 0 <= self.min_lr <= self.lr:
            raise ValueError(f"learning rates must satisfy 0 <= min_lr <= lr (lr {self.lr}, min_lr {self.min_lr})")
        if self.rampup_batch_size is not None and len(self.rampup_batch_size) != 3:
            raise ValueError("rampup_batch_size must be [start, increment, ramp_samples]")
        self.lr_schedule()  # validates schedule, warmup_steps

    def lr_schedule(self):
        from model.schedule import LRSchedule

        return LRSchedule(self.lr, self.min_lr, self.warmup_steps, self.steps, self.schedule, self.decay_fraction)

    @classmethod
    def from_config(cls, cfg, section: str, recipe: Optional[str] = None, **overrides):
        """The ``[section]`` of a loaded config (pipeline/config.py), updated
        by its ``[section.<recipe>]`` table, then by ``overrides`` that are not None."""
        names = {f.name for f in fields(cls)}
        try:
            sec = cfg.variant(section, recipe, keep=tuple(names))
        except KeyError as e:
            raise SystemExit(f"unknown recipe {recipe!r}: {e.args[0]}") from None
        unknown = set(sec) - names
        if unknown:
            raise ValueError(f"unknown [{section}] keys: {sorted(unknown)}")
        sec.update({k: v for k, v in overrides.items() if v is not None and k in names})
        missing = sorted(f.name for f in fields(cls) if f.name not in sec and f.default is not None)
        if missing:
            raise ValueError(f"[{section}] lacks {missing} (config/default.toml holds every default)")
        return cls(**sec)


class NonFiniteError(RuntimeError):
    """Training met a non-finite loss or gradient norm (more than
    ``max_nonfinite_skips`` times); nothing was updated or saved from it."""


@dataclass
class ModelSpec:
    """What model to train: ``name`` (saved with checkpoints), its
    ``ModelConfig``, and the core attention kind (model/yi.py)."""

    name: str
    config: ModelConfig
    attention: str = "sdpa"

    def build(self, *, tp: int, pp: int, bf16: bool):
        from model.yi import build_model

        return build_model(self.config, tp=tp, pp=pp, bf16=bf16, attention=self.attention)


def masked_mean(per_token: torch.Tensor, loss_mask: torch.Tensor) -> torch.Tensor:
    """Mean of a per-token loss over the tokens the mask keeps."""
    mask = loss_mask.float()
    return (per_token.float() * mask).sum() / mask.sum().clamp(min=1)


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


class Trainer:
    """Builds everything a run needs from its parts; ``fit()`` trains.

    ``resume``: continue from the newest complete checkpoint in
    ``out/checkpoints`` (model, optimizer, RNG, data position, step).
    ``init_from``: a checkpoint (``iter_*`` or a ``checkpoints`` folder)
    whose weights start the run: fresh optimizer, step 0, data from the start.
    With both, a checkpoint of the run itself wins (resuming a run that was
    initialised from another).

    ``identity``: what the run's checkpoints must agree on besides the model
    shape, saved in each (e.g. ``{"tokenizer": {...}, "data": {...}}``): a
    resume requires every entry to be equal, ``init_from`` the ``tokenizer``
    (model/checkpoint.py ``CheckpointMismatch`` names each field that differs)."""

    def __init__(self, cfg: TrainConfig, *, model: ModelSpec, data: Callable, loss: Callable, out: str | Path,
                 name: str, title: str, meta: Optional[dict] = None, resume: bool = False,
                 init_from: Optional[str | Path] = None, progress: bool = True, identity: Optional[dict] = None):
        import torch.distributed as dist
        from megatron.core import parallel_state as ps

        from model.optim import MasterWeights, build_optimizer
        from model.yi import init_parallel

        self.cfg, self.spec, self.loss, self.name, self.title = cfg, model, loss, name, title
        self.identity = dict(identity or {})
        self.out = Path(out)
        self.ckpt_dir = self.out / "checkpoints"
        self.cuda = torch.cuda.is_available()
        self.device = torch.device("cuda") if self.cuda else torch.device("cpu")
        init_parallel(cfg.tp, cfg.pp, cfg.seed)
        self.rank, dp, self.dp_size = dist.get_rank(), ps.get_data_parallel_rank(), ps.get_data_parallel_world_size()
        self._init_batch_calculator()

        self.model = model.build(tp=cfg.tp, pp=cfg.pp, bf16=self.cuda)
        self.step, self.consumed, self.tokens, self.nonfinite = 0, 0, 0, 0
        resuming = resume and self._has_checkpoints()
        if init_from is not None and not resuming:
            from model import checkpoint

            shape = {k: v for k, v in model.config.to_dict().items() if k != "seq_length"}  # may grow
            expect = {"shape": shape, **{k: v for k, v in self.identity.items() if k == "tokenizer"}}
            st = checkpoint.load_weights(init_from, self.model, expect=expect)
            self._say(f"weights from {st['path']} (its step {st['step']}); fresh optimizer, step 0")
        self.params = [p for p in self.model.parameters() if p.requires_grad]
        self.master = MasterWeights(self.params)
        self.optimizer = build_optimizer(self.master.masters, cfg)
        self.schedule = cfg.lr_schedule()
        self.train_batches, self.valid_batches = data(dp, self.dp_size)
        if resume:
            self._resume()
        elif self.rank == 0 and self._has_checkpoints():
            raise SystemExit(f"{self.ckpt_dir} holds checkpoints: pass --resume, or choose a new --out")

        if self.rank == 0:
            self.out.mkdir(parents=True, exist_ok=True)
            (self.out / "run.json").write_text(json.dumps(
                {"config": asdict(cfg), "shape": model.config.to_dict(), "init_from": init_from and str(init_from),
                 "world_size": dist.get_world_size(), **(meta or {})}, indent=2, sort_keys=True, default=str) + "\n")
        from model.runlog import RunLog

        self.log = RunLog(self.out, rank=self.rank, fresh=not resume, progress=progress, name=name,
                          desc=f"{name} {model.name}", total=cfg.steps, initial=self.step,
                          log_interval=cfg.log_interval)
        if cfg.pp > 1 and not self.cuda:
            raise SystemExit("pipeline parallel needs CUDA (megatron's pipeline schedules allocate on cuda)")
        if cfg.pp > 1:
            from megatron.core.pipeline_parallel import get_forward_backward_func
            self.fwd_bwd = get_forward_backward_func()
        else:
            self.fwd_bwd = accumulate

    # -- set-up -------------------------------------------------------------
    def _init_batch_calculator(self) -> None:
        from megatron.core.num_microbatches_calculator import (destroy_num_microbatches_calculator,
                                                               init_num_microbatches_calculator)

        cfg = self.cfg
        if cfg.global_batch % (cfg.micro_batch * self.dp_size):
            raise ValueError(f"global_batch {cfg.global_batch} must be a multiple of micro_batch × data-parallel "
                             f"size ({cfg.micro_batch} × {self.dp_size})")
        destroy_num_microbatches_calculator()
        init_num_microbatches_calculator(self.rank, cfg.rampup_batch_size, cfg.global_batch, cfg.micro_batch,
                                         self.dp_size)

    def _say(self, msg: str) -> None:
        if self.rank == 0:
            print(f"[{self.name}] {msg}", file=sys.stderr, flush=True)

    def _has_checkpoints(self) -> bool:
        from model import checkpoint

        return self.ckpt_dir.exists() and bool(checkpoint.complete_checkpoints(self.ckpt_dir))

    def _resume(self) -> None:
        from model import checkpoint

        st = checkpoint.load_latest(self.ckpt_dir, self.model, self.optimizer, self.master.by_master(),
                                    expect={"shape": self.spec.config.to_dict(), **self.identity})
        if st is not None:
            self.step, self.consumed, self.tokens = st["step"], st["consumed_samples"], st["tokens"]
            self.nonfinite = st.get("nonfinite_skips", 0)
            self.master.master_to_model()
            self._say(f"resumed from {st['path']} at step {self.step}")

    def save(self) -> Path:
        from model import checkpoint

        return checkpoint.save(self.ckpt_dir, self.step, self.model, self.optimizer,
                               {"consumed_samples": self.consumed, "tokens": self.tokens, "preset": self.spec.name,
                                "shape": self.spec.config.to_dict(), "nonfinite_skips": self.nonfinite,
                                **self.identity},
                               keep=self.cfg.keep_checkpoints, masters=self.master.by_master())

    # -- steps --------------------------------------------------------------
    def _forward_step(self, it, m):
        """megatron's forward-step contract: (output, loss_func)."""
        b = {k: v.to(self.device, non_blocking=True) for k, v in next(it).items()}
        per_token = self.loss(m, b)

        def loss_func(output):
            loss = masked_mean(output, b["loss_mask"])
            return loss, {"loss": loss.detach()}

        return per_token, loss_func

    def _run(self, it, num_microbatches: int, forward_only: bool):
        return self.fwd_bwd(forward_step_func=self._forward_step, data_iterator=it, model=[self.model],
                            num_microbatches=num_microbatches, seq_length=self.spec.config.seq_length,
                            micro_batch_size=self.cfg.micro_batch, forward_only=forward_only)

    def _mean_loss(self, reduced) -> float:
        """Average the micro-batch losses of the last pipeline stage over
        pipeline (others add 0) and data-parallel ranks."""
        import torch.distributed as dist
        from megatron.core import parallel_state as ps

        v = torch.stack([r["loss"] for r in reduced]).mean() if reduced else torch.zeros((), device=self.device)
        v = v.float().clone()
        dist.all_reduce(v, group=ps.get_pipeline_model_parallel_group())
        dist.all_reduce(v, group=ps.get_data_parallel_group())
        return v.item() / self.dp_size

    def evaluate(self) -> float:
        """Mean loss over ``eval_iters`` held-out global batches."""
        cfg = self.cfg
        self.model.eval()
        with torch.no_grad():
            vals = []
            for i in range(cfg.eval_iters):
                it = self.valid_batches.micro_batches(i * cfg.global_batch, cfg.global_batch)
                vals.append(self._mean_loss(self._run(it, cfg.global_batch // (cfg.micro_batch * self.dp_size),
                                                      forward_only=True)))
        self.model.train()
        return sum(vals) / len(vals)

    def train_step(self) -> dict:
        """One optimizer step; returns its log record."""
        import torch.distributed as dist
        from megatron.core import parallel_state as ps
        from megatron.core.num_microbatches_calculator import (get_current_global_batch_size,
                                                               get_num_microbatches, update_num_microbatches)

        from model.optim import grad_norm_and_clip

        cfg, seq = self.cfg, self.spec.config.seq_length
        update_num_microbatches(self.consumed, consistency_check=True)
        gb, nmb = get_current_global_batch_size(), get_num_microbatches()
        lr = self.schedule(self.step)
        for g in self.optimizer.param_groups:
            g["lr"] = lr
        t0 = time.time()
        for p in self.params:
            p.grad = None
        reduced = self._run(self.train_batches.micro_batches(self.consumed, gb), nmb, forward_only=False)
        if self.dp_size > 1:
            for p in self.params:
                if p.grad is not None:
                    dist.all_reduce(p.grad, group=ps.get_data_parallel_group())
                    p.grad.div_(self.dp_size)
        self.master.grads_to_master()
        gnorm = grad_norm_and_clip(self.master.masters, cfg.clip_grad)
        loss = self._mean_loss(reduced)
        finite = math.isfinite(loss) and math.isfinite(gnorm)  # the same on every rank (all-reduced)
        if finite:
            self.optimizer.step()
            self.master.master_to_model()
        else:
            for m in self.master.masters:
                m.grad = None
            self.nonfinite += 1
            if self.nonfinite > cfg.max_nonfinite_skips:
                raise NonFiniteError(
                    f"step {self.step + 1}: non-finite {'loss' if not math.isfinite(loss) else 'grad norm'} "
                    f"(loss {loss}, grad norm {gnorm}) after {self.nonfinite - 1} skipped step(s) "
                    f"(max_nonfinite_skips = {cfg.max_nonfinite_skips}); nothing was updated or saved from it: "
                    f"the newest checkpoint in {self.ckpt_dir} is from the last finite state "
                    f"(lower lr, check the data, or resume)")
        if self.cuda:
            torch.cuda.synchronize()
        dt = time.time() - t0
        self.step += 1
        self.consumed += gb
        self.tokens += gb * seq
        tps = gb * seq / dt
        mfu = self.spec.config.flops_per_token() * tps / cfg.peak_flops if cfg.peak_flops and self.cuda else None
        rec = {"step": self.step, "loss": loss, "lr": lr, "grad_norm": round(gnorm, 6), "global_batch": gb,
               "tokens": self.tokens, "tokens_per_s": round(tps, 1), "mfu": None if mfu is None else round(mfu, 4)}
        if not finite:
            rec.update(skipped=True, nonfinite_skips=self.nonfinite)
            self._say(f"step {self.step}: non-finite loss {loss} / grad norm {gnorm}: skipped, no update "
                      f"({self.nonfinite} of max_nonfinite_skips = {cfg.max_nonfinite_skips})")
        return rec

    def fit(self) -> dict:
        """Train to ``cfg.steps``: log, eval and checkpoint on their intervals;
        returns a summary (final loss, tokens, paths)."""
        cfg = self.cfg
        self.model.train()
        loss = float("nan")
        t_run = time.time()
        while self.step < cfg.steps:
            try:
                rec = self.train_step()
            except NonFiniteError:
                self.log.close(self.title)
                raise
            loss = rec["loss"]
            self.log.step(rec)
            last = self.step == cfg.steps
            if cfg.eval_interval and self.valid_batches is not None and (self.step % cfg.eval_interval == 0 or last):
                self.log.eval(self.step, self.evaluate(), self.tokens, loss)
            if cfg.save_interval and (self.step % cfg.save_interval == 0 or last):
                self.save()
        self.log.close(self.title)
        return {"steps": self.step, "final_loss": loss, "tokens": self.tokens,
                "seconds": round(time.time() - t_run, 1), "log": str(self.log.path),
                "checkpoints": str(self.ckpt_dir), "png": str(self.log.png)}


def report(summary: dict, name: str) -> None:
    """Print a run's summary on rank 0 (stderr)."""
    import torch.distributed as dist

    if dist.get_rank() == 0:
        print(f"[{name}] {summary['steps']} steps, final loss {summary['final_loss']:.4f}, "
              f"{summary['tokens']} tokens in {summary['seconds']} s", file=sys.stderr)
        print(f"[{name}] checkpoint: {summary['checkpoints']}\n[{name}] log: {summary['log']}\n"
              f"[{name}] loss curve: {summary['png']}", file=sys.stderr, flush=True)

