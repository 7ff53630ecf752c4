"""Checkpoints with megatron ``dist_checkpointing``: model, optimizer (AdamW
moments sharded like their parameters), per-rank RNG states, data position
(consumed samples) and step.

Crash safety: a checkpoint is written to ``iter_NNNNNNN.tmp``; when every rank
has finished, rank 0 writes the ``COMPLETE`` marker (fsync'ed) and renames the
directory to ``iter_NNNNNNN``. ``latest`` picks the newest directory with a
marker; one that fails to load (torn, e.g. a disk fault after the rename) is
reported and the previous one is used; if none loads, that is an error
(never a silent fresh start).

Integrity: ``checksums.sha256`` (sha256 of every file, ``sha256sum`` format)
is written before the marker and verified before a load; a damaged or missing
file makes that checkpoint refused by name (and resume falls back). A
checkpoint is never written from non-finite weights or optimizer state, and
rotation deletes only checkpoints older than the one just written.

Loading never runs code from the checkpoint: torch DCP would unpickle
``.metadata`` with plain pickle and the RNG byte item with ``torch.load``
and ``weights_only`` off; here ``.metadata`` goes through an
unpickler that allows only DCP's metadata records, ``torch.Size``, dtypes and
layouts, byte items and ``common.pt`` load with ``weights_only=True``, and the
RNG state is saved as tensors and builtins only. Every tensor's global shape
must equal the model's (megatron lets the embedding and output layer differ,
which silently truncated a larger vocabulary), and ``expect`` compares the
saved training state (model shape, tokenizer, data) with the run's, naming
each field that differs.
"""
from __future__ import annotations

import dataclasses
import enum
import hashlib
import os
import pickle
import re
import shutil
import sys
from pathlib import Path

import torch

MARKER = "COMPLETE"
CHECKSUMS = "checksums.sha256"
# Files every megatron torch_dist checkpoint has (the .distcp files are named
# by .metadata and listed in the checksums).
REQUIRED = ("metadata.json", "common.pt", ".metadata")
_ITER_RE = re.compile(r"^iter_(\d{7})$")


class CheckpointError(RuntimeError):
    """A checkpoint that cannot or must not be loaded; the message names the
    checkpoint and the file or field."""


class CheckpointMismatch(CheckpointError):
    """The checkpoint is sound but does not fit this run (model shape,
    tokenizer, data): an older checkpoint of the same run would not fit either."""


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
    """Every RNG's state as tensors and builtins only (numpy's key array as a
    tensor), so that it loads with ``weights_only=True``."""
    import random

    import numpy as np
    from megatron.core.tensor_parallel import get_cuda_rng_tracker

    name, keys, pos, has_gauss, gauss = np.random.get_state()
    st = {"python": random.getstate(), "numpy": (name, torch.from_numpy(keys.astype(np.int64)), int(pos),
                                                 int(has_gauss), float(gauss)),
          "torch": torch.get_rng_state(), "tracker": get_cuda_rng_tracker().get_states()}
    if torch.cuda.is_available():
        st["cuda"] = torch.cuda.get_rng_state()
    return st


def set_rng_state(st: dict) -> None:
    import random

    import numpy as np
    from megatron.core.tensor_parallel import get_cuda_rng_tracker

    random.setstate(st["python"])
    name, keys, pos, has_gauss, gauss = st["numpy"]
    keys = keys.numpy() if torch.is_tensor(keys) else keys  # an ndarray in checkpoints of before
    np.random.set_state((name, keys.astype(np.uint32), pos, has_gauss, gauss))
    torch.set_rng_state(st["torch"])
    get_cuda_rng_tracker().set_states(st["tracker"])
    if "cuda" in st and torch.cuda.is_available():
        torch.cuda.set_rng_state(st["cuda"])


# -- loading without running code ---------------------------------------------
_DCP = "torch.distributed.checkpoint"
# What DCP's .metadata legitimately holds beyond DCP's own dataclasses/enums
# (listed by recording find_class on real checkpoints): torch.Size, dtypes,
# layouts (by name), builtin containers; megatron's two empty compatibility
# classes of older checkpoints.
_METADATA_GLOBALS = {("torch", "Size"), ("torch.serialization", "_get_layout"), ("collections", "OrderedDict"),
                     ("builtins", "set"), ("builtins", "frozenset"), ("builtins", "slice"),
                     ("megatron.core.dist_checkpointing.strategies.torch", "MCoreMetadata"),
                     ("megatron.core.dist_checkpointing.strategies.torch", "MCoreSavePlan")}


