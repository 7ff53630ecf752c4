"""Figures behind the rule stages' config (issue #12), on dev data only:
data/sample by default (tuning data), or a dev split given with --input
(a folder of JSONL/Parquet laid out like data/sample, with its
sample_labels.parquet beside it). Never run it on a test split to tune.

Prints, with the current config:
  1. reasons of heuristics + repetition per (kind, language);
  2. clean documents (kind "real") each rule reading drops, before and
     after issue #12: dup n-grams counted at every occurrence over word
     characters with single CJK characters as words in non-zh documents
     (before) vs datatrove's reading with words by script (now); short
     lines by length only (before) vs not ending in clause punctuation
     (now); modern Chinese stop words only (before) vs the full list (now);
  3. the garbled rule measured before ftfy: how many pages it drops, how
     many ftfy repairs, how many of those pass every other rule then (lost);
  4. the coherence scorer's false-split rate on clean documents per
     language (share of judged clean documents with an incoherent boundary).

  .venv/bin/python bench/rules.py [--input data/sample]

With --eval dev (data/eval/quality/dev.jsonl.gz, the held-out dev split,
never test), prints per (label, category), each rule ALONE on every document:
  a. the code/log-lines rule (heuristics max_code_line_ratio /
     min_prose_line_ratio) at the configured bounds and a small grid;
  b. the top n-gram rules on documents with CJK, CJK character weight 1/2/3;
  c. the alpha-word rule with and without markup runs and code lines;
  d. FineWeb's punctuated-lines rule alone: over physical lines (as
     published) vs logical lines (hard-wrapped lines joined), and a small
     grid of max_wrap_chars / wrapped_line_frac.
"""
from __future__ import annotations

import argparse
import collections
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(REPO / "bench"))

import numpy as np  # noqa: E402

from filters import load_docs  # noqa: E402
from pipeline.document import Document  # noqa: E402
from pipeline.heuristics import GARBLED_RE, ZH_STOP_WORDS, TextMetricFilter  # noqa: E402
from pipeline.repetition import RepetitionFilter  # noqa: E402
from pipeline.words import TOKEN_RE, chinese_words  # noqa: E402

MODERN_ZH_STOP_WORDS = ZH_STOP_WORDS[:14]


def legacy_dup_ngram(ws: list[str], n: int) -> float:
    """Before issue #12: characters of every occurrence of an n-gram that
    occurs twice or more (overlaps merged), over word characters."""
    if len(ws) < n:
        return 0.0
    grams = collections.Counter(tuple(ws[i:i + n]) for i in range(len(ws) - n + 1))
    covered = np.zeros(len(ws), dtype=bool)
    for i in range(len(ws) - n + 1):
        if grams[tuple(ws[i:i + n])] > 1:
            covered[i:i + n] = True
    lens = np.array([len(w) for w in ws])
    return float(lens[covered].sum()) / max(int(lens.sum()), 1)


