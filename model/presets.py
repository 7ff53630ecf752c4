"""Named shapes of the Yi models (arXiv 2403.04652 Table 1; HF configs of
01-ai/Yi-6B, Yi-9B, Yi-34B) and tiny shapes of the same architecture for CPU.

All: RMSNorm (eps 1e-5), SwiGLU, RoPE with base 5,000,000, grouped-query
attention, no biases, untied input/output embeddings, vocab 64,000, sequence
4,096.
"""
from __future__ import annotations

from dataclasses import asdict, dataclass, replace


@dataclass(frozen=True)
class YiShape:
    hidden: int
    layers: int
    heads: int
    query_groups: int
    ffn: int
    vocab: int = 64_000
    seq_length: int = 4096
    rope_base: float = 5_000_000.0
    norm_eps: float = 1e-5
    init_std: float = 0.02

    def __post_init__(self):
        if self.hidden % self.heads or self.heads % self.query_groups:
            raise ValueError(f"heads must divide hidden and groups must divide heads: {self}")

    @property
    def head_dim(self) -> int:
        return self.hidden // self.heads

    def num_params(self) -> int:
        """Parameters (embeddings and output layer included)."""
        kv = 2 * self.query_groups * self.head_dim * self.hidden
        attn = self.hidden * self.hidden * 2 + kv
        mlp = 3 * self.hidden * self.ffn
        per_layer = attn + mlp + 2 * self.hidden
        return self.layers * per_layer + 2 * self.vocab * self.hidden + self.hidden

    def flops_per_token(self) -> float:
        """Training FLOPs per token: 6N + 12·L·h·s (PaLM appendix B; the
        attention term counts QK^T and AV, forward and backward)."""
        return 6 * self.num_params() + 12 * self.layers * self.hidden * self.seq_length

    def to_dict(self) -> dict:
        return asdict(self)


PRESETS: dict[str, YiShape] = {
    "yi-6b": YiShape(hidden=4096, layers=32, heads=32, query_groups=4, ffn=11008),
    # Yi-9B: Yi-6B depth-upscaled to 48 layers (arXiv 2403.04652 §7.3).
    "yi-9b": YiShape(hidden=4096, layers=48, heads=32, query_groups=4, ffn=11008),
    "yi-34b": YiShape(hidden=7168, layers=60, heads=56, query_groups=8, ffn=20480),
    # CPU shapes: same architecture (GQA 4:1 like Yi-6B), vocab of the demo tokenizer.
    "yi-tiny": YiShape(hidden=128, layers=4, heads=4, query_groups=2, ffn=352, vocab=8000, seq_length=128),
    "yi-nano": YiShape(hidden=64, layers=2, heads=4, query_groups=2, ffn=172, vocab=8000, seq_length=64),
}


def get_preset(name: str, **overrides) -> YiShape:
    """A preset by name, fields optionally overridden (e.g. ``vocab=``, ``layers=``)."""
    if name not in PRESETS:
        raise KeyError(f"unknown preset {name!r}; known: {sorted(PRESETS)}")
    return replace(PRESETS[name], **{k: v for k, v in overrides.items() if v is not None})