def _allowed_global(module: str, name: str):
    """The object ``module.name`` if checkpoint metadata may reference it, else None."""
    import importlib

    if (module, name) not in _METADATA_GLOBALS and module != "torch" and not module.startswith(_DCP + "."):
        return None
    try:
        obj = getattr(importlib.import_module(module), name)
    except (ImportError, AttributeError):
        return None
    if (module, name) in _METADATA_GLOBALS or isinstance(obj, torch.dtype):
        return obj
    if (module.startswith(_DCP + ".") and isinstance(obj, type) and obj.__module__.startswith(_DCP + ".")
            and (dataclasses.is_dataclass(obj) or issubclass(obj, enum.Enum))):
        return obj  # DCP's plain records: built from their fields, no code of their own
    return None


class _MetadataUnpickler(pickle.Unpickler):
    """Unpickles DCP's ``.metadata``, refusing every global that is not a
    metadata record (``__reduce__`` payloads name builtins.eval, os.system...)."""

    def find_class(self, module, name):
        obj = _allowed_global(module, name)
        if obj is None:
            raise pickle.UnpicklingError(f"{module}.{name} is not allowed in checkpoint metadata "
                                         f"(a checkpoint holds data, never code)")
        return obj

    def persistent_load(self, pid):
        raise pickle.UnpicklingError("persistent ids are not allowed in checkpoint metadata")


def read_metadata(path: str | Path):
    """The DCP ``Metadata`` of checkpoint ``path``, read without running code;
    every storage file it names must be a plain file name present in ``path``."""
    from torch.distributed.checkpoint.metadata import Metadata

    path = Path(path)
    f = path / ".metadata"
    if not f.is_file():
        raise CheckpointError(f"{path}: missing .metadata")
    try:
        with open(f, "rb") as fh:
            md = _MetadataUnpickler(fh).load()
    except CheckpointError:
        raise
    except Exception as e:  # UnpicklingError, EOFError, a record's own checks...
        raise CheckpointError(f"{f}: refused ({type(e).__name__}: {e})") from None
    if not isinstance(md, Metadata):
        raise CheckpointError(f"{f}: holds a {type(md).__name__}, not torch DCP Metadata")
    names = {getattr(info, "relative_path", None) for info in (md.storage_data or {}).values()}
    bad = sorted(str(n) for n in names if not isinstance(n, str) or Path(n).name != n or n.startswith("."))
    if bad:
        raise CheckpointError(f"{f}: names storage files outside the checkpoint: {bad[:5]}")
    missing = sorted(n for n in names if not (path / n).is_file())
    if missing:
        raise CheckpointError(f"{path}: missing {', '.join(missing)} (named by .metadata)")
    return md


