"""Yi's dedup cascade on Spark: paragraph, MinHash-LSH, exact, substring.

  spark-submit [--master spark://...] jobs/dedup.py --input IN --output OUT \
      [--config FILE] [--stages paragraph minhash exact substring]
  python jobs/dedup.py --input IN --output OUT        # local[*]

IN is Parquet with at least ``id`` and ``text``; every other column is
carried through unchanged. OUT gets ``corpus/`` (kept documents, same
columns), ``clusters/`` (id, cluster_id, cluster_size, kept, duplicate_of,
stage), ``ledger/`` (id, stage, decision, reason, duplicate_of: one row per
input row) and ``report/``. ``jobs/filter.py`` calls ``run_dedup`` directly
(jobs/steps.py ``Dedup``) and takes ``DedupResult.decided``: the whole input
rows of what was decided, with stage, decision, reason, duplicate_of.

How the stages see each other (measured on held-out real text, issue 12):
  * MinHash and exact judge a document by the text it *entered* the cascade
    with (carried as ``_text0``), never by what paragraph dedup left of it:
    a near-duplicate stripped of the paragraphs it shares with its source no
    longer looks like it, and an exact copy stripped of all of them is no
    longer a copy. So the document stages that follow the paragraph stage
    decide first (their verdicts do not depend on its cuts), and the
    paragraph stage then works on the documents they keep: a document they
    remove is a near/exact duplicate with ``duplicate_of`` set even if
    paragraph dedup would have left it too short; a kept document that
    paragraph dedup leaves below ``min_tokens`` is rejected as the paragraph
    stage's ``too_short_after_paragraph_dedup``. The ledger names the stages
    in Yi's order, and the per-stage counts are ledger counts (a stage's
    ``in`` is what the stages before it in the ledger left).
  * One survivor order (``_o``: highest quality, longest entering text,
    smallest id), computed once, picks the survivor of a MinHash or exact
    cluster. The copy of a repeated paragraph or shared span that stays is
    the one of the document with the highest quality, then the smallest id
    (length left out: see ``_with_rank``), among the documents the document
    stages keep: the document a cluster keeps keeps its paragraphs, and a
    paragraph is never left only in a removed duplicate. (A survivor whose
    paragraphs all live in other survivors can still be rejected as too
    short; its duplicates then point to it.)
  * The corpus keeps the cut text; ``decided`` the whole input rows.

Rows that cannot be judged are quarantined at the first stage: no id
(``null_id``), no text (``null_text``), and an id that repeats: the first
copy in input order keeps it, every later one is ``duplicate_id`` (the rule
of pipeline/decisions.py, the same in jobs/filter.py).

Everything that is not Spark (hashing, shingling, signatures, span cutting)
lives in ``pipeline/dedup``; here are only DataFrame operations, chosen so
that no executor ever holds a whole bucket, cluster or edge list:
  * band buckets and paragraph / window groups are hash aggregates (min id,
    count), then a join back: a bucket shared by 100,000 documents is O(1)
    state per key, and gives two edges per member (to the min id and to the
    previous id: a spillable sorted window), never a list of members;
  * connected components: large-star / small-star (Kiveris et al. 2014) on
    DataFrames, lineage truncated by a checkpoint every round;
  * survivors: ``min(struct(-quality, -length, id))`` per cluster; the
    paragraph / span copy that stays: ``min(struct(-quality, id))`` per
    paragraph / window hash.
All ids are the input's; every choice (first occurrence, survivor, root) is
a minimum over a total order, so reruns, retries and clusters give the same
bytes.
"""
from __future__ import annotations

import argparse
import json
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Iterator

import pyarrow as pa
from pyspark.sql import Column, DataFrame, Window, functions as F, types as T

from jobs.common import (MANIFEST, OutputError, StagedOutput, _is_remote, check_output, config_sha256, log,
                         spark_session, split_duplicate_ids, write_parquet)
from pipeline.config import Config, load_config
from pipeline.decisions import (DUPLICATE_ID, EXACT_DUPLICATE, KEPT, NEAR_DUPLICATE, NULL_ID,
                                NULL_TEXT, QUARANTINED, REJECTED, STILL_KEPT)
from pipeline.dedup.minhash import MinHasher
from pipeline.dedup.paragraph import ParagraphDedup
from pipeline.dedup.substring import SubstringDedup

JOB = "dedup"
STAGE_NAMES = {"paragraph": "paragraph_dedup", "minhash": "minhash_dedup",
               "exact": "exact_dedup", "substring": "substring_dedup"}
