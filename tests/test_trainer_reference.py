"""The trainer's maths against a plain-torch reference written here (issue #13),
on a tiny Yi model (2 layers, hidden 32, vocab 128, 16 tokens) on CPU:

- two optimizer steps of ``Trainer.train_step`` (2 micro-batches of 4, an
  uneven loss mask, a clip below the gradient norm) agree with a reference
  that takes the same initial weights, computes the loss with
  ``F.cross_entropy`` over the mask (mean per micro-batch, then over
  micro-batches), the global L2 norm and the clip by hand, and the AdamW
  update by hand (bias-corrected moments, decoupled weight decay on every
  weight but the norms, the warm-up LR written out): loss, grad norm, the
  clipped gradients and every parameter after each step agree to 1e-6;
- 8×4 micro-batching gives the loss and grad norm of 32×1 (issue row 13);
- the clip on its own (issue row 12) and the LR schedules against values
  worked out by hand;
- a checkpoint restores every RNG (python, numpy, torch, megatron's tracker:
  issue row 11), the step, data position, optimizer moments and the Adam
  step count (the next step equals the uninterrupted one); resume refuses a
  checkpoint of another tokenizer, data or model shape; rotation keeps the
  newest ``keep``;
- ``SampleBatches`` slices and ``blend`` weights against counts by hand.

The model's forward (megatron ``GPTModel``) is shared by both sides: what is
under test is everything the trainer does around it.
"""
import json
import math
import random

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from model.presets import get_preset

SHAPE = get_preset("yi-nano", vocab=128, seq_length=16, hidden=32, ffn=64)
# lr warms up over 4 steps: step 1 at lr/4, step 2 at lr/2 (written out in the reference).
HP = dict(lr=0.05, min_lr=0.005, warmup_steps=4, weight_decay=0.3, beta1=0.8, beta2=0.9, eps=1e-3)
# With CUDA the trainer trains bf16 with fp32 masters: the 1e-6 fp32 comparisons are CPU-only.
fp32_cpu = pytest.mark.skipif(torch.cuda.is_available(), reason="the trainer trains bf16 on CUDA; reference is fp32")


def _cfg(**over):
    from model.trainer import TrainConfig

    base = dict(micro_batch=4, global_batch=8, steps=10, schedule="cosine", decay_fraction=0.1, clip_grad=0.5,
                eval_interval=0, eval_iters=1, save_interval=0, keep_checkpoints=2, log_interval=1,
                max_nonfinite_skips=0, tp=1, pp=1, seed=5, **HP)
    return TrainConfig(**{**base, **over})


def _dataset(n: int = 32, seed: int = 0, uneven: bool = True) -> list[dict]:
    """``n`` samples of SHAPE.seq_length tokens: labels are the next tokens;
    the loss mask drops a prompt of 0..9 tokens (uneven) or of 3 (even)."""
    g = torch.Generator().manual_seed(seed)
    out = []
    for i in range(n):
        ids = torch.randint(0, SHAPE.vocab, (SHAPE.seq_length + 1,), generator=g)
        mask = torch.ones(SHAPE.seq_length)
        mask[:(i * 7) % 10 if uneven else 3] = 0
        out.append({"tokens": ids[:-1], "labels": ids[1:], "loss_mask": mask,
                    "position_ids": torch.arange(SHAPE.seq_length)})
    return out


def _trainer(tmp_path, cfg, data, **kw):
    from model.data import SampleBatches
    from model.pretrain import lm_loss
    from model.trainer import ModelSpec, Trainer

    return Trainer(cfg, model=ModelSpec("ref-tiny", SHAPE), data=lambda dp, n: (SampleBatches(data, cfg.micro_batch,
                                                                                               dp, n), None),
                   loss=lm_loss, out=tmp_path, name="test", title="reference", progress=False, **kw)


def _weights(model) -> dict:
    return {n: p.detach().clone() for n, p in model.named_parameters()}