def _safe_strategies():
    """megatron load strategies that read .metadata with ``read_metadata``,
    byte items and common.pt with ``weights_only=True``, and require every
    tensor's global shape to equal the checkpoint's (written against
    megatron-core 0.16.1's ``TorchDistLoadShardedStrategy.load``)."""
    from megatron.core.dist_checkpointing.dict_utils import nested_values
    from megatron.core.dist_checkpointing.mapping import ShardedTensor
    from megatron.core.dist_checkpointing.strategies import torch as mtorch
    from megatron.core.dist_checkpointing.strategies.common import TorchCommonLoadStrategy
    from torch.distributed import checkpoint as dcp
    from torch.distributed.checkpoint._nested_dict import set_element

    class Reader(dcp.FileSystemReader):
        def __init__(self, path):
            super().__init__(path)
            self._md = None

        def read_metadata(self, *args, **kwargs):
            if self._md is None:
                from torch.distributed.checkpoint.metadata import StorageMeta

                self._md = read_metadata(self.path)
                if getattr(self._md, "storage_meta", None) is None:
                    self._md.storage_meta = StorageMeta()
                self._md.storage_meta.load_id = self.load_id
            return self._md

    class Planner(mtorch.MCoreLoadPlanner):
        def load_bytes(self, read_item, value):
            try:
                with torch.serialization.safe_globals(_numpy_rng_globals()):
                    obj = torch.load(value, map_location="cpu", weights_only=True)
            except Exception as e:
                raise CheckpointError(f"byte item {read_item.dest_index.fqn} refused "
                                      f"({type(e).__name__}: {str(e).splitlines()[0][:300]})") from None
            if self.flatten_state_dict:
                set_element(self.original_state_dict, self.mappings[read_item.dest_index.fqn], obj)
            else:
                self.state_dict[read_item.dest_index.fqn] = obj

    class Sharded(mtorch.TorchDistLoadShardedStrategy):
        def load(self, sharded_state_dict, checkpoint_dir):
            tensors = [t for t in nested_values(sharded_state_dict) if isinstance(t, ShardedTensor)]
            reader = Reader(checkpoint_dir)
            md = reader.read_metadata().state_dict_metadata
            absent = sorted(t.key for t in tensors if t.key not in md)
            if absent:
                raise CheckpointMismatch(f"{checkpoint_dir}: lacks tensors of this model: {absent[:5]}"
                                         f"{' ...' if len(absent) > 5 else ''} (another model?)")
            for t in tensors:
                if tuple(md[t.key].size) != tuple(t.global_shape):
                    raise CheckpointMismatch(f"{checkpoint_dir}: tensor {t.key} has shape {tuple(md[t.key].size)} "
                                             f"in the checkpoint, {tuple(t.global_shape)} in this model")
            orig = sharded_state_dict
            sharded_state_dict, flat_mapping, rename_mapping = \
                mtorch._replace_state_dict_keys_with_sharded_keys(sharded_state_dict)
            pyt_state_dict = mtorch.mcore_to_pyt_state_dict(sharded_state_dict, True)
            dcp.load_state_dict(pyt_state_dict, reader, planner=Planner(shapes_validation_sharded_tensors=tensors))
            out = {k: mtorch._unwrap_pyt_sharded_tensor(v) for k, v in pyt_state_dict.items()}
            out = mtorch._replace_sharded_keys_with_state_dict_keys(out, flat_mapping, rename_mapping)
            mtorch._restore_dict_types(out, orig)
            return out

        def load_tensors_metadata(self, checkpoint_dir, metadata=None):
            return super().load_tensors_metadata(checkpoint_dir, metadata or read_metadata(checkpoint_dir))

        def load_sharded_metadata(self, checkpoint_dir):
            raise CheckpointError("load_sharded_metadata is not available on untrusted checkpoints")

    class Common(TorchCommonLoadStrategy):
        def load_common(self, checkpoint_dir):
            return _load_common(checkpoint_dir)

        def load_sharded_objects(self, sharded_objects_state_dict, checkpoint_dir):
            raise CheckpointError("ShardedObjects are loaded by the sharded strategy here")

    return Sharded(), Common()


def _numpy_rng_globals() -> list:
    """What numpy's RNG key array of checkpoints written before the RNG state
    was kept as tensors needs under ``weights_only`` (torch's documented
    allow-list for plain ndarrays: they hold numbers only)."""
    import numpy as np

    try:
        from numpy._core.multiarray import _reconstruct
    except ImportError:  # numpy < 2
        from numpy.core.multiarray import _reconstruct
    return [_reconstruct, np.ndarray, np.dtype, type(np.dtype(np.uint32))]


def _load_common(path: str | Path) -> dict:
    f = Path(path) / "common.pt"
    if not f.is_file():
        raise CheckpointError(f"{path}: missing common.pt")
    try:
        return torch.load(f, map_location="cpu", weights_only=True)
    except Exception as e:
        raise CheckpointError(f"{f}: refused ({type(e).__name__}: {str(e).splitlines()[0][:300]})") from None


def _failure(e: BaseException) -> BaseException:
    """The first ``CheckpointError`` inside a DCP ``CheckpointException`` (which wraps each rank's), else ``e``."""
    for exc, _ in getattr(e, "failures", {}).values():
        if isinstance(exc, CheckpointError):
            return exc
    return e


def _dcp_load(sharded_state_dict: dict, path: Path) -> dict:
    from megatron.core import dist_checkpointing
    from torch.distributed.checkpoint.api import CheckpointException  # a BaseException

    sharded, common = _safe_strategies()
    try:
        return dist_checkpointing.load(sharded_state_dict, str(path), sharded_strategy=sharded,
                                       common_strategy=common)
    except CheckpointException as e:
        inner = _failure(e)
        if isinstance(inner, CheckpointError):
            raise inner from None
        raise CheckpointError(f"{path}: unreadable ({str(e).strip().splitlines()[-1][:300]})") from None


# -- integrity -----------------------------------------------------------------
def _sha256(f: Path) -> str:
    with open(f, "rb") as fh:
        return hashlib.file_digest(fh, "sha256").hexdigest()