LEDGER_SCHEMA = "id string, stage string, decision string, reason string, duplicate_of string"
CLUSTER_COLS = ["id", "cluster_id", "cluster_size", "kept", "duplicate_of", "stage"]
DOC_STAGES = ("minhash", "exact")   # judge whole documents, on the text they entered the cascade with


# ----------------------------------------------------------------- helpers --
def _cut_lineage(df: DataFrame) -> DataFrame:
    """Materialize ``df`` and make it a leaf of later plans (reliable
    checkpoint when a checkpoint dir is set, else local): a stage's output is
    computed once, and plans stay small (persisted DataFrames joined with
    themselves stage after stage make plan strings grow exponentially)."""
    sc = df.sparkSession.sparkContext
    return df.checkpoint(eager=True) if sc.getCheckpointDir() else df.localCheckpoint(eager=True)


TEXT0, ORDER = "_text0", "_o"   # internal columns: the entering text, the survivor order key


def _survivor_order(df: DataFrame, quality_col: str | None) -> Column:
    """Smaller is better: highest quality (nulls last), then longest entering
    text, then id. Computed once, on the text a document entered the cascade
    with; every "which copy stays" choice of every stage is a minimum of it."""
    q = F.col(quality_col).cast("double") if quality_col and quality_col in df.columns else F.lit(None)
    return F.struct(F.coalesce(-q, F.lit(float("inf"))).alias("q"), (-F.length(TEXT0)).alias("l"),
                    F.col("id").alias("id"))


def _decided(df: DataFrame, stage: str, decision: str, reason: Column | str,
             duplicate_of: Column | None = None) -> DataFrame:
    return df.select(
        F.col("id").cast("string").alias("id"), F.lit(stage).alias("stage"), F.lit(decision).alias("decision"),
        (F.lit(reason) if isinstance(reason, str) else reason).cast("string").alias("reason"),
        (duplicate_of if duplicate_of is not None else F.lit(None)).cast("string").alias("duplicate_of"))


def _replace_text(batch: pa.RecordBatch, names: list[str], texts: list, reasons: list) -> pa.RecordBatch:
    cols = [pa.array(texts, type=batch.column(batch.schema.get_field_index("text")).type) if n == "text"
            else batch.column(batch.schema.get_field_index(n)) for n in names]
    return pa.RecordBatch.from_arrays(cols + [pa.array(reasons, type=pa.string())], names=names + ["_reason"])


# ------------------------------------------------------- connected components --
def _fingerprint(e: DataFrame) -> tuple:
    """(count, sum of 64-bit edge hashes): equal for equal edge sets, and
    different for different ones but with probability ~2^-64."""
    r = e.agg(F.count("*").alias("n"), F.sum(F.xxhash64("a", "b").cast("decimal(38,0)")).alias("s")).first()
    return r["n"], r["s"]


def connected_components(edges: DataFrame, max_rounds: int = 64) -> DataFrame:
    """(id, root) for every node of the undirected graph ``edges`` (src, dst):
    root = smallest id of its component. Large-star / small-star, each round
    two aggregations and joins; stops when a round changes no edge."""
    e = edges.select(F.least("src", "dst").alias("a"), F.greatest("src", "dst").alias("b")) \
        .where(F.col("a") != F.col("b")).distinct()
    e = _cut_lineage(e)
    prev = _fingerprint(e)
    for _ in range(max_rounds):
        # large-star: every neighbour v > u of u links to min(N(u) + u)
        both = e.select(F.col("a").alias("u"), F.col("b").alias("v")).unionByName(
            e.select(F.col("b").alias("u"), F.col("a").alias("v")))
        m = both.groupBy("u").agg(F.min("v").alias("mv")).select("u", F.least("u", "mv").alias("m"))
        large = both.where(F.col("v") > F.col("u")).join(m, "u") \
            .select(F.least("v", "m").alias("a"), F.greatest("v", "m").alias("b")).where("a != b").distinct()
        # small-star: u and its neighbours v < u link to min(N-(u) + u)
        sm = large.groupBy("b").agg(F.min("a").alias("m"))
        small = large.join(sm, "b").select(F.col("a").alias("x"), "m") \
            .unionByName(sm.select(F.col("b").alias("x"), "m")) \
            .select(F.least("x", "m").alias("a"), F.greatest("x", "m").alias("b")).where("a != b").distinct()
        small = _cut_lineage(small)
        fp = _fingerprint(small)
        e, done, prev = small, fp == prev, fp
        if done:
            break
    else:
        raise RuntimeError(f"connected components did not converge in {max_rounds} rounds")
    # converged: stars, every non-root node b linked to its root a
    labels = e.groupBy("b").agg(F.min("a").alias("root")).select(F.col("b").alias("id"), "root")
    roots = e.select(F.col("a").alias("id")).distinct().join(labels.select("id"), "id", "left_anti") \
        .select("id", F.col("id").alias("root"))
    return labels.unionByName(roots)


