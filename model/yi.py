"""The Yi model on megatron-core: ``GPTModel`` with RMSNorm, SwiGLU, RoPE
(base 5e6), grouped-query attention, no biases, untied embeddings, built from
a ``ModelConfig`` (model/presets.py).

Block spec: one layer spec per layer (``layer_spec(config, i)``), so layers
may differ. Each layer: Transformer Engine's spec when it is installed and
CUDA is present; otherwise megatron's local spec with its core attention
replaced by ``model/layers/attention.py`` ``SDPAAttention`` (torch
``scaled_dot_product_attention``: flash/cuDNN kernels on GPU, 2.6× faster than
the local spec's unfused baddbmm+softmax+bmm at the Yi-6B shape; one fused
kernel on CPU too; honours packed-sample masks). RoPE: TE's fused kernel, or
without TE ``model/layers/rope.py`` in the same slot. SwiGLU: megatron's fused
kernel on GPU, ``model/layers/swiglu.py`` on CPU. Measurements and reasons:
docs/megatron-cpu.md.
"""
from __future__ import annotations

import os
import socket
from typing import Optional

import torch
import torch.nn.functional as F

from model import cpu_patches
from model.layers.attention import SDPAAttention
from model.presets import ModelConfig

# The issue that builds sliding-window attention and experts for real.
HYBRID_ISSUE = "issue #20 (Yi-Lightning: experts, hybrid attention)"


def _megatron():
    cpu_patches.apply()
    from megatron.core.models.gpt import GPTModel  # noqa: F401  (7 s import)
    return GPTModel


def _transformer_engine() -> bool:
    """True when Transformer Engine's layer spec can be used (CUDA + TE)."""
    if not torch.cuda.is_available():
        return False
    try:
        import transformer_engine  # noqa: F401
    except ImportError:
        return False
    return True


def layer_spec(config: ModelConfig, layer: int, attention: str = "sdpa"):
    """The spec of transformer layer ``layer`` (0-based) of ``config``.
    ``attention``: "sdpa" (default) or "local" (megatron's unfused
    DotProductAttention). Without TE the MLP's activation submodule is our
    ``SwiGLU`` (used when the config's ``use_te_activation_func`` is set, see
    ``transformer_config``). An experts layer gets megatron's local MoE spec
    (no grouped GEMM); a sliding-window layer is not built yet (see
    ``HYBRID_ISSUE``: megatron's window mask is made on "cuda" and replaces
    any packing mask)."""
    _megatron()
    from megatron.core.models.gpt.gpt_layer_specs import (get_gpt_layer_local_spec,
                                                          get_gpt_layer_with_transformer_engine_spec)

    from model.layers.swiglu import SwiGLU

    if not 0 <= layer < config.layers:
        raise IndexError(f"layer {layer} out of range: the model has {config.layers} layers")
    if attention not in ("sdpa", "local"):
        raise ValueError(f"attention must be 'sdpa' or 'local', not {attention!r}")
    attn, mlp = config.attention_at(layer), config.mlp_at(layer)
    if attn.kind != "full":
        raise NotImplementedError(f"layer {layer}: {attn.kind} attention (window {attn.window}) is described "
                                  f"but not built yet: {HYBRID_ISSUE}")
    experts = mlp.experts if mlp.kind == "experts" else None
    if _transformer_engine():
        return get_gpt_layer_with_transformer_engine_spec(num_experts=experts)
    spec = get_gpt_layer_local_spec(num_experts=experts, moe_grouped_gemm=False, normalization="RMSNorm")
    if attention == "sdpa":
        spec.submodules.self_attention.submodules.core_attention = SDPAAttention
    if experts is None:
        spec.submodules.mlp.submodules.activation_func = SwiGLU
    return spec


def block_spec(config: ModelConfig, tconfig, attention: str = "sdpa"):
    """megatron ``TransformerBlockSubmodules``: the layer specs of this
    pipeline stage's layers (``tconfig``: the ``TransformerConfig``) and the
    final norm, as megatron's ``get_gpt_decoder_block_spec`` slices them."""
    _megatron()
    from megatron.core.transformer.transformer_block import (LayerNormImpl, TransformerBlockSubmodules,
                                                             get_num_layers_to_build)
    from megatron.core.transformer.transformer_layer import get_transformer_layer_offset

    offset = get_transformer_layer_offset(tconfig)
    n = get_num_layers_to_build(tconfig)
    return TransformerBlockSubmodules(layer_specs=[layer_spec(config, i, attention) for i in range(offset, offset + n)],
                                      layer_norm=LayerNormImpl)