def write_checksums(path: str | Path) -> Path:
    """``checksums.sha256`` of every file of checkpoint ``path`` (but the
    marker), fsync'ed; ``sha256sum -c`` checks it too."""
    path = Path(path)
    files = sorted(f for f in path.iterdir() if f.is_file() and f.name not in (CHECKSUMS, MARKER, CHECKSUMS + ".tmp"))
    tmp = path / (CHECKSUMS + ".tmp")
    with open(tmp, "w") as fh:
        fh.write("".join(f"{_sha256(f)}  {f.name}\n" for f in files))
        fh.flush()
        os.fsync(fh.fileno())
    os.replace(tmp, path / CHECKSUMS)
    return path / CHECKSUMS


def _listed(path: Path) -> dict[str, str] | None:
    f = path / CHECKSUMS
    if not f.is_file():
        return None
    out = {}
    for line in f.read_text().splitlines():
        digest, sep, name = line.partition("  ")
        if not sep or Path(name).name != name or len(digest) != 64:
            raise CheckpointError(f"{f}: malformed line {line[:100]!r}")
        out[name] = digest
    return out


def verify(path: str | Path, *, hashes: bool = True) -> None:
    """Raise ``CheckpointError`` naming what is wrong with checkpoint ``path``:
    missing files (the required ones, those its checksums list), and with
    ``hashes`` a file whose sha256 differs. A checkpoint written before
    checksums existed is only warned about."""
    path = Path(path)
    listed = _listed(path)
    missing = [n for n in REQUIRED if not (path / n).is_file()]
    missing += sorted(n for n in (listed or {}) if n not in missing and not (path / n).is_file())
    if missing:
        alone = [f.name for f in path.iterdir()] == [MARKER] if path.is_dir() else False
        raise CheckpointError(f"{path}: missing {', '.join(missing)}"
                              + (" (nothing but its COMPLETE marker is left)" if alone else ""))
    if listed is None:
        print(f"[checkpoint] {path} has no {CHECKSUMS} (written before checksums existed): not verified",
              file=sys.stderr, flush=True)
        return
    if hashes:
        for name, digest in sorted(listed.items()):
            got = _sha256(path / name)
            if got != digest:
                raise CheckpointError(f"{path}: {name} fails its checksum (sha256 {got[:12]}…, "
                                      f"{CHECKSUMS} says {digest[:12]}…): the file is damaged")


def _agree(ok: bool) -> bool:
    """True when ``ok`` holds on every rank (one all-reduce; True without a process group)."""
    import torch.distributed as dist

    if not dist.is_initialized() or dist.get_world_size() == 1:
        return ok
    dev = "cuda" if dist.get_backend() == "nccl" else "cpu"
    flag = torch.tensor([1 if ok else 0], device=dev)
    dist.all_reduce(flag, op=dist.ReduceOp.MIN)
    return bool(flag.item())


def _verify_everywhere(path: Path) -> None:
    """Every rank checks that the files exist; rank 0 hashes them (once, not
    once per rank); a failure anywhere fails every rank."""
    import torch.distributed as dist

    rank = dist.get_rank() if dist.is_initialized() else 0
    err = None
    try:
        verify(path, hashes=rank == 0)
    except CheckpointError as e:
        err = e
    if not _agree(err is None):
        raise err or CheckpointError(f"{path}: failed verification on another rank")


def _nonfinite(named) -> list[str]:
    return [n for n, t in named if torch.is_tensor(t) and t.is_floating_point() and not torch.isfinite(t).all()]


def _check_expect(path: Path, saved: dict, expect: dict | None, action: str) -> None:
    """Compare the saved training state with what this run ``expect``s; raise
    ``CheckpointMismatch`` naming every field that differs."""
    if not expect:
        return
    problems = []
    for key, want in expect.items():
        have = saved.get(key)
        if have is None:
            print(f"[checkpoint] {path.name} records no {key}: cannot check that it matches this run",
                  file=sys.stderr, flush=True)
        elif isinstance(want, dict) and isinstance(have, dict):
            problems += [f"{key}.{f}: checkpoint {have.get(f)!r}, this run {want[f]!r}"
                         for f in sorted(want) if have.get(f) != want[f]]
        elif have != want:
            problems.append(f"{key}: checkpoint {have!r}, this run {want!r}")
    if problems:
        raise CheckpointMismatch(f"{path} does not fit this run ({action} refused): " + "; ".join(problems))