# ------------------------------------------------------------------ stages --
@dataclass
class StageOut:
    kept: DataFrame
    decided: DataFrame
    clusters: DataFrame | None = None
    extra: dict = field(default_factory=dict)


def _remove_and_decide(docs: DataFrame, removals: DataFrame, col: str, remove, stage: str) -> tuple[DataFrame, DataFrame]:
    """Apply ``remove(text, items) -> (new_text, reject_reason)`` to every
    document with the items listed for it in ``removals[col]`` (joined on id):
    (kept documents with edited text, rejected rows of ``stage``)."""
    names = docs.columns

    def apply(batches: Iterator[pa.RecordBatch]) -> Iterator[pa.RecordBatch]:
        for b in batches:
            texts, reasons = [], []
            for t, items in zip(b.column("text").to_pylist(), b.column(col).to_pylist()):
                new, reason = remove(t, items or [])
                texts.append(new)
                reasons.append(reason)
            yield _replace_text(b, names, texts, reasons)

    schema = T.StructType(docs.schema.fields + [T.StructField("_reason", T.StringType())])
    out = _cut_lineage(docs.join(removals, "id", "left").mapInArrow(apply, schema))
    decided = _decided(out.where(F.col("_reason").isNotNull()), stage, REJECTED, F.col("_reason"))
    return out.where(F.col("_reason").isNull()).drop("_reason"), decided


RANK = "_rank"   # per paragraph / window row: struct(q) of ``_o``; with the row's id, the passage order


def _with_rank(schema: T.StructType, cols: str) -> T.StructType:
    """``cols`` (a DDL string) plus ``_rank``: the quality field of ``_o``.
    A shared paragraph or span stays in the document of the smallest
    ``struct(_rank, id)``: highest quality, then smallest id. Not the
    length: the longest host would take every shared passage and cut short
    hosts below ``min_tokens`` (tests/test_dedup_scale.py: with the length in
    the order, a 1 MB page kept the fortunes it shares with 1,361 short
    pages, and 392 of these were rejected as too short)."""
    fields = [f for f in schema[ORDER].dataType.fields if f.name == "q"]
    return T.StructType(T.StructType.fromDDL(cols).fields + [T.StructField(RANK, T.StructType(fields))])


def _take_rank(b: pa.RecordBatch, idx: list[int]) -> pa.Array:
    o = b.column(b.schema.get_field_index(ORDER))
    names = [o.type.field(k).name for k in range(o.type.num_fields) if o.type.field(k).name == "q"]
    take = pa.array(idx, pa.int64())
    return pa.StructArray.from_arrays([o.field(n).take(take) for n in names], names=names)


def paragraph_stage(docs: DataFrame, params: dict) -> StageOut:
    """a. Paragraph dedup (pipeline/dedup/paragraph.py) over the documents
    the document stages keep. The occurrence of a paragraph that stays is
    the one of the document of highest quality, then smallest id, then the
    first line (``_with_rank``)."""
    pd_ = ParagraphDedup(**params)

    def hashes(batches: Iterator[pa.RecordBatch]) -> Iterator[pa.RecordBatch]:
        for b in batches:
            ids, lines, hs, rows = [], [], [], []
            for r, (i, t) in enumerate(zip(b.column("id").to_pylist(), b.column("text").to_pylist())):
                ln, h = pd_.paragraph_hashes(t)
                ids += [i] * len(ln)
                lines += ln
                hs += h
                rows += [r] * len(ln)
            yield pa.RecordBatch.from_arrays(
                [pa.array(ids, pa.string()), pa.array(lines, pa.int32()), pa.array(hs, pa.int64()),
                 _take_rank(b, rows)], names=["id", "line", "h", RANK])

    paras = docs.select("id", "text", ORDER).mapInArrow(hashes, _with_rank(docs.schema, "id string, line int, h long"))
    first = paras.groupBy("h").agg(F.min(F.struct(RANK, "id", "line")).alias("f"))
    drops = paras.join(first.select("h", F.col("f.id").alias("fid"), F.col("f.line").alias("fline")), "h") \
        .where((F.col("id") != F.col("fid")) | (F.col("line") != F.col("fline"))) \
        .groupBy("id").agg(F.array_sort(F.collect_list("line")).alias("_drop"))

    kept, decided = _remove_and_decide(docs, drops, "_drop", pd_.remove, STAGE_NAMES["paragraph"])
    return StageOut(kept, decided)


