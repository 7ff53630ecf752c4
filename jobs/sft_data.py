"""SFT chat data job (issue #14 part 1): read -> validate/quarantine -> PII
scrub -> length and language checks -> exact and near-duplicate prompt
removal -> task tag -> system prompt -> Parquet + ledger + report.

    python jobs/sft_data.py --input data/sft --output out/sft-data [--config my.toml]

Input: JSONL (.jsonl, .jsonl.gz) and Parquet files of conversations in the
OpenAI ``messages``, ShareGPT ``conversations`` or Alpaca form (one record a
line / row; pipeline/chat.py converts on read). ``--input`` may be files or
folders (searched recursively; ``system_prompts.jsonl`` is not input).

The logic is engine-free in pipeline/chat.py; this file is the Spark plan:
  read        one Spark task per file (``chat.read_file``); bad records are
              quarantined rows with their reason (``chat.REASONS``); a later
              record with an id already kept: ``duplicate_id`` (input ids are
              kept; a record without one gets its content hash)
  row checks  ``chat.RowChecks`` (PII scrub, length, language, task tag)
  exact       prompts (user turns) with the same ``normalize_prompt`` key:
              the first in input order (source_file, offset) stays, the others
              are rejected ``duplicate_prompt`` (``duplicate_of`` = the kept id)
  near        MinHash LSH over the prompts ([dedup.minhash] ngram, bands,
              rows; [sft_data] seed), candidate pairs verified by exact
              Jaccard >= ``near_dup_threshold``: a prompt with an earlier
              (input order) near twin still in the data at this step is
              rejected ``near_duplicate_prompt``
  system      ``chat.assign_system_prompts`` over the kept conversations
              (balanced per task and language; [sft_data] seed)
Outputs (OUT/): ``sft/split=train|test/`` (Parquet: id, split, source, lang,
task, system_prompt_id, messages with the system turn, ...), ``ledger/``
(one row per input record: stage, decision, reason, duplicate_of),
``quarantine/`` (the quarantined rows with a preview), ``report/``
(funnel.json, tasks.json, tasks.md, tasks.png: the task distribution and the
joint system-prompt x task table), ``_MANIFEST.json``. The ledger is checked
against record counts taken from the files without the reader
(``chat.count_records``): input = kept + rejected + quarantined.
"""
from __future__ import annotations

import argparse
import json
import os
import sys
from collections import Counter
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))

from jobs.common import StagedOutput, check_output, config_sha256, inputs_summary, log, spark_session, write_parquet  # noqa: E402
from pipeline import chat  # noqa: E402
from pipeline.config import load_config  # noqa: E402
from pipeline.ledger import check_invariant, compute_funnel  # noqa: E402

NOT_INPUT = {"system_prompts.jsonl"}

ROW_FIELDS = [("id", "string"), ("source_file", "string"), ("offset", "long"), ("fmt", "string"),
              ("source", "string"), ("lang_in", "string"), ("messages", "string"), ("split", "string"),
              ("stage", "string"), ("decision", "string"), ("reason", "string"), ("detail", "string"),
              ("preview", "string"), ("lang", "string"), ("task", "string"), ("pii_edits", "long"),
              ("n_chars", "long"), ("prompt", "string")]


def list_inputs(paths: list[str]) -> list[str]:
    files = []
    for p in paths:
        p = os.path.abspath(p)
        if os.path.isdir(p):
            for root, dirs, names in os.walk(p):
                dirs.sort()
                files += [os.path.join(root, n) for n in sorted(names)
                          if n.endswith(chat.INPUT_SUFFIXES) and n not in NOT_INPUT and not n.startswith((".", "_"))]
        elif os.path.isfile(p):
            files.append(p)
        else:
            raise SystemExit(f"input {p} does not exist")
    if not files:
        raise SystemExit(f"no {'/'.join(chat.INPUT_SUFFIXES)} files in {paths}")
    return sorted(set(files))


def _schema():
    from pyspark.sql.types import LongType, StringType, StructField, StructType
    return StructType([StructField(n, LongType() if t == "long" else StringType()) for n, t in ROW_FIELDS])


