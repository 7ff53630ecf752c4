"""Hugging Face interop: our megatron checkpoints ↔ ``LlamaForCausalLM``.

    python -m model.convert --to-hf --checkpoint RUN/checkpoints --out HF_DIR [--tokenizer TOK_DIR] [--overwrite]
    python -m model.convert --from-hf HF_DIR --out RUN/checkpoints [--overwrite]

The export is the folder transformers and vLLM load: ``model.safetensors``,
``config.json``, ``generation_config.json`` and, with ``--tokenizer``,
``tokenizer.json`` (+ ``tokenizer_config.json``, ``special_tokens_map.json``,
the SentencePiece ``tokenizer.model``; see model/tokenizer.py
``write_hf_tokenizer``: the same ids as our tokenizer, special-token text in
input stays text, ``<unk>`` pads). Files get the modes of any file the user
creates (umask). An output is written into a staging folder next to
``--out`` and renamed into place: a non-empty ``--out`` is refused unless
``--overwrite``, and an ``--out`` that overlaps the checkpoint or tokenizer is
always refused. A tokenizer (given, or shipped in an imported folder) whose
vocabulary differs from the model's is refused.

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
import os
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


# Ids of Yi's special pieces (model/tokenizer.py trains them there); used when
# no tokenizer comes with the export. <unk> doubles as the pad token.
_DEFAULT_IDS = {"pad_token_id": 0, "bos_token_id": 1, "eos_token_id": 2}


def hf_config(shape: ModelConfig, *, dtype: str = "float32", ids: dict | None = None) -> dict:
    """``config.json`` of LlamaForCausalLM for a Yi shape: ``dtype`` the
    weights' dtype, ``ids`` the pad/bos/eos token ids (default Yi's)."""
    return {
        "architectures": ["LlamaForCausalLM"], "model_type": "llama",
        "vocab_size": shape.vocab, "hidden_size": shape.hidden, "intermediate_size": shape.ffn,
        "num_hidden_layers": shape.layers, "num_attention_heads": shape.heads,
        "num_key_value_heads": shape.query_groups, "head_dim": shape.head_dim,
        "max_position_embeddings": shape.seq_length, "rms_norm_eps": shape.norm_eps,
        "rope_theta": shape.rope_base, "rope_parameters": {"rope_type": "default", "rope_theta": shape.rope_base},
        "rope_scaling": None, "hidden_act": "silu", "attention_bias": False, "attention_dropout": 0.0,
        "mlp_bias": False, "tie_word_embeddings": False, "initializer_range": shape.init_std,
        "pretraining_tp": 1, "use_cache": True, "torch_dtype": dtype, **(ids or _DEFAULT_IDS),
    }


def generation_config(ids: dict | None = None) -> dict:
    """``generation_config.json``: stop at EOS (``<|endoftext|>``), pad with
    the pad id; sampling settings are left to the user."""
    return dict(ids or _DEFAULT_IDS)


def _check_hf_config(cfg: dict) -> None:
    """Refuse a Hugging Face config describing what our Yi model is not."""
    problems = []
    if cfg.get("model_type") != "llama":
        problems.append(f"model_type {cfg.get('model_type')!r} (only 'llama': Yi is the Llama architecture)")
    for key, want in (("hidden_act", "silu"), ("attention_bias", False), ("mlp_bias", False)):
        if cfg.get(key, want) != want:
            problems.append(f"{key}={cfg[key]!r} (ours: {want!r})")
    rope = cfg.get("rope_scaling") or {}
    rope_type = rope.get("rope_type", rope.get("type", "default")) if rope else \
        (cfg.get("rope_parameters") or {}).get("rope_type", "default")
    if rope_type != "default":
        problems.append(f"RoPE scaling {rope_type!r} (ours: plain RoPE)")
    heads, hidden = cfg.get("num_attention_heads"), cfg.get("hidden_size")
    if cfg.get("head_dim") not in (None, hidden // heads if heads else None):
        problems.append(f"head_dim {cfg['head_dim']} ≠ hidden_size / num_attention_heads")
    if problems:
        raise SystemExit("[convert] cannot import this model: " + "; ".join(problems))


def shape_from_hf_config(cfg: dict) -> ModelConfig:
    rope = cfg.get("rope_theta") or (cfg.get("rope_parameters") or {}).get("rope_theta", 10_000.0)
    return ModelConfig(hidden=cfg["hidden_size"], layers=cfg["num_hidden_layers"], heads=cfg["num_attention_heads"],
                   query_groups=cfg.get("num_key_value_heads", cfg["num_attention_heads"]),
                   ffn=cfg["intermediate_size"], vocab=cfg["vocab_size"],
                   seq_length=cfg.get("max_position_embeddings", 4096), rope_base=float(rope),
                   norm_eps=cfg.get("rms_norm_eps", 1e-5), init_std=cfg.get("initializer_range", 0.02))


def hf_shapes(shape: ModelConfig) -> dict[str, tuple[int, ...]]:
    """Name → shape of every LlamaForCausalLM weight of ``shape``."""
    h, q, kv, f = shape.hidden, shape.heads * shape.head_dim, shape.query_groups * shape.head_dim, shape.ffn
    out = {"model.embed_tokens.weight": (shape.vocab, h), "model.norm.weight": (h,),
           "lm_head.weight": (shape.vocab, h)}
    per = {"input_layernorm.weight": (h,), "post_attention_layernorm.weight": (h,),
           "self_attn.q_proj.weight": (q, h), "self_attn.k_proj.weight": (kv, h), "self_attn.v_proj.weight": (kv, h),
           "self_attn.o_proj.weight": (h, q), "mlp.gate_proj.weight": (f, h), "mlp.up_proj.weight": (f, h),
           "mlp.down_proj.weight": (h, f)}
    for _, pre in _layer_prefixes(shape):
        out.update({pre + k: v for k, v in per.items()})
    return out


def check_hf_weights(hf: dict, shape: ModelConfig, cfg: dict) -> dict:
    """The weights to import, checked against ``config.json``: every tensor
    present with its shape (an untied ``lm_head`` is taken from the input
    embedding when the config ties them); a clear error otherwise."""
    if "lm_head.weight" not in hf and cfg.get("tie_word_embeddings") and "model.embed_tokens.weight" in hf:
        hf = {**hf, "lm_head.weight": hf["model.embed_tokens.weight"]}  # ours is untied: copy
    want = hf_shapes(shape)
    missing = sorted(set(want) - set(hf))
    extra = sorted(k for k in set(hf) - set(want) if not k.endswith("rotary_emb.inv_freq"))
    wrong = [f"{k} {tuple(hf[k].shape)} (config.json says {want[k]})" for k in sorted(want)
             if k in hf and tuple(hf[k].shape) != want[k]]
    if missing or extra or wrong:
        msg = []
        if wrong:
            vocab = [w for w in wrong if w.split()[0] in ("model.embed_tokens.weight", "lm_head.weight")]
            msg.append(("a vocabulary other than config.json's vocab_size "
                        f"{shape.vocab}: " if vocab else "shapes differ from config.json: ") + "; ".join(wrong[:4]))
        if missing:
            msg.append(f"{len(missing)} weights missing, e.g. {missing[:3]}")
        if extra:
            msg.append(f"{len(extra)} weights not in a Llama model, e.g. {extra[:3]}")
        raise SystemExit("[convert] the weights do not match config.json: " + " | ".join(msg))
    return hf


def hf_tokenizer_size(src: Path) -> tuple[int, str] | None:
    """(pieces, file) of the tokenizer shipped in an HF folder, if any."""
    if (src / "tokenizer.json").is_file():
        from tokenizers import Tokenizer

        return Tokenizer.from_file(str(src / "tokenizer.json")).get_vocab_size(with_added_tokens=True), "tokenizer.json"
    if (src / "tokenizer.model").is_file():
        import sentencepiece as spm

        return spm.SentencePieceProcessor(model_file=str(src / "tokenizer.model")).get_piece_size(), "tokenizer.model"
    return None


# ------------------------------------------------------------------ output --
def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def _overlaps(a: Path, b: Path) -> bool:
    a, b = a.resolve(), b.resolve()
    return a == b or a in b.parents or b in a.parents


def check_out(out: str | Path, overwrite: bool, *inputs) -> Path:
    """``out`` resolved, refused (``SystemExit``, before any work) when it
    overlaps an input or is a non-empty folder without ``overwrite``."""
    out = Path(out).resolve()
    for i in inputs:
        if i is not None and _overlaps(out, Path(i)):
            raise SystemExit(f"[convert] --out {out} overlaps the input {i}: choose another folder")
    if out.exists() and not out.is_dir():
        raise SystemExit(f"[convert] --out {out} is a file, not a folder")
    if out.is_dir() and any(out.iterdir()) and not overwrite:
        raise SystemExit(f"[convert] --out {out} is not empty: choose a new folder, or pass --overwrite to "
                         f"replace it")
    return out


def publish(out: Path, write) -> Path:
    """Run ``write(staging)`` on a staging folder next to ``out``, then
    rename it into place (the old ``out``, if any, is removed only after):
    ``out`` is the old content or the new, never a mix."""
    out.parent.mkdir(parents=True, exist_ok=True)
    staging = out.parent / f".{out.name}.partial-{os.getpid()}"
    old = out.parent / f".{out.name}.old-{os.getpid()}"
    for p in (staging, old):
        if p.exists():
            shutil.rmtree(p)
    staging.mkdir()
    try:
        write(staging)
        if out.exists():
            os.rename(out, old)
        os.rename(staging, out)
    finally:
        if staging.exists():
            shutil.rmtree(staging)
    if old.exists():
        shutil.rmtree(old)
    return out


def write_hf(state: dict, shape: ModelConfig, out: str | Path, tokenizer: str | Path | None = None, *,
             overwrite: bool = False) -> Path:
    """Write ``out``: safetensors, config.json, generation_config.json (+ the
    tokenizer files with ``tokenizer``, whose vocabulary must be the model's)."""
    from safetensors.torch import save_file

    from model.tokenizer import YiTokenizer, write_hf_tokenizer

    tok = YiTokenizer(tokenizer) if tokenizer else None
    if tok is not None and tok.vocab_size != shape.vocab:
        raise SystemExit(f"[convert] the tokenizer {tok.path} has {tok.vocab_size} pieces, the model a vocabulary "
                         f"of {shape.vocab}: export it with the tokenizer it was trained with")
    ids = ({"pad_token_id": tok.sp.unk_id(), "bos_token_id": tok.bos, "eos_token_id": tok.eod}
           if tok is not None else None)
    dtypes = sorted({str(v.dtype).removeprefix("torch.") for v in state.values()})
    out = check_out(out, overwrite, tokenizer)

    def write(d: Path):
        save_file(state, str(d / "model.safetensors"), metadata={"format": "pt"})
        os.chmod(d / "model.safetensors", 0o666 & ~_umask())  # safetensors writes 0600
        (d / "config.json").write_text(json.dumps(hf_config(shape, dtype=dtypes[0] if len(dtypes) == 1 else
                                                            "float32", ids=ids), indent=2, sort_keys=True) + "\n")
        (d / "generation_config.json").write_text(json.dumps(generation_config(ids), indent=2, sort_keys=True)
                                                  + "\n")
        if tok is not None:
            write_hf_tokenizer(tok, d, model_max_length=shape.seq_length)

    return publish(out, write)


def check_tokenizer(ckpt: str | Path, tokenizer: str | Path) -> None:
    """Refuse (``SystemExit``) a tokenizer other than the one the checkpoint
    was trained with: another vocabulary size, or another model (sha256,
    recorded in checkpoints since issue #11; older ones are checked by size)."""
    from model.checkpoint import saved_state
    from model.tokenizer import YiTokenizer

    st, tok = saved_state(ckpt), YiTokenizer(tokenizer)
    vocab = ModelConfig.from_dict(st["shape"]).vocab
    if tok.vocab_size != vocab:
        raise SystemExit(f"[convert] the tokenizer {tok.path} has {tok.vocab_size} pieces, the checkpoint's model a "
                         f"vocabulary of {vocab}: export it with the tokenizer it was trained with")
    saved = (st.get("tokenizer") or {}).get("sha256")
    if saved and saved != tok.sha256:
        raise SystemExit(f"[convert] the checkpoint was trained with the tokenizer sha256 {saved}, {tok.path} is "
                         f"{tok.sha256}: export it with the tokenizer it was trained with")


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
    from model.checkpoint import CheckpointError

    try:
        return _main(argv)
    except (CheckpointError, FileNotFoundError) as e:  # a refused, damaged or missing checkpoint: one line, no traceback
        print(f"[convert] error: {e}", file=sys.stderr)
        return 1


def _main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    mode = ap.add_mutually_exclusive_group(required=True)
    mode.add_argument("--to-hf", action="store_true", help="checkpoint → HF LlamaForCausalLM folder")
    mode.add_argument("--from-hf", metavar="HF_DIR", help="HF Llama-format folder → checkpoint (iter_0000000)")
    ap.add_argument("--checkpoint", help="(--to-hf) iter_* folder or the checkpoints folder (newest)")
    ap.add_argument("--tokenizer", help="(--to-hf) tokenizer folder or .model to ship with the weights")
    ap.add_argument("--out", required=True)
    ap.add_argument("--overwrite", action="store_true", help="replace a non-empty --out")
    args = ap.parse_args(argv)

    if args.to_hf:
        if not args.checkpoint:
            ap.error("--to-hf needs --checkpoint")
        check_out(args.out, args.overwrite, args.checkpoint, args.tokenizer)  # before any loading
        if args.tokenizer:
            check_tokenizer(args.checkpoint, args.tokenizer)
        else:
            print("[convert] no --tokenizer: the export holds no tokenizer files", file=sys.stderr)
        model, shape = load_checkpoint_model(args.checkpoint)
        path = write_hf(to_hf_state(_plain_state(model), shape), shape, args.out, args.tokenizer,
                        overwrite=args.overwrite)
        print(f"[convert] wrote {path} ({', '.join(sorted(p.name for p in path.iterdir()))}; "
              f"{shape.num_params():,} parameters)", file=sys.stderr)
    else:
        from safetensors.torch import load_file

        src = Path(args.from_hf)
        out = check_out(args.out, args.overwrite, src)
        if not (src / "config.json").is_file():
            raise SystemExit(f"[convert] {src}: no config.json (not a Hugging Face model folder)")
        cfg = json.loads((src / "config.json").read_text())
        _check_hf_config(cfg)
        shape = shape_from_hf_config(cfg)
        tok = hf_tokenizer_size(src)
        if tok is not None and tok[0] != shape.vocab:
            raise SystemExit(f"[convert] {src}: the tokenizer ({tok[1]}) has {tok[0]} pieces, config.json a "
                             f"vocab_size of {shape.vocab}: pretraining continues with shards of the model's "
                             f"tokenizer, whose size must be the model's vocabulary")
        files = sorted(src.glob("*.safetensors"))
        if not files:
            raise SystemExit(f"[convert] {src}: no *.safetensors weights (pickled .bin/.pt files are never loaded: "
                             f"they can run code)")
        hf = {}
        for f in files:
            hf.update(load_file(str(f)))
        hf = check_hf_weights(hf, shape, cfg)

        from model import checkpoint
        from model.yi import build_model, init_parallel

        init_parallel()
        model = build_model(shape)
        missing = model.load_state_dict(from_hf_state(hf, shape), strict=False)
        if [k for k in missing.missing_keys if not k.endswith("_extra_state")] or missing.unexpected_keys:
            raise SystemExit(f"weights do not match the model: {missing}")
        opt = torch.optim.AdamW(model.parameters())
        state = {"consumed_samples": 0, "tokens": 0, "preset": "from-hf", "shape": shape.to_dict()}
        if (src / "tokenizer.model").is_file():  # its identity, checked by --resume/--init-from against the shards
            from model.tokenizer import YiTokenizer

            try:
                t = YiTokenizer(src / "tokenizer.model")
                state["tokenizer"] = {"sha256": t.sha256, "vocab_size": t.vocab_size, "eod": t.eod}
            except ValueError as e:
                print(f"[convert] note: {e}", file=sys.stderr)
        publish(out, lambda d: checkpoint.save(d, 0, model, opt, state))
        print(f"[convert] wrote {out}/iter_0000000 ({shape.num_params():,} parameters); continue with "
              f"`python -m model.pretrain --resume --out {out.parent}`", file=sys.stderr)
    from model.yi import destroy_parallel

    destroy_parallel()
    return 0


if __name__ == "__main__":
    sys.exit(main())