def minhash_stage(docs: DataFrame, *, threshold: float, verify: bool,
                  bands: int, rows: int, ngram: int, seed: int) -> StageOut:
    """b. MinHash-LSH near-duplicate documents (pipeline/dedup/minhash.py):
    takes ``[dedup.minhash]`` as it is. ``threshold``: Jaccard of a
    near-duplicate pair; ``verify``: keep only candidate pairs whose exact
    Jaccard reaches it; the rest is ``MinHasher``'s banding. Judges the
    entering text (``_text0``); the survivor is the minimum of ``_o``."""
    threshold = float(threshold)
    hasher = MinHasher(bands=bands, rows=rows, ngram=ngram, seed=seed)

    def keys(batches: Iterator[pa.RecordBatch]) -> Iterator[pa.RecordBatch]:
        import numpy as np
        for b in batches:
            ids = np.asarray(b.column("id").to_pylist(), dtype=object)
            sig = hasher.signatures(b.column("text").to_pylist())
            ok = hasher.has_tokens(sig)
            k = hasher.band_keys(sig[ok])
            n = int(ok.sum())
            yield pa.RecordBatch.from_arrays(
                [pa.array(np.repeat(ids[ok], hasher.bands), type=pa.string()),
                 pa.array(np.tile(np.arange(hasher.bands, dtype=np.int32), n)),
                 pa.array(k.ravel())], names=["id", "band", "key"])

    bk = _cut_lineage(docs.select("id", F.col(TEXT0).alias("text")).mapInArrow(keys, "id string, band int, key long"))
    roots = bk.groupBy("band", "key").agg(F.min("id").alias("root"), F.count("*").alias("n")).where("n > 1")
    # In each bucket, edges to the bucket's min id (star) and to the previous
    # id (chain): O(n) rows per bucket, each alone enough for connected
    # components; both, so that an unrelated bucket minimum failing the
    # Jaccard check does not cut its true duplicates apart.
    members = bk.join(roots.drop("n"), ["band", "key"])
    prev = F.lag("id").over(Window.partitionBy("band", "key").orderBy("id"))
    cand = members.where(F.col("id") != F.col("root")).select(F.col("id").alias("src"), F.col("root").alias("dst")) \
        .unionByName(members.select(F.col("id").alias("src"), prev.alias("dst")).where(F.col("dst").isNotNull())) \
        .distinct()
    cand = _cut_lineage(cand)
    n_cand = cand.count()
    if verify:
        texts = docs.select("id", F.col(TEXT0).alias("text"))

        def jac(batches: Iterator[pa.RecordBatch]) -> Iterator[pa.RecordBatch]:
            from pipeline.dedup.jaccard import jaccard
            for b in batches:
                cache: dict[str, object] = {}

                def sh(i, t):
                    if i not in cache:
                        cache[i] = hasher.shingle_set(t)
                    return cache[i]
                js = [jaccard(sh(s, ts), sh(d, td)) for s, d, ts, td in zip(
                    *(b.column(c).to_pylist() for c in ("src", "dst", "ts", "td")))]
                yield pa.RecordBatch.from_arrays([b.column("src"), b.column("dst"), pa.array(js, pa.float64())],
                                                 names=["src", "dst", "j"])

        pairs = cand.join(texts.select(F.col("id").alias("src"), F.col("text").alias("ts")), "src") \
            .join(texts.select(F.col("id").alias("dst"), F.col("text").alias("td")), "dst") \
            .select("src", "dst", "ts", "td").mapInArrow(jac, "src string, dst string, j double")
        edges = _cut_lineage(pairs.where(F.col("j") >= threshold).select("src", "dst"))
    else:
        edges = cand
    n_edges = edges.count()
    comp = connected_components(edges)
    members = comp.withColumnRenamed("root", "cluster_id").join(docs.select("id", F.col(ORDER).alias("o")), "id")
    surv = members.groupBy("cluster_id").agg(F.min("o").alias("best"), F.count("*").alias("cluster_size"))
    clusters = _cut_lineage(members.join(surv, "cluster_id").select(
        "id", "cluster_id", "cluster_size", (F.col("id") == F.col("best.id")).alias("kept"),
        F.when(F.col("id") != F.col("best.id"), F.col("best.id")).alias("duplicate_of"),
        F.lit(STAGE_NAMES["minhash"]).alias("stage")))
    removed = clusters.where(~F.col("kept"))
    decided = _decided(removed, STAGE_NAMES["minhash"], REJECTED, NEAR_DUPLICATE, F.col("duplicate_of"))
    kept = _cut_lineage(docs.join(removed.select("id"), "id", "left_anti"))
    return StageOut(kept, decided, clusters, extra={
        "hasher": hasher, "threshold": threshold, "candidate_pairs": n_cand, "verified_pairs": n_edges})


