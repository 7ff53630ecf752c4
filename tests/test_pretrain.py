"""Pretraining on real shards of the sample corpus with real megatron-core on
CPU: the loss falls; 10 steps + kill -9 + resume gives bitwise the losses of
20 uninterrupted steps; a torn checkpoint falls back to the previous one;
--init-from takes only the weights (fresh optimizer, step 0); two processes on
gloo (tensor parallel); a GPU run where CUDA exists."""
import json
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import torch

from jobs.train_tokenizer import sample_corpus
from model.tokenizer import TokenizerTrainer

pytestmark = pytest.mark.slow  # end to end: real Spark jobs / training runs

REPO = Path(__file__).resolve().parent.parent
SAMPLE = REPO / "data" / "sample" / "parquet"
ARGS = ["--recipe", "demo", "--preset", "yi-nano", "--steps", "20", "--warmup-steps", "5", "--micro-batch", "8", "--global-batch", "32",
        "--lr", "3e-3", "--save-interval", "10", "--eval-interval", "10", "--no-progress"]
ENV = {**os.environ, "OMP_NUM_THREADS": "1", "PYTHONWARNINGS": "ignore"}


@pytest.fixture(scope="module")
def shards(spark, tmp_path_factory):
    from jobs.shards import tokenize_corpus

    root = tmp_path_factory.mktemp("pretrain")
    trainer = TokenizerTrainer.from_config(vocab_size=2000, character_coverage=0.98, sample_rate=1.0, heldout_rate=0.0)
    trainer.train([r["text"] for r in sample_corpus(spark, SAMPLE, trainer)[0].collect()], root / "tok")
    tokenize_corpus(spark, str(SAMPLE), str(root / "shards"), str(root / "tok"), docs_per_shard=100_000,
                    heldout_rate=0.03)
    return root / "shards"


def _pretrain(shards, out, *extra, check=True):
    r = subprocess.run([sys.executable, "-m", "model.pretrain", "--data", str(shards), "--out", str(out),
                        *ARGS, *extra], cwd=REPO, env=ENV, capture_output=True, text=True)
    if check:
        assert r.returncode == 0, r.stderr[-3000:]
    return r


def _losses(out) -> dict[int, float]:
    """step → training loss; the last record of a step wins (a resumed run
    rewrites the steps after its checkpoint)."""
    recs = [json.loads(l) for l in (Path(out) / "log.jsonl").read_text().splitlines()]
    return {r["step"]: r["loss"] for r in recs if "loss" in r}


@pytest.fixture(scope="module")
def full_run(shards, tmp_path_factory):
    out = tmp_path_factory.mktemp("full") / "run"
    _pretrain(shards, out)
    return out


def test_loss_falls_and_outputs_exist(full_run):
    recs = [json.loads(l) for l in (full_run / "log.jsonl").read_text().splitlines()]
    train = [r for r in recs if "loss" in r]
    evals = [r for r in recs if "eval_loss" in r]
    assert [r["step"] for r in train] == list(range(1, 21))
    assert train[-1]["loss"] < train[0]["loss"] - 0.5, [r["loss"] for r in train]
    assert [e["step"] for e in evals] == [10, 20] and evals[1]["eval_loss"] < evals[0]["eval_loss"]
    assert {"lr", "grad_norm", "tokens_per_s", "mfu", "tokens"} <= set(train[0])
    assert (full_run / "loss.png").stat().st_size > 10_000
    assert sorted(p.name for p in (full_run / "checkpoints").iterdir()) == ["iter_0000010", "iter_0000020"]


