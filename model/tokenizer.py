"""The Yi tokenizer: SentencePiece BPE trained on a deterministic sample of the
corpus (arXiv 2403.04652 §2.2).

Yi's settings: BPE, 64,000 pieces, digits split into single digits, byte
fallback for characters never seen in training (so every string round-trips),
identity normalization, no dummy prefix and no whitespace collapsing (code and
layout survive exactly). Special tokens ``<|startoftext|>`` (BOS),
``<|endoftext|>`` (EOS, the end-of-document token of the shards), and the chat
markers ``<|im_start|>``/``<|im_end|>``.

Training takes an iterable of texts; drawing them from a corpus is the job
jobs/train_tokenizer.py (Spark, hash-based on the document id, never random:
the same corpus gives the same sample and the same model bytes; documents of
a held-out bucket never reach training, bytes per token is measured on them).

    python jobs/train_tokenizer.py --input CORPUS_DIR --output models/tokenizer [--preset demo]
"""
from __future__ import annotations

import hashlib
import io
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Iterable, Iterator

import sentencepiece as spm

from pipeline.config import Config, Configured, load_config

UNK, BOS, EOS = "<unk>", "<|startoftext|>", "<|endoftext|>"
CHAT_TOKENS = ("<|im_start|>", "<|im_end|>")
MODEL_FILE = "tokenizer.model"
REPORT_FILE = "tokenizer_report.json"


class YiTokenizer:
    """A trained Yi SentencePiece model. Duck-types what megatron-core's
    ``GPTDataset`` needs of a tokenizer (``eod``, ``vocab_size``,
    ``unique_identifiers``)."""

    def __init__(self, path: str | Path):
        self.path = Path(path)
        if self.path.is_dir():
            self.path = self.path / MODEL_FILE
        if not self.path.is_file():
            raise FileNotFoundError(f"tokenizer model not found: {self.path} (run `make tokenizer`)")
        proto = self.path.read_bytes()
        self.sp = spm.SentencePieceProcessor(model_proto=proto)
        self.sha256 = hashlib.sha256(proto).hexdigest()
        self.unique_identifiers = {"class": "YiTokenizer", "sha256": self.sha256}

    @property
    def vocab_size(self) -> int:
        return self.sp.get_piece_size()

    @property
    def eod(self) -> int:
        return self.sp.eos_id()

    @property
    def bos(self) -> int:
        return self.sp.bos_id()

    def encode(self, text: str) -> list[int]:
        return self.sp.encode(text)

    def decode(self, ids: Iterable[int]) -> str:
        return self.sp.decode(list(ids))

    def piece(self, i: int) -> str:
        return self.sp.id_to_piece(i)


@dataclass(kw_only=True)
class TokenizerTrainer(Configured):
    """Train the Yi tokenizer on texts. Fields: the [tokenizer] section of
    config/default.toml (``TokenizerTrainer.from_config(preset="demo")``).

    Args:
        vocab_size: pieces in the model; Yi: 64,000 (arXiv 2403.04652 §2.2).
        character_coverage: share of characters covered by pieces, the rest go
            through byte fallback; SentencePiece recommends 0.9995 for
            languages with rich character sets such as Chinese.
        sample_rate: share of documents (by id hash) used for training
            (drawn by jobs/train_tokenizer.py).
        heldout_rate: share of documents (by id hash, disjoint from the
            sample) kept out of training to measure bytes per token.
        max_line_bytes: training lines are cut to this many UTF-8 bytes
            (SentencePiece drops longer lines; its own default limit is 4192).
        max_sentences: cap on training lines (memory bound of the trainer).
        max_piece_length: longest piece in characters (SentencePiece default 16).
        num_threads: trainer threads.
    """

    config_section = "tokenizer"

    vocab_size: int
    character_coverage: float
    sample_rate: float
    heldout_rate: float
    max_line_bytes: int
    max_sentences: int
    max_piece_length: int
    num_threads: int

    def __post_init__(self):
        if not 0 < self.sample_rate <= 1 or not 0 <= self.heldout_rate < 1:
            raise ValueError("sample_rate must be in (0, 1], heldout_rate in [0, 1)")
        if self.sample_rate + self.heldout_rate > 1:
            raise ValueError("sample_rate + heldout_rate must be <= 1 (the buckets are disjoint)")

    @classmethod
    def from_config(cls, cfg: Config | None = None, /, preset: str | None = None, **overrides: Any):
        """From [tokenizer] with [tokenizer.<preset>] over it, then ``overrides``."""
        return cls(**{**settings(cfg, preset), **overrides})

    def lines(self, texts: Iterable[str]) -> Iterator[str]:
        """Training lines: documents split at newlines, cut at ``max_line_bytes``."""
        n = 0
        for text in texts:
            for line in text.split("\n"):
                while line:
                    b = line.encode("utf-8")
                    if len(b) <= self.max_line_bytes:
                        chunk, line = line, ""
                    else:
                        chunk = b[: self.max_line_bytes].decode("utf-8", "ignore")
                        line = line[len(chunk):]
                    yield chunk
                    n += 1
                    if n >= self.max_sentences:
                        return

    # -------------------------------------------------------------- training --
    def train(self, texts: Iterable[str], output: str | Path) -> YiTokenizer:
        """Train on ``texts`` (an iterable of documents) and write
        ``output/tokenizer.model``."""
        output = Path(output)
        output.mkdir(parents=True, exist_ok=True)
        proto = io.BytesIO()  # not model_prefix: the path would be written into the model
        spm.SentencePieceTrainer.train(
            sentence_iterator=self.lines(texts),
            model_writer=proto,
            model_type="bpe",
            vocab_size=self.vocab_size,
            character_coverage=self.character_coverage,
            split_digits=True,
            byte_fallback=True,
            normalization_rule_name="identity",
            add_dummy_prefix=False,
            remove_extra_whitespaces=False,
            allow_whitespace_only_pieces=True,
            split_by_whitespace=True,
            max_sentencepiece_length=self.max_piece_length,
            max_sentence_length=self.max_line_bytes + 1,
            input_sentence_size=self.max_sentences,
            shuffle_input_sentence=False,
            unk_id=0, bos_id=1, eos_id=2, pad_id=-1,
            unk_piece=UNK, bos_piece=BOS, eos_piece=EOS,
            user_defined_symbols=list(CHAT_TOKENS),
            num_threads=self.num_threads,
            minloglevel=2,
        )
        (output / MODEL_FILE).write_bytes(proto.getvalue())
        return YiTokenizer(output / MODEL_FILE)


def settings(cfg: Config | None = None, preset: str | None = None) -> dict[str, Any]:
    """The [tokenizer] section of ``cfg`` (default: config/default.toml) with
    its ``[tokenizer.<preset>]`` table over it (presets: its nested tables)."""
    try:
        return (cfg if cfg is not None else load_config()).variant("tokenizer", preset)
    except KeyError as e:
        raise ValueError(f"unknown tokenizer preset {preset!r}: {e.args[0]}") from None


def bytes_per_token(tok: YiTokenizer, texts: Iterable[str]) -> tuple[float, int, int]:
    """(UTF-8 bytes / token, bytes, tokens) over ``texts``."""
    nb = nt = 0
    for t in texts:
        nb += len(t.encode("utf-8"))
        nt += len(tok.encode(t))
    return (nb / nt if nt else float("nan")), nb, nt