def exact_stage(docs: DataFrame) -> StageOut:
    """c. Exact document dedup on the normalized content hash of the entering
    text (``_text0``); the survivor is the minimum of ``_o``."""

    def chash(batches: Iterator[pa.RecordBatch]) -> Iterator[pa.RecordBatch]:
        from pipeline.document import content_hash
        for b in batches:
            hs = [content_hash(t) for t in b.column("text").to_pylist()]
            yield pa.RecordBatch.from_arrays([b.column("id"), pa.array(hs, pa.string())], names=["id", "h"])

    h = docs.select("id", F.col(TEXT0).alias("text")).mapInArrow(chash, "id string, h string")
    members = h.join(docs.select("id", F.col(ORDER).alias("o")), "id")
    groups = members.groupBy("h").agg(F.min("o").alias("best"), F.count("*").alias("cluster_size")) \
        .where("cluster_size > 1")
    clusters = _cut_lineage(members.join(groups, "h").select(
        "id", F.col("h").alias("cluster_id"), "cluster_size", (F.col("id") == F.col("best.id")).alias("kept"),
        F.when(F.col("id") != F.col("best.id"), F.col("best.id")).alias("duplicate_of"),
        F.lit(STAGE_NAMES["exact"]).alias("stage")))
    removed = clusters.where(~F.col("kept"))
    decided = _decided(removed, STAGE_NAMES["exact"], REJECTED, EXACT_DUPLICATE, F.col("duplicate_of"))
    kept = _cut_lineage(docs.join(removed.select("id"), "id", "left_anti"))
    return StageOut(kept, decided, clusters)


def substring_stage(docs: DataFrame, params: dict) -> StageOut:
    """d. Exact sub-document dedup of >= window-token spans (pipeline/dedup/substring.py)."""
    sd = SubstringDedup(**params)

    def windows(batches: Iterator[pa.RecordBatch]) -> Iterator[pa.RecordBatch]:
        import numpy as np
        for b in batches:
            for r, (i, t) in enumerate(zip(b.column("id").to_pylist(), b.column("text").to_pylist())):
                h = sd.window_hashes(t)
                if len(h):
                    yield pa.RecordBatch.from_arrays(
                        [pa.array([i] * len(h), pa.string()), pa.array(np.arange(len(h), dtype=np.int32)), pa.array(h),
                         _take_rank(b, [r] * len(h))], names=["id", "pos", "h", RANK])

    win = docs.select("id", "text", ORDER).mapInArrow(windows, _with_rank(docs.schema, "id string, pos int, h long"))
    # The copy of a shared span that stays: highest quality, then smallest
    # id (as for paragraphs, ``_with_rank``).
    dup = win.groupBy("h").agg(F.min(F.struct(RANK, "id")).alias("f"), F.min("id").alias("lo"), F.max("id").alias("hi")) \
        .where(F.col("lo") != F.col("hi")).select("h", F.col("f.id").alias("first"))
    # Sort-merge join (it spills): both sides grow with the corpus, and a
    # broadcast of ``dup`` that AQE picks at run time can exhaust the heap.
    rm = _cut_lineage(win.drop(RANK).join(dup.hint("merge"), "h").where(F.col("id") != F.col("first"))
                  .groupBy("id").agg(F.array_sort(F.collect_set("pos")).alias("_pos")))

    kept, decided = _remove_and_decide(docs, rm, "_pos", lambda t, p: sd.remove(t, p)[:2], STAGE_NAMES["substring"])
    return StageOut(kept, decided, extra={"removals": rm, "before": docs.select("id", "text"), "dedup": sd})


