"""Language ID on the sample's ``lang_gold``-labelled documents.

For each lingua setting (low / high accuracy mode × all 75 languages /
a restricted candidate set) prints docs per CPU second (process time, so
other load on the machine does not count), peak RSS, accuracy
overall and per gold language, the confusion counts, and the keep-decision
quality (English + Chinese kept, everything else dropped) at several
``min_score`` thresholds. Each setting runs in its own process so that RSS
and load time are its own. Writes out/bench/langid.png.

  .venv/bin/python bench/langid.py [--input data/sample] [--per-lang 800]
"""
from __future__ import annotations

import argparse
import collections
import json
import multiprocessing as mp
import resource
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from pipeline.config import load_config  # noqa: E402

# The restricted candidate set is the one in config/default.toml [langid].
RESTRICTED = load_config().section("langid")["candidates"]
SETTINGS = [
    ("low/all", dict(candidates="all", high_accuracy=False)),
    ("low/restricted", dict(candidates=RESTRICTED, high_accuracy=False)),
    ("high/all", dict(candidates="all", high_accuracy=True)),
    ("high/restricted", dict(candidates=RESTRICTED, high_accuracy=True)),
]
THRESHOLDS = [0.0, 0.5, 0.65, 0.8, 0.9]


def labelled_docs(inp: str, per_lang: int) -> list[tuple[str, str]]:
    """(text, gold) of every document our readers keep that has a gold
    language: ``meta.lang_gold`` (JSONL, Parquet), else the language of its
    url in data/sample_labels.parquet (WARC, WET). At most ``per_lang`` a
    language, taken evenly in id order (deterministic)."""
    import pyarrow.parquet as pq

    from pipeline.readers import list_inputs, read_file

    labels_path = Path(inp).parent / "sample_labels.parquet"
    by_url = {}
    if labels_path.exists():
        by_url = {r["url"]: r["lang"] for r in pq.read_table(labels_path, columns=["url", "lang"]).to_pylist()}
    read_cfg = load_config().section("read")
    files, _ = list_inputs([inp])
    per: dict[str, list] = collections.defaultdict(list)
    for f in files:
        for b in read_file(f, read_cfg):
            for r in b.to_pylist():
                if r["decision"] != "kept":
                    continue
                gold = json.loads(r["meta"]).get("lang_gold") if r["meta"] else None
                gold = gold or by_url.get(r["url"])
                if gold:
                    per[gold].append((r["id"], r["text"]))
    docs = []
    for gold, items in sorted(per.items()):
        items.sort()
        if len(items) > per_lang:
            step = len(items) / per_lang
            items = [items[int(i * step)] for i in range(per_lang)]
        docs += [(t, gold) for _, t in items]
    return docs


def run_setting(args) -> dict:
    """In a fresh process: load, then classify every document."""
    kwargs, docs = args
    from pipeline.langid import LanguageID

    t0 = time.process_time()
    stage = LanguageID.from_config(**kwargs)
    load_s = time.process_time() - t0
    t0 = time.process_time()
    preds = [stage.identify(text) for text, _ in docs]
    run_s = time.process_time() - t0
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return dict(load_s=load_s, run_s=run_s, rss_mb=rss / 1024, preds=preds)


