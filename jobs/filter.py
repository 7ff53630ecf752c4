"""The corpus build: raw web text → Yi's cascade → Parquet shards + ledger.

  spark-submit jobs/filter.py --input IN [IN ...] --output OUT [--config FILE] [--strict]
  python jobs/filter.py --input data/sample --output out/demo        # local[*]

IN: files or directories of WARC / WET / JSONL(.gz/.zst) / Parquet.
OUT:
  corpus/      kept documents, Parquet (zstd), in lang=xx/ folders (and a lang column)
  ledger/      one row per input record: where it ended and why, with scores
  quarantine/  records that could not be judged (bad input), with reasons
  report/      funnel.json / funnel.md / funnel.png, examples/<stage>.md,
               dedup report (report/dedup/)
  _MANIFEST.json  written last: config hash, inputs, counts, every file
               with its size and sha256 (python -m jobs.common verify OUT)

OUT must be new, empty or an earlier output of this job (else --overwrite);
it may not overlap an input. The run is written to OUT/.staging-<run>/ and
published at the end (jobs/common.py StagedOutput): a failed or killed run
leaves the previous output as it was.
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

from jobs.common import (OutputError, StagedOutput, _is_remote, check_output, config_sha256, inputs_summary, log,
                         spark_session, write_parquet)
from jobs.steps import STEPS, Context, read_records
from pipeline.config import Config, load_config
from pipeline.decisions import DECISION_COLUMNS, KEPT, OUTPUT_STAGE, QUARANTINED, READ_STAGE, UNREADABLE_FILE
from pipeline.ledger import LedgerBroken, check_invariant, compute_funnel

JOB = "corpus-build"
LEDGER_DROP = ("text", "meta")
CORPUS_DROP = (*DECISION_COLUMNS, "duplicate_of", "n_chars_out")


def parse_args(argv=None):
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--input", nargs="+", required=True, help="input files or directories")
    p.add_argument("--output", required=True, help="output directory")
    p.add_argument("--config", help="TOML file overriding config/default.toml")
    p.add_argument("--strict", action="store_true", help="fail on an unreadable input file")
    p.add_argument("--master", help="Spark master (default: spark-submit's, else local[*])")
    p.add_argument("--keep-work", action="store_true", help="keep OUT/_work intermediates")
    p.add_argument("--overwrite", action="store_true",
                   help="replace the contents of a non-empty OUT that is not an earlier output of this job")
    return p.parse_args(argv)


def union_ledger(frames: list):
    """One ledger from the steps' rows (in step order). Columns: in the
    order the steps add them, each frame's new columns in its own order;
    frames that add nothing beyond the reader's columns and the decision
    columns (the reader's and the duplicate-id rule's rows) are laid last, so
    the decision columns follow the row cascade's scores as it writes them.
    A column a frame lacks is null there."""
    from functools import reduce

    from pipeline.readers import READ_SCHEMA

    intake = set(READ_SCHEMA.names) | {"n_chars_in"}
    ordered = [f for f in frames if not set(f.columns) <= intake] + [f for f in frames if set(f.columns) <= intake]
    cols: list[str] = []
    for f in ordered:
        cols += [c for c in f.columns if c not in cols]
    return reduce(lambda a, b: a.unionByName(b, allowMissingColumns=True), ordered).select(*cols)


def records_per_file(df) -> dict[str, int]:
    """source_file -> rows of ``df`` (the readers' output: one row per
    record read, one per unreadable file)."""
    from pyspark.sql import functions as F

    return {r.source_file: r.n for r in df.groupBy("source_file").agg(F.count("*").alias("n")).collect()}


def ledger_rows_per_file(ledger) -> tuple[dict[str, tuple[int, int]], int]:
    """(source_file -> (ledger rows of input records from it, distinct
    offsets among them), rows of parts of split documents): what
    ``check_invariant`` compares with ``records_per_file``."""
    from pyspark.sql import functions as F

    part = F.col("parent_id").isNotNull() if "parent_id" in ledger.columns else F.lit(False)
    files: dict[str, tuple[int, int]] = {}
    parts = 0
    for r in ledger.groupBy("source_file", part.alias("part")).agg(
            F.count("*").alias("n"), F.countDistinct("offset").alias("offsets")).collect():
        if r.part:
            parts += r.n
        else:
            files[r.source_file] = (r.n, r.offsets)
    return files, parts


def main(argv=None) -> int:
    args = parse_args(argv)
    from pipeline.readers import list_inputs

    cfg = load_config(args.config)
    try:
        files, skipped = list_inputs(args.input)
    except FileNotFoundError as e:
        log(f"ERROR {e}")
        return 2
    for s in skipped:
        log(f"WARNING not an input format, skipped: {s}")
    if not files:
        log(f"ERROR no input files under {args.input}")
        return 2
    try:   # before any work: nothing is read, started or written when OUT is refused
        if _is_remote(args.output):
            raise OutputError(f"{args.output}: the corpus build writes its report and intermediates as files: give "
                              "a local path (on a cluster, one every node mounts)")
        check_output(args.output, [*args.input, *files], job=JOB, overwrite=args.overwrite, spark_paths=True)
        staged = StagedOutput(args.output, JOB).open()
    except OutputError as e:
        log(f"ERROR {e}")
        return 2
    try:
        manifest, parquet = build(args, cfg, files, staged)
        staged.publish(manifest, parquet, keep_work=args.keep_work)
    finally:
        staged.close(keep=args.keep_work)
    out = args.output.rstrip("/")
    log(f"corpus shards: {out}/corpus   ledger: {out}/ledger   quarantine: {out}/quarantine")
    log(f"funnel: {out}/report/funnel.png  ({out}/report/funnel.md, examples in {out}/report/examples/)")
    log(f"manifest: {out}/_MANIFEST.json")
    return 0


def build(args, cfg: Config, files: list[str], staged: StagedOutput) -> tuple[dict, dict]:
    """The run itself, every file under the staging directory; returns the
    manifest's fields and the Parquet files' sizes and hashes."""
    from pyspark.sql import functions as F

    out = staged.path()
    report = Path(staged.path("report"))
    spark = spark_session("yi-corpus-build", master=args.master)
    ctx = Context(spark, cfg, staged.path("_work"), report)
    log(f"read: {len(files)} files on {spark.sparkContext.master}")
    docs, read_rows = read_records(ctx, files, args.strict or cfg.get("read.strict"))
    for row in read_rows.filter(F.col("reason").startswith(UNREADABLE_FILE)).select("source_file", "reason").collect():
        log(f"ERROR {row.source_file}: {row.reason}")
    # the readers' count per file, before any step: the ledger must match it
    read_kept, read_quarantined = records_per_file(docs), records_per_file(read_rows)
    read_counts = {f: read_kept.get(f, 0) + read_quarantined.get(f, 0) for f in {*read_kept, *read_quarantined}}
    n_in, n_quarantined = sum(read_counts.values()), sum(read_quarantined.values())
    log(f"read: {n_in:,} records, {n_quarantined:,} quarantined")

    ledgers, stage_order, reports = [read_rows], [READ_STAGE], []
    for step in STEPS:
        res = step.run(ctx, docs)
        docs = res.docs
        if res.ledger is not None:
            ledgers.append(res.ledger)
        stage_order += [s for s in res.stages if s not in stage_order]
        if res.report is not None:
            reports.append(res.report)
    corpus_rows = docs.withColumn("decision", F.lit(KEPT)).withColumn("stage", F.lit(OUTPUT_STAGE)) \
        .withColumn("reason", F.lit(None).cast("string"))
    everything = union_ledger(ledgers + [corpus_rows]).withColumn(
        "n_chars_out", F.when(F.col("decision") == KEPT, F.length("text")).otherwise(F.lit(0)).cast("long"))
    everything = ctx.materialize(everything, "final")
    for step in STEPS:
        everything = step.annotate(ctx, everything)

    # the ledger against the readers' counts, before anything is written
    counts = [r.asDict() for r in everything.groupBy("stage", "decision", "lang").agg(
        F.count("*").alias("docs"), F.sum("n_chars_in").alias("chars")).collect()]
    derived = {}
    for step in STEPS:
        if step.derived_stage in stage_order and "parent_id" in everything.columns:
            derived[step.derived_stage] = {
                r.lang: (r.docs, r.chars) for r in everything.filter(F.col("parent_id").isNotNull())
                .groupBy("lang").agg(F.count("*").alias("docs"), F.sum("n_chars_in").alias("chars")).collect()}
    funnel = compute_funnel(counts, stage_order, derived or None)
    ledger_files, parts = ledger_rows_per_file(everything)
    decisions: dict = {}
    for c in counts:  # every ledger row counted by its own decision value
        decisions[c["decision"]] = decisions.get(c["decision"], 0) + c["docs"]
    check_invariant(read_counts, ledger_files, decisions, parts, funnel)

    ocfg = cfg.section("output")
    rg = ocfg["row_group_bytes"]
    corpus = everything.filter(F.col("decision") == KEPT).drop(*[c for c in CORPUS_DROP if c in everything.columns])
    written: dict[str, list] = {"corpus": [], "ledger": [], "quarantine": []}
    rows = {"corpus": write_parquet(spark, corpus, f"{out}/corpus", partition_by=["lang"], partitions=ocfg["partitions"],
                                    max_records_per_file=ocfg["shard_docs"], compression=ocfg["compression"],
                                    row_group_bytes=rg, files_out=written["corpus"])}
    rows["ledger"] = write_parquet(spark, everything.drop(*LEDGER_DROP), f"{out}/ledger", partitions=2,
                                   compression=ocfg["compression"], row_group_bytes=rg, files_out=written["ledger"])
    quarantine = everything.filter(F.col("decision") == QUARANTINED).select(
        "id", "source_file", "offset", "stage", "reason", F.substring("text", 1, 10_000).alias("text"), "meta")
    rows["quarantine"] = write_parquet(spark, quarantine, f"{out}/quarantine", partitions=1,
                                       compression=ocfg["compression"], row_group_bytes=rg,
                                       files_out=written["quarantine"])
    if rows["ledger"] != n_in + parts:
        raise LedgerBroken(f"{rows['ledger']} ledger rows written for {n_in} records read + {parts} parts")

    reasons = [r.asDict() for r in everything.filter(F.col("decision") != KEPT)
               .groupBy("stage", "decision", "reason").count().orderBy("stage", "decision", "reason").collect()]
    write_funnel_report(report, funnel, reasons, everything, int(ocfg["examples_per_reason"]), cfg)
    for write in reports:
        write(report)
    log(f"done: {n_in:,} records (+{funnel.total_derived:,} parts of split documents) -> kept {funnel.total_kept:,}, rejected "
        f"{funnel.total_rejected:,}, quarantined {funnel.total_quarantined:,}")
    manifest = {
        "config_sha256": config_sha256(cfg), "config_sources": list(cfg.sources),
        "inputs": inputs_summary(args.input, files), "options": {"strict": bool(args.strict)},
        "counts": {"input": n_in, "derived": funnel.total_derived, "kept": funnel.total_kept,
                   "rejected": funnel.total_rejected, "quarantined": funnel.total_quarantined,
                   "corpus_rows": rows["corpus"], "ledger_rows": rows["ledger"], "quarantine_rows": rows["quarantine"]},
    }
    parquet = {f"{part}/{f['file']}": f for part, fs in written.items() for f in fs}
    return manifest, parquet


def write_funnel_report(report: Path, funnel, reasons, everything, k: int, cfg: Config) -> None:
    from pyspark.sql import Window
    from pyspark.sql import functions as F

    from pipeline.report import write_examples, write_funnel

    w = Window.partitionBy("stage", "reason").orderBy("id")
    ex = (everything.filter(F.col("decision") != KEPT).withColumn("_rn", F.row_number().over(w))
          .filter(F.col("_rn") <= k).select("id", "stage", "reason", "decision", "lang",
                                            F.substring("text", 1, 2000).alias("text")).collect())
    write_funnel(funnel, report, extra={"reasons": reasons, "config_sources": list(cfg.sources)})
    write_examples([r.asDict() for r in ex], report / "examples")


if __name__ == "__main__":
    sys.exit(main())
