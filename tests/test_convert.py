"""HF interop: our Yi model and LlamaForCausalLM give the same logits (fp32,
CPU, within 1e-4) after --to-hf and after --from-hf, through the real CLI and
a real dist_checkpointing checkpoint."""
import json
import subprocess
import sys

import pytest
import torch

from model.presets import get_preset

REPO = __import__("pathlib").Path(__file__).resolve().parent.parent
SHAPE = get_preset("yi-nano", vocab=512, seq_length=32)


def _run(*args):
    r = subprocess.run([sys.executable, "-m", "model.convert", *args], cwd=REPO, capture_output=True, text=True)
    assert r.returncode == 0, r.stderr[-3000:]


@pytest.fixture(scope="module")
def ours(tmp_path_factory):
    """A random-init Yi model saved as a real checkpoint."""
    from model import checkpoint
    from model.yi import build_model, init_parallel

    init_parallel(seed=7)
    model = build_model(SHAPE)
    with torch.no_grad():  # norms away from 1 so a swapped norm would show
        for n, p in model.named_parameters():
            if "layernorm" in n:
                p.uniform_(0.5, 1.5)
    d = tmp_path_factory.mktemp("ckpt")
    checkpoint.save(d, 3, model, torch.optim.AdamW(model.parameters()),
                    {"consumed_samples": 0, "tokens": 0, "preset": "yi-nano", "shape": SHAPE.to_dict()})
    return model.eval(), d


def _logits(model, ids):
    pos = torch.arange(ids.size(1)).expand_as(ids)
    with torch.no_grad():
        return model(ids, pos, None).float()


def test_to_hf_logits_match(ours, tmp_path):
    from transformers import LlamaForCausalLM

    model, ckpt = ours
    _run("--to-hf", "--checkpoint", str(ckpt), "--out", str(tmp_path / "hf"))
    cfg = json.loads((tmp_path / "hf" / "config.json").read_text())
    assert cfg["rope_theta"] == 5_000_000.0 and cfg["num_key_value_heads"] == SHAPE.query_groups
    hf = LlamaForCausalLM.from_pretrained(tmp_path / "hf", torch_dtype=torch.float32).eval()
    assert hf.config.rope_parameters["rope_theta"] == 5_000_000.0
    ids = torch.randint(0, SHAPE.vocab, (2, SHAPE.seq_length), generator=torch.Generator().manual_seed(0))
    with torch.no_grad():
        ref = hf(ids).logits
    diff = (_logits(model, ids) - ref).abs().max().item()
    assert diff < 1e-4, diff


def test_from_hf_logits_match(tmp_path):
    from transformers import LlamaConfig, LlamaForCausalLM

    from model.convert import write_hf

    torch.manual_seed(3)
    hf = LlamaForCausalLM(LlamaConfig(
        vocab_size=SHAPE.vocab, hidden_size=SHAPE.hidden, intermediate_size=SHAPE.ffn,
        num_hidden_layers=SHAPE.layers, num_attention_heads=SHAPE.heads, num_key_value_heads=SHAPE.query_groups,
        max_position_embeddings=SHAPE.seq_length, rms_norm_eps=SHAPE.norm_eps, rope_theta=SHAPE.rope_base,
        tie_word_embeddings=False)).eval()
    with torch.no_grad():
        for n, p in hf.named_parameters():
            if "norm" in n:
                p.uniform_(0.5, 1.5)
    write_hf({k: v.contiguous() for k, v in hf.state_dict().items()}, SHAPE, tmp_path / "hf")
    _run("--from-hf", str(tmp_path / "hf"), "--out", str(tmp_path / "run" / "checkpoints"))
    from model.convert import load_checkpoint_model

    model, shape = load_checkpoint_model(tmp_path / "run" / "checkpoints")
    assert shape == SHAPE
    ids = torch.randint(0, SHAPE.vocab, (2, SHAPE.seq_length), generator=torch.Generator().manual_seed(1))
    with torch.no_grad():
        ref = hf(ids).logits
    diff = (_logits(model.eval(), ids) - ref).abs().max().item()
    assert diff < 1e-4, diff