# ------------------------------------------------------------ the reference --
def _ref_loss(model, samples: list[dict], micro: int) -> torch.Tensor:
    """Cross-entropy of the next token, mean over the loss mask of each
    micro-batch, then mean over the micro-batches."""
    losses = []
    for i in range(0, len(samples), micro):
        mb = samples[i:i + micro]
        tokens = torch.stack([s["tokens"] for s in mb])
        labels = torch.stack([s["labels"] for s in mb])
        mask = torch.stack([s["loss_mask"] for s in mb])
        logits = model(tokens, torch.arange(tokens.size(1)).expand_as(tokens), None)  # [b, s, vocab]
        ce = F.cross_entropy(logits.reshape(-1, logits.size(-1)).float(), labels.reshape(-1), reduction="none")
        losses.append((ce * mask.reshape(-1)).sum() / mask.sum())
    return sum(losses) / len(losses)


class RefAdamW:
    """AdamW by the formulas (Loshchilov & Hutter; torch's AdamW docs):
    p ← p·(1 − lr·wd); m ← β1·m + (1−β1)·g; v ← β2·v + (1−β2)·g²;
    p ← p − lr · (m / (1−β1ᵗ)) / (√(v / (1−β2ᵗ)) + eps).
    No weight decay on the RMSNorm weights (named "layernorm")."""

    def __init__(self, names, lr, weight_decay, beta1, beta2, eps, **_):
        self.b1, self.b2, self.eps, self.wd = beta1, beta2, eps, weight_decay
        self.m = {n: 0.0 for n in names}
        self.v = {n: 0.0 for n in names}
        self.t = 0

    def step(self, params: dict, grads: dict, lr: float) -> dict:
        self.t += 1
        out = {}
        for n, p in params.items():
            g = grads[n]
            wd = 0.0 if "layernorm" in n else self.wd
            p = p * (1 - lr * wd)
            self.m[n] = self.b1 * self.m[n] + (1 - self.b1) * g
            self.v[n] = self.b2 * self.v[n] + (1 - self.b2) * g * g
            m_hat = self.m[n] / (1 - self.b1 ** self.t)
            v_hat = self.v[n] / (1 - self.b2 ** self.t)
            out[n] = p - lr * m_hat / (v_hat.sqrt() + self.eps)
        return out


def _ref_build(weights):
    from model.yi import build_model

    ref = build_model(SHAPE)
    ref.load_state_dict(weights, strict=False)
    ref.train()
    return ref


@pytest.fixture(scope="module")
def reference_run(tmp_path_factory):
    """Two trainer steps and their reference, side by side."""
    from megatron.core.tensor_parallel import get_cuda_rng_tracker  # noqa: F401 (megatron loaded)

    data = _dataset()
    cfg = _cfg()
    tr = _trainer(tmp_path_factory.mktemp("ref"), cfg, data)
    w0 = _weights(tr.model)
    got = []
    for _ in range(2):
        rec = tr.train_step()
        got.append((rec, {n: p.grad.detach().clone() for n, p in tr.model.named_parameters()},
                    _weights(tr.model)))

    ref = _ref_build(w0)
    params = {n: p.detach().clone() for n, p in ref.named_parameters()}
    adam = RefAdamW(list(params), **HP)
    want = []
    for step in range(2):
        samples = data[step * 8:(step + 1) * 8]  # the global batch at sample step × 8
        for n, p in ref.named_parameters():
            p.data.copy_(params[n])
            p.grad = None
        loss = _ref_loss(ref, samples, micro=4)
        loss.backward()
        grads = {n: p.grad.detach().clone() for n, p in ref.named_parameters()}
        norm = math.sqrt(sum(float((g.double() ** 2).sum()) for g in grads.values()))
        if norm > cfg.clip_grad:
            grads = {n: g * (cfg.clip_grad / (norm + 1e-6)) for n, g in grads.items()}
        lr = HP["lr"] * (step + 1) / HP["warmup_steps"]
        params = adam.step(params, grads, lr)
        want.append((float(loss), norm, lr, grads, {n: p.clone() for n, p in params.items()}))
    return w0, got, want