# ------------------------------------------------------------------ result --
@dataclass
class DedupResult:
    """What ``run_dedup`` returns; see the module docstring for the columns."""

    kept: DataFrame
    ledger: DataFrame
    decided: DataFrame
    clusters: DataFrame
    counts: list[dict]
    stages: list[str]
    extra: dict = field(default_factory=dict)

    def write_report(self, out_dir: str | Path, examples: int = 5) -> None:
        """Counts (JSON + MD), cluster-size histogram, largest clusters and
        removed spans with examples, S-curve with measured FP/FN rates.
        Only small aggregates and a few examples reach the driver."""
        from pipeline.dedup.report import write_report

        hist = [r.asDict() for r in self.clusters.groupBy("stage", "cluster_size")
                .agg(F.countDistinct("cluster_id").alias("clusters")).orderBy("stage", "cluster_size").collect()]
        top = self.clusters.select("stage", "cluster_id", "cluster_size").distinct() \
            .orderBy(F.desc("cluster_size"), "stage", "cluster_id").limit(examples)
        texts = self.extra["input"].select("id", F.substring("text", 1, 300).alias("snippet"))
        members = self.clusters.join(top.select("stage", "cluster_id"), ["stage", "cluster_id"]) \
            .join(texts, "id").orderBy(F.desc("cluster_size"), "stage", "cluster_id", F.desc("kept"), "id").collect()
        largest: dict = {}
        for r in members:
            c = largest.setdefault((r["stage"], r["cluster_id"]), {"stage": r["stage"], "cluster_id": r["cluster_id"],
                                                                   "size": r["cluster_size"], "members": []})
            if len(c["members"]) < 3:
                c["members"].append({"id": r["id"], "kept": r["kept"], "snippet": r["snippet"]})
        spans = []
        sub = self.extra.get("substring")
        if sub:
            rows = sub["removals"].join(sub["before"], "id").orderBy("id").limit(examples).collect()
            for r in rows:
                _, reason, cuts = sub["dedup"].remove(r["text"], r["_pos"])
                spans.append({"id": r["id"], "reason": reason, "removed": [r["text"][s:e][:400] for s, e in cuts[:3]],
                              "removed_chars": sum(e - s for s, e in cuts)})
        mh = self.extra.get("minhash") or {}
        write_report(Path(out_dir), counts=self.counts, histogram=hist, largest=list(largest.values()),
                     spans=spans, hasher=mh.get("hasher"), threshold=mh.get("threshold", 0.7),
                     lsh={k: mh[k] for k in ("candidate_pairs", "verified_pairs") if k in mh})


def _quarantine_bad_rows(df: DataFrame) -> tuple[DataFrame, DataFrame]:
    """Rows without id or text cannot be judged; of the rows that share an id
    the first keeps it and the later ones are quarantined (pipeline/decisions.py)."""
    tagged = df.withColumn("_reason", F.when(F.col("id").isNull(), NULL_ID).when(F.col("text").isNull(), NULL_TEXT))
    first, later = split_duplicate_ids(tagged.where(F.col("_reason").isNull()))
    bad = tagged.where(F.col("_reason").isNotNull()).unionByName(later.withColumn("_reason", F.lit(DUPLICATE_ID)))
    return first.drop("_reason"), bad


