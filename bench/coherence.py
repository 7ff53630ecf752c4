"""Coherence scorer (issue #12, part 2): false splits on clean documents vs
glued pages found, on dev data only.

  * false-split rate: share of judged clean documents that get an incoherent
    boundary (each one would be cut by jobs' coherence_split), per language,
    on data/sample (kind "real") and on data/eval/quality ``--split dev``
    (keep categories, per category);
  * glued-pair recall: two unrelated clean documents of one language (dev
    keep documents of different sources, paired in a fixed shuffled order)
    glued with a line break; found when a boundary lies within the scorer's
    window of the junction; pairs whose shorter side is under ``--strong``
    characters are counted apart (too little evidence to expect a split).
    A boundary elsewhere in a glued pair is a false cut (counted too).

Never run with ``--split test`` to tune; the test split is reported once.

  PYTHONHASHSEED=0 .venv/bin/python bench/coherence.py [--split dev] [--show N]
"""
from __future__ import annotations

import argparse
import collections
import gzip
import json
import random
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(REPO / "bench"))

from pipeline.coherence import CoherenceScorer, glue  # noqa: E402
from pipeline.config import load_config  # noqa: E402

KEEP = ("clean_en", "clean_zh", "verse", "dialog", "faq", "code_prose", "mixed_zh_en", "number_heavy")


def eval_docs(split: str) -> list[dict]:
    with gzip.open(REPO / "data" / "eval" / "quality" / f"{split}.jsonl.gz", "rt", encoding="utf-8") as fh:
        rows = [json.loads(line) for line in fh]
    return [r for r in rows if r["label"] == "keep" and r["category"] in KEEP and r["lang_gold"] in ("en", "zh")]


def sample_docs() -> list[tuple[str, str]]:
    from filters import load_docs

    return [(text, lang) for _, text, lang, kind in load_docs(REPO / "data" / "sample") if kind == "real"]


def false_splits(S: CoherenceScorer, docs, show: int, label: str) -> None:
    judged, split = collections.Counter(), collections.Counter()
    shown = 0
    total = collections.Counter()
    for key, text, lang in docs:
        total[key] += 1
        found = S.breaks(text, lang)
        if not found or not found[0]:
            continue
        judged[key] += 1
        if found[1]:
            split[key] += 1
            if shown < show:
                shown += 1
                off, sim = found[1][0]
                print(f"    [{key}] cut at {off}/{len(text)} sim {sim:.3f}: "
                      f"...{text[max(0, off - 80):off]!r} | {text[off:off + 80]!r}...")
    tot_j, tot_s, tot_n = collections.Counter(), collections.Counter(), collections.Counter()
    for key in sorted(total):
        lang = key.split("/")[0]
        tot_j[lang] += judged[key]
        tot_s[lang] += split[key]
        tot_n[lang] += total[key]
        print(f"  {label} {key:<22} false splits {split[key]:>3}/{judged[key]:<4} judged = "
              f"{split[key] / max(judged[key], 1):.3f}  ({split[key]}/{total[key]} documents)")
    for lang in sorted(tot_j):
        print(f"  {label} {lang} ALL{'':<17} false splits {tot_s[lang]:>3}/{tot_j[lang]:<4} judged = "
              f"{tot_s[lang] / max(tot_j[lang], 1):.3f}  ({tot_s[lang]}/{tot_n[lang]} documents)")


def glued_recall(S: CoherenceScorer, docs: list[dict], strong: int, seed: int = 12) -> None:
    for lang in ("en", "zh"):
        pool = [d for d in docs if d["lang_gold"] == lang]
        rng = random.Random(seed)
        order = pool[:]
        rng.shuffle(order)
        window = S.models[lang][2]
        stats = collections.Counter()
        for a, b in zip(order, order[1:] + order[:1]):
            if a["source"] == b["source"]:
                continue
            text, at = glue(a["text"], b["text"])
            found = S.breaks(text, lang)
            cuts = [off for off, _ in found[1]] if found else []
            kind = "strong" if min(len(a["text"]), len(b["text"])) >= strong else "weak"
            stats[kind] += 1
            stats[kind + "_found"] += any(abs(off - at) < window for off in cuts)
            stats[kind + "_falsecut"] += any(abs(off - at) >= window for off in cuts)
        for kind in ("strong", "weak"):
            n = stats[kind]
            if n:
                print(f"  glued {lang} {kind:<6} (shorter side {'>=' if kind == 'strong' else '<'} {strong} chars) "
                      f"found {stats[kind + '_found']:>3}/{n:<4} = {stats[kind + '_found'] / n:.3f}, "
                      f"pairs with a cut elsewhere {stats[kind + '_falsecut']}")


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--split", default="dev", choices=["dev", "test"])
    ap.add_argument("--show", type=int, default=0, help="print the first N false splits")
    ap.add_argument("--strong", type=int, default=1500, help="glued sides at least this long: strong evidence")
    ap.add_argument("--no-sample", action="store_true", help="skip data/sample")
    ap.add_argument("--models", default=None, help="models dir (default: the config's)")
    ap.add_argument("--threshold", action="append", default=[], metavar="LANG=VALUE",
                    help="override a language's threshold (exploring only; the config is what counts)")
    args = ap.parse_args()
    over: dict = {"models_dir": args.models} if args.models else {}
    if args.threshold:
        over["threshold"] = {**(load_config().section("coherence").get("threshold") or {}),
                             **{k: float(v) for k, v in (t.split("=") for t in args.threshold)}}
    S = CoherenceScorer.from_config(**over)
    print("per language (threshold, window, context chars, min side tokens):",
          {k: v[1:] for k, v in S.models.items()})
    if not args.no_sample and args.split == "dev":
        print("data/sample, kind 'real':")
        false_splits(S, [(lang, text, lang) for text, lang in sample_docs()], args.show, "sample")
    docs = eval_docs(args.split)
    print(f"data/eval/quality {args.split}, keep categories:")
    false_splits(S, [(f"{d['lang_gold']}/{d['category']}", d["text"], d["lang_gold"]) for d in docs], args.show,
                 args.split)
    glued_recall(S, docs, args.strong)


if __name__ == "__main__":
    main()