@fp32_cpu
def test_reference_step_loss_grad_norm_and_lr(reference_run):
    _, got, want = reference_run
    for (rec, _, _), (loss, norm, lr, _, _) in zip(got, want):
        assert abs(rec["loss"] - loss) <= 1e-6, (rec["loss"], loss)
        assert abs(rec["grad_norm"] - norm) <= 1e-6, (rec["grad_norm"], norm)
        assert norm > 0.5  # the clip acts on both steps
        assert rec["lr"] == pytest.approx(lr, rel=1e-12)
    assert [r["step"] for r, _, _ in got] == [1, 2]
    assert [r["tokens"] for r, _, _ in got] == [8 * 16, 16 * 16] and got[0][0]["global_batch"] == 8


@fp32_cpu
def test_reference_step_clipped_gradients(reference_run):
    """The gradients the optimizer used: clipped to global norm 0.5."""
    _, got, want = reference_run
    for (_, grads, _), (_, _, _, ref_grads, _) in zip(got, want):
        total = math.sqrt(sum(float((g.double() ** 2).sum()) for g in grads.values()))
        assert abs(total - 0.5) < 1e-5, total
        for n, g in ref_grads.items():
            assert (grads[n] - g).abs().max().item() <= 1e-6, n


@fp32_cpu
def test_reference_step_parameters_after_adamw(reference_run):
    w0, got, want = reference_run
    for k, ((_, _, params), (_, _, _, _, ref_params)) in enumerate(zip(got, want)):
        for n, p in ref_params.items():
            diff = (params[n] - p).abs().max().item()
            assert diff <= 1e-6, (k + 1, n, diff)
    # the updates are far larger than the tolerance: the comparison means something
    moved = {n: (got[1][2][n] - w0[n]).abs().max().item() for n in w0}
    assert min(moved.values()) > 1e-3, moved


@fp32_cpu
def test_micro_batching_does_not_change_loss_or_grad_norm(tmp_path):
    """Issue row 13: 8 micro-batches of 4 and 1 of 32 (the same 32 samples,
    the same number of loss tokens in each sample) give the same loss and
    gradient norm; without dividing by the count the norm was 8x."""
    data = _dataset(32, seed=1, uneven=False)
    recs, grads = [], []
    for micro in (4, 32):
        tr = _trainer(tmp_path / f"mb{micro}", _cfg(micro_batch=micro, global_batch=32, clip_grad=0.0), data)
        recs.append(tr.train_step())
        grads.append({n: p.grad.clone() for n, p in tr.model.named_parameters()})
    assert recs[0]["loss"] == pytest.approx(recs[1]["loss"], abs=1e-6)
    assert recs[0]["grad_norm"] == pytest.approx(recs[1]["grad_norm"], abs=1e-6)
    assert all(torch.allclose(grads[0][n], grads[1][n], atol=1e-7) for n in grads[0])


def test_grad_norm_and_clip_by_hand():
    """Issue row 12 as a unit: grads (3, 4) and (12,) have norm 13; clip 6.5
    halves them (up to the 1e-6 guard); a clip above the norm, or 0, leaves
    them; the norm before clipping is returned."""
    from model.optim import grad_norm_and_clip
    from model.yi import init_parallel

    init_parallel()
    dev = "cuda" if torch.cuda.is_available() else "cpu"  # nccl reduces cuda tensors only

    def params():
        a, b = torch.zeros(2, requires_grad=True, device=dev), torch.zeros(1, 1, requires_grad=True, device=dev)
        a.grad, b.grad = torch.tensor([3.0, 4.0], device=dev), torch.tensor([[12.0]], device=dev)
        return [a, b]

    ps = params()
    assert grad_norm_and_clip(ps, 6.5) == pytest.approx(13.0, rel=1e-7)
    assert ps[0].grad.tolist() == pytest.approx([1.5, 2.0], rel=1e-6)
    assert ps[1].grad.item() == pytest.approx(6.0, rel=1e-6)
    for clip in (13.5, 0.0):
        ps = params()
        assert grad_norm_and_clip(ps, clip) == pytest.approx(13.0, rel=1e-7)
        assert ps[0].grad.tolist() == [3.0, 4.0] and ps[1].grad.item() == 12.0