def run(inputs: list[str], out: str, config: str | None = None, master: str | None = None) -> dict:
    cfg = load_config(config)
    sc_cfg = cfg.section("sft_data")
    files = list_inputs(inputs)
    check_output(out, files, job="sft_data")
    expected = {f: chat.count_records(f) for f in files}          # independent of the reader
    staged = StagedOutput(out, "sft_data").open()
    try:
        manifest = _run(cfg, sc_cfg, files, expected, staged, master)
        manifest["inputs"] = inputs_summary(inputs, files)
        manifest["config_sha256"] = config_sha256(cfg)
        staged.publish(manifest)
        return manifest
    finally:
        staged.close()


def _run(cfg, sc_cfg: dict, files: list[str], expected: dict, staged: StagedOutput, master: str | None) -> dict:
    from pyspark.sql import Window
    from pyspark.sql import functions as F

    spark = spark_session("sft_data", master=master)
    read_kw = dict(max_chars=int(sc_cfg["max_chars"]), max_turn_chars=int(sc_cfg["max_turn_chars"]),
                   test_share=float(sc_cfg["test_share"]))
    pii_cfg = cfg.section("pii")
    lang_cfg = {**cfg.section("langid"), "candidates": list(sc_cfg["lang_candidates"]),
                "high_accuracy": bool(sc_cfg["lang_high_accuracy"])}
    checks_kw = dict(min_response_chars=sc_cfg["min_response_chars"], keep_langs=sc_cfg["keep_langs"],
                     min_lang_score=sc_cfg["min_lang_score"])
    names = [n for n, _ in ROW_FIELDS]
    mh = cfg.section("dedup.minhash")
    mh_kw = dict(bands=int(mh["bands"]), rows=int(mh["rows"]), ngram=int(mh["ngram"]), seed=int(sc_cfg["seed"]))
    thr = float(sc_cfg["near_dup_threshold"])

    def read_and_check(paths):
        """The one Python stage: read, row checks, and the prompt's dedup
        keys (exact key, LSH band keys, shingle set), so that the rest of
        the plan is Spark SQL (a Python UDF stage costs seconds per run)."""
        from pipeline.dedup.minhash import MinHasher
        from pipeline.langid import LanguageID
        from pipeline.pii import PIIAnonymizer
        checks = chat.RowChecks(pii=PIIAnonymizer(**pii_cfg), langid=LanguageID(**lang_cfg), **checks_kw)
        h = MinHasher(**mh_kw)
        for p in paths:
            rows = [checks(row) for row in chat.read_file(p, **read_kw)]
            live = [k for k, r in enumerate(rows) if r["decision"] == "kept"]
            sig = h.signatures([rows[k]["prompt"] for k in live]) if live else None
            bands = {}
            if live:
                keys, ok = h.band_keys(sig), h.has_tokens(sig)
                bands = {k: ([int(x) for x in keys[j]] if ok[j] else []) for j, k in enumerate(live)}
            for k, r in enumerate(rows):
                on = k in bands
                yield tuple(r.get(n) for n in names) + (
                    chat.normalize_prompt(r["prompt"]) if on else None, bands.get(k),
                    [int(x) for x in h.shingle_set(r["prompt"]).view("int64")] if on else None)

    from pyspark.sql.types import ArrayType, LongType, StringType, StructField
    schema = _schema()
    schema = schema.add(StructField("pkey", StringType())).add(StructField("bands", ArrayType(LongType()))) \
        .add(StructField("shingles", ArrayType(LongType())))
    rows = spark.sparkContext.parallelize(files, max(1, len(files))).mapPartitions(read_and_check)
    df = spark.createDataFrame(rows, schema).withColumn("duplicate_of", F.lit(None).cast("string")).cache()

    # ---- duplicate ids (pipeline/decisions.py's rule): the first kept record of an id in
    # input order keeps it, later ones are quarantined at read
    wid = Window.partitionBy("id").orderBy("source_file", "offset")
    kept = (df.filter(F.col("decision") == "kept").withColumn("rn", F.row_number().over(wid))
            .withColumn("first_id", F.first("id").over(wid)))
    dup_id = (kept.filter(F.col("rn") > 1).withColumn("stage", F.lit(chat.READ_STAGE))
              .withColumn("decision", F.lit("quarantined")).withColumn("reason", F.lit(chat.DUPLICATE_ID))
              .withColumn("detail", F.lit("an earlier record holds this id")).withColumn("preview", F.col("messages"))
              .drop("rn", "first_id"))
    kept = kept.filter(F.col("rn") == 1).drop("rn", "first_id")

    # ---- exact prompt dedup: first in input order keeps the prompt
    w = Window.partitionBy("pkey").orderBy("source_file", "offset")
    kept = kept.withColumn("rn", F.row_number().over(w)).withColumn("first_id", F.first("id").over(w))
    exact_dup = (kept.filter(F.col("rn") > 1)
                 .withColumn("stage", F.lit(chat.EXACT_STAGE)).withColumn("decision", F.lit("rejected"))
                 .withColumn("reason", F.lit(chat.DUPLICATE_PROMPT)).withColumn("duplicate_of", F.col("first_id")))
    survivors = kept.filter(F.col("rn") == 1).drop("rn", "first_id").cache()

    # ---- near-duplicate prompts: LSH band keys -> candidate pairs -> exact Jaccard of shingle sets
    bands = survivors.select("id", "source_file", "offset", F.posexplode("bands").alias("band", "key"))
    a, b = bands.alias("a"), bands.alias("b")
    earlier = (F.col("a.source_file") < F.col("b.source_file")) | (
        (F.col("a.source_file") == F.col("b.source_file")) & (F.col("a.offset") < F.col("b.offset")))
    pairs = (a.join(b, (F.col("a.band") == F.col("b.band")) & (F.col("a.key") == F.col("b.key")))
             .filter(earlier).select(F.col("a.id").alias("a_id"), F.col("b.id").alias("b_id"),
                                     F.col("a.source_file").alias("a_file"), F.col("a.offset").alias("a_off"))
             .distinct())
    sh = survivors.select("id", "shingles")
    pairs = (pairs.join(sh.withColumnRenamed("id", "a_id").withColumnRenamed("shingles", "a_sh"), "a_id")
             .join(sh.withColumnRenamed("id", "b_id").withColumnRenamed("shingles", "b_sh"), "b_id"))
    near = pairs.withColumn("jaccard", F.size(F.array_intersect("a_sh", "b_sh"))
                            / F.greatest(F.size(F.array_union("a_sh", "b_sh")), F.lit(1))).filter(
        F.col("jaccard") >= thr)
    wn = Window.partitionBy("b_id").orderBy("a_file", "a_off")
    near_first = near.withColumn("k", F.row_number().over(wn)).filter("k = 1").select(
        F.col("b_id").alias("id"), F.col("a_id").alias("near_of"))
    survivors = survivors.join(near_first, "id", "left").cache()
    near_dup = (survivors.filter(F.col("near_of").isNotNull())
                .withColumn("stage", F.lit(chat.NEAR_STAGE)).withColumn("decision", F.lit("rejected"))
                .withColumn("reason", F.lit(chat.NEAR_DUPLICATE_PROMPT)).withColumn("duplicate_of", F.col("near_of"))
                .drop("near_of"))
    final = survivors.filter(F.col("near_of").isNull()).drop("near_of").cache()

    # ---- system prompts, balanced per task and language (driver: one id/task/lang triple per conversation)
    prompts_path = sc_cfg["system_prompts"]
    prompts_path = prompts_path if os.path.isabs(prompts_path) else str(REPO / prompts_path)
    prompts = chat.load_system_prompts(Path(prompts_path).read_text(encoding="utf-8").splitlines())
    log("sft_data: read, checked, deduplicated")
    triples = [(r.id, r.task, chat.lang_of(r.prompt) if r.lang not in ("en", "zh") else r.lang)
               for r in final.select("id", "task", "lang", "prompt").collect()]
    assigned = chat.assign_system_prompts(triples, prompts, int(sc_cfg["seed"]))
    # the system turn as chat.messages_json writes it, prepended in SQL (a turn list that
    # already starts with a system turn keeps it: chat.with_system)
    sys_json = {p.id: json.dumps({"role": chat.SYSTEM, "content": p.text}, ensure_ascii=False, separators=(",", ":"))
                for p in prompts}
    amap = spark.createDataFrame([(i, pid, sys_json[pid]) for i, pid in sorted(assigned.items())],
                                 "id string, system_prompt_id string, sys_json string")
    has_sys = F.col("messages").startswith('[{"role":"system"')
    out_rows = (final.join(amap, "id")
                .withColumn("messages", F.when(has_sys, F.col("messages")).otherwise(
                    F.concat(F.lit("["), F.col("sys_json"), F.lit(","), F.expr("substring(messages, 2)"))))
                .withColumn("stage", F.lit(chat.OUTPUT_STAGE))).cache()

    # ---- ledger: every input record once
    cols = ["id", "source_file", "offset", "fmt", "source", "lang", "split", "task", "n_chars", "pii_edits",
            "stage", "decision", "reason", "duplicate_of"]
    bad = df.filter(F.col("decision") != "kept").unionByName(dup_id).cache()
    ledger = (bad.select(*cols)
              .unionByName(exact_dup.select(*cols)).unionByName(near_dup.select(*cols))
              .unionByName(out_rows.select(*cols))).cache()
    sft_cols = ["id", "split", "source", "lang", "task", "system_prompt_id", "messages", "fmt", "source_file",
                "offset", "n_chars", "pii_edits"]
    n_out = write_parquet(spark, out_rows.select(*sft_cols), staged.path("sft"), partition_by=["split"],
                          partitions=1)
    log(f"sft_data: {n_out} conversations written")
    write_parquet(spark, ledger, staged.path("ledger"), sort_by=["source_file", "offset"], partitions=1)
    log("sft_data: ledger written")
    quarantine = bad.filter(F.col("decision") == "quarantined").select(
        "id", "source_file", "offset", "stage", "reason", "detail", "preview")
    write_parquet(spark, quarantine, staged.path("quarantine"), sort_by=["source_file", "offset"], partitions=1)

    # ---- the ledger against counts taken without it
    led = ledger.groupBy("stage", "decision", "lang").agg(F.count("*").alias("docs"),
                                                           F.sum("n_chars").alias("chars")).collect()
    funnel = compute_funnel([r.asDict() for r in led], list(chat.STAGES))
    per_file = {r.source_file: (r.n, r.d) for r in ledger.groupBy("source_file").agg(
        F.count("*").alias("n"), F.countDistinct("offset").alias("d")).collect()}
    decisions = {r.decision: r.n for r in ledger.groupBy("decision").agg(F.count("*").alias("n")).collect()}
    check_invariant(expected, per_file, decisions, 0, funnel)

    # ---- report
    kept = out_rows.select("task", "lang", "split", "source", "system_prompt_id").collect()
    report = build_report(kept, funnel.to_dict(), [r.asDict() for r in ledger.filter("decision != 'kept'")
                                                   .groupBy("stage", "reason").count().collect()])
    write_report(report, staged.path("report"))
    log(f"sft_data: {sum(expected.values())} records in, {n_out} conversations out, "
        f"{funnel.total_rejected} rejected, {funnel.total_quarantined} quarantined")
    return {"counts": {"input": sum(expected.values()), "kept": n_out, "rejected": funnel.total_rejected,
                       "quarantined": funnel.total_quarantined}}