def eval_split(split: str) -> None:
    import gzip
    import json

    from pipeline.heuristics import LETTERLESS_RE
    from pipeline.words import CJK_RE

    path = REPO / "data" / "eval" / "quality" / f"{split}.jsonl.gz"
    with gzip.open(path, "rt", encoding="utf-8") as f:
        docs = [json.loads(line) for line in f]
    H, R = TextMetricFilter.from_config(), RepetitionFilter.from_config()
    hm = [H.metrics(Document(id=d["id"], text=d["text"], lang=d["lang_gold"])) for d in docs]

    def show(title: str, hits) -> None:
        c = collections.Counter((d["label"], d["category"]) for d, hit in zip(docs, hits) if hit)
        print(f"  {title}: " + ", ".join(f"{lab}:{cat} {n}" for (lab, cat), n in sorted(c.items())))

    print(f"a. code/log-lines rule alone on {path.name} (code share > C and prose share < P):")
    for c, p in [(H.max_code_line_ratio, H.min_prose_line_ratio), (0.6, 0.2), (0.6, 0.15), (0.5, 0.3)]:
        show(f"C={c} P={p}", [m["h_code_line_ratio"] > c and m["h_prose_line_ratio"] < p for m in hm])
    print("b. top n-gram rules alone on documents with CJK, CJK character weight k:")
    for k in (1.0, 2.0, 3.0):
        Rk = RepetitionFilter.from_config(cjk_char_weight=k)
        hits = []
        for d in docs:
            if not CJK_RE.search(d["text"]):
                hits.append(False)
                continue
            m = Rk.metrics(Document(id=d["id"], text=d["text"], lang=d["lang_gold"]))
            hits.append(any(m[f"rep_top_{n}gram_frac"] > lim for n, lim in Rk.top.items()))
        show(f"k={k}", hits)
    print("c. alpha-word rule alone (non-zh): all whitespace tokens (Gopher as published) vs now:")
    old = [not (d["lang_gold"] or "").startswith("zh") and bool(d["text"].split()) and
           1 - len(LETTERLESS_RE.findall(d["text"])) / len(d["text"].split()) < H.min_alpha_word_ratio
           for d in docs]
    show("published", old)
    show("now", [not (d["lang_gold"] or "").startswith("zh") and m.get("h_alpha_word_ratio", 1.0) < H.min_alpha_word_ratio
                 for d, m in zip(docs, hm)])
    from pipeline.heuristics import MARKUP_RUN_RE, logical_lines, punct_line_ratio

    print("d. punctuated-lines rule alone (share of lines ending in terminal punctuation < "
          f"{H.min_punct_line_ratio}): physical lines (FineWeb as published) vs logical lines:")
    phys = [[ln for ln in map(str.strip, d["text"].splitlines()) if ln and not MARKUP_RUN_RE.fullmatch(ln)]
            for d in docs]
    show("physical", [punct_line_ratio(ls) < H.min_punct_line_ratio for ls in phys])
    for w, fr in [(H.max_wrap_chars, H.wrapped_line_frac), (100, 0.6), (100, 0.9), (80, 0.75), (120, 0.75)]:
        show(f"logical max_wrap_chars={w} wrapped_line_frac={fr}",
             [punct_line_ratio(logical_lines(d["text"], w, fr)) < H.min_punct_line_ratio for d in docs])


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--input", default=str(REPO / "data" / "sample"))
    ap.add_argument("--eval", choices=["dev"], help="held-out dev split figures instead (never test)")
    args = ap.parse_args()
    if args.eval:
        eval_split(args.eval)
        return
    docs = load_docs(Path(args.input))
    H, R = TextMetricFilter.from_config(), RepetitionFilter.from_config()
    H_loose = TextMetricFilter.from_config(max_short_line_ratio=1.0, min_stop_words=0)
    H_raw = TextMetricFilter.from_config(measure_after_ftfy=False)

    print("1. heuristics + repetition, reasons per (kind, lang):")
    reasons = collections.Counter()
    for _, text, lang, kind in docs:
        doc = Document(id="", text=text, lang=lang)
        r = H(doc)
        r = f"heuristics:{r}" if r else (f"repetition:{R(doc)}" if R(doc) else "kept")
        reasons[(kind, lang, r)] += 1
    for k, v in sorted(reasons.items()):
        print(f"  {k[0]:<15} {k[1]} {k[2]:<42} {v}")

    print("\n2. clean documents (kind 'real') dropped by each reading, before -> now:")
    before = collections.Counter()
    now = collections.Counter()
    for _, text, lang, kind in docs:
        if kind != "real":
            continue
        doc = Document(id="", text=text, lang=lang)
        if H_loose(doc) is not None:  # too short etc.: not about these rules
            continue
        zh = lang == "zh"
        ws = chinese_words(text) if zh else TOKEN_RE.findall(text)
        if any(legacy_dup_ngram(ws, n) > lim for n, lim in R.dup.items()):
            before[(lang, "dup_ngram")] += 1
        m = R.metrics(Document(id="", text=text, lang=lang))
        if any(m[f"rep_dup_{n}gram_frac"] > lim for n, lim in R.dup.items()):
            now[(lang, "dup_ngram")] += 1
        lines = [ln for ln in map(str.strip, text.splitlines()) if ln]
        short = H.short_line_chars_zh if zh else H.short_line_chars
        if sum(len(ln) < short for ln in lines) / max(len(lines), 1) > H.max_short_line_ratio:
            before[(lang, "too_many_short_lines")] += 1
        hm = H.metrics(Document(id="", text=text, lang=lang))
        if hm["h_short_line_ratio"] > H.max_short_line_ratio:
            now[(lang, "too_many_short_lines")] += 1
        if zh:
            if sum(w in text for w in MODERN_ZH_STOP_WORDS) < H.min_stop_words:
                before[(lang, "no_stop_words")] += 1
            if hm["h_n_stop_words"] < H.min_stop_words:
                now[(lang, "no_stop_words")] += 1
    for k in sorted(set(before) | set(now)):
        print(f"  {k[0]} {k[1]:<22} {before[k]:>4} -> {now[k]}")

    print("\n3. garbled rule measured before ftfy (Yi's order: heuristics before correction):")
    dropped = repaired = lost = 0
    for _, text, lang, kind in docs:
        if H_raw(Document(id="", text=text, lang=lang)) != "garbled":
            continue
        dropped += 1
        doc = Document(id="", text=text, lang=lang)
        if H.metrics(doc)["h_garbled_ratio"] <= H.max_garbled_ratio:
            repaired += 1
            if H(doc) is None and R(doc) is None:
                lost += 1
    print(f"  dropped as garbled {dropped}, repairable by ftfy {repaired}, "
          f"of which pass every other rule (lost before measure_after_ftfy) {lost}")

    print("\n4. coherence false-split rate on clean documents (kind 'real'):")
    try:
        from pipeline.coherence import CoherenceScorer

        S = CoherenceScorer.from_config()
    except Exception as e:  # models not built
        print(f"  skipped: {e}")
        return
    judged = collections.Counter()
    split = collections.Counter()
    for _, text, lang, kind in docs:
        if kind != "real":
            continue
        found = S.breaks(text, lang)
        if not found or not found[0]:
            continue
        judged[lang] += 1
        split[lang] += bool(found[1])
    for lang in sorted(judged):
        print(f"  {lang}: {split[lang]}/{judged[lang]} = {split[lang] / judged[lang]:.3f} of judged clean documents split")


if __name__ == "__main__":
    main()
