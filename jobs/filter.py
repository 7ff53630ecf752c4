"""The corpus build: raw web text → Yi's cascade → Parquet shards + ledger.

  spark-submit jobs/filter.py --input IN [IN ...] --output OUT [--config FILE] [--strict]
  python jobs/filter.py --input data/sample --output out/demo        # local[*]

IN: files or directories of WARC / WET / JSONL(.gz/.zst) / Parquet.
OUT:
  corpus/      kept documents, Parquet (zstd), partitioned by lang=
  ledger/      one row per input record: where it ended and why, with scores
  quarantine/  records that could not be judged (bad input), with reasons
  report/      funnel.json / funnel.md / funnel.png, examples/<stage>.md,
               dedup report (report/dedup/)
"""
from __future__ import annotations

import os
import sys

# Run as a script, jobs/ is sys.path[0] and jobs/tokenize.py would shadow the
# standard library's tokenize: put the repository root there instead.
sys.path[0] = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))

import argparse  # noqa: E402
from pathlib import Path  # noqa: E402

from jobs.common import log, spark_session, write_parquet  # noqa: E402
from pipeline.config import Config, load_config  # noqa: E402
from pipeline.ledger import OUTPUT_STAGE, READ_STAGE, check_invariant, compute_funnel  # noqa: E402

LEDGER_DROP = ("text", "meta")


def parse_args(argv=None):
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--input", nargs="+", required=True, help="input files or directories")
    p.add_argument("--output", required=True, help="output directory")
    p.add_argument("--config", help="TOML file overriding config/default.toml")
    p.add_argument("--strict", action="store_true", help="fail on an unreadable input file")
    p.add_argument("--master", help="Spark master (default: spark-submit's, else local[*])")
    p.add_argument("--keep-work", action="store_true", help="keep OUT/_work intermediates")
    return p.parse_args(argv)


def _spark_schema(arrow_schema):
    from pyspark.sql.pandas.types import from_arrow_schema

    return from_arrow_schema(arrow_schema)


def read_inputs(spark, files: list[str], read_cfg: dict, strict: bool):
    """One Spark task per input file; each yields Arrow batches of READ_SCHEMA.
    An unreadable file becomes one quarantined row naming the file (or, with
    --strict, fails the job)."""
    import pyarrow as pa

    from pipeline.readers import READ_SCHEMA

    def read_partition(batches):
        import xxhash

        from pipeline.readers import READ_SCHEMA as schema
        from pipeline.readers import UnreadableFile, read_file

        for b in batches:
            for path in b.column("path").to_pylist():
                try:
                    yield from read_file(path, read_cfg)
                except UnreadableFile as e:
                    if strict:
                        raise
                    row = {f.name: [None] for f in schema}
                    row.update(id=[xxhash.xxh3_128_hexdigest(path.encode())], source_file=[path],
                               offset=[-1], decision=["quarantined"], stage=[READ_STAGE],
                               reason=[f"unreadable_file: {e}"])
                    yield pa.RecordBatch.from_pydict(row, schema=schema)

    paths = spark.sparkContext.parallelize([(f,) for f in files], max(1, len(files))).toDF("path string")
    return paths.mapInArrow(read_partition, _spark_schema(READ_SCHEMA))


def quarantine_duplicate_ids(df):
    """Ids must be unique (users join on them): a repeated input id keeps its
    first record (by file, offset); later ones go to quarantine."""
    from pyspark.sql import Window
    from pyspark.sql import functions as F

    w = Window.partitionBy("id").orderBy("source_file", "offset")
    df = df.withColumn("_rn", F.row_number().over(w))
    dup = (F.col("_rn") > 1) & (F.col("decision") == "kept")
    return (df.withColumn("stage", F.when(dup, F.lit(READ_STAGE)).otherwise(F.col("stage")))
              .withColumn("reason", F.when(dup, F.lit("duplicate_id")).otherwise(F.col("reason")))
              .withColumn("decision", F.when(dup, F.lit("quarantined")).otherwise(F.col("decision")))
              .drop("_rn"))


def run_cascade(df, names: list[str], cfg: Config):
    """Yi's row-local stages (pipeline/cascade.py) over Arrow batches."""
    import pyarrow as pa

    from pipeline.cascade import build_stages, output_schema, stage_class

    if not names:
        return df
    build_stages(names, cfg)  # fail fast on the driver (e.g. "run `make scorers`"), not per row
    in_schema = pa.schema([pa.field(f.name, _arrow_type(f.dataType)) for f in df.schema])
    schema = output_schema(in_schema, [stage_class(n) for n in names])

    def cascade_partition(batches):
        from pipeline.cascade import build_stages, run_batch

        stages = build_stages(names, cfg)
        for b in batches:
            yield run_batch(b, stages, schema)

    return df.mapInArrow(cascade_partition, _spark_schema(schema))


