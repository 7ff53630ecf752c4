"""The corpus build's steps: each takes the DataFrame of documents still in
the corpus and returns the documents it keeps plus the ledger rows it
decided. ``jobs/filter.py`` reads, runs ``STEPS`` in order, writes, reports.

  Step                 config                        funnel stages
  DuplicateIds         -                             read
  RowCascade           [cascade] stages              its stages (langid ...)
  CoherenceSplit       [coherence]                   coherence_split
  Dedup                [dedup] stages                paragraph_dedup ...
  RowCascade (post)    [cascade] post_dedup_stages   its stages (safety)
  PerplexityBuckets    [output] perplexity_*         -

A new step (topics, clusters) is a class with ``run`` (and ``annotate`` if
it needs every ledger row, as the perplexity buckets do), one entry in
``STEPS`` and one config section. A step whose stages are switched off in
the config returns the documents unchanged.

Documents: the reader's columns (``id``, ``text``, ``url``, ``source``,
``source_file``, ``offset``, ``meta``), ``n_chars_in``, and the columns the
steps add (scores, ``lang``, ``edits``, ``parent_id``). Ledger rows: the
same columns plus ``decision``, ``stage``, ``reason`` (pipeline/decisions.py)
and a step's own (``duplicate_of``).
"""
from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

from jobs.common import log, split_duplicate_ids
from pipeline.config import Config
from pipeline.decisions import (DECISION_COLUMNS, DUPLICATE_ID, KEPT, PART_PREFIX, QUARANTINED, READ_STAGE, REJECTED,
                                SPLIT_INTO_PARTS, SPLIT_STAGE)


@dataclass
class Context:
    """What every step may use: the session, the config, a scratch dir for
    intermediates (``materialize``) and the report dir."""

    spark: object
    cfg: Config
    work: str
    report: Path
    input_ids: object = None  # every id the read stage gave (set by read_records): derived ids must avoid them

    def materialize(self, df, name: str):
        """Write an intermediate and read it back: later actions reuse it
        instead of recomputing what produced it."""
        path = f"{self.work}/{name}"
        df.write.mode("overwrite").parquet(path)
        return self.spark.read.parquet(path)


@dataclass
class StepResult:
    docs: object                       # documents still in the corpus
    ledger: object | None = None       # rows this step decided (documents + decision, stage, reason)
    stages: list[str] = field(default_factory=list)  # the funnel stages it ran, in order
    report: Callable[[Path], None] | None = None     # writes its part of report/


class Step:
    """One step of the corpus build (see the module docstring)."""

    name: str = "step"
    # Funnel stage at which derived documents (``parent_id`` set) enter.
    derived_stage: str | None = None

    def run(self, ctx: Context, docs) -> StepResult:
        raise NotImplementedError

    def annotate(self, ctx: Context, rows):
        """Called with every ledger row once all steps ran; returns them
        (with columns added). Default: unchanged."""
        return rows


# ------------------------------------------------------------- Spark glue --
def spark_schema(arrow_schema):
    from pyspark.sql.pandas.types import from_arrow_schema

    return from_arrow_schema(arrow_schema)


def arrow_schema(df):
    import pyarrow as pa
    from pyspark.sql.pandas.types import to_arrow_type

    return pa.schema([pa.field(f.name, to_arrow_type(f.dataType)) for f in df.schema])


def decide(df, decision: str, stage: str, reason: str):
    """Ledger rows: ``df``'s documents with one decision."""
    from pyspark.sql import functions as F

    return (df.withColumn("decision", F.lit(decision)).withColumn("stage", F.lit(stage))
              .withColumn("reason", F.lit(reason)))


def split_decided(df):
    """(documents still kept, without the decision columns; decided rows)."""
    from pyspark.sql import functions as F

    kept = F.col("decision") == KEPT
    return df.filter(kept).drop(*DECISION_COLUMNS), df.filter(~kept)


