"""The Yi tokenizer: SentencePiece BPE trained on a deterministic sample of the
corpus (arXiv 2403.04652 §2.2).

Yi's settings: BPE, 64,000 pieces, digits split into single digits, byte
fallback for characters never seen in training (so every string round-trips),
identity normalization, no dummy prefix and no whitespace collapsing (code and
layout survive exactly). Special tokens ``<|startoftext|>`` (BOS),
``<|endoftext|>`` (EOS, the end-of-document token of the shards), and the chat
markers ``<|im_start|>``/``<|im_end|>``.

Special-token text inside a document is text: all five special pieces are
SentencePiece control symbols (``<unk>``: the unknown piece), which
``encode`` never produces from text, so a web page holding
``<|endoftext|>`` or ``<|im_start|>`` cannot inject a document boundary or
a chat turn into the shards; the ids come only from code that inserts them
(the shards' EOD). A model whose encode yields a special id from its text
(chat markers trained as user-defined symbols, before issue #11) is refused.
``write_hf_tokenizer`` exports the same tokenizer for Hugging Face
(``tokenizer.json`` with ``split_special_tokens``: the same ids as ``encode``).

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
        self._load(self.path.read_bytes())

    @classmethod
    def from_proto(cls, proto: bytes, path: str | Path | None = None) -> "YiTokenizer":
        """From the bytes of a ``tokenizer.model`` (Spark executors get bytes)."""
        tok = cls.__new__(cls)
        tok.path = Path(path) if path else None
        tok._load(proto)
        return tok

    def _load(self, proto: bytes) -> None:
        self.proto = proto
        self.sp = spm.SentencePieceProcessor(model_proto=proto)
        self.sha256 = hashlib.sha256(proto).hexdigest()
        self.unique_identifiers = {"class": "YiTokenizer", "sha256": self.sha256}
        where = self.path or "tokenizer model"
        special = set(self.special_ids.values())
        for piece in (UNK, BOS, EOS, *CHAT_TOKENS):
            if self.sp.piece_to_id(piece) == self.sp.unk_id() and piece != UNK:
                raise ValueError(f"{where}: no {piece} piece: not a Yi tokenizer (train one with `make tokenizer`)")
            hit = special & set(self.sp.encode(piece))
            if hit:
                raise ValueError(
                    f"{where}: the text {piece!r} encodes to the special id(s) {sorted(hit)}: this model matches "
                    f"special-token text inside documents (chat markers trained as user-defined symbols, before "
                    f"issue #11), so a web page could inject a chat turn or document boundary; retrain it "
                    f"(`make tokenizer`)")

    @property
    def vocab_size(self) -> int:
        return self.sp.get_piece_size()

    @property
    def eod(self) -> int:
        return self.sp.eos_id()

    @property
    def bos(self) -> int:
        return self.sp.bos_id()

    @property
    def special_ids(self) -> dict[str, int]:
        """Every special piece (``<unk>``, the control symbols BOS, EOS and
        chat markers, and those names however a model typed them) → its id.
        ``encode`` never returns one of these (checked at load)."""
        named = {p: self.sp.piece_to_id(p) for p in (UNK, BOS, EOS, *CHAT_TOKENS)}
        return {**{p: i for p, i in named.items() if self.sp.id_to_piece(i) == p},
                **{self.sp.id_to_piece(i): i for i in range(self.vocab_size)
                   if self.sp.is_control(i) or self.sp.is_unknown(i)}}

    def encode(self, text: str) -> list[int]:
        """Ids of ``text``, special-token text included as ordinary text
        (never a special id; byte fallback: never ``<unk>`` either)."""
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
            # control, not user_defined: SentencePiece matches user-defined
            # symbols inside text, control symbols never (issue #11).
            control_symbols=list(CHAT_TOKENS),
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


# ----------------------------------------------------------- Hugging Face --
def hf_tokenizer(tok: YiTokenizer):
    """The same tokenizer as a ``tokenizers.Tokenizer`` (what ``tokenizer.json``
    holds): BPE over the SentencePiece vocabulary with byte fallback, merges
    rebuilt from the pieces (a merge for every split of a piece into two
    pieces, ranked by the piece's id: SentencePiece's BPE order), spaces as
    ``▁`` and no prefix space (Yi: no dummy prefix). Special pieces and byte
    pieces get no merge, so no text ever becomes one; the specials are added
    tokens, which ``split_special_tokens`` (tokenizer_config.json) keeps from
    being matched in text. Built through the sentencepiece API, so neither
    building nor loading needs protobuf."""
    from tokenizers import AddedToken, Tokenizer, decoders, pre_tokenizers
    from tokenizers.models import BPE

    sp = tok.sp
    vocab = {sp.id_to_piece(i): i for i in range(tok.vocab_size)}
    no_merge = {p for p, i in vocab.items() if sp.is_control(i) or sp.is_unknown(i) or sp.is_byte(i)
                or sp.is_unused(i)} | set(tok.special_ids)
    merges = sorted((i, vocab[p[:k]], vocab[p[k:]]) for p, i in vocab.items() if p not in no_merge
                    for k in range(1, len(p))
                    if p[:k] in vocab and p[k:] in vocab and p[:k] not in no_merge and p[k:] not in no_merge)
    t = Tokenizer(BPE(vocab=vocab, merges=[(sp.id_to_piece(a), sp.id_to_piece(b)) for _, a, b in merges],
                      unk_token=UNK, fuse_unk=True, byte_fallback=True))
    t.pre_tokenizer = pre_tokenizers.Metaspace(replacement="\u2581", prepend_scheme="never", split=False)
    t.decoder = decoders.Sequence([decoders.Replace("\u2581", " "), decoders.ByteFallback(), decoders.Fuse()])
    t.add_special_tokens([AddedToken(p, special=True, normalized=False)
                          for p, _ in sorted(tok.special_ids.items(), key=lambda x: x[1])])
    return t


def hf_tokenizer_config(tok: YiTokenizer, model_max_length: int) -> dict:
    """``tokenizer_config.json``: Yi's conventions (no BOS/EOS added to
    encoded text; the shards add only EOD) with ``<unk>`` as the pad token
    (as Yi's own Hugging Face release; byte fallback means text never encodes
    to ``<unk>``, and padding with EOS would make collators mask the EOS
    labels, so fine-tuning never learns to stop); special-token text in
    input is text (``split_special_tokens``); padding on the left, as
    transformers' Llama tokenizer (batched ``generate`` needs it)."""
    ids = {v: k for k, v in tok.special_ids.items()}
    return {
        "tokenizer_class": "PreTrainedTokenizerFast",  # tokenizer.json as is (transformers 4 and 5)
        "bos_token": ids[tok.bos], "eos_token": ids[tok.eod], "unk_token": ids[tok.sp.unk_id()],
        "pad_token": ids[tok.sp.unk_id()], "additional_special_tokens": list(CHAT_TOKENS),
        "add_bos_token": False, "add_eos_token": False, "split_special_tokens": True,
        "clean_up_tokenization_spaces": False, "model_max_length": model_max_length, "padding_side": "left",
    }


def write_hf_tokenizer(tok: YiTokenizer, out: str | Path, model_max_length: int) -> list[Path]:
    """Write ``tokenizer.json``, ``tokenizer_config.json``,
    ``special_tokens_map.json`` and the SentencePiece ``tokenizer.model``
    into ``out``; returns the paths."""
    import json

    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    cfg = hf_tokenizer_config(tok, model_max_length)
    files = {
        "tokenizer.json": hf_tokenizer(tok).to_str(pretty=True).encode("utf-8") + b"\n",
        "tokenizer_config.json": (json.dumps(cfg, indent=2, sort_keys=True) + "\n").encode(),
        "special_tokens_map.json": (json.dumps({k: cfg[k] for k in ("bos_token", "eos_token", "unk_token",
                                                                    "pad_token", "additional_special_tokens")},
                                               indent=2, sort_keys=True) + "\n").encode(),
        MODEL_FILE: tok.proto,
    }
    for name, data in files.items():
        (out / name).write_bytes(data)
    return [out / n for n in files]
