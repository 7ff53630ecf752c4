"""Token shards: corpus Parquet → Megatron indexed datasets (.bin/.idx).

    spark-submit jobs/shards.py --input CORPUS --output SHARDS --tokenizer MODEL

One set of shards per (source, language) group (language from `lang`, else
`lang_gold`), so pretraining can weight the
mixture per group ([pretrain.data] weights); every document ends with the EOD
token (``<|endoftext|>``). Within a group, documents go to shard
``pmod(xxhash64(id), n)`` (n from ``docs_per_shard``) and are written in id
order: the same input gives the same bytes. Special-token text inside a
document (``<|endoftext|>``, ``<|im_start|>``…) is tokenized as text
(model/tokenizer.py ``YiTokenizer.encode``): the EOD appended here is a
document's only special id. A ``heldout_rate`` share of all
documents (by id hash) goes to the ``heldout.*`` shards instead, the eval set
of pretraining (``"split": "valid"`` in the manifest).

Resumable: a shard is finished when its ``.done.json`` marker exists (written
after the .bin/.idx are renamed into place); a rerun skips finished shards.
``manifest.json`` lists every shard with its token and document counts and
sums per group; documents with a null text are counted there as ``skipped``.

The .bin/.idx files use megatron-core's ``MMIDIDX`` layout (version 1, one
sequence per document), written here without importing megatron (~7 s per
executor) and read back by ``megatron.core.datasets.indexed_dataset`` in tests.
"""
from __future__ import annotations

import argparse
import hashlib
import json
import math
import os
import struct
import sys
from pathlib import Path

from jobs.common import OutputError, check_inputs_complete, check_output, log, spark_session
from pipeline.config import load_config

_INDEX_HEADER = b"MMIDIDX\x00\x00"
_DTYPE_CODES = {"uint16": 8, "int32": 4}  # megatron DType enum values
MANIFEST = "manifest.json"
# The language column: the corpus build's `lang`, else a sample's `lang_gold`.
LANG_COLUMNS = ("lang", "lang_gold")


def token_dtype(vocab_size: int) -> str:
    """megatron's rule (DType.optimal_dtype): uint16 below 65,500 pieces."""
    return "uint16" if vocab_size < 65_500 else "int32"


def write_indexed_dataset(prefix: str, docs, dtype: str) -> tuple[int, int]:
    """Write ``prefix.bin``/``prefix.idx`` from an iterable of token-id lists
    (EOD already appended); returns (documents, tokens). Files are written
    under ``.tmp`` names and renamed, so a killed task leaves no half shard."""
    import numpy as np

    lengths = []
    with open(prefix + ".bin.tmp", "wb") as fb:
        for ids in docs:
            arr = np.asarray(ids, dtype=dtype)
            fb.write(arr.tobytes(order="C"))
            lengths.append(len(arr))
    n = len(lengths)
    lens = np.asarray(lengths, dtype=np.int64)
    itemsize = np.dtype(dtype).itemsize
    pointers = np.concatenate([[0], np.cumsum(lens)[:-1]]) * itemsize if n else lens
    with open(prefix + ".idx.tmp", "wb") as fi:
        fi.write(_INDEX_HEADER)
        fi.write(struct.pack("<Q", 1))
        fi.write(struct.pack("<B", _DTYPE_CODES[dtype]))
        fi.write(struct.pack("<Q", n))          # sequences
        fi.write(struct.pack("<Q", n + 1))      # document boundaries
        fi.write(lens.astype(np.int32).tobytes(order="C"))
        fi.write(np.asarray(pointers, dtype=np.int64).tobytes(order="C"))
        fi.write(np.arange(n + 1, dtype=np.int64).tobytes(order="C"))
    os.replace(prefix + ".bin.tmp", prefix + ".bin")
    os.replace(prefix + ".idx.tmp", prefix + ".idx")
    return n, int(lens.sum())


def group_name(source, lang):
    """Spark column: file-system-safe group name, e.g. ``cc-warc.en``
    (``unknown`` for a missing source or language)."""
    from pyspark.sql import functions as F

    def clean(c):
        c = F.regexp_replace(c, "[^A-Za-z0-9_-]+", "_")
        return F.when(c.isNull() | (c == ""), F.lit("unknown")).otherwise(c)

    return F.concat_ws(".", clean(source), clean(lang))


