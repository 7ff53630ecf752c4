"""Checkpoints with megatron ``dist_checkpointing``: model, optimizer (AdamW
moments sharded like their parameters), per-rank RNG states, data position
(consumed samples) and step.

Crash safety: a checkpoint is written to ``iter_NNNNNNN.tmp``; when every rank
has finished, rank 0 writes the ``COMPLETE`` marker (fsync'ed) and renames the
directory to ``iter_NNNNNNN``. ``latest`` picks the newest directory with a
marker; one that fails to load (torn, e.g. a disk fault after the rename) is
reported and the previous one is used; if none loads, that is an error
(never a silent fresh start).
"""
from __future__ import annotations

import os
import re
import shutil
import sys
from pathlib import Path

import torch

MARKER = "COMPLETE"
_ITER_RE = re.compile(r"^iter_(\d{7})$")


def _ranks():
    from megatron.core import parallel_state as ps

    return (ps.get_pipeline_model_parallel_rank(), ps.get_pipeline_model_parallel_world_size(),
            ps.get_tensor_model_parallel_rank(), ps.get_tensor_model_parallel_world_size(),
            ps.get_data_parallel_rank(), ps.get_data_parallel_world_size())


def _init_optimizer_state(optimizer) -> None:
    """Give every parameter AdamW's zero state (step 0 behaves exactly like a
    fresh state), so the sharded state dict has every tensor to save or load into."""
    fused = bool(optimizer.defaults.get("fused"))
    for group in optimizer.param_groups:
        for p in group["params"]:
            if not optimizer.state[p]:
                optimizer.state[p] = {
                    "step": torch.zeros((), dtype=torch.float32, device=p.device if fused else "cpu"),
                    "exp_avg": torch.zeros_like(p, memory_format=torch.preserve_format),
                    "exp_avg_sq": torch.zeros_like(p, memory_format=torch.preserve_format)}


def _sharded_state(model, optimizer, rng=None, masters: dict | None = None):
    """``masters``: {id(fp32 master): model parameter} when the optimizer
    updates master copies of bf16 parameters; the masters are then saved in
    the optimizer state (``master_param``), sharded like their parameter."""
    from megatron.core.dist_checkpointing.mapping import ShardedObject
    from megatron.core.dist_checkpointing.optimizer import (get_param_id_to_sharded_param_map,
                                                            optim_state_to_sharding_state)

    model_sd = model.sharded_state_dict()
    _init_optimizer_state(optimizer)
    params = [p for g in optimizer.param_groups for p in g["params"]]
    if masters:
        for p in params:
            optimizer.state[p]["master_param"] = p.data
    optim_sd = optimizer.state_dict()
    id_map = get_param_id_to_sharded_param_map(model_sd, [masters[id(p)] if masters else p for p in params])
    optim_state_to_sharding_state(optim_sd, id_map, exclude_keys=("step",))
    pp, pps, tp, tps, dp, dps = _ranks()
    rng_obj = ShardedObject("rng_state", rng, (pps, tps, dps), (pp, tp, dp), replica_id=0)
    return {"model": model_sd, "optimizer": optim_sd, "rng_state": rng_obj}


def rng_state() -> dict:
    import random

    import numpy as np
    from megatron.core.tensor_parallel import get_cuda_rng_tracker

    st = {"python": random.getstate(), "numpy": np.random.get_state(), "torch": torch.get_rng_state(),
          "tracker": get_cuda_rng_tracker().get_states()}
    if torch.cuda.is_available():
        st["cuda"] = torch.cuda.get_rng_state()
    return st


def set_rng_state(st: dict) -> None:
    import random

    import numpy as np
    from megatron.core.tensor_parallel import get_cuda_rng_tracker

    random.setstate(st["python"])
    np.random.set_state(st["numpy"])
    torch.set_rng_state(st["torch"])
    get_cuda_rng_tracker().set_states(st["tracker"])
    if "cuda" in st and torch.cuda.is_available():
        torch.cuda.set_rng_state(st["cuda"])


