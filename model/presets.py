"""The model config: one validated description of a Yi model, layer by layer,
and the named presets (arXiv 2403.04652 Table 1; HF configs of 01-ai/Yi-6B,
Yi-9B, Yi-34B) with tiny shapes of the same architecture for CPU.

All presets: RMSNorm (eps 1e-5), SwiGLU, RoPE with base 5,000,000,
grouped-query attention, no biases, untied input/output embeddings, vocab
64,000, sequence 4,096; every layer full attention and a dense MLP.

Per-layer variation (later stages: hybrid attention and experts, issue #20):
``attention`` is one ``Attention`` per layer (full, or a sliding window of W
tokens) and ``mlp`` one ``MLP`` per layer (dense, or experts: count, top-k,
expert FFN size, shared experts); an empty tuple means "every layer the
default" (full attention, dense MLP). ``per_layer`` builds such tuples.
``vision`` optionally describes a ViT image tower and its projector (Yi-VL,
issue #18); only the config exists so far.
"""
from __future__ import annotations

from dataclasses import asdict, dataclass, replace
from typing import Optional


def _check_int(owner: str, **values) -> None:
    for name, v in values.items():
        if isinstance(v, bool) or not isinstance(v, int) or v < 1:
            raise ValueError(f"{owner}: {name} must be a positive integer, not {v!r}")


@dataclass(frozen=True)
class Attention:
    """Self-attention of one layer: ``"full"`` causal attention, or
    ``"sliding"`` causal attention over the last ``window`` tokens."""

    kind: str = "full"
    window: Optional[int] = None

    def __post_init__(self):
        if self.kind == "full":
            if self.window is not None:
                raise ValueError(f"Attention: full attention takes no window (got window={self.window})")
        elif self.kind == "sliding":
            _check_int("Attention(sliding)", window=self.window)
        else:
            raise ValueError(f"Attention: kind must be 'full' or 'sliding', not {self.kind!r}")

    def context(self, seq_length: int) -> int:
        """Keys a query sees at most."""
        return seq_length if self.kind == "full" else min(self.window, seq_length)


@dataclass(frozen=True)
class MLP:
    """MLP of one layer: ``"dense"`` SwiGLU of the model's ``ffn`` width, or
    ``"experts"``: ``experts`` routed SwiGLU experts of width ``expert_ffn``,
    ``top_k`` of them per token, plus ``shared_experts`` always-on experts of
    the same width."""

    kind: str = "dense"
    experts: Optional[int] = None
    top_k: Optional[int] = None
    expert_ffn: Optional[int] = None
    shared_experts: int = 0

    def __post_init__(self):
        if self.kind == "dense":
            if (self.experts, self.top_k, self.expert_ffn, self.shared_experts) != (None, None, None, 0):
                raise ValueError(f"MLP: a dense MLP takes no expert settings: {self}")
        elif self.kind == "experts":
            _check_int("MLP(experts)", experts=self.experts, top_k=self.top_k, expert_ffn=self.expert_ffn)
            if self.experts < 2:
                raise ValueError(f"MLP: experts must be at least 2, not {self.experts}")
            if self.top_k > self.experts:
                raise ValueError(f"MLP: top_k ({self.top_k}) must not exceed experts ({self.experts})")
            if isinstance(self.shared_experts, bool) or not isinstance(self.shared_experts, int) \
                    or self.shared_experts < 0:
                raise ValueError(f"MLP: shared_experts must be an integer >= 0, not {self.shared_experts!r}")
        else:
            raise ValueError(f"MLP: kind must be 'dense' or 'experts', not {self.kind!r}")

    def params(self, hidden: int, ffn: int, active: bool = False) -> int:
        """Weights of the MLP (all experts, or only those a token uses)."""
        if self.kind == "dense":
            return 3 * hidden * ffn
        routed = self.top_k if active else self.experts
        return 3 * hidden * self.expert_ffn * (routed + self.shared_experts) + hidden * self.experts  # + router


