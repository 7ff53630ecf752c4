"""NEFTune (model/neftune.py, issue #14 part 3) on the real megatron-core
GPTModel: the noise of each sample is alpha/sqrt(L*d) times uniform noise the
test draws itself from the same seed, L the sample's own length (not the
packed/padded row: transformers #34659); no noise on padding, in eval, or
with alpha 0; the eval loss is unchanged with the hook attached."""
import math

import pytest
import torch
import torch.nn.functional as F

from model.neftune import NEFTune
from model.packing import pack

ALPHA, SEED = 5.0, 7


@pytest.fixture(scope="module")
def model():
    from model.presets import get_preset
    from model.yi import build_model, init_parallel

    init_parallel(seed=17)
    shape = get_preset("yi-nano", vocab=300)
    return shape, build_model(shape)


def _packed(s: int):
    g = torch.Generator().manual_seed(1)
    lens = [10, 40, 64, 30]  # rows: [64], [40, 10] + 14 padding, [30] + 34 padding (greedy would differ)
    samples = [(torch.randint(3, 300, (n,), generator=g).tolist(), [1] * n) for n in lens]
    return pack(samples, s, 0)


def _expected_noise(p, d: int):
    """Noise drawn here from the seed, scaled per sample by hand."""
    b, s = p.tokens.shape
    u = torch.empty(b, s, d).uniform_(-1.0, 1.0, generator=torch.Generator().manual_seed(SEED))
    scale = torch.zeros(b, s, 1)
    for r, cu in enumerate(p.cu_seqlens):
        for k in range(len(cu) - 1):
            n = int(cu[k + 1] - cu[k])
            scale[r, int(cu[k]):int(cu[k + 1])] = ALPHA / math.sqrt(n * d)
    return u * scale


def _factor(noise, u) -> float:
    """The least-squares scale c of noise = c * u (robust to the rounding of noisy - clean)."""
    return ((noise.double() * u.double()).sum() / u.double().pow(2).sum()).item()


def test_noise_is_scaled_per_sample_by_its_own_length(model):
    shape, m = model
    d = shape.hidden
    p = _packed(shape.seq_length)
    assert [len(r) for r in p.rows] == [1, 2, 1]
    emb = m.embedding.word_embeddings
    clean = F.embedding(p.tokens, emb.weight).detach()
    neft = NEFTune(ALPHA, seed=SEED).attach(m)
    try:
        m.train()
        with torch.no_grad(), neft.lengths(p.seq_lengths):
            noisy = emb(p.tokens)
    finally:
        neft.detach()
    noise = noisy - clean
    assert (noise - _expected_noise(p, d)).abs().max().item() < 1e-6
    # per sample: the squared norm is near its expectation L*d/3 * alpha^2/(L*d) = alpha^2/3 whatever L is,
    # and the scale factor |noise|/|u| is alpha/sqrt(L*d) of that sample alone
    u = torch.empty(*p.tokens.shape, d).uniform_(-1.0, 1.0, generator=torch.Generator().manual_seed(SEED))
    for r, cu in enumerate(p.cu_seqlens):
        for k in range(len(cu) - 1):
            a, b = int(cu[k]), int(cu[k + 1])
            sq = noise[r, a:b].pow(2).sum().item()
            assert sq == pytest.approx(ALPHA ** 2 / 3, rel=0.2)
            assert _factor(noise[r, a:b], u[r, a:b]) == pytest.approx(ALPHA / math.sqrt((b - a) * d), rel=1e-5)
        if int(cu[-1]) < p.seq_length:
            assert noise[r, int(cu[-1]):].abs().max().item() == 0  # padding gets no noise
    # the packed row [40, 10]: two scales, the short sample's twice the long one's
    f40, f10 = _factor(noise[1, :40], u[1, :40]), _factor(noise[1, 40:50], u[1, 40:50])
    assert f10 / f40 == pytest.approx(2.0, rel=1e-5)
    # transformers' bug (#34659) would give the short sample alpha^2/3 * 10/64: ours is not that
    assert noise[1, 40:50].pow(2).sum().item() > 2 * ALPHA ** 2 / 3 * 10 / 64


def test_off_in_eval_and_eval_loss_unchanged(model):
    from model.pretrain import lm_loss
    from model.trainer import masked_mean

    shape, m = model
    p = _packed(shape.seq_length)
    batch = p.batch()
    m.eval()
    with torch.no_grad():
        clean_logits = m(batch["tokens"], batch["position_ids"], batch["attention_mask"])
        clean = masked_mean(lm_loss(m, batch), batch["loss_mask"]).item()
    neft = NEFTune(ALPHA, seed=SEED).attach(m)
    try:
        loss = neft.wrap_loss(lm_loss)
        before = neft.generator.get_state()
        with torch.no_grad():
            m.eval()
            assert torch.equal(m(batch["tokens"], batch["position_ids"], batch["attention_mask"]), clean_logits)
            assert masked_mean(loss(m, batch), batch["loss_mask"]).item() == clean
            assert torch.equal(neft.generator.get_state(), before)  # nothing drawn
            m.train()
            train = masked_mean(loss(m, batch), batch["loss_mask"]).item()
            # the trainer's path (wrap_loss + batch["seq_lengths"]) added exactly the per-sample noise
            assert (neft.last_noise - _expected_noise(p, shape.hidden)).abs().max().item() < 1e-6
    finally:
        neft.detach()
        m.eval()
    assert abs(train - clean) > 1e-4  # the noise reaches the loss in training
    with torch.no_grad():
        assert masked_mean(lm_loss(m, batch), batch["loss_mask"]).item() == clean  # detached: gone


def test_seeded_and_leaves_global_rng_alone(model):
    shape, m = model
    p = _packed(shape.seq_length)
    emb = m.embedding.word_embeddings
    outs = []
    m.train()
    try:
        for _ in range(2):
            neft = NEFTune(ALPHA, seed=SEED).attach(m)
            state = torch.get_rng_state()
            with torch.no_grad(), neft.lengths(p.cu_seqlens):  # cu_seqlens work as well as lengths
                outs.append(emb(p.tokens))
            assert torch.equal(torch.get_rng_state(), state)
            neft.detach()
        assert torch.equal(outs[0], outs[1])
        zero = NEFTune(0.0).attach(m)
        with torch.no_grad():
            assert torch.equal(emb(p.tokens), F.embedding(p.tokens, emb.weight))
        zero.detach()
    finally:
        m.eval()