def save(ckpt_dir: str | Path, step: int, model, optimizer, state: dict, keep: int = 2,
         masters: dict | None = None) -> Path:
    """Write checkpoint ``step`` (``state``: small picklable training state,
    e.g. consumed samples, schedule) atomically; keep the newest ``keep``.
    ``masters``: see ``_sharded_state``."""
    import torch.distributed as dist
    from megatron.core import dist_checkpointing

    ckpt_dir = Path(ckpt_dir)
    final = ckpt_dir / f"iter_{step:07d}"
    tmp = ckpt_dir / f"iter_{step:07d}.tmp"
    rank = dist.get_rank()
    if rank == 0:
        shutil.rmtree(tmp, ignore_errors=True)
        tmp.mkdir(parents=True)
    dist.barrier()
    sd = _sharded_state(model, optimizer, rng_state(), masters)
    sd["state"] = {**state, "step": step}
    dist_checkpointing.save(sd, str(tmp))
    dist.barrier()
    if rank == 0:
        with open(tmp / MARKER, "w") as fh:
            fh.write(f"{step}\n")
            fh.flush()
            os.fsync(fh.fileno())
        if final.exists():
            shutil.rmtree(final)
        os.replace(tmp, final)
        for old in sorted(complete_checkpoints(ckpt_dir))[:-keep] if keep > 0 else []:
            shutil.rmtree(old, ignore_errors=True)
    dist.barrier()
    return final


def complete_checkpoints(ckpt_dir: str | Path) -> list[Path]:
    """Finished checkpoints (renamed, with marker), oldest first."""
    d = Path(ckpt_dir)
    if not d.is_dir():
        return []
    return sorted(p for p in d.iterdir() if _ITER_RE.match(p.name) and (p / MARKER).is_file())


def load_latest(ckpt_dir: str | Path, model, optimizer, masters: dict | None = None) -> dict | None:
    """Load the newest loadable checkpoint into ``model``/``optimizer``;
    return its ``state`` dict (None when there is none). Unfinished
    ``.tmp`` directories are ignored; a torn one falls back to the previous."""
    from megatron.core import dist_checkpointing
    from torch.distributed.checkpoint.api import CheckpointException  # a BaseException

    found = complete_checkpoints(ckpt_dir)
    for path in reversed(found):
        try:
            sd = _sharded_state(model, optimizer, masters=masters)
            sd["state"] = None
            loaded = dist_checkpointing.load(sd, str(path))
        except (Exception, CheckpointException) as e:  # torn: any read or shape error
            print(f"[checkpoint] {path} is unreadable ({type(e).__name__}: {str(e)[:200]}); "
                  f"trying the previous one", file=sys.stderr, flush=True)
            continue
        model.load_state_dict(loaded["model"])
        step = loaded["state"]["step"]
        optim_sd = loaded["optimizer"]
        optim_sd["param_groups"] = [dict(g, params=cur["params"]) for g, cur in
                                    zip(optim_sd["param_groups"], optimizer.state_dict()["param_groups"])]
        fused = bool(optimizer.defaults.get("fused"))
        for st in optim_sd["state"].values():
            st["step"] = torch.tensor(float(step), device=st["exp_avg"].device if fused else "cpu")
        optimizer.load_state_dict(optim_sd)
        for group in optimizer.param_groups:
            for p in group["params"]:
                saved = optimizer.state[p].pop("master_param", None)
                if saved is not None:
                    with torch.no_grad():
                        p.copy_(saved)
        set_rng_state(loaded["rng_state"])
        return {**loaded["state"], "path": str(path)}
    if found:
        raise RuntimeError(f"none of the checkpoints in {ckpt_dir} loads into this model "
                           f"({[p.name for p in found]}): wrong preset, or all torn")
    return None


def resolve(ckpt: str | Path) -> Path:
    """A finished checkpoint: ``ckpt`` itself (an ``iter_*`` folder with its
    marker) or the newest complete one in a ``checkpoints`` folder."""
    ckpt = Path(ckpt)
    if (ckpt / MARKER).is_file():
        return ckpt
    done = complete_checkpoints(ckpt)
    if not done:
        raise FileNotFoundError(f"no complete checkpoint in {ckpt}")
    return done[-1]


def saved_state(ckpt: str | Path) -> dict:
    """The small training state saved with a finished checkpoint (step,
    consumed samples, model config) without loading any tensor."""
    from megatron.core import dist_checkpointing

    return dist_checkpointing.load_common_state_dict(str(resolve(ckpt)))["state"]


def load_weights(ckpt: str | Path, model) -> dict:
    """Load only the model weights of a finished checkpoint (``resolve``) into
    ``model``: no optimizer, RNG or data position (``--init-from``, conversion).
    Returns the checkpoint's saved state, with its ``path``."""
    from megatron.core import dist_checkpointing

    path = resolve(ckpt)
    loaded = dist_checkpointing.load({"model": model.sharded_state_dict()}, str(path))
    model.load_state_dict(loaded["model"])
    return {**saved_state(path), "path": str(path)}
