"""Train every model of the learned scorers from shipped data (``make scorers``).

  python -m pipeline.train_scorers [--models models] [--kenlm-bin tools/kenlm/bin]

Perplexity (SentencePiece + KenLM), quality (fastText) and coherence
(TF-IDF + threshold) per language on data/reference, with data/sample as
the crawl; safety (fastText on lexicon labels) on both. Seeded and
single-threaded: the same data gives the same models. 20% of the documents
(by a hash of their id) are held out for the evaluation written to
``<models>/report/``: quality precision/recall at several thresholds (PNG
and table) with examples per score decile, coherence calibration, safety
precision/recall against the lexicon labels. The final models are trained
on the training split only, so the report is honest about them.
"""
from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

from pipeline.coherence import load_model as load_coherence, train_coherence
from pipeline.config import load_config
from pipeline.perplexity import (BUCKETS, PerplexityModel, PerplexityScorer, bucket_cutoffs, bucket_of, calibrate,
                                 model_paths, perplexity_report, train_perplexity, write_thresholds)
from pipeline.quality import evaluate_quality, train_quality
from pipeline.safety import CATEGORIES, evaluate_safety, train_safety
from pipeline.scorer_models import (REFERENCE_DIR, SAMPLE_DIR, crawl_docs, models_path, quality_docs,
                                    reference_docs, split_of)

LANGUAGES = ("en", "zh")
HELDOUT = 0.2

_T0 = time.time()


def log(msg: str) -> None:
    print(f"[{time.time() - _T0:6.1f}s] {msg}", file=sys.stderr, flush=True)


def split(docs, part):
    return [d for d in docs if split_of(d["id"], HELDOUT) == part]