@dataclass(frozen=True)
class VisionTower:
    """A ViT image encoder and the projector into the language model's
    embeddings (Yi-VL: CLIP ViT-H/14, projector Linear→LayerNorm→GELU→Linear→LayerNorm)."""

    image_size: int
    patch_size: int
    hidden: int
    layers: int
    heads: int
    ffn: int
    feature_layer: int = -1
    projector: str = "mlp2x_ln"

    def __post_init__(self):
        _check_int("VisionTower", image_size=self.image_size, patch_size=self.patch_size, hidden=self.hidden,
                   layers=self.layers, heads=self.heads, ffn=self.ffn)
        if self.image_size % self.patch_size:
            raise ValueError(f"VisionTower: patch_size {self.patch_size} must divide image_size {self.image_size}")
        if self.hidden % self.heads:
            raise ValueError(f"VisionTower: heads {self.heads} must divide hidden {self.hidden}")
        if not (-self.layers <= self.feature_layer < self.layers) or self.feature_layer == 0:
            raise ValueError(f"VisionTower: feature_layer must index one of the {self.layers} layers "
                             f"(1..{self.layers - 1} or -1..-{self.layers}), not {self.feature_layer}")
        if self.projector not in ("mlp2x_ln", "mlp2x"):
            raise ValueError(f"VisionTower: projector must be 'mlp2x_ln' (Yi-VL) or 'mlp2x' (LLaVA), "
                             f"not {self.projector!r}")

    @property
    def image_tokens(self) -> int:
        return (self.image_size // self.patch_size) ** 2


def per_layer(layers: int, default, **at) -> tuple:
    """A per-layer tuple: ``default`` everywhere except the layers named in
    ``at`` as ``L<index>`` (0-based), e.g. ``per_layer(8, Attention("sliding",
    4096), L3=Attention(), L7=Attention())``."""
    kinds = [default] * layers
    for key, kind in at.items():
        i = int(key.lstrip("L"))
        if not 0 <= i < layers:
            raise ValueError(f"per_layer: layer {i} is out of range for {layers} layers")
        kinds[i] = kind
    return tuple(kinds)


@dataclass(frozen=True)
class ModelConfig:
    """A Yi model. Validated on construction (``ValueError`` says what is wrong)."""

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
    attention: tuple = ()  # one Attention per layer; () = all full
    mlp: tuple = ()  # one MLP per layer; () = all dense
    vision: Optional[VisionTower] = None

    def __post_init__(self):
        _check_int("ModelConfig", hidden=self.hidden, layers=self.layers, heads=self.heads,
                   query_groups=self.query_groups, ffn=self.ffn, vocab=self.vocab, seq_length=self.seq_length)
        if self.hidden % self.heads or self.heads % self.query_groups:
            raise ValueError(f"ModelConfig: heads ({self.heads}) must divide hidden ({self.hidden}) and "
                             f"query_groups ({self.query_groups}) must divide heads")
        if self.head_dim % 2:
            raise ValueError(f"ModelConfig: head_dim {self.head_dim} must be even (RoPE rotates pairs)")
        for name in ("rope_base", "norm_eps", "init_std"):
            v = getattr(self, name)
            if isinstance(v, bool) or not isinstance(v, (int, float)) or not v > 0:
                raise ValueError(f"ModelConfig: {name} must be a positive number, not {v!r}")
        for name, kind in (("attention", Attention), ("mlp", MLP)):
            kinds = getattr(self, name)
            if not isinstance(kinds, tuple):
                raise ValueError(f"ModelConfig: {name} must be a tuple (one per layer, or empty)")
            if kinds and len(kinds) != self.layers:
                raise ValueError(f"ModelConfig: {name} lists {len(kinds)} layers, the model has {self.layers}")
            if not all(isinstance(k, kind) for k in kinds):
                raise ValueError(f"ModelConfig: every {name} entry must be a {kind.__name__}")
        if self.vision is not None and not isinstance(self.vision, VisionTower):
            raise ValueError("ModelConfig: vision must be a VisionTower or None")

    @property
    def head_dim(self) -> int:
        return self.hidden // self.heads

    def attention_at(self, layer: int) -> Attention:
        """Attention of layer ``layer`` (0-based)."""
        return self.attention[layer] if self.attention else Attention()

    def mlp_at(self, layer: int) -> MLP:
        """MLP of layer ``layer`` (0-based)."""
        return self.mlp[layer] if self.mlp else MLP()

    @property
    def uniform(self) -> bool:
        """Every layer full attention and dense MLP (the published Yi models)."""
        return all(self.attention_at(i) == Attention() and self.mlp_at(i) == MLP() for i in range(self.layers))

    def num_params(self, active: bool = False) -> int:
        """Parameters of the language model (embeddings and output layer
        included; vision tower not). ``active``: only the experts a token uses."""
        kv = 2 * self.query_groups * self.head_dim * self.hidden
        attn = self.hidden * self.hidden * 2 + kv
        layers = sum(attn + self.mlp_at(i).params(self.hidden, self.ffn, active) + 2 * self.hidden
                     for i in range(self.layers))
        return layers + 2 * self.vocab * self.hidden + self.hidden

    def flops_per_token(self) -> float:
        """Training FLOPs per token: 6N (active parameters) + 12·h·context
        summed over layers (PaLM appendix B; the attention term counts QK^T
        and AV, forward and backward; a sliding window caps the context)."""
        attn = sum(12 * self.hidden * self.attention_at(i).context(self.seq_length) for i in range(self.layers))
        return 6 * self.num_params(active=True) + attn

    def to_dict(self) -> dict:
        return asdict(self)

    @classmethod
    def from_dict(cls, d: dict) -> "ModelConfig":
        """Inverse of ``to_dict`` (also reads the dense-only dicts of older checkpoints)."""
        d = dict(d)
        d["attention"] = tuple(Attention(**a) for a in d.get("attention", ()))
        d["mlp"] = tuple(MLP(**m) for m in d.get("mlp", ()))
        d["vision"] = VisionTower(**d["vision"]) if d.get("vision") else None
        return cls(**d)


PRESETS: dict[str, ModelConfig] = {
    "yi-6b": ModelConfig(hidden=4096, layers=32, heads=32, query_groups=4, ffn=11008),
    # Yi-9B: Yi-6B depth-upscaled to 48 layers (arXiv 2403.04652 §7.3).
    "yi-9b": ModelConfig(hidden=4096, layers=48, heads=32, query_groups=4, ffn=11008),
    "yi-34b": ModelConfig(hidden=7168, layers=60, heads=56, query_groups=8, ffn=20480),
    # CPU shapes: same architecture (GQA 4:1 like Yi-6B), vocab of the demo tokenizer.
    "yi-tiny": ModelConfig(hidden=128, layers=4, heads=4, query_groups=2, ffn=352, vocab=8000, seq_length=128),
    "yi-nano": ModelConfig(hidden=64, layers=2, heads=4, query_groups=2, ffn=172, vocab=8000, seq_length=64),
}


def get_preset(name: str, **overrides) -> ModelConfig:
    """A preset by name, fields optionally overridden (e.g. ``vocab=``, ``layers=``)."""
    if name not in PRESETS:
        raise KeyError(f"unknown preset {name!r}; known: {sorted(PRESETS)}")
    return replace(PRESETS[name], **{k: v for k, v in overrides.items() if v is not None})
