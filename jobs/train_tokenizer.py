"""The tokenizer job: a deterministic sample of the corpus on Spark → the Yi
tokenizer (model/tokenizer.py) → bytes per token on held-out documents.

    python jobs/train_tokenizer.py --input CORPUS_DIR --output models/tokenizer [--preset demo] [--config my.toml]

Sampling is hash-based on the document id (``xxhash64``), never random: the
same corpus gives the same sample and the same model bytes. Documents whose
hash falls in a held-out bucket never reach training; bytes per token is
measured on them per language (``tokenizer_report.json``).
"""
from __future__ import annotations

import argparse
import json
import sys
from dataclasses import asdict
from pathlib import Path

from jobs.common import OutputError, check_inputs_complete, check_output, log, spark_session
from model.tokenizer import MODEL_FILE, REPORT_FILE, TokenizerTrainer, bytes_per_token
from pipeline.config import load_config

_BUCKETS = 100_000  # hash buckets for sampling: rates resolve to 1e-5
# The language column: the corpus build's `lang`, else a sample's `lang_gold`.
LANG_COLUMNS = ("lang", "lang_gold")


def sample_corpus(spark, corpus: str | Path, trainer: TokenizerTrainer):
    """Return (train_df, heldout_df) of (id, text, lang): documents split by
    ``pmod(xxhash64(id), N)`` buckets at the trainer's ``heldout_rate`` and
    ``sample_rate``, sorted by id."""
    from pyspark.sql import functions as F

    files = sorted(str(p) for p in Path(corpus).rglob("*.parquet"))
    if not files:
        raise FileNotFoundError(f"no Parquet files under {corpus}")
    df = spark.read.option("basePath", str(corpus)).parquet(*files)
    if "text" not in df.columns:
        raise ValueError(f"{corpus}: Parquet files have no `text` column (columns: {df.columns})")
    key = F.col("id").cast("string") if "id" in df.columns else F.sha2(F.col("text"), 256)
    lang_col = next((c for c in LANG_COLUMNS if c in df.columns), None)
    lang = F.col(lang_col).cast("string") if lang_col else F.lit(None).cast("string")
    df = df.where(F.col("text").isNotNull()).select(
        key.alias("id"), "text", lang.alias("lang"),
        F.pmod(F.xxhash64(key), F.lit(_BUCKETS)).alias("bucket"))
    held = int(round(trainer.heldout_rate * _BUCKETS))
    train_hi = held + int(round(trainer.sample_rate * _BUCKETS))
    heldout = df.where(F.col("bucket") < held).drop("bucket").orderBy("id")
    train = df.where((F.col("bucket") >= held) & (F.col("bucket") < train_hi)).drop("bucket").orderBy("id")
    return train, heldout


def heldout_report(tok, held: list[tuple[str | None, str]]) -> dict:
    """Bytes per token of the held-out (lang, text) pairs, per language."""
    report = {}
    for lang in sorted({l for l, _ in held if l}):
        bpt, nb, nt = bytes_per_token(tok, [t for l, t in held if l == lang])
        report[lang] = {"documents": sum(1 for l, _ in held if l == lang),
                        "bytes": nb, "tokens": nt, "bytes_per_token": round(bpt, 4)}
        log(f"tokenizer: held-out {lang}: {bpt:.3f} bytes/token ({nb} bytes, {nt} tokens)")
    return report


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--input", required=True, help="directory of Parquet files with a `text` column")
    ap.add_argument("--output", required=True, help="directory for tokenizer.model and its report")
    ap.add_argument("--config", help="TOML overriding config/default.toml")
    ap.add_argument("--preset", help="a [tokenizer.<preset>] section overriding [tokenizer] (e.g. demo)")
    args = ap.parse_args(argv)

    try:
        trainer = TokenizerTrainer.from_config(load_config(args.config), preset=args.preset)
    except ValueError as e:
        raise SystemExit(str(e)) from None
    try:   # before any work: OUT apart from the input, holding nothing but a tokenizer
        check_output(args.output, [args.input], job="tokenizer",
                     own_names=lambda n: n in (MODEL_FILE, REPORT_FILE) or n.startswith(MODEL_FILE))
        check_inputs_complete([args.input])
    except OutputError as e:
        log(f"ERROR {e}")
        return 2
    log(f"tokenizer: sampling {args.input} on Spark (sample_rate={trainer.sample_rate}, heldout_rate={trainer.heldout_rate})")
    spark = spark_session("yi-tokenizer")
    train_df, held_df = sample_corpus(spark, args.input, trainer)
    n_train = train_df.count()
    held = [(r["lang"], r["text"]) for r in held_df.collect()]
    log(f"tokenizer: training BPE vocab={trainer.vocab_size} on {n_train} documents")
    tok = trainer.train((r["text"] for r in train_df.toLocalIterator()), args.output)
    report = {"vocab_size": tok.vocab_size, "train_documents": n_train, "sha256": tok.sha256,
              "settings": asdict(trainer), "heldout": heldout_report(tok, held)}
    path = Path(args.output) / REPORT_FILE
    path.write_text(json.dumps(report, indent=2, sort_keys=True) + "\n")
    log(f"tokenizer: wrote {tok.path} ({tok.vocab_size} pieces) and {path}")
    spark.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
