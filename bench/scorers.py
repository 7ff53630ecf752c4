"""Throughput of the learned scorers, and our fastText stage against
datatrove 0.10.1's FastTextClassifierFilter with the same model.

1. Spark: each stage (perplexity, quality, coherence, safety) alone in a
   ``mapInArrow`` over the English and Chinese texts of data/sample
   (JSONL + Parquet), on ``local[1]``: one core, so documents/s is per core.
   The documents are taken 4 times (distinct ids) so a run lasts seconds;
   after a warm-up run (workers and models loaded) the best of 3 runs is
   timed; a pass-through run with no stage is timed the same way, and
   "stage alone" is the throughput net of it (Spark's own cost).
2. One process, same documents, same model (models/quality/en.bin): our
   QualityClassifier vs datatrove's FastTextClassifierFilter (DOCUMENT mode,
   keep ``ref`` >= 0.5), rounds alternated; CPU seconds, docs/s and their
   ratio, and how often the two keep/drop decisions agree (datatrove feeds
   the raw text, we feed our tokens, so scores differ a little).

  make scorers bench-deps && .venv/bin/python bench/scorers.py [--rounds 10]

3. ``--eval dev`` (instead of 1-2): rules vs scores on the held-out labelled
   set data/eval/quality/<split>.jsonl.gz (infra/eval/quality_set.py; tune on
   ``dev`` only, ``test`` is for reported figures). The row-local stages of
   [cascade] stages run in one process (no Spark, no coherence split, no
   dedup: bench/quality.py runs the real job) twice, without and with
   [cascade.rescue]; prints keep rates per category, balanced accuracy per
   set, what was rescued and what word_salad dropped, the word-salad vs
   clean separation of the perplexity measures, and every document a
   rescuable rule rejected with its scores (to set the bounds).

  .venv/bin/python bench/scorers.py --eval dev
"""
from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))
os.environ.setdefault("SPARK_LOCAL_IP", "127.0.0.1")
os.environ.setdefault("PYSPARK_PYTHON", sys.executable)

import pyarrow as pa  # noqa: E402

from pipeline.scorer_models import SAMPLE_DIR, crawl_docs  # noqa: E402

STAGES = ["perplexity", "quality", "coherence", "safety"]


def sample_docs() -> list[dict]:
    docs = [d for f in (SAMPLE_DIR / "parquet", SAMPLE_DIR / "jsonl") for d in crawl_docs(f)]
    return [{"id": d["id"], "text": d["text"], "lang": d["lang"]} for d in docs if d["lang"] in ("en", "zh")]


def spark_throughput(docs: list[dict], models: str, copies: int = 4, repeats: int = 3) -> None:
    from pyspark.sql.pandas.types import from_arrow_schema

    from jobs.common import spark_session
    from pipeline.cascade import output_schema, run_batch, stage_class
    from pipeline.config import load_config

    spark = spark_session("bench-scorers", master="local[1]")
    docs = [{**d, "id": f"{d['id']}-{k}"} for k in range(copies) for d in docs]
    table = pa.Table.from_pylist(docs)
    df = spark.createDataFrame(table.to_pandas()).repartition(1).cache()
    df.count()
    cfg = load_config()

    def timed(names: list[str]) -> tuple[float, dict]:
        """Best of ``repeats`` warm runs (seconds) and the decisions."""
        schema = output_schema(table.schema, [stage_class(n) for n in names])
        sections = {n: {**cfg.section(n), "models_dir": models} for n in names}

        def run(batches):
            from pipeline.cascade import stage_class as sc

            stages = [sc(n)(**sections[n]) for n in names]
            for b in batches:
                yield run_batch(b, stages, schema)

        out = df.mapInArrow(run, from_arrow_schema(schema))
        out.count()  # warm: Python worker, imports, models
        best, rows = float("inf"), []
        for _ in range(repeats):
            t0 = time.perf_counter()
            rows = out.groupBy("decision").count().collect()
            best = min(best, time.perf_counter() - t0)
        return best, {r["decision"]: r["count"] for r in sorted(rows, key=lambda r: r["decision"])}

    base, _ = timed([])
    print(f"spark local[1], {len(docs)} documents (en+zh of data/sample, {copies} copies), best of {repeats}: "
          f"pass-through {base:.1f}s ({len(docs) / base:,.0f} docs/s)")
    print(f"{'stage':<11} {'seconds':>8} {'docs/s/core':>12} {'stage alone':>12}  decisions")
    for name in STAGES:
        sec, decisions = timed([name])
        alone = f"{len(docs) / (sec - base):12,.0f}" if sec > base * 1.05 else f"{'~spark':>12}"
        print(f"{name:<11} {sec:8.1f} {len(docs) / sec:12,.0f} {alone}  {decisions}")
    spark.stop()