def run_dedup(spark, df: DataFrame, cfg: Config, stages: list[str] | None = None) -> DedupResult:
    """Run the dedup stages (default ``[dedup] stages``) over ``df`` (id, text, ...)."""
    section = cfg.section("dedup")
    stages = list(stages if stages is not None else section.get("stages", list(STAGE_NAMES)))
    unknown = [s for s in stages if s not in STAGE_NAMES]
    if unknown:
        raise ValueError(f"unknown dedup stage(s) {unknown}; known: {list(STAGE_NAMES)}")
    if not {"id", "text"} <= set(df.columns):
        raise ValueError(f"dedup input needs columns id and text; got {df.columns}")
    spark.conf.set("spark.sql.execution.arrow.maxRecordsPerBatch", str(section.get("arrow_batch_rows", 256)))
    spark.conf.set("spark.sql.maxPlanStringLength", "100000")  # plan strings are logged: bound them
    quality_col = section.get("quality_column")
    docs, bad = _quarantine_bad_rows(df)
    docs = _cut_lineage(docs)
    judged = docs  # the input rows the stages judge, text as given
    ledgers: list[DataFrame] = []
    if stages:
        ledgers.append(_decided(bad, STAGE_NAMES[stages[0]], QUARANTINED, F.col("_reason")))
    else:
        docs = df
    clusters, extra = [], {}
    if stages:   # the entering text and the survivor order, computed once
        docs = docs.withColumn(TEXT0, F.col("text"))
        docs = _cut_lineage(docs.withColumn(ORDER, _survivor_order(docs, quality_col)))

    def doc_stage(s: str, d: DataFrame) -> StageOut:
        return minhash_stage(d, **cfg.section("dedup.minhash")) if s == "minhash" else exact_stage(d)

    def record(s: str, out: StageOut) -> None:
        ledgers.append(out.decided)
        if out.clusters is not None:
            clusters.append(out.clusters)
        extra[s] = out.extra
        log(f"dedup {STAGE_NAMES[s]}: {out.decided.count()} documents rejected or quarantined")

    i = 0
    while i < len(stages):
        s = stages[i]
        if s == "paragraph":
            # The document stages right after the paragraph stage judge the
            # entering text, so their verdicts do not depend on its cuts: they
            # run first, and the paragraph stage works on what they keep. A
            # document they remove is theirs (near/exact duplicate, with
            # duplicate_of), even if paragraph dedup would have left it too
            # short; the survivors lose paragraphs only to other survivors.
            following = []
            while i + 1 + len(following) < len(stages) and stages[i + 1 + len(following)] in DOC_STAGES:
                following.append(stages[i + 1 + len(following)])
            outs, rest = [], docs
            for f in following:
                outs.append(doc_stage(f, rest))
                rest = outs[-1].kept
            out = paragraph_stage(rest, cfg.section("dedup.paragraph"))
            record(s, out)
            for f, o in zip(following, outs):
                record(f, o)
            docs = out.kept
            i += 1 + len(following)
            continue
        if s in DOC_STAGES:
            out = doc_stage(s, docs)
        else:
            out = substring_stage(docs, cfg.section("dedup.substring"))
        docs = out.kept
        record(s, out)
        i += 1
    if stages:
        docs = docs.select(*df.columns)
    ledgers.append(_decided(docs, STILL_KEPT, KEPT, F.lit(None)))
    ledger = ledgers[0]
    for part in ledgers[1:]:
        ledger = ledger.unionByName(part)
    ledger = _cut_lineage(ledger)
    spark_ = df.sparkSession
    cl = clusters[0] if clusters else spark_.createDataFrame(
        [], "id string, cluster_id string, cluster_size long, kept boolean, duplicate_of string, stage string")
    for c in clusters[1:]:
        cl = cl.unionByName(c)
    counts = _stage_counts(ledger, [STAGE_NAMES[s] for s in stages])
    extra["input"] = df
    # Whole input rows of what was decided (text as given, not as cut):
    # the stages' rejections by id (unique among the judged rows), then the
    # rows quarantined before the first stage, as they are.
    verdict = ledger.where(F.col("decision") == REJECTED).select("id", "stage", "decision", "reason", "duplicate_of")
    decided = judged.join(verdict, "id")
    if stages:
        decided = decided.unionByName(
            bad.withColumnRenamed("_reason", "reason").withColumn("stage", F.lit(STAGE_NAMES[stages[0]]))
               .withColumn("decision", F.lit(QUARANTINED)).withColumn("duplicate_of", F.lit(None).cast("string")))
    return DedupResult(kept=docs, ledger=ledger, decided=decided, clusters=cl.select(*CLUSTER_COLS), counts=counts,
                       stages=stages, extra=extra)


def _stage_counts(ledger: DataFrame, stage_names: list[str]) -> list[dict]:
    """Per stage in / kept / rejected / quarantined, from the ledger (on Spark)."""
    rows = {(r["stage"], r["decision"]): r["n"] for r in
            ledger.groupBy("stage", "decision").agg(F.count("*").alias("n")).collect()}
    remaining = sum(rows.values())
    out = []
    for s in stage_names:
        rej, qua = rows.get((s, REJECTED), 0), rows.get((s, QUARANTINED), 0)
        out.append({"stage": s, "in": remaining, "kept": remaining - rej - qua, "rejected": rej, "quarantined": qua})
        remaining -= rej + qua
    if remaining != rows.get(("", KEPT), 0):
        raise AssertionError(f"dedup ledger broken: {remaining} survive, {rows.get(('', KEPT), 0)} marked kept")
    return out


