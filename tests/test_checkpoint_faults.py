"""Hostile and damaged checkpoints, and training faults (issue #11, items 2,
4, 5, 6, 7), with real megatron-core checkpoints of a real yi-nano run:

- a crafted ``.metadata`` (pickle ``__reduce__`` payload) or a crafted byte
  item (the RNG ShardedObject) never runs code: resume, ``load_weights``
  (--init-from) and ``model.convert --to-hf`` refuse it by name;
- resume / --init-from with another tokenizer (same vocabulary size), other
  shards, another vocabulary size or another model shape is refused, naming
  the field;
- a flipped byte block inside a ``.distcp`` (same size) fails its checksum: the
  checkpoint is refused by name and the previous one is used;
- a non-finite loss or grad norm stops training (non-zero exit) before any
  checkpoint is written from it; ``max_nonfinite_skips`` skips and counts;
- missing files (common.pt, .metadata, a .distcp, all of them) are named.
"""
import json
import os
import pickle
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import torch

from tests.test_pretrain import ARGS, ENV, REPO, SAMPLE, _losses, _pretrain, shards  # noqa: F401 (fixture)

pytestmark = pytest.mark.slow  # real training runs

RUN10 = ["--steps", "10", "--save-interval", "5", "--eval-interval", "5"]


@pytest.fixture(scope="module")
def run(shards, tmp_path_factory):
    """10 steps of yi-nano, checkpoints at 5 and 10."""
    out = tmp_path_factory.mktemp("faults") / "run"
    _pretrain(shards, out, *RUN10)
    assert sorted(p.name for p in (out / "checkpoints").iterdir()) == ["iter_0000005", "iter_0000010"]
    return out


@pytest.fixture(scope="module")
def other_tokenizer_shards(spark, tmp_path_factory):
    """The same corpus tokenized by another tokenizer of the same vocabulary
    size (2000 pieces, trained on 80% of the documents): only its sha256 tells."""
    from jobs.shards import tokenize_corpus
    from jobs.train_tokenizer import sample_corpus
    from model.tokenizer import TokenizerTrainer

    root = tmp_path_factory.mktemp("tok2")
    trainer = TokenizerTrainer.from_config(vocab_size=2000, character_coverage=0.98, sample_rate=0.8, heldout_rate=0.0)
    trainer.train([r["text"] for r in sample_corpus(spark, SAMPLE, trainer)[0].collect()], root / "tok")
    tokenize_corpus(spark, str(SAMPLE), str(root / "shards"), str(root / "tok"), docs_per_shard=100_000,
                    heldout_rate=0.03)
    return root / "shards"


def _copy_run(run, dst) -> Path:
    shutil.copytree(run, dst)
    return dst


def _seal(path: Path) -> None:
    """Recompute the checkpoint's checksums as an attacker would: what stops
    the payload must be the loader, not the checksum."""
    from model import checkpoint

    checkpoint.write_checksums(path)


def _nano(vocab: int = None, preset: str = "yi-nano"):
    from model.presets import get_preset
    from model.yi import build_model, init_parallel

    init_parallel()
    return build_model(get_preset(preset, vocab=vocab))


def _vocab(shards) -> int:
    return json.loads((Path(shards) / "manifest.json").read_text())["tokenizer"]["vocab_size"]


def _optimizer(model):
    from pipeline.config import load_config

    from model.optim import build_optimizer
    from model.pretrain import PretrainConfig

    return build_optimizer(model.parameters(), PretrainConfig.load(load_config()))


# ---------------------------------------------------------------- item 2 --
class _Payload:
    """Unpickles as ``value`` after writing ``marker``: on a loader that runs
    pickled code the load succeeds and nothing shows."""

    def __init__(self, marker: Path, value):
        self.marker, self.data = str(marker), pickle.dumps(value)

    def __reduce__(self):
        return (eval, (f"__import__('pathlib').Path({self.marker!r}).write_text('pwned') and "
                       f"__import__('pickle').loads({self.data!r})",))