def fasttext_side_by_side(docs: list[dict], models: str, rounds: int) -> None:
    from datatrove.data import Document as DTDocument
    from datatrove.pipeline.filters.fasttext_filter import FastTextClassifierFilter

    from pipeline.document import Document
    from pipeline.quality import QualityClassifier, model_path

    from fasttext.FastText import _FastText

    en = [d for d in docs if d["lang"] == "en"]
    ours = QualityClassifier.from_config(models_dir=models, languages=["en"], min_score={"en": 0.5})
    # datatrove's filter unchanged, but for the dependency check of its
    # __new__, which asks for the ``fasttext-numpy2-wheel`` distribution
    # (ours is ``fasttext-numpy2``: the same ``fasttext`` module).
    theirs = object.__new__(FastTextClassifierFilter)
    theirs.__init__(model_url=str(model_path(models, "en")), keep_labels=("ref", 0.5),
                    filter_mode="DOCUMENT", newline_replacement=" ")
    # Loaded before timing, as ours is in its constructor; set directly, as
    # its ``model`` property does after copying the file to its asset cache.
    theirs._model = _FastText(str(model_path(models, "en")))
    ours_t, theirs_t = 0.0, 0.0
    for _ in range(rounds):
        t0 = time.process_time()
        ours_keep = [ours(Document(id=d["id"], text=d["text"], lang="en")) is None for d in en]
        ours_t += time.process_time() - t0
        t0 = time.process_time()
        theirs_keep = [theirs.filter(DTDocument(text=d["text"], id=d["id"])) for d in en]
        theirs_t += time.process_time() - t0
    n = len(en) * rounds
    agree = sum(a == b for a, b in zip(ours_keep, theirs_keep)) / len(en)
    print(f"fastText quality (en model), {len(en)} English documents x {rounds} rounds, one process, CPU time:")
    print(f"  ours (QualityClassifier)                 {ours_t:6.2f}s  {n / ours_t:9,.0f} docs/s")
    print(f"  datatrove FastTextClassifierFilter       {theirs_t:6.2f}s  {n / theirs_t:9,.0f} docs/s")
    print(f"  ratio ours/datatrove (docs/s)            {theirs_t / ours_t:6.2f}x")
    print(f"  keep/drop agreement                      {agree:.1%} "
          f"(kept: ours {sum(ours_keep)}, datatrove {sum(theirs_keep)})")