def keep_quality(preds, golds, keep, threshold):
    """Recall of en/zh (kept with the right label) and share of other
    documents wrongly kept, at ``threshold``."""
    kept_ok = n_keep = wrong = n_other = 0
    for (lang, score), gold in zip(preds, golds):
        kept = lang in keep and score >= threshold
        if gold in keep:
            n_keep += 1
            kept_ok += kept and lang == gold
        else:
            n_other += 1
            wrong += kept
    return kept_ok / max(n_keep, 1), wrong / max(n_other, 1)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--input", default=str(REPO / "data" / "sample"))
    ap.add_argument("--per-lang", type=int, default=800, help="at most this many documents a language")
    ap.add_argument("--out", default=str(REPO / "out" / "bench"))
    args = ap.parse_args()
    lcfg = load_config().section("langid")
    keep = set(lcfg["keep"])
    max_chars = lcfg["max_chars"]

    t0 = time.perf_counter()
    docs = labelled_docs(args.input, args.per_lang)
    golds = [g for _, g in docs]
    counts = collections.Counter(golds)
    print(f"{len(docs)} labelled documents read in {time.perf_counter() - t0:.1f}s; gold: "
          + ", ".join(f"{k}={v}" for k, v in counts.most_common()))
    gold_langs = sorted(counts)
    missing = [g for g in gold_langs if g not in RESTRICTED]
    if missing:
        print(f"gold languages lingua has no model for (any answer is an error): {missing}")

    ctx = mp.get_context("spawn")
    results = {}
    for name, kw in SETTINGS:
        with ctx.Pool(1) as pool:
            results[name] = pool.map(run_setting, [(kw, docs)])[0]
        r = results[name]
        print(f"  ran {name}: {len(docs) / r['run_s']:.0f} docs/s", flush=True)

    print()
    print(f"{'setting':<16} {'docs/cpu-s':>11} {'load s':>7} {'RSS MB':>7} {'accuracy':>8}  "
          + " ".join(f"{g:>6}" for g in gold_langs))
    acc_by = {}
    for name, r in results.items():
        right = collections.Counter()
        for (lang, _), gold in zip(r["preds"], golds):
            right[gold] += lang == gold
        acc = sum(right.values()) / len(golds)
        acc_by[name] = {g: right[g] / counts[g] for g in gold_langs}
        print(f"{name:<16} {len(docs) / r['run_s']:>11.0f} {r['load_s']:>7.2f} {r['rss_mb']:>7.0f} {acc:>8.4f}  "
              + " ".join(f"{acc_by[name][g]:>6.3f}" for g in gold_langs))

    print("\nkeep decision (en+zh recall | others wrongly kept) by min_score:")
    print(f"{'setting':<16} " + " ".join(f"{t:>15}" for t in THRESHOLDS))
    for name, r in results.items():
        cells = [keep_quality(r["preds"], golds, keep, t) for t in THRESHOLDS]
        print(f"{name:<16} " + " ".join(f"{rec:>7.4f}|{fp:<7.4f}" for rec, fp in cells))

    print("\nconfusions (gold -> predicted: count), errors only:")
    for name, r in results.items():
        conf = collections.Counter((g, lang or "none") for (lang, _), g in zip(r["preds"], golds) if lang != g)
        print(f"  {name:<16} " + (", ".join(f"{g}->{p}: {n}" for (g, p), n in conf.most_common(12)) or "none"))

    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    fig, (a1, a2) = plt.subplots(1, 2, figsize=(16, 4.5), gridspec_kw={"width_ratios": [3, 1]})
    width = 0.8 / len(results)
    for i, name in enumerate(results):
        a1.bar([j + i * width for j in range(len(gold_langs))], [acc_by[name][g] for g in gold_langs],
               width, label=name)
    a1.set_xticks([j + width * (len(results) - 1) / 2 for j in range(len(gold_langs))], gold_langs)
    a1.set_ylabel("accuracy")
    a1.set_ylim(0, 1.05)
    a1.set_title("lingua accuracy per gold language")
    a1.legend(fontsize=8, loc="lower left")
    names = list(results)
    a2.bar(names, [len(docs) / results[n]["run_s"] for n in names])
    a2.set_ylabel("docs per CPU second")
    a2.tick_params(axis="x", labelrotation=20)
    a2.set_title(f"speed (first {max_chars} chars of each document)")
    fig.tight_layout()
    fig.savefig(out / "langid.png", dpi=100)
    print(f"\nplot: {out / 'langid.png'}")


if __name__ == "__main__":
    main()