def test_optimizer_groups_decay_weights_not_norms():
    """Weight decay on every matrix (embeddings, projections, output layer),
    none on the RMSNorm weights; betas, eps and lr from the config."""
    from model.optim import build_optimizer
    from model.yi import build_model, init_parallel

    init_parallel()
    model = build_model(SHAPE)
    cfg = _cfg()
    opt = build_optimizer(list(model.parameters()), cfg)
    names = {id(p): n for n, p in model.named_parameters()}
    decay = {names[id(p)]: g["weight_decay"] for g in opt.param_groups for p in g["params"]}
    assert set(decay) == set(names.values())
    assert {n for n, wd in decay.items() if wd == 0.0} == {n for n in decay if "layernorm" in n}
    assert {wd for n, wd in decay.items() if "layernorm" not in n} == {0.3}
    assert all(g["betas"] == (0.8, 0.9) and g["eps"] == 1e-3 and g["lr"] == 0.05 for g in opt.param_groups)


# -------------------------------------------------------------- schedules --
def test_cosine_schedule_by_hand():
    """lr 1, min 0.1, 2 warm-up steps of 10: 0.5, 1.0 (warm-up, 0-based step
    s gives lr·(s+1)/2), then 0.1 + 0.45·(1 + cos(π·(s−2)/8))."""
    from model.schedule import LRSchedule

    s = LRSchedule(1.0, 0.1, 2, 10, "cosine")
    want = [0.5, 1.0] + [0.1 + 0.45 * (1 + math.cos(math.pi * k / 8)) for k in range(8)]
    assert [s(i) for i in range(10)] == pytest.approx(want, abs=1e-12)
    assert s(6) == pytest.approx(0.55, abs=1e-12) and s(10) == pytest.approx(0.1, abs=1e-12)
    assert LRSchedule(1.0, 0.1, 0, 4)(0) == 1.0  # no warm-up: the peak at once


def test_wsd_schedule_by_hand():
    """WSD, 20 steps, 2 warm-up, decay over the last 25 % (5 steps, from step 15)."""
    from model.schedule import LRSchedule

    s = LRSchedule(1.0, 0.1, 2, 20, "wsd", 0.25)
    assert [s(i) for i in range(16)] == pytest.approx([0.5] + [1.0] * 15, abs=1e-12)
    assert s(17) == pytest.approx(0.1 + 0.45 * (1 + math.cos(math.pi * 2 / 5)), abs=1e-12)
    assert s(20) == pytest.approx(0.1, abs=1e-12)


# ------------------------------------------------------------ checkpoints --
def _rng_snapshot() -> dict:
    from megatron.core.tensor_parallel import get_cuda_rng_tracker

    return {"python": random.getstate(), "numpy": np.random.get_state(), "torch": torch.get_rng_state().clone(),
            "tracker": {k: v.clone() for k, v in get_cuda_rng_tracker().get_states().items()}}


def _same_rng(a: dict, b: dict) -> list[str]:
    bad = []
    if a["python"] != b["python"]:
        bad.append("python")
    if a["numpy"][0] != b["numpy"][0] or not np.array_equal(a["numpy"][1], b["numpy"][1]) \
            or a["numpy"][2:] != b["numpy"][2:]:
        bad.append("numpy")
    if not torch.equal(a["torch"], b["torch"]):
        bad.append("torch")
    if a["tracker"].keys() != b["tracker"].keys() or \
            not all(torch.equal(a["tracker"][k], b["tracker"][k]) for k in a["tracker"]):
        bad.append("tracker")
    return bad