def quality_report(lang: str, ev: dict, out: Path) -> list[str]:
    """Markdown lines (P/R table, examples per decile) and a PR plot."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from pipeline.quality import precision_recall

    md = [f"## quality / {lang}", "", "| threshold | precision | recall | tp | fp | fn |", "|---:|---:|---:|---:|---:|---:|"]
    md += [f"| {r['threshold']:.1f} | {r['precision']:.3f} | {r['recall']:.3f} | {r['tp']} | {r['fp']} | {r['fn']} |"
           for r in ev["pr"]]
    curve = precision_recall([(s, y) for s, y, _ in ev["scored"]], [i / 100 for i in range(1, 100)])
    fig, ax = plt.subplots(figsize=(4.5, 4))
    ax.plot([r["recall"] for r in curve], [r["precision"] for r in curve], marker=".")
    ax.set_xlabel("recall")
    ax.set_ylabel("precision")
    ax.set_title(f"quality ({lang}), held-out: reference vs crawl")
    fig.tight_layout()
    fig.savefig(out / f"quality_pr_{lang}.png", dpi=100)
    plt.close(fig)
    md += ["", f"![PR curve](quality_pr_{lang}.png)", "", "Examples per score decile (held-out):", ""]
    by_decile: dict[int, list] = {}
    for s, y, text in sorted(ev["scored"], key=lambda x: (x[0], x[2])):
        by_decile.setdefault(min(9, int(s * 10)), []).append((s, y, text))
    for dec in sorted(by_decile):
        md.append(f"- **{dec / 10:.1f}-{(dec + 1) / 10:.1f}** ({len(by_decile[dec])} docs)")
        for s, y, text in by_decile[dec][:2]:
            md.append(f"  - {s:.3f} {'ref' if y else 'crawl'}: {' '.join(text[:160].split())}")
    return md + [""]


def perplexity_section(crawl: list[dict], models: str, report: Path) -> list[str]:
    """cc_net buckets of the crawl sample: histograms with cut-offs and
    examples per bucket (the same functions the corpus build calls)."""
    scorer = PerplexityScorer.from_config(models_dir=models, languages=LANGUAGES)
    ppl = {lang: [] for lang in LANGUAGES}
    texts = {lang: [] for lang in LANGUAGES}
    for d in crawl:
        if d["lang"] in ppl:
            v = scorer.models[d["lang"]].perplexity(d["text"])
            if v is not None:
                ppl[d["lang"]].append(v)
                texts[d["lang"]].append(d["text"])
    cuts = bucket_cutoffs(ppl)
    examples = {lang: {b: [] for b in BUCKETS} for lang in LANGUAGES}
    for lang in LANGUAGES:
        for v, t in sorted(zip(ppl[lang], texts[lang])):
            bucket = examples[lang][bucket_of(v, cuts[lang])]
            if len(bucket) < 3 and len(t) > 200:
                bucket.append(f"[ppl {v:.0f}] {t}")
    perplexity_report(ppl, cuts, examples, report)
    return ["## perplexity buckets of the crawl sample", ""] + [
        f"- {lang}: head <= {cuts[lang][0]:.0f} < middle <= {cuts[lang][1]:.0f} < tail "
        f"({len(ppl[lang])} documents; ![{lang}](perplexity_{lang}.png))" for lang in LANGUAGES
    ] + ["", "Examples per bucket: [perplexity_examples.md](perplexity_examples.md)", ""]


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--models", default="models", help="output directory (default: models)")
    ap.add_argument("--kenlm-bin", default="tools/kenlm/bin", help="directory of lmplz and build_binary")
    ap.add_argument("--reference", default=str(REFERENCE_DIR))
    ap.add_argument("--sample", default=str(SAMPLE_DIR), help="crawl-like text (negatives, safety data)")
    args = ap.parse_args(argv)

    report = models_path(args.models, "report")
    report.mkdir(parents=True, exist_ok=True)
    crawl = list(crawl_docs(Path(args.sample)))
    refs = {lang: reference_docs(lang, Path(args.reference)) for lang in LANGUAGES}
    log(f"data: {len(crawl)} crawl documents, " + ", ".join(f"{len(v)} reference {k}" for k, v in refs.items()))
    md = ["# Learned scorers: held-out evaluation", "",
          f"Written by `python -m pipeline.train_scorers`; {int(HELDOUT * 100)}% of documents held out by id hash.", ""]
    summary: dict = {}
    ppl_cfg = load_config().section("perplexity")
    thresholds = {}
    for lang in LANGUAGES:
        texts = [d["text"] for d in split(refs[lang], "train")]
        train_perplexity(texts, lang, args.models, args.kenlm_bin)
        log(f"perplexity/{lang}: SentencePiece + KenLM 5-gram on {len(texts)} reference documents")
        thresholds[lang] = calibrate(PerplexityModel(*model_paths(args.models, lang)),
                                     [d["text"] for d in split(refs[lang], "test")], lang,
                                     ppl_cfg["long_line_tokens"], ppl_cfg["salad_min_tokens"])
        t = thresholds[lang]
        log(f"perplexity/{lang}: calibrated on held-out reference: max_perplexity {t['max_perplexity']}, "
            f"salad_max_gain {t['salad_max_gain']}, salad_min_perplexity {t['salad_min_perplexity']}")
        md += [f"## perplexity thresholds / {lang} (held-out reference vs its word salad)", "",
               "```", json.dumps(t, indent=1, sort_keys=True), "```", ""]
        positives, negatives = quality_docs(lang, crawl, refs[lang])
        model = train_quality(split(positives, "train"), split(negatives, "train"), lang, args.models)
        ev = evaluate_quality(model, split(positives, "test"), split(negatives, "test"))
        md += quality_report(lang, ev, report)
        summary[f"quality_{lang}"] = ev["pr"]
        at05 = next(r for r in ev["pr"] if r["threshold"] == 0.5)
        log(f"quality/{lang}: held-out P={at05['precision']:.3f} R={at05['recall']:.3f} at 0.5")
        path = train_coherence(texts, lang, args.models)
        cal = load_coherence(str(path))
        summary[f"coherence_{lang}"] = {"threshold": cal["threshold"], **cal["calibration"]}
        md += [f"## coherence / {lang}", "", f"threshold {cal['threshold']} (1% of reference documents get a break below it); "
               f"glued junctions below it: {cal['calibration']['glued_detected']:.1%} "
               f"of {cal['calibration']['glued_junctions']}", ""]
        log(f"coherence/{lang}: threshold {cal['threshold']}, glued detected {cal['calibration']['glued_detected']:.1%}")
    write_thresholds(args.models, thresholds)
    summary["perplexity_thresholds"] = thresholds
    md += perplexity_section(crawl, args.models, report)
    log("perplexity: buckets of the crawl sample written to report/perplexity_*.png")
    safety_docs = crawl + refs["en"] + refs["zh"]
    train_safety(split(safety_docs, "train"), args.models)
    ev = evaluate_safety(args.models, split(safety_docs, "test"))
    summary["safety"] = ev
    md += ["## safety (classifier alone vs the lexicon's weak labels, held-out)", "",
           "| category | threshold | precision | recall | tp | fp | fn |", "|---|---:|---:|---:|---:|---:|---:|"]
    for c in CATEGORIES:
        md += [f"| {c} | {r['threshold']:.1f} | {r['precision']:.3f} | {r['recall']:.3f} | {r['tp']} | {r['fp']} | {r['fn']} |"
               for r in ev[c]]
    log("safety: fastText one-vs-all on lexicon labels; "
        + ", ".join(f"{c} positives held out={ev[c][0]['tp'] + ev[c][0]['fn']}" for c in CATEGORIES))
    (report / "scorers.md").write_text("\n".join(md) + "\n", encoding="utf-8")
    (report / "scorers.json").write_text(json.dumps(summary, indent=1, sort_keys=True) + "\n", encoding="utf-8")
    log(f"models in {models_path(args.models)}; report {report / 'scorers.md'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