# ------------------------------------------------------------------ reading --
def read_records(ctx: Context, files: list[str], strict: bool):
    """Every record of ``files``: ``(documents, rows the readers
    quarantined)``. Files are packed into read tasks by size
    (``[read] task_bytes``, ``file_cost_bytes``; pipeline/readers
    ``pack_files``), each task reading its files in input order: 500 small
    files are a few tasks, not 500 (the per-task cost dominated their read).
    Each file is still read on its own, so an unreadable file is one
    quarantined row (``read_or_quarantine``), or fails the job with
    ``strict``."""
    from pyspark.sql import functions as F

    from pipeline.readers import READ_SCHEMA
    from pipeline.readers.base import ReadOptions, file_sizes, pack_files

    read_cfg = {**ctx.cfg.section("read"), "strict": strict}
    opts = ReadOptions(read_cfg)
    sc = ctx.spark.sparkContext
    tasks = pack_files(files, file_sizes(files), opts.task_bytes, opts.file_cost_bytes, sc.defaultParallelism)
    log(f"read: {len(files)} files in {len(tasks)} tasks")

    def read_partition(batches):
        from pipeline.readers import read_or_quarantine

        for b in batches:
            for paths in b.column("paths").to_pylist():
                for path in paths:
                    yield from read_or_quarantine(path, read_cfg)

    # One element per slice: parallelize cuts a list of n elements into n
    # slices of one, so each task reads exactly one packed group.
    paths = sc.parallelize([(t,) for t in tasks], max(1, len(tasks))).toDF("paths array<string>")
    records = paths.mapInArrow(read_partition, spark_schema(READ_SCHEMA))
    records = records.withColumn("n_chars_in", F.coalesce(F.length("text"), F.lit(0)).cast("long"))
    records = ctx.materialize(records, "read")
    ctx.input_ids = records.select("id").where(F.col("id").isNotNull()).distinct()
    return split_decided(records)


# -------------------------------------------------------------------- steps --
class DuplicateIds(Step):
    """pipeline/decisions.py's rule: the first record of an id keeps it; a
    later one is quarantined at ``read`` as ``duplicate_id``."""

    name = "duplicate_ids"

    def run(self, ctx, docs):
        first, later = split_duplicate_ids(docs)
        return StepResult(first, decide(later, QUARANTINED, READ_STAGE, DUPLICATE_ID), [READ_STAGE])


def run_cascade(docs, names: list[str], cfg: Config, **relabel):
    """Yi's row-local stages (pipeline/cascade.py) over Arrow batches: the
    documents with their scores and decision columns."""
    from pipeline.cascade import build_stages, output_schema, stage_class

    build_stages(names, cfg)  # fail fast on the driver (e.g. "run `make scorers`"), not per row
    schema = output_schema(arrow_schema(docs), [stage_class(n) for n in names])

    def cascade_partition(batches):
        from pipeline.cascade import build_stages, run_batch

        stages = build_stages(names, cfg)
        for b in batches:
            yield run_batch(b, stages, schema, **relabel)

    return docs.mapInArrow(cascade_partition, spark_schema(schema))


class RowCascade(Step):
    """The row-local stages named by ``[cascade] <key>``, in order."""

    def __init__(self, key: str):
        self.key = key
        self.name = f"cascade.{key}"

    def run(self, ctx, docs):
        names = list(ctx.cfg.get(self.name, []))
        if not names:
            return StepResult(docs)
        docs, decided = split_decided(ctx.materialize(run_cascade(docs, names, ctx.cfg), self.key))
        _log_counts(decided, names)
        return StepResult(docs, decided, names)