def _stir_rngs(seed: int) -> None:
    """Move every RNG to a state of its own (the tracker's named generators too)."""
    from megatron.core.tensor_parallel import get_cuda_rng_tracker

    random.seed(seed)
    np.random.seed(seed + 1)
    torch.manual_seed(seed + 2)
    for _ in range(seed % 5 + 1):
        with get_cuda_rng_tracker().fork():
            torch.rand(7)
    torch.rand(3)


IDENTITY = {"tokenizer": {"sha256": "a" * 64, "vocab_size": 128, "eod": 2},
            "data": {"shards_sha256": "b" * 64, "documents": 32, "tokens": 544, "seed": 5}}


@pytest.fixture(scope="module")
def resumed(tmp_path_factory):
    """A run saved after 2 steps (RNGs stirred first), a third step taken;
    then the same run resumed from the checkpoint, RNGs stirred otherwise."""
    data = _dataset(48, seed=2)
    out = tmp_path_factory.mktemp("resume")
    a = _trainer(out, _cfg(), data, identity=IDENTITY)
    a.train_step()
    a.save()  # iter 1: resume must take the newest
    a.train_step()
    _stir_rngs(11)
    at_save = _rng_snapshot()
    a.save()
    w_saved = _weights(a.model)
    opt_saved = {n: {k: (v.clone() if torch.is_tensor(v) else v) for k, v in a.optimizer.state[p].items()}
                 for n, p in a.model.named_parameters()}
    rec3 = a.train_step()
    w3 = _weights(a.model)

    _stir_rngs(23)
    b = _trainer(out, _cfg(), data, resume=True, identity=IDENTITY)
    loaded = _rng_snapshot()
    state = {"step": b.step, "consumed": b.consumed, "tokens": b.tokens, "weights": _weights(b.model),
             "optimizer": {n: {k: v.clone() for k, v in b.optimizer.state[p].items()}
                           for n, p in b.model.named_parameters()}}
    rec3b = b.train_step()
    return dict(out=out, data=data, at_save=at_save, loaded=loaded, w_saved=w_saved, opt_saved=opt_saved,
                state=state, rec3=rec3, rec3b=rec3b, w3=w3, w3b=_weights(b.model))


def test_resume_restores_every_rng(resumed):
    """Issue row 11: the RNG states after loading are those at save."""
    assert _same_rng(resumed["at_save"], resumed["loaded"]) == []


def test_resume_restores_step_data_position_and_optimizer(resumed):
    st = resumed["state"]
    assert (st["step"], st["consumed"], st["tokens"]) == (2, 16, 2 * 8 * 16)
    assert all(torch.equal(st["weights"][n], w) for n, w in resumed["w_saved"].items())
    for n, want in resumed["opt_saved"].items():
        got = st["optimizer"][n]
        assert float(got["step"]) == float(want["step"]) == 2.0, n
        assert torch.equal(got["exp_avg"], want["exp_avg"]) and torch.equal(got["exp_avg_sq"], want["exp_avg_sq"]), n


def test_resumed_step_equals_the_uninterrupted_one(resumed):
    assert resumed["rec3b"]["loss"] == resumed["rec3"]["loss"]
    assert resumed["rec3b"]["grad_norm"] == resumed["rec3"]["grad_norm"]
    assert all(torch.equal(resumed["w3b"][n], w) for n, w in resumed["w3"].items())


def test_rotation_keeps_the_newest(resumed):
    """keep_checkpoints = 2, saved at steps 1 and 2: both are kept."""
    names = sorted(p.name for p in (resumed["out"] / "checkpoints").iterdir())
    assert names == ["iter_0000001", "iter_0000002"]


@pytest.mark.parametrize("field,change", [("tokenizer", {"sha256": "c" * 64}), ("data", {"seed": 6}),
                                          ("data", {"shards_sha256": "d" * 64})])
def test_resume_refuses_another_tokenizer_or_data(resumed, tmp_path, field, change):
    import shutil

    from model.checkpoint import CheckpointMismatch

    out = tmp_path / "run"
    shutil.copytree(resumed["out"] / "checkpoints", out / "checkpoints")
    other = {**IDENTITY, field: {**IDENTITY[field], **change}}
    key = next(iter(change))
    with pytest.raises(CheckpointMismatch, match=rf"{field}\.{key}: checkpoint"):
        _trainer(out, _cfg(), resumed["data"], resume=True, identity=other)