SPLIT_STAGE = "coherence_split"


def split_incoherent(df, cfg: Config):
    """Yi's coherence step splits a document at its incoherent boundaries
    (pipeline/coherence.py marks them; documents with too many were already
    dropped). Each part becomes a new document ``<id>-p<k>`` with
    ``parent_id``, goes back through the length rules (heuristics; a part
    that fails is rejected at ``coherence_split`` as ``part_<reason>``), and
    the parent is rejected at ``coherence`` as ``split_into_parts``."""
    import pyarrow as pa
    from pyspark.sql import functions as F

    from pipeline.cascade import stage_class

    df = df.withColumn("parent_id", F.lit(None).cast("string"))
    if "coh_breaks" not in df.columns:
        return df
    arrow_schema = pa.schema([pa.field(f.name, _arrow_type(f.dataType)) for f in df.schema])
    coh_cfg = cfg.section("coherence")

    def split_partition(batches):
        from pipeline.coherence import CoherenceScorer, split_document
        from pipeline.document import Document

        scorer = CoherenceScorer(**coh_cfg)
        for b in batches:
            out = []
            for row in b.to_pylist():
                parts = split_document(Document(id=row["id"], text=row["text"], lang=row["lang"]), scorer)
                for k, part in enumerate(parts if len(parts) > 1 else []):
                    out.append({**row, "id": f"{row['id']}-p{k}", "text": part, "parent_id": row["id"],
                                "n_chars_in": len(part)})
            if out:
                yield pa.RecordBatch.from_pylist(out, schema=arrow_schema)

    cand = df.filter((F.col("decision") == "kept") & (F.col("coh_breaks") > 0))
    length_cols = [c for c in stage_class("heuristics").score_columns if c in df.columns]
    parts = run_cascade(cand.mapInArrow(split_partition, df.schema).drop(*length_cols), ["heuristics"], cfg)
    out_of_part = F.col("decision") != "kept"
    parts = (parts.withColumn("stage", F.when(out_of_part, F.lit(SPLIT_STAGE)).otherwise(F.col("stage")))
                  .withColumn("reason", F.when(out_of_part, F.concat(F.lit("part_"), F.col("reason"))).otherwise(F.col("reason"))))
    parents = parts.select(F.col("parent_id").alias("id")).distinct().withColumn("_split", F.lit(True))
    split = F.col("_split").isNotNull() & (F.col("decision") == "kept")
    df = (df.join(parents, "id", "left")
            .withColumn("stage", F.when(split, F.lit("coherence")).otherwise(F.col("stage")))
            .withColumn("reason", F.when(split, F.lit("split_into_parts")).otherwise(F.col("reason")))
            .withColumn("decision", F.when(split, F.lit("rejected")).otherwise(F.col("decision")))
            .drop("_split"))
    return df.unionByName(parts, allowMissingColumns=True)


def _arrow_type(dt):
    from pyspark.sql.pandas.types import to_arrow_type

    return to_arrow_type(dt)


def materialize(spark, df, path: str):
    """Write an intermediate and read it back: every later action reuses it
    instead of recomputing the cascade."""
    df.write.mode("overwrite").parquet(path)
    return spark.read.parquet(path)


