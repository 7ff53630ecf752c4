"""Hugging Face interop: our megatron checkpoints ↔ ``LlamaForCausalLM``.

    python -m model.convert --to-hf --checkpoint RUN/checkpoints --out HF_DIR [--tokenizer TOK_DIR]
    python -m model.convert --from-hf HF_DIR --out RUN/checkpoints

Yi is the Llama architecture, so the HF side is ``LlamaForCausalLM``
(safetensors + ``config.json`` with ``rope_theta`` = 5e6, which HF's own
megatron converter does not carry). Weight layout differences:
megatron's ``linear_qkv`` stacks, for each query group, that group's query
heads then its key and value head ([q_1..q_k, k, v] × groups); ``linear_fc1``
is [gate; up]. Only tensor/pipeline-parallel size 1 checkpoints are converted.
"""
from __future__ import annotations

import argparse
import json
import shutil
import sys
import warnings
from pathlib import Path

warnings.filterwarnings("ignore", message=".*(Apex|Transformer Engine|TE).*")

import torch  # noqa: E402

from model.presets import ModelConfig  # noqa: E402


def _qkv_split(w: torch.Tensor, shape: ModelConfig):
    g, k, d = shape.query_groups, shape.heads // shape.query_groups, shape.head_dim
    w = w.view(g, k + 2, d, shape.hidden)
    q = w[:, :k].reshape(g * k * d, shape.hidden)
    return q, w[:, k].reshape(g * d, shape.hidden), w[:, k + 1].reshape(g * d, shape.hidden)


def _qkv_join(q, k, v, shape: ModelConfig) -> torch.Tensor:
    g, kk, d = shape.query_groups, shape.heads // shape.query_groups, shape.head_dim
    q = q.view(g, kk, d, shape.hidden)
    return torch.cat([q, k.view(g, 1, d, shape.hidden), v.view(g, 1, d, shape.hidden)], 1).reshape(-1, shape.hidden)


# Weights copied one to one: megatron name → HF name (per-layer names under
# "decoder.layers.{i}." and "model.layers.{i}.").
_TOP = {"embedding.word_embeddings.weight": "model.embed_tokens.weight",
        "decoder.final_layernorm.weight": "model.norm.weight",
        "output_layer.weight": "lm_head.weight"}
_LAYER = {"input_layernorm.weight": "input_layernorm.weight",
          "self_attention.linear_proj.weight": "self_attn.o_proj.weight",
          "pre_mlp_layernorm.weight": "post_attention_layernorm.weight",
          "mlp.linear_fc2.weight": "mlp.down_proj.weight"}
# Fused megatron weights and the HF weights they stack.
_QKV = "self_attention.linear_qkv.weight", ("self_attn.q_proj.weight", "self_attn.k_proj.weight",
                                             "self_attn.v_proj.weight")
_FC1 = "mlp.linear_fc1.weight", ("mlp.gate_proj.weight", "mlp.up_proj.weight")


def _layer_prefixes(shape: ModelConfig):
    return ((f"decoder.layers.{i}.", f"model.layers.{i}.") for i in range(shape.layers))


def _one_to_one(shape: ModelConfig):
    """(megatron name, HF name) of every weight copied as is."""
    yield from _TOP.items()
    for m, h in _layer_prefixes(shape):
        yield from ((m + a, h + b) for a, b in _LAYER.items())


def to_hf_state(sd: dict, shape: ModelConfig) -> dict[str, torch.Tensor]:
    """megatron GPTModel state dict → LlamaForCausalLM state dict."""
    out = {h: sd[m] for m, h in _one_to_one(shape)}
    for m, h in _layer_prefixes(shape):
        out.update(zip((h + n for n in _QKV[1]), _qkv_split(sd[m + _QKV[0]], shape)))
        out.update(zip((h + n for n in _FC1[1]), sd[m + _FC1[0]].chunk(2, dim=0)))
    return {k: v.detach().contiguous().clone() for k, v in out.items()}


def from_hf_state(hf: dict, shape: ModelConfig) -> dict[str, torch.Tensor]:
    """LlamaForCausalLM state dict → megatron GPTModel state dict."""
    out = {m: hf[h] for m, h in _one_to_one(shape)}
    for m, h in _layer_prefixes(shape):
        out[m + _QKV[0]] = _qkv_join(*(hf[h + n] for n in _QKV[1]), shape)
        out[m + _FC1[0]] = torch.cat([hf[h + n] for n in _FC1[1]])
    return out


def hf_config(shape: ModelConfig) -> dict:
    """``config.json`` of LlamaForCausalLM for a Yi shape."""
    return {
        "architectures": ["LlamaForCausalLM"], "model_type": "llama",
        "vocab_size": shape.vocab, "hidden_size": shape.hidden, "intermediate_size": shape.ffn,
        "num_hidden_layers": shape.layers, "num_attention_heads": shape.heads,
        "num_key_value_heads": shape.query_groups, "head_dim": shape.head_dim,
        "max_position_embeddings": shape.seq_length, "rms_norm_eps": shape.norm_eps,
        "rope_theta": shape.rope_base, "rope_parameters": {"rope_type": "default", "rope_theta": shape.rope_base},
        "hidden_act": "silu", "attention_bias": False, "mlp_bias": False, "tie_word_embeddings": False,
        "initializer_range": shape.init_std, "bos_token_id": 1, "eos_token_id": 2, "torch_dtype": "float32",
    }