def test_malicious_metadata_never_runs(shards, run, tmp_path):
    from torch.distributed.checkpoint import FileSystemReader

    from model import checkpoint

    out = _copy_run(run, tmp_path / "run")
    bad = out / "checkpoints" / "iter_0000010"
    marker = tmp_path / "pwned"
    real = FileSystemReader(str(bad)).read_metadata()
    (bad / ".metadata").write_bytes(pickle.dumps(_Payload(marker, real)))
    _seal(bad)

    with pytest.raises(checkpoint.CheckpointError, match=r"\.metadata.*(builtins|eval)"):
        checkpoint.load_weights(bad, _nano(_vocab(shards)))
    assert not marker.exists()

    # conversion to Hugging Face refuses it too
    r = subprocess.run([sys.executable, "-m", "model.convert", "--to-hf", "--checkpoint", str(bad),
                        "--out", str(tmp_path / "hf")], cwd=REPO, env=ENV, capture_output=True, text=True)
    assert r.returncode != 0 and not marker.exists()
    assert ".metadata" in r.stderr and "not allowed" in r.stderr, r.stderr[-2000:]
    assert "Traceback" not in r.stderr, r.stderr[-2000:]  # one clear line, like every other refusal
    assert not (tmp_path / "hf" / "model.safetensors").exists()

    # resume: the crafted checkpoint is refused by name, the previous one is used
    r = _pretrain(shards, out, *RUN10, "--steps", "11", "--resume")
    assert not marker.exists()
    assert "iter_0000010" in r.stderr and "not allowed" in r.stderr, r.stderr[-2000:]
    assert "resumed from" in r.stderr and "iter_0000005" in r.stderr  # (then saves a new iter 10)


def test_malicious_byte_item_never_runs(shards, tmp_path):
    """The RNG state is a megatron ShardedObject, stored as a torch.save'd
    byte item that torch's planner would unpickle with weights_only=False."""
    import torch.distributed as dist
    from megatron.core import dist_checkpointing

    from model import checkpoint

    model = _nano(_vocab(shards))
    opt = _optimizer(model)
    marker = tmp_path / "pwned"
    ckpts = tmp_path / "checkpoints"
    d = ckpts / "iter_0000001"
    d.mkdir(parents=True)
    sd = checkpoint._sharded_state(model, opt, _Payload(marker, checkpoint.rng_state()))
    sd["state"] = {"consumed_samples": 0, "tokens": 0, "step": 1}
    dist_checkpointing.save(sd, str(d))
    dist.barrier()
    (d / checkpoint.MARKER).write_text("1\n")
    _seal(d)
    assert not marker.exists()  # saving the payload did not trigger it

    with pytest.raises(RuntimeError, match="none of the checkpoints"):
        checkpoint.load_latest(ckpts, model, opt)
    assert not marker.exists()


# ------------------------------------------------------------ items 4, 5 --
def test_resume_with_another_tokenizer_is_refused(run, other_tokenizer_shards, tmp_path):
    out = _copy_run(run, tmp_path / "run")
    before = (out / "log.jsonl").read_text()
    assert _vocab(other_tokenizer_shards) == json.loads((out / "run.json").read_text())["shape"]["vocab"]
    r = _pretrain(other_tokenizer_shards, out, *RUN10, "--steps", "12", "--resume", check=False)
    assert r.returncode != 0
    assert "tokenizer" in r.stderr and "sha256" in r.stderr, r.stderr[-2000:]
    assert (out / "log.jsonl").read_text() == before  # nothing trained
    # --init-from: new data is fine, another tokenizer is not
    r = _pretrain(other_tokenizer_shards, tmp_path / "new", *RUN10, "--init-from", str(out / "checkpoints"),
                  check=False)
    assert r.returncode != 0 and "tokenizer" in r.stderr, r.stderr[-2000:]