def main(argv=None) -> int:
    args = parse_args(argv)
    from pyspark.sql import functions as F

    from pipeline.readers import list_inputs

    cfg = load_config(args.config)
    out = args.output.rstrip("/")
    work = f"{out}/_work"
    files, skipped = list_inputs(args.input)
    for s in skipped:
        log(f"WARNING not an input format, skipped: {s}")
    if not files:
        log(f"ERROR no input files under {args.input}")
        return 2
    spark = spark_session("yi-corpus-build", master=args.master)
    log(f"read: {len(files)} files on {spark.sparkContext.master}")
    read_cfg = cfg.section("read")
    docs = read_inputs(spark, files, read_cfg, args.strict or read_cfg.get("strict", False))
    docs = quarantine_duplicate_ids(docs).withColumn("n_chars_in", F.coalesce(F.length("text"), F.lit(0)).cast("long"))
    docs = materialize(spark, docs, f"{work}/read")
    for row in docs.filter(F.col("reason").startswith("unreadable_file")).select("source_file", "reason").collect():
        log(f"ERROR {row.source_file}: {row.reason}")
    n_in = docs.count()
    log(f"read: {n_in:,} records, {docs.filter(F.col('decision') != 'kept').count():,} quarantined")

    names = list(cfg.get("cascade.stages", []))
    stage1 = materialize(spark, run_cascade(docs, names, cfg), f"{work}/cascade")
    _log_stage_counts(stage1, [READ_STAGE] + names)
    if "coherence" in names:
        stage1 = materialize(spark, split_incoherent(stage1, cfg), f"{work}/split")
        names = names[: names.index("coherence") + 1] + [SPLIT_STAGE] + names[names.index("coherence") + 1:]
        parts = stage1.filter(F.col("parent_id").isNotNull())
        log(f"  {SPLIT_STAGE:<12} {stage1.filter(F.col('reason') == 'split_into_parts').count():,} documents split "
            f"into {parts.count():,} parts, {parts.filter(F.col('decision') != 'kept').count():,} parts rejected")

    kept1 = stage1.filter(F.col("decision") == "kept")
    decided = stage1.filter(F.col("decision") != "kept").withColumn("duplicate_of", F.lit(None).cast("string"))
    dedup_names = list(cfg.get("dedup.stages", []))
    dedup_res = None
    if dedup_names:
        from jobs.dedup import run_dedup

        dedup_res = run_dedup(spark, kept1.drop("decision", "stage", "reason"), cfg, dedup_names)
        removed = dedup_res.ledger.filter(F.col("decision") != "kept").select("id", "stage", "decision", "reason", "duplicate_of")
        decided = decided.unionByName(kept1.drop("decision", "stage", "reason").join(removed, "id"), allowMissingColumns=True)
        survivors = dedup_res.kept.withColumn("decision", F.lit("kept")).withColumn("stage", F.lit("")).withColumn("reason", F.lit(None).cast("string"))
    else:
        survivors = kept1
    post = list(cfg.get("cascade.post_dedup_stages", []))
    final = run_cascade(survivors, post, cfg)
    final = final.withColumn("stage", F.when(F.col("decision") == "kept", F.lit(OUTPUT_STAGE)).otherwise(F.col("stage")))
    everything = decided.unionByName(final, allowMissingColumns=True).withColumn(
        "n_chars_out", F.when(F.col("decision") == "kept", F.length("text")).otherwise(F.lit(0)).cast("long"))
    everything = materialize(spark, everything, f"{work}/final")

    everything = add_perplexity_buckets(spark, everything, ocfg_percentiles(cfg), Path(out) / "report" / "perplexity")
    stage_order = [READ_STAGE] + names + [f"{n}_dedup" for n in dedup_names] + post
    ocfg = cfg.section("output")
    corpus = everything.filter(F.col("decision") == "kept").drop("decision", "stage", "reason", "duplicate_of", "n_chars_out")
    write_parquet(spark, corpus, f"{out}/corpus", partition_by=["lang"], partitions=ocfg.get("partitions", 4),
                  max_records_per_file=ocfg.get("shard_docs"), compression=ocfg.get("compression", "zstd"))
    write_parquet(spark, everything.drop(*LEDGER_DROP), f"{out}/ledger", partitions=2)
    quarantine = everything.filter(F.col("decision") == "quarantined").select(
        "id", "source_file", "offset", "stage", "reason", F.substring("text", 1, 10_000).alias("text"), "meta")
    write_parquet(spark, quarantine, f"{out}/quarantine", partitions=1)

    report = Path(out) / "report"
    counts = [r.asDict() for r in everything.groupBy("stage", "decision", "lang").agg(
        F.count("*").alias("docs"), F.sum("n_chars_in").alias("chars")).collect()]
    derived = {SPLIT_STAGE: {r.lang: (r.docs, r.chars) for r in everything.filter(F.col("parent_id").isNotNull())
                             .groupBy("lang").agg(F.count("*").alias("docs"), F.sum("n_chars_in").alias("chars")).collect()}}
    funnel = compute_funnel(counts, stage_order, derived if "parent_id" in everything.columns else None)
    check_invariant(funnel)
    if funnel.total_input != n_in + funnel.total_derived:
        raise AssertionError(f"ledger has {funnel.total_input} rows for {n_in} input records "
                             f"+ {funnel.total_derived} parts of split documents")
    reasons = [r.asDict() for r in everything.filter(F.col("decision") != "kept")
               .groupBy("stage", "decision", "reason").count().orderBy("stage", "decision", "reason").collect()]
    write_funnel_report(report, funnel, reasons, everything, int(ocfg.get("examples_per_reason", 5)), cfg)
    if dedup_res is not None:
        dedup_res.write_report(str(report / "dedup"))
    if not args.keep_work:
        _rm(spark, work)
    log(f"done: {n_in:,} records (+{funnel.total_derived:,} parts of split documents) -> kept {funnel.total_kept:,}, rejected "
        f"{funnel.total_rejected:,}, quarantined {funnel.total_quarantined:,}")
    log(f"corpus shards: {out}/corpus   ledger: {out}/ledger   quarantine: {out}/quarantine")
    log(f"funnel: {report}/funnel.png  ({report}/funnel.md, examples in {report}/examples/)")
    return 0