def build_report(kept_rows, funnel: dict, reasons: list[dict]) -> dict:
    tasks = Counter(r.task for r in kept_rows)
    by = lambda key: {k: dict(sorted(v.items())) for k, v in sorted(
        _nest((r.task, getattr(r, key) or "unknown") for r in kept_rows).items())}
    return {"tasks": dict(sorted(tasks.items())), "task_x_lang": by("lang"), "task_x_split": by("split"),
            "task_x_source": by("source"),
            "task_x_system_prompt": chat.joint_table((r.task, r.system_prompt_id) for r in kept_rows),
            "funnel": funnel,
            "reasons": sorted(({"stage": r["stage"], "reason": r["reason"], "count": r["count"]} for r in reasons),
                              key=lambda r: (r["stage"], r["reason"] or ""))}


def _nest(pairs) -> dict:
    t: dict = {}
    for a, b in pairs:
        t.setdefault(a, Counter())[b] += 1
    return t


def write_report(rep: dict, folder: str) -> None:
    os.makedirs(folder, exist_ok=True)
    with open(os.path.join(folder, "tasks.json"), "w", encoding="utf-8") as fh:
        fh.write(json.dumps(rep, indent=1, sort_keys=True, ensure_ascii=False) + "\n")
    pids = sorted({p for row in rep["task_x_system_prompt"].values() for p in row})
    lines = ["# SFT data: tasks", "", "| task | conversations |", "|---|---|"]
    lines += [f"| {t} | {n} |" for t, n in rep["tasks"].items()]
    lines += ["", "## Task x language", "", "| task | en | zh |", "|---|---|---|"]
    lines += [f"| {t} | {v.get('en', 0)} | {v.get('zh', 0)} |" for t, v in rep["task_x_lang"].items()]
    lines += ["", "## System prompt x task (joint distribution)", "",
              "| task | " + " | ".join(pids) + " |", "|---" * (len(pids) + 1) + "|"]
    lines += [f"| {t} | " + " | ".join(str(v.get(p, 0)) for p in pids) + " |"
              for t, v in rep["task_x_system_prompt"].items()]
    lines += ["", "## Removed", "", "| stage | reason | count |", "|---|---|---|"]
    lines += [f"| {r['stage']} | {r['reason']} | {r['count']} |" for r in rep["reasons"]]
    with open(os.path.join(folder, "tasks.md"), "w", encoding="utf-8") as fh:
        fh.write("\n".join(lines) + "\n")
    plot_tasks(rep, os.path.join(folder, "tasks.png"))