def test_resume_after_kill_9_is_bitwise_identical(shards, full_run, tmp_path):
    out = tmp_path / "run"
    proc = subprocess.Popen([sys.executable, "-m", "model.pretrain", "--data", str(shards), "--out", str(out), *ARGS],
                            cwd=REPO, env=ENV, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    marker = out / "checkpoints" / "iter_0000010" / "COMPLETE"
    deadline = time.time() + 300
    while not marker.exists() and proc.poll() is None and time.time() < deadline:
        time.sleep(0.02)
    os.kill(proc.pid, signal.SIGKILL)
    assert proc.wait() == -signal.SIGKILL, "the run ended before it could be killed"
    assert max(_losses(out)) < 20
    _pretrain(shards, out, "--resume")
    ref, got = _losses(full_run), _losses(out)
    assert got == ref  # bitwise: float losses compared exactly, all 20 steps


def test_torn_checkpoint_falls_back(shards, full_run, tmp_path):
    from pipeline.config import load_config

    from model import checkpoint
    from model.optim import build_optimizer
    from model.presets import get_preset
    from model.pretrain import PretrainConfig
    from model.yi import build_model, init_parallel

    ckpts = tmp_path / "checkpoints"
    shutil.copytree(full_run / "checkpoints", ckpts)
    for f in (ckpts / "iter_0000020").rglob("*.distcp"):
        f.write_bytes(f.read_bytes()[:100])  # torn after the rename
    (ckpts / "iter_0000030.tmp").mkdir()  # an unfinished save is ignored
    init_parallel()
    manifest = json.loads((shards / "manifest.json").read_text())
    model = build_model(get_preset("yi-nano", vocab=manifest["tokenizer"]["vocab_size"]))
    opt = build_optimizer(model.parameters(), PretrainConfig.load(load_config()))
    state = checkpoint.load_latest(ckpts, model, opt)
    assert state["step"] == 10 and state["path"].endswith("iter_0000010")
    assert state["consumed_samples"] == 10 * 32


def test_init_from_takes_weights_only(shards, full_run, tmp_path):
    """--init-from: the checkpoint's weights, a fresh optimizer, step 0, data
    from the first sample; training then continues from the trained weights."""
    from pipeline.config import load_config

    from model import checkpoint
    from model.optim import build_optimizer
    from model.presets import get_preset
    from model.pretrain import PretrainConfig, gpt_data, lm_loss
    from model.trainer import ModelSpec, Trainer
    from model.yi import build_model

    src = full_run / "checkpoints" / "iter_0000010"
    cfg = PretrainConfig.load(load_config(), "demo", preset="yi-nano", steps=2, warmup_steps=1, micro_batch=8,
                              global_batch=32, lr=3e-3, save_interval=2)
    shape = get_preset("yi-nano", vocab=json.loads((shards / "manifest.json").read_text())["tokenizer"]["vocab_size"])
    out = tmp_path / "run"
    trainer = Trainer(cfg, model=ModelSpec("yi-nano", shape), data=gpt_data(cfg, shards, shape.seq_length, out / "cache"),
                      loss=lm_loss, out=out, name="test", title="init-from", init_from=src, progress=False)
    assert (trainer.step, trainer.consumed, trainer.tokens) == (0, 0, 0)
    assert not trainer.optimizer.state  # fresh AdamW: no moments, no step count
    # the weights equal those the resume path loads from the same checkpoint, not a fresh init's
    only10 = tmp_path / "only10"
    shutil.copytree(src, only10 / src.name)
    ref, fresh = build_model(shape), build_model(shape)
    assert checkpoint.load_latest(only10, ref, build_optimizer(ref.parameters(), cfg))["step"] == 10
    ours, want = trainer.model.state_dict(), ref.state_dict()
    weights = [k for k in want if not k.endswith("_extra_state")]
    assert all(torch.equal(ours[k], want[k]) for k in weights)
    assert not torch.equal(ours["output_layer.weight"], fresh.state_dict()["output_layer.weight"])
    trainer.fit()
    losses = _losses(out)
    assert sorted(losses) == [1, 2] and losses[1] < _losses(full_run)[1] - 0.5  # starts trained
    assert checkpoint.saved_state(out / "checkpoints")["consumed_samples"] == 2 * 32  # new data position


def test_two_processes_tensor_parallel_on_gloo(shards, full_run, tmp_path):
    out = tmp_path / "tp2"
    r = subprocess.run([sys.executable, "-m", "torch.distributed.run", "--nproc-per-node", "2",
                        "--master-port", "29517", "-m", "model.pretrain", "--data", str(shards), "--out", str(out),
                        *ARGS, "--steps", "20", "--tp", "2", "--save-interval", "20"],
                       cwd=REPO, env=ENV, capture_output=True, text=True)
    assert r.returncode == 0, r.stderr[-3000:]
    tp, ref = _losses(out), _losses(full_run)
    assert sorted(tp) == list(range(1, 21))
    # same init and data as one process: the same curve up to float reduction order
    assert abs(tp[1] - ref[1]) < 1e-3 and abs(tp[20] - ref[20]) < 0.05, (tp, ref)
    assert (out / "checkpoints" / "iter_0000020" / "COMPLETE").exists()


@pytest.mark.gpu
@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs CUDA")
def test_gpu_bf16_run(shards, tmp_path):
    r = _pretrain(shards, tmp_path / "gpu", "--steps", "10", "--save-interval", "10")
    losses = _losses(tmp_path / "gpu")
    assert losses[10] < losses[1]
    assert json.loads((tmp_path / "gpu" / "log.jsonl").read_text().splitlines()[0])["mfu"] is not None, r.stderr