def shape_from_hf_config(cfg: dict) -> ModelConfig:
    rope = cfg.get("rope_theta") or (cfg.get("rope_parameters") or {}).get("rope_theta", 10_000.0)
    return ModelConfig(hidden=cfg["hidden_size"], layers=cfg["num_hidden_layers"], heads=cfg["num_attention_heads"],
                   query_groups=cfg.get("num_key_value_heads", cfg["num_attention_heads"]),
                   ffn=cfg["intermediate_size"], vocab=cfg["vocab_size"],
                   seq_length=cfg.get("max_position_embeddings", 4096), rope_base=float(rope),
                   norm_eps=cfg.get("rms_norm_eps", 1e-5), init_std=cfg.get("initializer_range", 0.02))


def write_hf(state: dict, shape: ModelConfig, out: str | Path, tokenizer: str | Path | None = None) -> Path:
    """Write safetensors + config.json (+ the SentencePiece tokenizer)."""
    from safetensors.torch import save_file

    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    save_file(state, str(out / "model.safetensors"), metadata={"format": "pt"})
    (out / "config.json").write_text(json.dumps(hf_config(shape), indent=2, sort_keys=True) + "\n")
    if tokenizer:
        tok = Path(tokenizer)
        tok = tok / "tokenizer.model" if tok.is_dir() else tok
        shutil.copyfile(tok, out / "tokenizer.model")
        (out / "tokenizer_config.json").write_text(json.dumps({
            "tokenizer_class": "LlamaTokenizer", "bos_token": "<|startoftext|>", "eos_token": "<|endoftext|>",
            "unk_token": "<unk>", "add_bos_token": False, "add_eos_token": False, "add_prefix_space": False,
            "legacy": True, "model_max_length": shape.seq_length,
            "additional_special_tokens": ["<|im_start|>", "<|im_end|>"]}, indent=2) + "\n")
    return out


def load_checkpoint_model(ckpt: str | Path):
    """(model, config) from a checkpoint dir (``iter_*`` or the ``checkpoints``
    folder, newest complete one), on one process (tp = pp = 1)."""
    from model.checkpoint import load_weights, resolve, saved_state
    from model.yi import build_model, init_parallel

    ckpt = resolve(ckpt)
    shape = ModelConfig.from_dict(saved_state(ckpt)["shape"])
    init_parallel()
    model = build_model(shape, attention="local")
    load_weights(ckpt, model)
    return model, shape


def _plain_state(model) -> dict:
    return {k: v for k, v in model.state_dict().items() if not k.endswith("_extra_state")}


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    mode = ap.add_mutually_exclusive_group(required=True)
    mode.add_argument("--to-hf", action="store_true", help="checkpoint → HF LlamaForCausalLM folder")
    mode.add_argument("--from-hf", metavar="HF_DIR", help="HF Llama-format folder → checkpoint (iter_0000000)")
    ap.add_argument("--checkpoint", help="(--to-hf) iter_* folder or the checkpoints folder (newest)")
    ap.add_argument("--tokenizer", help="(--to-hf) tokenizer folder or .model to ship with the weights")
    ap.add_argument("--out", required=True)
    args = ap.parse_args(argv)

    if args.to_hf:
        if not args.checkpoint:
            ap.error("--to-hf needs --checkpoint")
        model, shape = load_checkpoint_model(args.checkpoint)
        path = write_hf(to_hf_state(_plain_state(model), shape), shape, args.out, args.tokenizer)
        print(f"[convert] wrote {path}/model.safetensors and config.json ({shape.num_params():,} parameters)",
              file=sys.stderr)
    else:
        from safetensors.torch import load_file

        from model import checkpoint
        from model.yi import build_model, init_parallel

        src = Path(args.from_hf)
        shape = shape_from_hf_config(json.loads((src / "config.json").read_text()))
        hf = {}
        for f in sorted(src.glob("*.safetensors")):
            hf.update(load_file(str(f)))
        init_parallel()
        model = build_model(shape)
        missing = model.load_state_dict(from_hf_state(hf, shape), strict=False)
        if [k for k in missing.missing_keys if not k.endswith("_extra_state")] or missing.unexpected_keys:
            raise SystemExit(f"weights do not match the model: {missing}")
        opt = torch.optim.AdamW(model.parameters())
        path = checkpoint.save(args.out, 0, model, opt, {"consumed_samples": 0, "tokens": 0, "preset": "from-hf",
                                                        "shape": shape.to_dict()})
        print(f"[convert] wrote {path} ({shape.num_params():,} parameters); continue with "
              f"`python -m model.pretrain --resume --out {Path(args.out).parent}`", file=sys.stderr)
    from model.yi import destroy_parallel

    destroy_parallel()
    return 0


if __name__ == "__main__":
    sys.exit(main())