def plot_tasks(rep: dict, path: str) -> None:
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    import numpy as np

    tasks = list(rep["task_x_system_prompt"])
    pids = sorted({p for row in rep["task_x_system_prompt"].values() for p in row})
    m = np.array([[rep["task_x_system_prompt"][t].get(p, 0) for p in pids] for t in tasks] or [[0]])
    fig, (ax1, ax2) = plt.subplots(1, 2, figsize=(14, 4.5), gridspec_kw={"width_ratios": [1, 3]})
    langs = ("en", "zh")
    left = np.zeros(len(tasks))
    for lang in langs:
        v = np.array([rep["task_x_lang"].get(t, {}).get(lang, 0) for t in tasks])
        ax1.barh(tasks, v, left=left, label=lang)
        left += v
    ax1.set_title("conversations per task")
    ax1.legend()
    ax2.imshow(m, aspect="auto", cmap="Blues")
    ax2.set_yticks(range(len(tasks)), tasks)
    ax2.set_xticks(range(len(pids)), pids, rotation=90, fontsize=7)
    for i in range(m.shape[0]):
        for j in range(m.shape[1]):
            ax2.text(j, i, str(m[i, j]), ha="center", va="center", fontsize=6)
    ax2.set_title("system prompt x task")
    fig.tight_layout()
    fig.savefig(path, dpi=90, metadata={"Software": None})
    plt.close(fig)


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description="SFT chat data: quality steps, ledger, report")
    ap.add_argument("--input", nargs="+", required=True)
    ap.add_argument("--output", required=True)
    ap.add_argument("--config")
    ap.add_argument("--master")
    a = ap.parse_args(argv)
    m = run(a.input, a.output, a.config, a.master)
    print(json.dumps(m["counts"]))


if __name__ == "__main__":
    main()
