"""Tokens/s of our training step (Yi on megatron-core, CPU) against
transformers' LlamaForCausalLM with the identical config, weights and data,
side by side in one run; prints the ratio (goal >= 1.0).

    .venv/bin/python bench/train_cpu.py [--preset yi-tiny] [--batch 4] [--seq 256] [--steps 16]

Three models, same weights: ours, ours with megatron's own unfused RoPE and
SwiGLU (what model/layers/rope.py and model/layers/swiglu.py replace), and HF. All fp32,
fused AdamW (what each trains with), the same token batches (random ids,
fixed seed), HF with its default (sdpa) attention. Each step runs all three
in a rotating order so machine load hits them alike; the first 2 steps are
warm-up. Ratios are medians of per-step time ratios, with quartiles.
"""
from __future__ import annotations

import argparse
import statistics
import sys
import time
import warnings
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
warnings.filterwarnings("ignore")

import torch  # noqa: E402


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--preset", default="yi-tiny")
    ap.add_argument("--hidden", type=int, default=512, help="override the preset's hidden size (0: keep)")
    ap.add_argument("--batch", type=int, default=4)
    ap.add_argument("--seq", type=int, default=256)
    ap.add_argument("--steps", type=int, default=16)
    args = ap.parse_args()

    from transformers import LlamaConfig, LlamaForCausalLM

    from model.convert import from_hf_state
    from model.presets import get_preset
    from model.yi import build_model, init_parallel

    over = {"seq_length": args.seq}
    if args.hidden:
        over.update(hidden=args.hidden, ffn=int(args.hidden * 8 / 3 // 64 * 64 + 64))
    shape = get_preset(args.preset, **over)
    init_parallel(seed=0)
    torch.manual_seed(0)
    hf = LlamaForCausalLM(LlamaConfig(
        vocab_size=shape.vocab, hidden_size=shape.hidden, intermediate_size=shape.ffn,
        num_hidden_layers=shape.layers, num_attention_heads=shape.heads, num_key_value_heads=shape.query_groups,
        max_position_embeddings=shape.seq_length, rms_norm_eps=shape.norm_eps, rope_theta=shape.rope_base,
        tie_word_embeddings=False, attn_implementation="sdpa"))
    ours = build_model(shape)
    ours.load_state_dict(from_hf_state(hf.state_dict(), shape), strict=False)
    stock = build_model(shape, stock=True)  # megatron's own unfused RoPE and SwiGLU
    stock.load_state_dict(ours.state_dict())
    g = torch.Generator().manual_seed(1)
    data = [torch.randint(0, shape.vocab, (args.batch, shape.seq_length + 1), generator=g) for _ in range(4)]
    pos = torch.arange(shape.seq_length).expand(args.batch, -1)

    def megatron_step(model):
        def step(opt, x):
            loss = model(x[:, :-1], pos, None, labels=x[:, 1:]).mean()
            loss.backward()
            torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
            opt.step()
            opt.zero_grad(set_to_none=True)
            return loss.item()
        return step

    def step_hf(opt, x):
        logits = hf(x[:, :-1]).logits
        loss = torch.nn.functional.cross_entropy(logits.reshape(-1, logits.size(-1)), x[:, 1:].reshape(-1))
        loss.backward()
        torch.nn.utils.clip_grad_norm_(hf.parameters(), 1.0)
        opt.step()
        opt.zero_grad(set_to_none=True)
        return loss.item()

    # The optimizer each trains with: ours model/optim.build_optimizer (fused AdamW), HF the Trainer's
    # default with torch >= 2.8 ("adamw_torch_fused"). Same kernel on both sides.
    opts = {"ours": torch.optim.AdamW(ours.parameters(), lr=1e-4, fused=True),
            "stock": torch.optim.AdamW(stock.parameters(), lr=1e-4, fused=True),
            "hf": torch.optim.AdamW(hf.parameters(), lr=1e-4, fused=True)}
    fns = {"ours": megatron_step(ours), "stock": megatron_step(stock), "hf": step_hf}
    names = list(fns)
    times = {k: [] for k in names}
    first = {}
    for i in range(args.steps + 2):
        for name in names[i % 3:] + names[:i % 3]:  # rotate the order each step
            t = time.perf_counter()
            loss = fns[name](opts[name], data[i % len(data)])
            if i >= 2:
                times[name].append(time.perf_counter() - t)
            first.setdefault(name, loss)
    tokens = args.batch * shape.seq_length
    med = {k: statistics.median(v) for k, v in times.items()}
    tps = {k: tokens / v for k, v in med.items()}

    def ratio(a, b):
        """median and quartiles of the per-step time ratio b/a (steps run side by side)."""
        r = sorted(tb / ta for ta, tb in zip(times[a], times[b]))
        q = statistics.quantiles(r, n=4)
        return f"{statistics.median(r):.3f} (quartiles {q[0]:.3f}–{q[2]:.3f})"

    print(f"shape: {shape.layers} layers, hidden {shape.hidden}, heads {shape.heads}/{shape.query_groups}, "
          f"ffn {shape.ffn}, vocab {shape.vocab}, {shape.num_params() / 1e6:.1f}M params; batch "
          f"{args.batch}x{shape.seq_length}; {torch.get_num_threads()} threads; {args.steps} timed steps each")
    print(f"first-step loss: ours {first['ours']:.5f}, megatron stock {first['stock']:.5f}, HF {first['hf']:.5f} "
          f"(same weights and data)")
    print(f"tokens/s (median step): ours (megatron-core GPTModel; SDPA attention, model/layers/rope.py, model/layers/swiglu.py) "
          f"{tps['ours']:.0f}; megatron's own RoPE/SwiGLU {tps['stock']:.0f}; "
          f"HF LlamaForCausalLM (sdpa) {tps['hf']:.0f}")
    print(f"ours vs megatron's own RoPE/SwiGLU, per-step speed-up: {ratio('ours', 'stock')}")
    print(f"ratio ours/HF (per-step, median): {ratio('ours', 'hf')}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