def test_resume_with_other_shards_is_refused(shards, run, tmp_path):
    """Same tokenizer, other data (a group dropped): the data position of the
    checkpoint means nothing there."""
    other = tmp_path / "shards"
    shutil.copytree(shards, other)
    m = json.loads((other / "manifest.json").read_text())
    train = [s for s in m["shards"] if s["split"] == "train"]
    assert len(train) > 1
    drop = train[0]
    m["shards"] = [s for s in m["shards"] if s is not drop]
    del m["groups"][drop["group"]]
    (other / "manifest.json").write_text(json.dumps(m))
    out = _copy_run(run, tmp_path / "run")
    r = _pretrain(other, out, *RUN10, "--steps", "12", "--resume", check=False)
    assert r.returncode != 0 and "data" in r.stderr and "shards" in r.stderr, r.stderr[-2000:]


def test_other_vocab_or_shape_is_refused(shards, run, tmp_path):
    """Vocab 1500 onto a vocab-2000 checkpoint: megatron marks the embedding and
    output layer allow_shape_mismatch and loads their first 1500 rows."""
    from model import checkpoint

    src = run / "checkpoints" / "iter_0000010"
    vocab = _vocab(shards)
    with pytest.raises(checkpoint.CheckpointError, match=r"embedding\.word_embeddings\.weight.*2000.*1500"):
        checkpoint.load_weights(src, _nano(vocab - 500))
    only = tmp_path / "ckpts"
    shutil.copytree(src, only / src.name)
    small = _nano(vocab - 500)
    with pytest.raises(checkpoint.CheckpointError, match=r"vocab: checkpoint 2000, this run 1500"):
        checkpoint.load_latest(only, small, _optimizer(small), expect={"shape": {**checkpoint.saved_state(src)["shape"],
                                                                             "vocab": vocab - 500}})
    # another preset on --resume: refused naming the fields
    out = _copy_run(run, tmp_path / "run")
    r = _pretrain(shards, out, *RUN10, "--steps", "12", "--resume", "--preset", "yi-tiny", check=False)
    assert r.returncode != 0 and "hidden: checkpoint 64, this run 128" in r.stderr, r.stderr[-2000:]


# ---------------------------------------------------------------- item 6 --
def _flip(path: Path, n: int = 64) -> None:
    b = bytearray(path.read_bytes())
    mid = len(b) // 2
    b[mid:mid + n] = bytes(x ^ 0xFF for x in b[mid:mid + n])
    path.write_bytes(bytes(b))


def test_flipped_bytes_fail_the_checksum_and_fall_back(shards, run, tmp_path):
    from model import checkpoint

    ckpts = tmp_path / "checkpoints"
    shutil.copytree(run / "checkpoints", ckpts)
    victim = sorted((ckpts / "iter_0000010").glob("*.distcp"))[0]
    size = victim.stat().st_size
    _flip(victim)
    assert victim.stat().st_size == size
    with pytest.raises(checkpoint.CheckpointError, match=f"{victim.name}.*checksum"):
        checkpoint.load_weights(ckpts / "iter_0000010", _nano(_vocab(shards)))
    model = _nano(_vocab(shards))
    st = checkpoint.load_latest(ckpts, model, _optimizer(model))
    assert st["step"] == 5 and st["path"].endswith("iter_0000005")


def test_nonfinite_stops_training_without_a_checkpoint(shards, tmp_path):
    """lr 1e30: the second step's grad norm is NaN. Before: logged, trained
    on, saved (iter 2 and 4 of NaN weights) and exit 0."""
    out = tmp_path / "nan"
    args = ["--steps", "4", "--warmup-steps", "1", "--lr", "1e30", "--save-interval", "1", "--eval-interval", "0"]
    r = _pretrain(shards, out, *args, check=False)
    assert r.returncode != 0
    assert "non-finite" in r.stderr and "step 2" in r.stderr, r.stderr[-2000:]
    assert [p.name for p in (out / "checkpoints").iterdir()] == ["iter_0000001"]  # none from step 2 on
    from model import checkpoint
    assert checkpoint.saved_state(out / "checkpoints")["step"] == 1

    # skip-and-count: max_nonfinite_skips = 1 skips one step (no update), stops at the second
    cfg = tmp_path / "skip.toml"
    cfg.write_text("[pretrain]\nmax_nonfinite_skips = 1\n")
    r = _pretrain(shards, tmp_path / "skip", *args, "--config", str(cfg), check=False)
    assert r.returncode != 0 and "non-finite" in r.stderr, r.stderr[-2000:]
    recs = [json.loads(l) for l in (tmp_path / "skip" / "log.jsonl").read_text().splitlines()]
    assert [x.get("skipped", False) for x in recs] == [False, True]
    assert sorted(p.name for p in (tmp_path / "skip" / "checkpoints").iterdir()) == ["iter_0000001", "iter_0000002"]