def write_outputs(spark, res: DedupResult, out: str, cfg: Config, report: str | None = None) -> dict[str, dict]:
    """OUT/corpus, OUT/clusters, OUT/ledger (deterministic Parquet), the
    report (OUT/report unless ``report``, a local directory). Returns the
    Parquet files' rows, sizes and sha256, by path relative to OUT."""
    parts = int(cfg.get("dedup.output_partitions", 4))
    rg = cfg.get("output.row_group_bytes")
    files: dict[str, dict] = {}
    for name, df, sort_by in (("corpus", res.kept, None), ("clusters", res.clusters, ["id", "stage"]),
                              ("ledger", res.ledger, ["id", "stage"])):
        written: list[dict] = []
        write_parquet(spark, df, f"{out}/{name}", sort_by=sort_by, partitions=parts, row_group_bytes=rg,
                      files_out=written)
        files.update({f"{name}/{f['file']}": f for f in written})
    res.write_report(report or f"{out}/report")
    return files


def _manifest(args, cfg: Config, res: DedupResult) -> dict:
    return {"config_sha256": config_sha256(cfg), "config_sources": list(cfg.sources),
            "inputs": {"args": [args.input]}, "options": {"stages": res.stages},
            "counts": {c["stage"]: {k: v for k, v in c.items() if k != "stage"} for c in res.counts}}


def _write_remote(spark, res: DedupResult, out: str, cfg: Config, args) -> None:
    """An object-store OUT (s3a://...): renames are copies there, so no
    staging; the previous manifest is deleted first and the new one written
    last, the mark a reader checks."""
    import tempfile

    from pyarrow import fs as pafs

    from pipeline.readers.streams import filesystem

    fs, root = filesystem(out)
    if fs.get_file_info(f"{root}/{MANIFEST}").type != pafs.FileType.NotFound:
        fs.delete_file(f"{root}/{MANIFEST}")
    with tempfile.TemporaryDirectory(prefix="yi-dedup-report-") as tmp:
        files = write_outputs(spark, res, out, cfg, report=tmp)
        if fs.get_file_info(f"{root}/report").type != pafs.FileType.NotFound:
            fs.delete_dir_contents(f"{root}/report")
        pafs.copy_files(tmp, f"{root}/report", source_filesystem=pafs.LocalFileSystem(), destination_filesystem=fs)
    manifest = {**_manifest(args, cfg, res), "job": JOB, "complete": True,
                "entries": ["clusters", "corpus", "ledger", "report", MANIFEST],
                "files": {k: {"bytes": f["bytes"], "sha256": f["sha256"], "rows": f["rows"]} for k, f in files.items()}}
    with fs.open_output_stream(f"{root}/{MANIFEST}") as fh:
        fh.write((json.dumps(manifest, indent=1, sort_keys=True) + "\n").encode())


# --------------------------------------------------------------------- CLI --
def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--input", required=True, help="Parquet dir with id, text (+ any columns)")
    ap.add_argument("--output", required=True,
                    help="output dir: corpus/, clusters/, ledger/, report/, _MANIFEST.json (new, empty or an earlier "
                         "output of this job)")
    ap.add_argument("--config", help="TOML overriding config/default.toml")
    ap.add_argument("--stages", nargs="+", choices=list(STAGE_NAMES), help="default: [dedup] stages")
    ap.add_argument("--master", help="Spark master (default: spark-submit's, else local[*])")
    ap.add_argument("--overwrite", action="store_true",
                    help="replace the contents of a non-empty OUT that is not an earlier output of this job")
    args = ap.parse_args(argv)
    cfg = load_config(args.config)
    out = args.output.rstrip("/")
    staged = None
    try:   # before any work
        check_output(out, [args.input], job=JOB, overwrite=args.overwrite)
        if not _is_remote(out):
            staged = StagedOutput(out, JOB).open()
    except OutputError as e:
        log(f"ERROR {e}")
        return 2
    try:
        spark = spark_session("yi-dedup", master=args.master)
        df = spark.read.parquet(args.input)
        log(f"dedup: reading {args.input}")
        res = run_dedup(spark, df, cfg, args.stages)
        if staged is None:
            _write_remote(spark, res, out, cfg, args)
        else:
            files = write_outputs(spark, res, staged.path(), cfg)
            staged.publish(_manifest(args, cfg, res), files)
    finally:
        if staged is not None:
            staged.close()
    for c in res.counts:
        log(f"{c['stage']}: in {c['in']} kept {c['kept']} rejected {c['rejected']} quarantined {c['quarantined']}")
    log(f"dedup done: {out}")
    spark.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