def model_report(models: str) -> None:
    """What `make scorers` measured on its held-out split (models/report):
    the perplexity thresholds and the figures they came from (held-out
    reference vs word salad of its own words), quality P/R at 0.5, safety
    weak positives."""
    import json

    from pipeline.perplexity import load_thresholds, thresholds_path
    from pipeline.scorer_models import models_path

    cal = load_thresholds(str(thresholds_path(models)))["languages"]
    print("## perplexity thresholds calibrated by make scorers (held-out reference chunks vs their word salad)")
    for lang, t in sorted(cal.items()):
        f = t["figures"]
        print(f"  {lang}: {f['chunks']} chunks; prose-line gain clean p1 {f['clean_gain_p1']} vs salad p99 "
              f"{f['salad_gain_p99']}; prose-line ppl clean p99 {f['clean_ppl_long_p99']} vs salad p1 "
              f"{f['salad_ppl_long_p1']} -> salad_max_gain {t['salad_max_gain']}, salad_min_perplexity "
              f"{t['salad_min_perplexity']}, max_perplexity {t['max_perplexity']}")
    rep = json.loads((models_path(models, "report", "scorers.json")).read_text(encoding="utf-8"))
    for lang in ("en", "zh"):
        r = next(x for x in rep[f"quality_{lang}"] if x["threshold"] == 0.5)
        print(f"## quality {lang}: held-out P/R at 0.5 = {r['precision']:.3f}/{r['recall']:.3f} "
              f"(tp {r['tp']}, fp {r['fp']}, fn {r['fn']})")
    info = json.loads(models_path(models, "safety", "safety.json").read_text(encoding="utf-8"))
    print(f"## safety weak positives (training split): {info['weak_positives']}; classifier used for "
          f"{info['classifier_categories']}")


