"""The Yi model on megatron-core (CPU): preset shapes, the SDPA core attention
against megatron's own attention, the architecture settings, LR schedules."""
import pytest
import torch

from model.presets import PRESETS, get_preset
from model.schedule import LRSchedule


def test_presets_match_the_published_sizes():
    # parameter counts of the HF releases: Yi-6B 6.06B, Yi-9B 8.83B, Yi-34B 34.39B
    assert round(PRESETS["yi-6b"].num_params() / 1e9, 2) == 6.06
    assert round(PRESETS["yi-9b"].num_params() / 1e9, 2) == 8.83
    assert round(PRESETS["yi-34b"].num_params() / 1e9, 2) == 34.39
    for name in ("yi-6b", "yi-9b", "yi-34b"):
        p = PRESETS[name]
        assert (p.vocab, p.seq_length, p.rope_base) == (64_000, 4096, 5_000_000.0)
    assert PRESETS["yi-34b"].heads // PRESETS["yi-34b"].query_groups == 7
    with pytest.raises(KeyError, match="known"):
        get_preset("yi-7b")


@pytest.fixture(scope="module")
def nano():
    from model.yi import build_model, init_parallel

    init_parallel(seed=11)
    shape = get_preset("yi-nano", vocab=1000)
    return shape, build_model(shape)


def test_architecture(nano):
    shape, model = nano
    n = sum(p.numel() for p in model.parameters())
    assert n == shape.num_params()
    names = [k for k in model.state_dict() if not k.endswith("_extra_state")]
    assert not [k for k in names if "bias" in k], "Yi has no biases"
    assert "output_layer.weight" in names and not model.share_embeddings_and_output_weights
    assert model.rotary_pos_emb.inv_freq[1].item() == pytest.approx(5e6 ** (-2 / shape.head_dim))
    qkv = model.decoder.layers[0].self_attention.linear_qkv.weight
    assert qkv.shape[0] == shape.hidden + 2 * shape.query_groups * shape.head_dim  # GQA
    assert model.decoder.layers[0].mlp.linear_fc1.weight.shape[0] == 2 * shape.ffn  # SwiGLU


def test_sdpa_attention_matches_megatron_local(nano):
    from model.yi import build_model

    shape, model = nano
    local = build_model(shape, attention="local")
    local.load_state_dict(model.state_dict())
    ids = torch.randint(0, shape.vocab, (2, shape.seq_length), generator=torch.Generator().manual_seed(0))
    pos = torch.arange(shape.seq_length).expand_as(ids)
    with torch.no_grad():
        a, b = model(ids, pos, None), local(ids, pos, None)
    assert (a - b).abs().max().item() < 1e-4
    # causal: the logits of a prefix do not depend on what follows
    with torch.no_grad():
        c = model(ids[:, :10], pos[:, :10], None)
    assert (a[:, :10] - c).abs().max().item() < 1e-4


def test_rope_matches_megatron_unfused_with_gradients(nano):
    from megatron.core.models.common.embeddings import rope_utils

    from model.rope import rope

    g = torch.Generator().manual_seed(3)
    half = torch.rand(9, 1, 1, 8, generator=g, dtype=torch.float64) * 20
    for freqs in (torch.cat((half, half), -1), torch.cat((half[..., :4], half[..., :4]), -1)):  # full, partial
        t = torch.randn(9, 2, 3, 16, generator=g, dtype=torch.float64, requires_grad=True)
        ref = rope_utils._apply_rotary_pos_emb_bshd(t, freqs)
        ours = rope(t, freqs)
        assert (ours - ref).abs().max().item() < 1e-12
        up = torch.randn(ref.shape, generator=g, dtype=torch.float64)
        (g_ref,), (g_ours,) = torch.autograd.grad(ref, t, up), torch.autograd.grad(ours, t, up)
        assert (g_ours - g_ref).abs().max().item() < 1e-12
    assert torch.autograd.gradcheck(lambda x: rope(x, freqs), (t,))
    # megatron routes its RoPE through ours (nothing else fills the fused slot without TE)
    assert rope_utils.fused_apply_rotary_pos_emb is rope and nano[1].config.apply_rope_fusion


def test_swiglu_matches_the_unfused_definition_with_gradients(nano):
    from model.swiglu import SwiGLU

    g = torch.Generator().manual_seed(4)
    # fc1 output in megatron's layout [s, b, 2·ffn], also non-contiguous
    for y in (torch.randn(7, 3, 20, generator=g, dtype=torch.float64),
              torch.randn(3, 7, 20, generator=g, dtype=torch.float64).transpose(0, 1)):
        y.requires_grad_(True)
        gate, up = y.chunk(2, dim=-1)
        ref = torch.nn.functional.silu(gate) * up
        ours = SwiGLU()(y)
        assert (ours - ref).abs().max().item() < 1e-12
        grad = torch.randn(ref.shape, generator=g, dtype=torch.float64)
        (g_ref,), (g_ours,) = torch.autograd.grad(ref, y, grad), torch.autograd.grad(ours, y, grad)
        assert (g_ours - g_ref).abs().max().item() < 1e-12
    assert torch.autograd.gradcheck(SwiGLU(), (y,))
    if not torch.cuda.is_available():  # CPU: the MLP calls our module on the whole fc1 output
        mlp = nano[1].decoder.layers[0].mlp
        assert isinstance(mlp.activation_func, SwiGLU) and mlp.config.use_te_activation_func


def test_cpu_patches_applied_only_without_cuda():
    from model import cpu_patches

    assert cpu_patches.apply() is (not torch.cuda.is_available())


def test_schedules():
    cos = LRSchedule(lr=1.0, min_lr=0.1, warmup_steps=10, total_steps=110, kind="cosine")
    assert cos(0) == pytest.approx(0.1) and cos(9) == pytest.approx(1.0)
    assert cos(60) == pytest.approx(0.55) and cos(110) == pytest.approx(0.1)
    wsd = LRSchedule(lr=1.0, min_lr=0.0, warmup_steps=10, total_steps=100, kind="wsd", decay_fraction=0.2)
    assert [wsd(s) for s in (20, 50, 79)] == [1.0, 1.0, 1.0]  # stable phase
    assert wsd(90) == pytest.approx(0.5) and wsd(100) == pytest.approx(0.0)  # fast decay
    assert all(wsd(s) >= wsd(s + 1) for s in range(10, 100))
    with pytest.raises(ValueError):
        LRSchedule(1.0, 0.1, 5, 10, kind="linear")
