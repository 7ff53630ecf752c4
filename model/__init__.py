"""Training side of the Yi pipeline: tokenizer, the model config and the Yi
model on megatron-core (``presets``, ``yi``, ``layers/``), the trainer every
stage shares (``trainer``, ``optim``, ``runlog``, ``checkpoint``),
pretraining (``pretrain``, ``data``) and Hugging Face interop (``convert``).

Nothing here imports megatron at package import time (``import megatron.core``
costs ~7 s): CLI paths that do not train stay fast. Measured megatron-core
facts and the CPU patches: docs/megatron-cpu.md.
"""