def test_checkpoint_of_another_vocabulary_is_refused(resumed):
    """megatron lets the embedding and output layer shapes differ (it would
    load the first rows); every tensor's shape must equal the model's."""
    from model import checkpoint
    from model.yi import build_model

    small = build_model(get_preset("yi-nano", vocab=96, seq_length=16, hidden=32, ffn=64))
    with pytest.raises(checkpoint.CheckpointMismatch, match=r"embedding\.word_embeddings\.weight.*128.*96"):
        checkpoint.load_weights(resumed["out"] / "checkpoints", small)
    tok = {"tokenizer": {**IDENTITY["tokenizer"], "sha256": "e" * 64}}
    with pytest.raises(checkpoint.CheckpointMismatch, match=r"tokenizer\.sha256"):
        checkpoint.load_weights(resumed["out"] / "checkpoints", build_model(SHAPE), expect=tok)


def test_rotation_deletes_only_older_than_keep(tmp_path):
    from model import checkpoint
    from model.yi import build_model, init_parallel

    init_parallel()
    model = build_model(SHAPE)
    opt = torch.optim.AdamW(model.parameters())
    for step in (1, 2, 3):
        checkpoint.save(tmp_path, step, model, opt, {"consumed_samples": step, "tokens": 0}, keep=2)
    assert [p.name for p in checkpoint.complete_checkpoints(tmp_path)] == ["iter_0000002", "iter_0000003"]
    assert checkpoint.saved_state(tmp_path) == {"consumed_samples": 3, "tokens": 0, "step": 3}


# ------------------------------------------------------------------- data --
def test_sample_batches_slices_by_position():
    """Global batch 8 at sample 16, 2 data-parallel ranks, micro-batch 2:
    rank 1 reads samples 20..23 in two micro-batches; positions wrap."""
    from model.data import SampleBatches

    ds = [{k: torch.tensor([i]) for k in ("tokens", "labels", "loss_mask", "position_ids")} for i in range(30)]
    got = [mb["tokens"].flatten().tolist() for mb in SampleBatches(ds, 2, 1, 2).micro_batches(16, 8)]
    assert got == [[20, 21], [22, 23]]
    got = [mb["labels"].flatten().tolist() for mb in SampleBatches(ds, 4, 0, 1).micro_batches(24, 8)]
    assert got == [[24, 25, 26, 27], [28, 29, 0, 1]]


def test_blend_weights_by_pattern_and_tokens(tmp_path):
    """Patterns: first match wins; a pattern's weight is shared among its
    shards by tokens; weight 0, no match or no documents leaves a shard out."""
    from model.data import blend

    shards = [("web-en-0", "web.en", "train", 10, 300), ("web-en-1", "web.en", "train", 10, 100),
              ("web-zh-0", "web.zh", "train", 5, 200), ("code-0", "code.en", "train", 3, 50),
              ("empty", "web.en", "train", 0, 0), ("held-0", "heldout.en", "valid", 4, 40)]
    (tmp_path / "manifest.json").write_text(json.dumps({"shards": [
        {"name": n, "group": g, "split": s, "documents": d, "tokens": t} for n, g, s, d, t in shards]}))
    paths, ws = blend(tmp_path, {"web.en": 0.6, "web.*": 0.4, "code.*": 0.0})
    got = dict(zip((p.rsplit("/", 1)[1] for p in paths), ws))
    assert got == pytest.approx({"web-en-0": 0.45, "web-en-1": 0.15, "web-zh-0": 0.4})
    paths, ws = blend(tmp_path, {"*": 1.0}, "valid")
    assert [p.rsplit("/", 1)[1] for p in paths] == ["held-0"] and ws == [1.0]
    with pytest.raises(ValueError, match="no non-empty train shard"):
        blend(tmp_path, {"nothing.*": 1.0})
