"""The Yi tokenizer: SentencePiece BPE trained on a deterministic sample of the
corpus (arXiv 2403.04652 §2.2).

Yi's settings: BPE, 64,000 pieces, digits split into single digits, byte
fallback for characters never seen in training (so every string round-trips),
identity normalization, no dummy prefix and no whitespace collapsing (code and
layout survive exactly). Special tokens ``<|startoftext|>`` (BOS),
``<|endoftext|>`` (EOS, the end-of-document token of the shards), and the chat
markers ``<|im_start|>``/``<|im_end|>``.

Sampling runs on Spark and is hash-based on the document id (``xxhash64``),
never random: the same corpus gives the same sample and the same model bytes.
Documents whose hash falls in a held-out bucket never reach training; bytes per
token is measured on them per language.

    python -m model.tokenizer --input CORPUS_DIR --output models/tokenizer [--config my.toml]
"""
from __future__ import annotations

import argparse
import hashlib
import io
import json
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Iterable, Iterator

import sentencepiece as spm

UNK, BOS, EOS = "<unk>", "<|startoftext|>", "<|endoftext|>"
CHAT_TOKENS = ("<|im_start|>", "<|im_end|>")
MODEL_FILE = "tokenizer.model"
REPORT_FILE = "tokenizer_report.json"
_BUCKETS = 100_000  # hash buckets for sampling: rates resolve to 1e-5
# The language column: the corpus build's `lang`, else a sample's `lang_gold`.
LANG_COLUMNS = ("lang", "lang_gold")


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


@dataclass
class TokenizerTrainer:
    """Train the Yi tokenizer from a directory of Parquet files with a ``text``
    column (``id`` and ``lang`` used when present).

    Args:
        vocab_size: pieces in the model; Yi: 64,000 (arXiv 2403.04652 §2.2).
        character_coverage: share of characters covered by pieces, the rest go
            through byte fallback; SentencePiece recommends 0.9995 for
            languages with rich character sets such as Chinese.
        sample_rate: share of documents (by id hash) used for training.
        heldout_rate: share of documents (by id hash, disjoint from the
            sample) kept out of training to measure bytes per token.
        max_line_bytes: training lines are cut to this many UTF-8 bytes
            (SentencePiece drops longer lines; its own default limit is 4192).
        max_sentences: cap on training lines (memory bound of the trainer).
        max_piece_length: longest piece in characters (SentencePiece default 16).
        num_threads: trainer threads.
    """

    vocab_size: int = 64_000
    character_coverage: float = 0.9995
    sample_rate: float = 1.0
    heldout_rate: float = 0.0
    max_line_bytes: int = 4096
    max_sentences: int = 10_000_000
    max_piece_length: int = 16
    num_threads: int = 2

    def __post_init__(self):
        if not 0 < self.sample_rate <= 1 or not 0 <= self.heldout_rate < 1:
            raise ValueError("sample_rate must be in (0, 1], heldout_rate in [0, 1)")
        if self.sample_rate + self.heldout_rate > 1:
            raise ValueError("sample_rate + heldout_rate must be <= 1 (the buckets are disjoint)")

    # -------------------------------------------------------------- sampling --
    def sample(self, spark, corpus: str | Path):
        """Return (train_df, heldout_df) of (id, text, lang): documents split
        by ``pmod(xxhash64(id), N)`` buckets, sorted by id."""
        from pyspark.sql import functions as F

        df = spark.read.option("basePath", str(corpus)).parquet(*_parquet_files(corpus))
        if "text" not in df.columns:
            raise ValueError(f"{corpus}: Parquet files have no `text` column (columns: {df.columns})")
        key = F.col("id").cast("string") if "id" in df.columns else F.sha2(F.col("text"), 256)
        lang_col = next((c for c in LANG_COLUMNS if c in df.columns), None)
        lang = F.col(lang_col).cast("string") if lang_col else F.lit(None).cast("string")
        df = df.where(F.col("text").isNotNull()).select(
            key.alias("id"), "text", lang.alias("lang"),
            F.pmod(F.xxhash64(key), F.lit(_BUCKETS)).alias("bucket"))
        held = int(round(self.heldout_rate * _BUCKETS))
        train_hi = held + int(round(self.sample_rate * _BUCKETS))
        heldout = df.where(F.col("bucket") < held).drop("bucket").orderBy("id")
        train = df.where((F.col("bucket") >= held) & (F.col("bucket") < train_hi)).drop("bucket").orderBy("id")
        return train, heldout

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


def bytes_per_token(tok: YiTokenizer, texts: Iterable[str]) -> tuple[float, int, int]:
    """(UTF-8 bytes / token, bytes, tokens) over ``texts``."""
    nb = nt = 0
    for t in texts:
        nb += len(t.encode("utf-8"))
        nt += len(tok.encode(t))
    return (nb / nt if nt else float("nan")), nb, nt


def _parquet_files(corpus: str | Path) -> list[str]:
    files = sorted(str(p) for p in Path(corpus).rglob("*.parquet"))
    if not files:
        raise FileNotFoundError(f"no Parquet files under {corpus}")
    return files


def main(argv: list[str] | None = None) -> int:
    from jobs.common import log, spark_session
    from pipeline.config import load_config

    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--input", required=True, help="directory of Parquet files with a `text` column")
    ap.add_argument("--output", required=True, help="directory for tokenizer.model and its report")
    ap.add_argument("--config", help="TOML overriding config/default.toml")
    ap.add_argument("--preset", help="a [tokenizer.<preset>] section overriding [tokenizer] (e.g. demo)")
    args = ap.parse_args(argv)

    cfg = load_config(args.config)
    kw = cfg.section("tokenizer")
    presets = {k: kw.pop(k) for k in list(kw) if isinstance(kw[k], dict)}
    if args.preset:
        if args.preset not in presets:
            raise SystemExit(f"unknown tokenizer preset {args.preset!r}; known: {sorted(presets)}")
        kw.update(presets[args.preset])
    trainer = TokenizerTrainer(**kw)

    log(f"tokenizer: sampling {args.input} on Spark (sample_rate={trainer.sample_rate}, heldout_rate={trainer.heldout_rate})")
    spark = spark_session("yi-tokenizer")
    train_df, held_df = trainer.sample(spark, args.input)
    n_train = train_df.count()
    held = [(r["lang"], r["text"]) for r in held_df.collect()]
    log(f"tokenizer: training BPE vocab={trainer.vocab_size} on {n_train} documents")
    tok = trainer.train((r["text"] for r in train_df.toLocalIterator()), args.output)
    report = {"vocab_size": tok.vocab_size, "train_documents": n_train, "sha256": tok.sha256,
              "settings": kw, "heldout": {}}
    for lang in sorted({l for l, _ in held if l}):
        bpt, nb, nt = bytes_per_token(tok, [t for l, t in held if l == lang])
        report["heldout"][lang] = {"documents": sum(1 for l, _ in held if l == lang),
                                   "bytes": nb, "tokens": nt, "bytes_per_token": round(bpt, 4)}
        log(f"tokenizer: held-out {lang}: {bpt:.3f} bytes/token ({nb} bytes, {nt} tokens)")
    path = Path(args.output) / REPORT_FILE
    path.write_text(json.dumps(report, indent=2, sort_keys=True) + "\n")
    log(f"tokenizer: wrote {tok.path} ({tok.vocab_size} pieces) and {path}")
    spark.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