def _shard_writer(output: str, model_proto: bytes, dtype: str, sha: str):
    """mapInArrow function: rows arrive sorted by (shard, id); writes each
    shard's files and marker, yields one row per shard with its counts."""

    def run(batches):
        import pyarrow as pa

        from model.tokenizer import YiTokenizer

        tok = YiTokenizer.from_proto(model_proto)
        eod = tok.eod
        state = {"shard": None, "docs": []}

        def flush():
            name = state["shard"]
            prefix = os.path.join(output, name)
            n, t = write_indexed_dataset(prefix, state["docs"], dtype)
            held = state["group"] == HELDOUT
            meta = {"name": name, "group": state["group"], "source": None if held else state["source"],
                    "lang": None if held else state["lang"], "split": "valid" if held else "train",
                    "documents": n, "tokens": t,
                    "bin_bytes": os.path.getsize(prefix + ".bin"), "tokenizer_sha256": sha}
            with open(prefix + ".done.json.tmp", "w") as fh:
                json.dump(meta, fh, sort_keys=True)
            os.replace(prefix + ".done.json.tmp", prefix + ".done.json")
            return meta

        out = []
        for batch in batches:
            cols = batch.to_pydict()
            for shard, group, source, lang, text in zip(cols["shard"], cols["group"], cols["source"],
                                                       cols["lang"], cols["text"]):
                if shard != state["shard"]:
                    if state["shard"] is not None:
                        out.append(flush())
                    state.update(shard=shard, group=group, source=source, lang=lang, docs=[])
                state["docs"].append(tok.encode(text) + [eod])
        if state["shard"] is not None:
            out.append(flush())
        if out:
            yield pa.RecordBatch.from_pylist(
                [{"name": m["name"], "documents": m["documents"], "tokens": m["tokens"]} for m in out])

    return run


HELDOUT = "heldout"