def eval_split(split: str, models: str) -> None:
    import gzip
    import json
    from collections import Counter, defaultdict

    from pipeline.cascade import build_stages, judge
    from pipeline.config import load_config
    from pipeline.document import Document

    path = REPO / "data" / "eval" / "quality" / f"{split}.jsonl.gz"
    with gzip.open(path, "rt", encoding="utf-8") as fh:
        rows = [json.loads(line) for line in fh]
    cfg = load_config()
    cfg.data["perplexity"]["models_dir"] = cfg.data["quality"]["models_dir"] = models
    cfg.data["coherence"]["models_dir"] = models
    names = list(cfg.get("cascade.stages"))
    stages = build_stages(names, cfg)
    policy = stages.rescue
    print(f"# {path.relative_to(REPO)}: {len(rows)} documents; stages {names}; rescue {'on' if policy else 'off'}")
    results = {}
    for mode, rescue in (("rules", None), ("rescue", policy)):
        out = []
        for r in rows:
            doc = Document(id=r["id"], text=r["text"], url=r.get("url"))
            decision, stage, reason = judge(doc, stages, rescue)
            out.append((decision, stage, reason, doc))
        results[mode] = out
    for mode in ("rules", "rescue"):
        print(f"\n## {mode}: keep rate per category (label keep: should be 1; drop: 0)")
        by = defaultdict(lambda: [0, 0])
        for r, (decision, _, _, _) in zip(rows, results[mode]):
            k = (r["set"], r["label"], r["category"])
            by[k][0] += decision == "kept"
            by[k][1] += 1
        for k in sorted(by):
            print(f"  {k[0]:<20} {k[1]:<5} {k[2]:<20} {by[k][0]:>4}/{by[k][1]:<4} {by[k][0] / by[k][1]:.3f}")
        for st in ("easy", "hard"):
            keep = [d == "kept" for r, (d, *_) in zip(rows, results[mode]) if r["set"] == st and r["label"] == "keep"]
            drop = [d != "kept" for r, (d, *_) in zip(rows, results[mode]) if r["set"] == st and r["label"] == "drop"]
            if keep and drop:
                print(f"  balanced accuracy {st}: {(sum(keep) / len(keep) + sum(drop) / len(drop)) / 2:.3f} "
                      f"(keep {sum(keep)}/{len(keep)}, drop {sum(drop)}/{len(drop)})")
        wrong = Counter((st, rs, r["category"]) for r, (d, st, rs, _) in zip(rows, results[mode])
                        if r["label"] == "keep" and d != "kept")
        print("  keep-labelled documents removed, by stage/reason/category:",
              ", ".join(f"{s}/{rs}/{c} {n}" for (s, rs, c), n in wrong.most_common()))
    rescued = Counter((r["label"], r["category"], k) for r, (d, _, _, doc) in zip(rows, results["rescue"])
                      for k in doc.edits if k.startswith("rescued:"))
    print("\n## rescued (label, category, rule):", dict(rescued) or "none")
    salad = Counter((r["label"], r["category"]) for r, (d, st, rs, _) in zip(rows, results["rescue"])
                    if rs == "word_salad")
    print("## dropped as word_salad (label, category):", dict(salad) or "none")
    min_tokens = dict(cfg.get("perplexity.salad_min_tokens_lang") or {})
    print("\n## perplexity measures: word salad vs keep-labelled text with prose lines (ppl_long_tokens >= "
          f"{cfg.get('perplexity.salad_min_tokens')}, per language {min_tokens}), per language: min / median / max")
    ppl_stage = stages[names.index("perplexity")] if "perplexity" in names else None
    thr = ppl_stage.thresholds if ppl_stage else {}
    names_of = {"ppl_long_gain": "salad_max_gain", "ppl_long": "salad_min_perplexity", "ppl_long_order": "salad_max_order"}
    for lang in ("en", "zh"):
        for key in ("ppl_long_gain", "ppl_long", "ppl_long_order"):
            line = []
            t = thr.get(names_of[key], {}).get(lang)
            if key == "ppl_long_order" and ppl_stage is not None and lang in ppl_stage.models:
                # the stage computes it only when the other tests pass: here for every page
                value = lambda doc: ppl_stage.models[lang].order_gain(doc.text, ppl_stage.long_line_tokens, lang)  # noqa: E731
            else:
                value = lambda doc: doc.scores.get(key)  # noqa: E731
            for label, pick in (("word_salad", lambda r: r["category"] == "word_salad"),
                                ("keep", lambda r: r["label"] == "keep")):
                v = sorted(x for x in (value(doc) for r, (_, _, _, doc) in zip(rows, results["rescue"])
                                       if pick(r) and r.get("lang_gold") == lang and "ppl" in doc.scores
                                       and doc.scores.get("ppl_long_tokens", 0)
                                       >= min_tokens.get(lang, cfg.get("perplexity.salad_min_tokens")))
                           if x is not None)
                if v:
                    below = f", below threshold {sum(x < t for x in v)}" if t is not None and key != "ppl_long" else ""
                    line.append(f"{label} n={len(v)} {v[0]:.3f} / {v[len(v) // 2]:.3f} / {v[-1]:.3f}{below}")
            print(f"  {lang} {key:<14} " + "; ".join(line) + f"  (threshold {t})")
    if policy:
        print("\n## documents a rescuable rule rejected (rules run), with their scores and the rescue verdict")
        cols = sorted(policy.columns | {"ppl", "ppl_gain", "quality"})
        for r, (d, st, rs, _), (d2, *_, doc) in zip(rows, results["rules"], results["rescue"]):
            if d == "rejected" and policy.rescuable(st, rs):
                sc = " ".join(f"{c}={doc.scores.get(c)}" for c in cols)
                print(f"  {r['label']:<5} {r['category']:<18} {doc.lang} {st}/{rs:<22} {sc}  -> {d2}")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--models", default="models")
    ap.add_argument("--rounds", type=int, default=10)
    ap.add_argument("--skip-spark", action="store_true")
    ap.add_argument("--eval", metavar="SPLIT", choices=("dev", "test"),
                    help="rules vs scores on data/eval/quality/SPLIT (tune on dev only)")
    args = ap.parse_args()
    if args.eval:
        model_report(args.models)
        eval_split(args.eval, args.models)
        return
    docs = sample_docs()
    fasttext_side_by_side(docs, args.models, args.rounds)
    if not args.skip_spark:
        spark_throughput(docs, args.models)


if __name__ == "__main__":
    main()