class CoherenceSplit(Step):
    """Yi's coherence step splits a document at its incoherent boundaries
    (pipeline/coherence.py marks them; documents with too many were already
    dropped). Each part becomes a new document ``<id>-p<k>`` with
    ``parent_id`` and goes through the length rules (heuristics; a part that
    fails is rejected at ``coherence_split`` as ``part_<reason>``; with
    heuristics switched off in ``[cascade] stages``, parts are not judged);
    the parent is rejected at ``coherence`` as ``split_into_parts``. Runs
    when the coherence stage did (its ``coh_breaks`` column is there)."""

    name = "coherence_split"
    derived_stage = SPLIT_STAGE

    def run(self, ctx, docs):
        from pyspark.sql import functions as F

        from pipeline.cascade import output_schema, stage_class

        if "coh_breaks" not in docs.columns:
            return StepResult(docs)
        docs = docs.withColumn("parent_id", F.lit(None).cast("string"))
        rule_names = ["heuristics"] if "heuristics" in ctx.cfg.get("cascade.stages", []) else []
        rule_types = [stage_class(n) for n in rule_names]
        rescored = [c for t in rule_types for c in t.score_columns if c in docs.columns]
        cand = docs.filter(F.col("coh_breaks") > 0).drop(*rescored)
        in_schema = arrow_schema(cand)
        schema = output_schema(in_schema, rule_types)
        coh_cfg, cfg = ctx.cfg.section("coherence"), ctx.cfg

        def split_partition(batches):
            import pyarrow as pa

            from pipeline.cascade import build_stages, run_batch
            from pipeline.coherence import CoherenceScorer, split_document
            from pipeline.document import Document

            scorer = CoherenceScorer(**coh_cfg)
            rules = build_stages(rule_names, cfg)
            for b in batches:
                out = []
                for row in b.to_pylist():
                    parts = split_document(Document(id=row["id"], text=row["text"], lang=row["lang"]), scorer)
                    for k, part in enumerate(parts if len(parts) > 1 else []):
                        out.append({**row, "id": f"{row['id']}-p{k}", "text": part, "parent_id": row["id"],
                                    "n_chars_in": len(part)})
                if out:
                    yield run_batch(pa.RecordBatch.from_pylist(out, schema=in_schema), rules, schema,
                                    as_stage=SPLIT_STAGE, reason_prefix=PART_PREFIX)

        parts = ctx.materialize(cand.mapInArrow(split_partition, spark_schema(schema)), "split")
        parts = _avoid_input_ids(ctx, parts)
        kept_parts, rejected_parts = split_decided(parts)
        parents = parts.select(F.col("parent_id").alias("id")).distinct()
        split = decide(docs.join(parents, "id", "left_semi"), REJECTED, stage_class("coherence").name,
                       SPLIT_INTO_PARTS)
        n_split, n_parts, n_rejected = split.count(), parts.count(), rejected_parts.count()
        log(f"  {SPLIT_STAGE:<12} {n_split:,} documents split into {n_parts:,} parts, {n_rejected:,} parts rejected")
        docs = docs.join(parents, "id", "left_anti").unionByName(kept_parts)
        return StepResult(docs, split.unionByName(rejected_parts), [SPLIT_STAGE])


def _avoid_input_ids(ctx, parts):
    """A part is ``<id>-p<k>``, unless an input record already holds that id
    (ids are the input's, any string): then ``<id>-p<k>~<16 hex of
    sha256(parent id, part text)>``, so that ids stay unique in the ledger
    and the corpus (pipeline/decisions.py)."""
    from pyspark.sql import functions as F

    if ctx.input_ids is None:
        return parts
    taken = parts.select("id").join(ctx.input_ids, "id", "left_semi")
    if not taken.limit(1).count():
        return parts
    log(f"  {SPLIT_STAGE:<12} {taken.count():,} part ids were input ids too: they get a content-hash suffix")
    cols = parts.columns
    suffix = F.substring(F.sha2(F.concat_ws("\x00", "parent_id", "text"), 256), 1, 16)
    return (parts.join(taken.withColumn("_taken", F.lit(True)), "id", "left")
            .withColumn("id", F.when(F.col("_taken"), F.concat("id", F.lit("~"), suffix)).otherwise(F.col("id")))
            .select(*cols))


class Dedup(Step):
    """Yi's dedup cascade (jobs/dedup.py) with the stages of ``[dedup] stages``."""

    name = "dedup"

    def run(self, ctx, docs):
        from jobs.dedup import STAGE_NAMES, run_dedup

        names = list(ctx.cfg.get("dedup.stages", []))
        if not names:
            return StepResult(docs)
        res = run_dedup(ctx.spark, docs, ctx.cfg, names)
        return StepResult(res.kept, res.decided, [STAGE_NAMES[n] for n in names],
                          report=lambda report: res.write_report(str(report / "dedup")))