def tokenize_corpus(spark, input_dir: str, output: str, tokenizer: str, *,
                    docs_per_shard: int, heldout_rate: float) -> dict:
    """Write the shards of every group not yet finished, then the manifest.

    Keyword args, the ``[shards]`` section of config/default.toml (their only
    home; ``main`` passes the section whole):
        docs_per_shard: target documents per shard (a group of n documents
            gets ceil(n / docs_per_shard) shards, by id hash).
        heldout_rate: share of documents (by id hash, every group) written to
            the ``heldout.*`` shards instead: pretraining's eval set, never
            trained on.
    """
    from pyspark.sql import functions as F

    files = sorted(str(p) for p in Path(input_dir).rglob("*.parquet"))
    if not files:
        raise FileNotFoundError(f"no Parquet files under {input_dir}")
    model_path = Path(tokenizer)
    model_path = model_path / "tokenizer.model" if model_path.is_dir() else model_path
    proto = model_path.read_bytes()
    from model.tokenizer import YiTokenizer

    tok = YiTokenizer.from_proto(proto, model_path)  # refuses a model that turns text into special ids
    vocab = tok.vocab_size
    dtype = token_dtype(vocab)
    out = Path(output)
    out.mkdir(parents=True, exist_ok=True)

    df = spark.read.option("basePath", str(input_dir)).parquet(*files)
    if "text" not in df.columns:
        raise ValueError(f"{input_dir}: no `text` column (columns: {df.columns})")
    col = lambda c: F.col(c).cast("string") if c in df.columns else F.lit(None).cast("string")  # noqa: E731
    key = F.col("id").cast("string") if "id" in df.columns else F.sha2(F.col("text"), 256)
    lang_col = next((c for c in LANG_COLUMNS if c in df.columns), "lang")
    df = df.select(key.alias("id"), "text", col("source").alias("source"), col(lang_col).alias("lang"))
    held = F.pmod(F.xxhash64(F.concat(F.lit("heldout:"), F.col("id"))), F.lit(1_000_000)) < int(heldout_rate * 1_000_000)
    df = df.withColumn("group", F.when(held, F.lit(HELDOUT)).otherwise(group_name(F.col("source"), F.col("lang"))))

    counts = {r["group"]: (r["n"], r["null"], r["source"], r["lang"]) for r in df.groupBy("group").agg(
        F.count(F.col("text")).alias("n"), F.sum(F.col("text").isNull().cast("int")).alias("null"),
        F.first("source").alias("source"), F.first("lang").alias("lang")).collect()}
    nshards = {g: max(1, math.ceil(n / docs_per_shard)) for g, (n, _, _, _) in counts.items()}
    expected = sorted(f"{g}.{i:05d}" for g, k in nshards.items() for i in range(k))
    sha = hashlib.sha256(proto).hexdigest()
    done = {p.name[: -len(".done.json")] for p in out.glob("*.done.json")
            if json.loads(p.read_text()).get("tokenizer_sha256") == sha}  # another tokenizer: redo
    todo = [s for s in expected if s not in done]
    log(f"tokenize: {sum(c[0] for c in counts.values())} documents in {len(counts)} groups → "
        f"{len(expected)} shards ({len(expected) - len(todo)} already done), vocab {vocab} ({dtype})")

    if todo:
        nsh = F.create_map(*[x for g, k in sorted(nshards.items()) for x in (F.lit(g), F.lit(k))])
        df = df.where(F.col("text").isNotNull()).withColumn(
            "shard", F.format_string("%s.%05d", F.col("group"), F.pmod(F.xxhash64("id"), nsh[F.col("group")])))
        df = df.where(F.col("shard").isin(todo)).repartition(len(todo), "shard").sortWithinPartitions("shard", "id")
        written = df.select("shard", "group", "source", "lang", "text").mapInArrow(
            _shard_writer(str(out.resolve()), proto, dtype, sha), "name string, documents long, tokens long").collect()
        for r in sorted(written, key=lambda r: r["name"]):
            log(f"tokenize: wrote {r['name']}: {r['documents']} documents, {r['tokens']} tokens")

    shards = []
    for s in expected:
        marker = out / f"{s}.done.json"
        if s in todo and not marker.exists():  # a shard that got no document (tiny groups, hash gaps)
            g = s.rsplit(".", 1)[0]
            write_indexed_dataset(str(out / s), [], dtype)
            held = g == HELDOUT
            marker.write_text(json.dumps({"name": s, "group": g, "source": None if held else counts[g][2],
                                          "lang": None if held else counts[g][3],
                                          "split": "valid" if held else "train", "documents": 0, "tokens": 0, "bin_bytes": 0,
                                          "tokenizer_sha256": sha}, sort_keys=True))
        shards.append(json.loads(marker.read_text()))
    groups = {}
    for m in shards:
        g = groups.setdefault(m["group"], {"source": m["source"], "lang": m["lang"], "split": m["split"],
                                           "documents": 0,
                                           "tokens": 0, "skipped_null_text": counts[m["group"]][1],
                                           "shards": []})
        g["documents"] += m["documents"]
        g["tokens"] += m["tokens"]
        g["shards"].append(m["name"])
    manifest = {
        "format": "megatron-core MMIDIDX v1, one sequence per document, EOD-terminated",
        "tokenizer": {"path": str(model_path), "sha256": sha,
                      "vocab_size": vocab, "eod": tok.eod},
        "dtype": dtype,
        "input": str(input_dir),
        "documents": sum(g["documents"] for g in groups.values()),
        "tokens": sum(g["tokens"] for g in groups.values()),
        "groups": groups,
        "shards": shards,
    }
    (out / MANIFEST).write_text(json.dumps(manifest, indent=2, sort_keys=True) + "\n")
    log(f"tokenize: {manifest['documents']} documents, {manifest['tokens']} tokens → {out / MANIFEST}")
    return manifest


def _own_file(name: str) -> bool:
    """A name this job writes into its output directory (a rerun resumes)."""
    return name == MANIFEST or name.endswith((".bin", ".idx", ".done.json", ".tmp"))


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--input", required=True, help="directory of Parquet files (text; id, source, lang used if present)")
    ap.add_argument("--output", required=True, help="directory for the .bin/.idx shards and manifest.json")
    ap.add_argument("--tokenizer", required=True, help="tokenizer.model or the directory holding it")
    ap.add_argument("--config", help="TOML overriding config/default.toml")
    args = ap.parse_args(argv)
    cfg = load_config(args.config)
    try:   # before any work: OUT apart from the input, holding nothing but shards
        check_output(args.output, [args.input], job="shards", own_names=_own_file)
        check_inputs_complete([args.input])
    except OutputError as e:
        log(f"ERROR {e}")
        return 2
    spark = spark_session("yi-tokenize")
    tokenize_corpus(spark, args.input, args.output, args.tokenizer, **cfg.section("shards"))
    spark.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
