"""GPU training throughput at the Yi-6B layer shape (12 of its 32 layers fit
one 80 GB GPU with fp32 master weights and AdamW states): tokens/s and MFU of
our step against transformers' LlamaForCausalLM at the same shape, one run.

    python bench/train_gpu.py [--layers 12] [--micro-batch 2] [--steps 10]

Ours: megatron-core GPTModel, bf16 through ``Float16Module``, core attention =
torch SDPA (``enable_gqa``; cuDNN/flash kernels), fused SwiGLU
(``bias_activation_fusion``), RoPE model/layers/rope.py (no TE there), nccl world
size 1. Both models: bf16 weights, fp32 master weights and fused AdamW (model/optim.py ``MasterWeights``),
the same random token batches; measured one after the other (both do not fit
together). MFU = (6·N + 12·L·h·s) · tokens/s / 989e12 (H100 SXM bf16 dense).
Needs CUDA; on the device machine carry the cp312 megatron-core 0.16.1 wheel.
"""
from __future__ import annotations

import argparse
import gc
import sys
import time
import warnings
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
warnings.filterwarnings("ignore")

import torch  # noqa: E402

PEAK = 989e12


def timed(step, steps: int, warmup: int = 3) -> float:
    for _ in range(warmup):
        step()
    torch.cuda.synchronize()
    t = time.perf_counter()
    for _ in range(steps):
        step()
    torch.cuda.synchronize()
    return (time.perf_counter() - t) / steps


def make_step(model, forward, master):
    """One training step: forward/backward in bf16, fp32 master AdamW."""
    opt = torch.optim.AdamW(master.masters, lr=1e-5, betas=(0.9, 0.95), weight_decay=0.1, fused=True)

    def step():
        loss = forward()
        loss.backward()
        master.grads_to_master()
        torch.nn.utils.clip_grad_norm_(master.masters, 1.0)
        opt.step()
        opt.zero_grad(set_to_none=True)
        for p in model.parameters():
            p.grad = None
        master.master_to_model()

    return step


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--layers", type=int, default=12)
    ap.add_argument("--micro-batch", type=int, default=2)
    ap.add_argument("--steps", type=int, default=10)
    ap.add_argument("--skip-hf", action="store_true")
    args = ap.parse_args()
    if not torch.cuda.is_available():
        print("bench/train_gpu.py needs CUDA (run it on the device machine)", file=sys.stderr)
        return 2

    from model.presets import get_preset
    from model.optim import MasterWeights
    from model.yi import build_model, init_parallel

    shape = get_preset("yi-6b", layers=args.layers)
    b, s = args.micro_batch, shape.seq_length
    init_parallel(seed=0)
    g = torch.Generator(device="cuda").manual_seed(0)
    x = torch.randint(0, shape.vocab, (b, s + 1), device="cuda", generator=g)
    pos = torch.arange(s, device="cuda").expand(b, -1)
    tokens, fpt = b * s, shape.flops_per_token()
    print(f"{torch.cuda.get_device_name()}; yi-6b shape, {shape.layers} layers, {shape.num_params() / 1e9:.2f}B "
          f"params, micro-batch {b} x {s}, bf16, {args.steps} timed steps")

    ours = build_model(shape, bf16=True, attention="sdpa", fused_swiglu=True)
    master = MasterWeights([p for p in ours.parameters()])
    def ours_loss(model=ours):
        return model(x[:, :-1], pos, None, labels=x[:, 1:]).float().mean()

    dt = timed(make_step(ours, ours_loss, master), args.steps)
    results = {"ours": tokens / dt}
    print(f"ours (megatron-core GPTModel, SDPA attention, fused SwiGLU): {tokens / dt:,.0f} tokens/s, "
          f"MFU {fpt * tokens / dt / PEAK:.3f}, peak memory {torch.cuda.max_memory_allocated() / 2**30:.1f} GiB")
    del ours, master, ours_loss
    gc.collect()
    torch.cuda.empty_cache()
    torch.cuda.reset_peak_memory_stats()

    if not args.skip_hf:
        from transformers import LlamaConfig, LlamaForCausalLM

        hf = LlamaForCausalLM(LlamaConfig(
            vocab_size=shape.vocab, hidden_size=shape.hidden, intermediate_size=shape.ffn,
            num_hidden_layers=shape.layers, num_attention_heads=shape.heads,
            num_key_value_heads=shape.query_groups, max_position_embeddings=s, rms_norm_eps=shape.norm_eps,
            rope_theta=shape.rope_base, tie_word_embeddings=False, attn_implementation="sdpa",
            use_cache=False)).to("cuda", torch.bfloat16)
        master = MasterWeights(list(hf.parameters()))

        def hf_loss():
            logits = hf(x[:, :-1]).logits
            return torch.nn.functional.cross_entropy(logits.float().reshape(-1, shape.vocab), x[:, 1:].reshape(-1))

        dt = timed(make_step(hf, hf_loss, master), args.steps)
        results["hf"] = tokens / dt
        print(f"HF LlamaForCausalLM (sdpa): {tokens / dt:,.0f} tokens/s, MFU {fpt * tokens / dt / PEAK:.3f}, "
              f"peak memory {torch.cuda.max_memory_allocated() / 2**30:.1f} GiB")
        print(f"ratio ours/HF: {results['ours'] / results['hf']:.3f}")
    from model.yi import destroy_parallel

    destroy_parallel()
    return 0


if __name__ == "__main__":
    sys.exit(main())