class PerplexityBuckets(Step):
    """cc_net's head/middle/tail buckets: cut-offs are per-language
    percentiles (``[output] perplexity_bucket_percentiles``) of ``ppl`` over
    every scored ledger row (approxQuantile, relative error 1e-3); each row
    gets ``ppl_bucket`` (pipeline/perplexity.py ``bucket_of``), and
    report/perplexity/ the histograms and examples per bucket."""

    name = "perplexity_buckets"
    examples = 3

    def run(self, ctx, docs):
        return StepResult(docs)

    def annotate(self, ctx, rows):
        from pyspark.sql import Window
        from pyspark.sql import functions as F
        from pyspark.sql import types as T

        from pipeline.perplexity import perplexity_report

        if "ppl" not in rows.columns:
            return rows
        lo_pct, hi_pct = ctx.cfg.get("output.perplexity_bucket_percentiles")
        scored = rows.filter(F.col("ppl").isNotNull() & F.col("lang").isNotNull())
        langs = sorted(r.lang for r in scored.select("lang").distinct().collect())
        cutoffs = {}
        for lang in langs:
            lo, hi = scored.filter(F.col("lang") == lang).approxQuantile("ppl", [lo_pct / 100.0, hi_pct / 100.0], 1e-3)
            cutoffs[lang] = (lo, hi)

        def bucket_partition(batches):
            import pyarrow as pa

            from pipeline.perplexity import bucket_of

            for b in batches:
                buckets = [bucket_of(p, cutoffs.get(lang)) for p, lang in
                           zip(b.column("ppl").to_pylist(), b.column("lang").to_pylist())]
                yield pa.RecordBatch.from_arrays(b.columns + [pa.array(buckets, pa.string())],
                                                 names=b.schema.names + ["ppl_bucket"])

        rows = rows.mapInArrow(bucket_partition,
                               T.StructType(rows.schema.fields + [T.StructField("ppl_bucket", T.StringType())]))
        # Histograms from a deterministic sample of at most ~20k values per language.
        sample = (rows.filter(F.col("ppl_bucket").isNotNull())
                  .withColumn("_h", F.abs(F.xxhash64("id")) % 1000)
                  .withColumn("_n", F.count("*").over(Window.partitionBy("lang"))))
        values: dict[str, list[float]] = {}
        for r in sample.filter(F.col("_h") < F.greatest(F.lit(1), F.lit(20_000_000) / F.col("_n"))).select(
                "lang", "ppl").collect():
            values.setdefault(r.lang, []).append(r.ppl)
        w = Window.partitionBy("lang", "ppl_bucket").orderBy("id")
        ex: dict[str, dict[str, list[str]]] = {}
        for r in (rows.filter(F.col("ppl_bucket").isNotNull() & (F.col("decision") == KEPT))
                  .withColumn("_rn", F.row_number().over(w)).filter(F.col("_rn") <= self.examples)
                  .orderBy("lang", "ppl_bucket", "id")
                  .select("lang", "ppl_bucket", F.substring("text", 1, 1000).alias("t")).collect()):
            ex.setdefault(r.lang, {}).setdefault(r.ppl_bucket, []).append(r.t)
        perplexity_report(values, cutoffs, ex, ctx.report / "perplexity")
        log("perplexity buckets (head <= lo < middle <= hi < tail): "
            + ", ".join(f"{lang}: {lo:.0f} / {hi:.0f}" for lang, (lo, hi) in cutoffs.items()))
        return rows


# The corpus build, in order (Yi, arXiv 2403.04652 Fig. 2: the row-local
# cascade, dedup, then safety).
STEPS: list[Step] = [DuplicateIds(), RowCascade("stages"), CoherenceSplit(), Dedup(),
                     RowCascade("post_dedup_stages"), PerplexityBuckets()]


def _log_counts(decided, names: list[str]) -> None:
    counts = {(r.stage, r.decision): r["count"] for r in decided.groupBy("stage", "decision").count().collect()}
    for s in names:
        log(f"  {s:<12} rejected {counts.get((s, REJECTED), 0):>8,}  quarantined {counts.get((s, QUARANTINED), 0):>6,}")