def test_rotation_keeps_the_newest_good_checkpoint(shards, run, tmp_path):
    """iter 10 corrupted; resume falls back to 5 and saves 6 with keep=1:
    rotation deletes older checkpoints only, never the one just written,
    and leaves the (unloadable) newer one for inspection."""
    out = _copy_run(run, tmp_path / "run")
    _flip(sorted((out / "checkpoints" / "iter_0000010").glob("*.distcp"))[0])
    cfg = tmp_path / "keep1.toml"
    cfg.write_text("[pretrain]\nkeep_checkpoints = 1\n")
    r = _pretrain(shards, out, *RUN10, "--steps", "6", "--save-interval", "6", "--resume", "--config", str(cfg))
    assert "checksum" in r.stderr
    assert sorted(p.name for p in (out / "checkpoints").iterdir()) == ["iter_0000006", "iter_0000010"]


# ---------------------------------------------------------------- item 7 --
@pytest.mark.parametrize("remove", ["common.pt", ".metadata", "__0_1.distcp", "metadata.json", "all"])
def test_missing_files_are_named(shards, run, tmp_path, remove):
    from model import checkpoint

    d = tmp_path / "iter_0000010"
    shutil.copytree(run / "checkpoints" / "iter_0000010", d)
    if remove == "all":
        for f in d.iterdir():
            if f.name != checkpoint.MARKER:
                f.unlink()
        want = "common.pt"
    else:
        (d / remove).unlink()
        want = remove
    with pytest.raises(checkpoint.CheckpointError, match=rf"{d.name}.*missing.*{re.escape(want)}"):
        checkpoint.load_weights(d, _nano(_vocab(shards)))
    with pytest.raises(checkpoint.CheckpointError, match="missing"):
        checkpoint.saved_state(d)


def test_crafted_common_pt_and_storage_paths_are_refused(shards, run, tmp_path):
    """Siblings of item 2: a payload in common.pt (read by saved_state, e.g.
    convert's first look) and a .metadata naming storage outside the folder."""
    import dataclasses

    from torch.distributed.checkpoint import FileSystemReader

    from model import checkpoint

    marker = tmp_path / "pwned"
    d = tmp_path / "iter_0000010"
    shutil.copytree(run / "checkpoints" / "iter_0000010", d)
    common = torch.load(d / "common.pt", weights_only=True)
    torch.save({**common, "state": _Payload(marker, common["state"])}, d / "common.pt")
    _seal(d)
    with pytest.raises(checkpoint.CheckpointError, match=r"common\.pt.*refused"):
        checkpoint.saved_state(d)
    with pytest.raises(checkpoint.CheckpointError, match=r"common\.pt.*refused"):
        checkpoint.load_weights(d, _nano(_vocab(shards)))
    assert not marker.exists()

    e = tmp_path / "escape" / "iter_0000010"
    shutil.copytree(run / "checkpoints" / "iter_0000010", e)
    md = FileSystemReader(str(e)).read_metadata()
    md.storage_data = {k: dataclasses.replace(v, relative_path="../../" + v.relative_path)
                       for k, v in md.storage_data.items()}
    (e / ".metadata").write_bytes(pickle.dumps(md))
    _seal(e)
    with pytest.raises(checkpoint.CheckpointError, match="outside the checkpoint"):
        checkpoint.load_weights(e, _nano(_vocab(shards)))