def transformer_config(shape: ModelConfig, *, tp: int = 1, pp: int = 1, bf16: bool = False,
                       fused_swiglu: Optional[bool] = None, stock: bool = False):
    """megatron ``TransformerConfig`` of a Yi shape. ``fused_swiglu``:
    megatron's fused SwiGLU kernel (default on GPU) or ``model/layers/swiglu.py``.
    ``stock``: megatron's own unfused RoPE and SwiGLU instead of ours (for
    side-by-side measurements, bench/train_cpu.py). Dense full-attention
    models only for now (experts and windows: ``HYBRID_ISSUE``; vision: issue #18)."""
    _megatron()
    from megatron.core.transformer.transformer_config import TransformerConfig

    from model.layers import rope

    if not shape.uniform:
        raise NotImplementedError(f"per-layer attention/MLP kinds are described but not trained yet: {HYBRID_ISSUE}")
    if shape.vision is not None:
        raise NotImplementedError("the vision tower is described but not built yet: issue #18 (Yi-VL)")

    cuda = torch.cuda.is_available()
    rope.install()  # our one-function RoPE in megatron's fused slot, unless TE filled it
    fused = cuda if fused_swiglu is None else fused_swiglu
    # SwiGLU: megatron's fused kernel (GPU); else, without TE, the spec's SwiGLU module,
    # which megatron calls when use_te_activation_func is set (the name is megatron's).
    spec_swiglu = not fused and not _transformer_engine() and not stock
    return TransformerConfig(
        num_layers=shape.layers, hidden_size=shape.hidden, num_attention_heads=shape.heads,
        num_query_groups=shape.query_groups, ffn_hidden_size=shape.ffn, kv_channels=shape.head_dim,
        normalization="RMSNorm", layernorm_epsilon=shape.norm_eps,
        gated_linear_unit=True, activation_func=F.silu, add_bias_linear=False,
        bias_activation_fusion=fused, use_te_activation_func=spec_swiglu,
        hidden_dropout=0.0, attention_dropout=0.0, init_method_std=shape.init_std,
        tensor_model_parallel_size=tp, pipeline_model_parallel_size=pp,
        pipeline_dtype=torch.bfloat16 if bf16 else torch.float32,
        bf16=bf16, params_dtype=torch.bfloat16 if bf16 else torch.float32,
        use_cpu_initialization=not cuda, perform_initialization=True,
        masked_softmax_fusion=False, apply_rope_fusion=not stock, persist_layer_norm=False,
        gradient_accumulation_fusion=False, bias_dropout_fusion=False,
    )


def build_model(shape: ModelConfig, *, tp: int = 1, pp: int = 1, bf16: bool = False,
                attention: str = "sdpa", fused_swiglu: Optional[bool] = None, stock: bool = False):
    """A Yi ``GPTModel`` (this rank's pipeline stage). Needs
    ``init_parallel`` first."""
    GPTModel = _megatron()
    from megatron.core import parallel_state as ps

    config = transformer_config(shape, tp=tp, pp=pp, bf16=bf16, fused_swiglu=fused_swiglu, stock=stock)
    model = GPTModel(
        config=config, transformer_layer_spec=block_spec(shape, config, attention), vocab_size=shape.vocab,
        max_sequence_length=shape.seq_length,
        pre_process=ps.is_pipeline_first_stage(), post_process=ps.is_pipeline_last_stage(),
        share_embeddings_and_output_weights=False, position_embedding_type="rope",
        rotary_base=int(shape.rope_base),
    )
    if torch.cuda.is_available():
        model = model.cuda()
        if bf16:
            from megatron.core.transformer.module import Float16Module
            model = Float16Module(config, model)
    return model


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def init_parallel(tp: int = 1, pp: int = 1, seed: int = 1234) -> None:
    """torch.distributed (gloo on CPU, nccl on GPU; a one-process group when
    not launched by torchrun) + megatron ``parallel_state`` + its RNG tracker."""
    _megatron()
    import torch.distributed as dist
    from megatron.core import parallel_state as ps
    from megatron.core.tensor_parallel import model_parallel_cuda_manual_seed

    cuda = torch.cuda.is_available()
    if not dist.is_initialized():
        if cuda:
            torch.cuda.set_device(int(os.environ.get("LOCAL_RANK", 0)))
        backend = "nccl" if cuda else "gloo"
        if "RANK" in os.environ:  # torchrun
            dist.init_process_group(backend)
        else:  # one process; env left alone so child processes start their own group
            dist.init_process_group(backend, init_method=f"tcp://127.0.0.1:{_free_port()}", rank=0, world_size=1)
    if not ps.model_parallel_is_initialized():
        ps.initialize_model_parallel(tp, pp, create_gloo_process_groups=not cuda)
    torch.manual_seed(seed)
    model_parallel_cuda_manual_seed(seed)


def destroy_parallel() -> None:
    import torch.distributed as dist
    from megatron.core import parallel_state as ps

    ps.destroy_model_parallel()
    if dist.is_initialized():
        dist.destroy_process_group()
