"""The Yi layer parts that replace or extend megatron-core's on CPU and GPU:
``attention`` (torch SDPA core attention, causal or packed), ``rope`` (one-function
RoPE in megatron's fused slot), ``swiglu`` (SwiGLU activation module).
See docs/megatron-cpu.md for why each exists.
"""