# -- save / load ---------------------------------------------------------------
def save(ckpt_dir: str | Path, step: int, model, optimizer, state: dict, keep: int = 2,
         masters: dict | None = None) -> Path:
    """Write checkpoint ``step`` (``state``: small training state of
    builtins, e.g. consumed samples, schedule) atomically with its checksums;
    then delete all but the newest ``keep`` checkpoints up to this step (never
    this one; newer ones, left by a run that fell back past them, are kept for
    inspection). Refuses (``CheckpointError``, nothing written) non-finite
    weights or optimizer state. ``masters``: see ``_sharded_state``."""
    import torch.distributed as dist
    from megatron.core import dist_checkpointing

    bad = _nonfinite(model.named_parameters())
    bad += _nonfinite((f"optimizer.{k}", t) for st in optimizer.state.values() for k, t in st.items())
    if not _agree(not bad):
        raise CheckpointError(f"refusing to save step {step}: non-finite values in {bad[:5] or 'another rank'}")
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
        write_checksums(tmp)
        with open(tmp / MARKER, "w") as fh:
            fh.write(f"{step}\n")
            fh.flush()
            os.fsync(fh.fileno())
        if final.exists():
            shutil.rmtree(final)
        os.replace(tmp, final)
        older = [p for p in complete_checkpoints(ckpt_dir) if p.name < final.name]
        for old in (older[:len(older) - (keep - 1)] if keep > 0 else []):
            shutil.rmtree(old, ignore_errors=True)
    dist.barrier()
    return final


def complete_checkpoints(ckpt_dir: str | Path) -> list[Path]:
    """Finished checkpoints (renamed, with marker), oldest first."""
    d = Path(ckpt_dir)
    if not d.is_dir():
        return []
    return sorted(p for p in d.iterdir() if _ITER_RE.match(p.name) and (p / MARKER).is_file())


def load_latest(ckpt_dir: str | Path, model, optimizer, masters: dict | None = None,
                expect: dict | None = None) -> dict | None:
    """Load the newest loadable checkpoint into ``model``/``optimizer``;
    return its ``state`` dict (None when there is none). Unfinished
    ``.tmp`` directories are ignored; a torn, damaged, crafted or non-finite
    one is reported by name and the previous one is tried. ``expect``: saved
    state fields this run requires (``_check_expect``); a checkpoint that does
    not fit (those, or tensor shapes) raises ``CheckpointMismatch``."""
    from torch.distributed.checkpoint.api import CheckpointException  # a BaseException

    found = complete_checkpoints(ckpt_dir)
    reasons = []
    for path in reversed(found):
        try:
            _verify_everywhere(path)
            _check_expect(path, _load_common(path)["state"], expect, "resume")
            sd = _sharded_state(model, optimizer, masters=masters)
            sd["state"] = None
            loaded = _dcp_load(sd, path)
            bad = _nonfinite(loaded["model"].items())
            if bad:
                raise CheckpointError(f"{path}: non-finite weights in {bad[:5]}")
        except CheckpointMismatch:
            raise
        except (Exception, CheckpointException) as e:  # torn, damaged, crafted: any read error
            msg = str(e) if isinstance(e, CheckpointError) else f"{type(e).__name__}: {str(e)[:300]}"
            reasons.append(f"{path.name}: {msg}")
            print(f"[checkpoint] {path} is refused ({msg}); trying the previous one", file=sys.stderr, flush=True)
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
        raise CheckpointError(f"none of the checkpoints in {ckpt_dir} loads: " + " | ".join(reasons))
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
    consumed samples, model config) without loading any tensor (common.pt,
    ``weights_only``); its files must all be there (not hashed: loads do)."""
    path = resolve(ckpt)
    verify(path, hashes=False)
    return _load_common(path)["state"]


def load_weights(ckpt: str | Path, model, expect: dict | None = None) -> dict:
    """Load only the model weights of a finished checkpoint (``resolve``) into
    ``model``: no optimizer, RNG or data position (``--init-from``, conversion).
    Verified like ``load_latest`` but never falls back: any problem raises
    ``CheckpointError``. Returns the checkpoint's saved state, with its ``path``."""
    path = resolve(ckpt)
    _verify_everywhere(path)
    state = _load_common(path)["state"]
    _check_expect(path, state, expect, "init-from")
    loaded = _dcp_load({"model": model.sharded_state_dict()}, path)
    bad = _nonfinite(loaded["model"].items())
    if bad:
        raise CheckpointError(f"{path}: non-finite weights in {bad[:5]}")
    model.load_state_dict(loaded["model"])
    return {**state, "path": str(path)}