def ocfg_percentiles(cfg: Config) -> tuple[float, float]:
    lo, hi = cfg.get("output.perplexity_bucket_percentiles", [30.0, 60.0])
    return float(lo), float(hi)


def add_perplexity_buckets(spark, df, percentiles: tuple[float, float], report_dir: Path, examples: int = 3):
    """cc_net's head/middle/tail buckets: cut-offs are per-language percentiles
    of ``ppl`` over every scored document (approxQuantile, relative error
    1e-3); adds ``ppl_bucket`` and writes histograms + examples per bucket."""
    from pyspark.sql import Window
    from pyspark.sql import functions as F

    from pipeline.perplexity import perplexity_report

    if "ppl" not in df.columns:
        return df
    scored = df.filter(F.col("ppl").isNotNull() & F.col("lang").isNotNull())
    langs = sorted(r.lang for r in scored.select("lang").distinct().collect())
    q = [percentiles[0] / 100.0, percentiles[1] / 100.0]
    cutoffs = {}
    for lang in langs:
        lo, hi = scored.filter(F.col("lang") == lang).approxQuantile("ppl", q, 1e-3)
        cutoffs[lang] = (lo, hi)
    bucket = F.lit(None).cast("string")
    for lang, (lo, hi) in cutoffs.items():
        bucket = F.when((F.col("lang") == lang) & F.col("ppl").isNotNull(),
                        F.when(F.col("ppl") <= lo, "head").when(F.col("ppl") <= hi, "middle").otherwise("tail")
                        ).otherwise(bucket)
    df = df.withColumn("ppl_bucket", bucket)
    # Histograms from a deterministic sample of at most ~20k values per language.
    sample = (df.filter(F.col("ppl_bucket").isNotNull())
              .withColumn("_h", F.abs(F.xxhash64("id")) % 1000)
              .withColumn("_n", F.count("*").over(Window.partitionBy("lang"))))
    rows = sample.filter(F.col("_h") < F.greatest(F.lit(1), F.lit(20_000_000) / F.col("_n"))).select("lang", "ppl").collect()
    values: dict[str, list[float]] = {}
    for r in rows:
        values.setdefault(r.lang, []).append(r.ppl)
    w = Window.partitionBy("lang", "ppl_bucket").orderBy("id")
    ex: dict[str, dict[str, list[str]]] = {}
    for r in (df.filter(F.col("ppl_bucket").isNotNull() & (F.col("decision") == "kept"))
              .withColumn("_rn", F.row_number().over(w)).filter(F.col("_rn") <= examples)
              .orderBy("lang", "ppl_bucket", "id").select("lang", "ppl_bucket", F.substring("text", 1, 1000).alias("t")).collect()):
        ex.setdefault(r.lang, {}).setdefault(r.ppl_bucket, []).append(r.t)
    perplexity_report(values, cutoffs, ex, report_dir)
    log("perplexity buckets (head <= lo < middle <= hi < tail): "
        + ", ".join(f"{l}: {lo:.0f} / {hi:.0f}" for l, (lo, hi) in cutoffs.items()))
    return df


def _log_stage_counts(df, stages: list[str]) -> None:
    counts = {(r.stage, r.decision): r["count"] for r in df.groupBy("stage", "decision").count().collect()}
    alive = df.count()
    for s in stages:
        rej, qua = counts.get((s, "rejected"), 0), counts.get((s, "quarantined"), 0)
        log(f"  {s:<12} in {alive:>9,}  rejected {rej:>8,}  quarantined {qua:>6,}")
        alive -= rej + qua


def write_funnel_report(report: Path, funnel, reasons, everything, k: int, cfg: Config) -> None:
    from pyspark.sql import Window
    from pyspark.sql import functions as F

    from pipeline.report import write_examples, write_funnel

    w = Window.partitionBy("stage", "reason").orderBy("id")
    ex = (everything.filter(F.col("decision") != "kept").withColumn("_rn", F.row_number().over(w))
          .filter(F.col("_rn") <= k).select("id", "stage", "reason", "decision", "lang",
                                            F.substring("text", 1, 2000).alias("text")).collect())
    write_funnel(funnel, report, extra={"reasons": reasons, "config_sources": list(cfg.sources)})
    write_examples([r.asDict() for r in ex], report / "examples")


def _rm(spark, path: str) -> None:
    jvm = spark._jvm
    p = jvm.org.apache.hadoop.fs.Path(path)
    p.getFileSystem(spark._jsc.hadoopConfiguration()).delete(p, True)


if __name__ == "__main__":
    sys.exit(main())
