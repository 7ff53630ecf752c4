"""Training side of the Yi pipeline: tokenizer, the Yi model on megatron-core,
pretraining, checkpoints and Hugging Face interop.

Nothing here imports megatron at package import time (``import megatron.core``
costs ~7 s): CLI paths that do not train stay fast.
"""
