"""Our heuristics + repetition stages against datatrove 0.10.1's
GopherRepetitionFilter + GopherQualityFilter + C4QualityFilter, side by side
in one process on the same documents: the English and Chinese texts of
data/sample (JSONL and Parquet files read directly; junk records, which have
no gold language, go to English or Chinese by their share of CJK characters).

Prints documents/s per core (CPU time of this single process) of each
cascade and their ratio, the keep/drop agreement on English, the reject rate
of each by sample kind (data/sample_labels.parquet), a few disagreements,
and the spread of the digit ratio (backs config [heuristics]
max_digit_ratio). Writes out/bench/filters.png.

datatrove's English word and sentence splitting needs NLTK's punkt_tab
model, which cannot be downloaded here: punkt parameters are trained with
NLTK's own (unsupervised) PunktTrainer on the sample's English Wikipedia
text first, which costs datatrove nothing at run time. Its Chinese splitting
is spaCy's blank "zh" pipeline with jieba, as datatrove sets it up.

  make bench-deps && .venv/bin/python bench/filters.py [--input data/sample] [--rounds 2]
"""
from __future__ import annotations

import argparse
import collections
import gzip
import io
import json
import os
import sys
import tempfile
import time
import warnings
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

import pyarrow.parquet as pq  # noqa: E402

from pipeline.config import load_config  # noqa: E402
from pipeline.document import Document  # noqa: E402
from pipeline.heuristics import TextMetricFilter  # noqa: E402
from pipeline.repetition import RepetitionFilter  # noqa: E402
from pipeline.words import is_chinese  # noqa: E402


def load_docs(inp: Path) -> list[tuple[str, str, str, str]]:
    """(url, text, lang, kind) of every en/zh text record of the JSONL and
    Parquet files, in file order."""
    labels = pq.read_table(inp.parent / "sample_labels.parquet", columns=["url", "kind"]).to_pydict()
    kind_of = dict(zip(labels["url"], labels["kind"]))
    rows: list[dict] = []
    for f in sorted((inp / "jsonl").glob("*.jsonl.*")):
        if f.suffix == ".gz":
            fh = gzip.open(f, "rt", encoding="utf-8")
        else:
            import zstandard

            fh = io.TextIOWrapper(zstandard.ZstdDecompressor().stream_reader(open(f, "rb")), encoding="utf-8")
        with fh:
            rows += [json.loads(line) for line in fh]
    for f in sorted((inp / "parquet").glob("*.parquet")):
        rows += pq.read_table(f, columns=["url", "text", "lang_gold"]).to_pylist()
    docs = []
    for r in rows:
        lang = r.get("lang_gold")
        if lang is None:
            lang = "zh" if is_chinese(Document(id="", text=r["text"])) else "en"
        if lang in ("en", "zh"):
            docs.append((r["url"], r["text"], lang, kind_of.get(r["url"], "real")))
    return docs


def punkt_for_datatrove(english_texts: list[str]) -> None:
    """Train punkt parameters on ``english_texts`` and put them where NLTK
    looks for tokenizers/punkt_tab/english (a temp dir on nltk.data.path)."""
    import nltk
    from nltk.tabdata import TabEncoder
    from nltk.tokenize.punkt import PunktTrainer

    trainer = PunktTrainer()
    trainer.train("\n\n".join(english_texts), finalize=True)
    params = trainer.get_params()
    root = tempfile.mkdtemp(prefix="yi-bench-nltk-")
    d = Path(root, "tokenizers", "punkt_tab", "english")
    d.mkdir(parents=True)
    enc = TabEncoder()
    (d / "collocations.tab").write_text(enc.tups2tab(params.collocations))
    (d / "sent_starters.txt").write_text(enc.set2txt(params.sent_starters))
    (d / "abbrev_types.txt").write_text(enc.set2txt(params.abbrev_types))
    (d / "ortho_context.tab").write_text(enc.ivdict2tab(params.ortho_context))
    nltk.data.path.insert(0, root)


class Ours:
    name = "ours (heuristics+repetition)"

    def __init__(self):
        cfg = load_config()
        self.stages = [TextMetricFilter(**cfg.section("heuristics")), RepetitionFilter(**cfg.section("repetition"))]

    def __call__(self, text: str, lang: str) -> str | None:
        doc = Document(id="", text=text, lang=lang)
        for st in self.stages:
            reason = st(doc)
            if reason is not None:
                return f"{st.name}:{reason}"
        return None


class Datatrove:
    name = "datatrove (GopherRep+GopherQual+C4)"

    def __init__(self):
        from datatrove.data import Document as DTDocument
        from datatrove.pipeline.filters import C4QualityFilter, GopherQualityFilter, GopherRepetitionFilter

        self.doc = DTDocument
        # FineWeb's order: repetition, quality, C4 (datatrove examples/fineweb.py)
        self.filters = {
            lang: [GopherRepetitionFilter(language=lang), GopherQualityFilter(language=lang), C4QualityFilter(language=lang)]
            for lang in ("en", "zh")
        }

    def __call__(self, text: str, lang: str) -> str | None:
        doc = self.doc(text=text, id="")
        for f in self.filters[lang]:
            out = f.filter(doc)
            keep, reason = out if isinstance(out, tuple) else (out, "")
            if not keep:
                return f"{type(f).__name__}:{reason}"
        return None


def timed(impl, docs) -> tuple[float, list[str | None]]:
    t0 = time.process_time()
    out = [impl(text, lang) for _, text, lang, _ in docs]
    return time.process_time() - t0, out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--input", default=str(REPO / "data" / "sample"))
    ap.add_argument("--rounds", type=int, default=2, help="timed passes of each (best is kept)")
    ap.add_argument("--out", default=str(REPO / "out" / "bench"))
    args = ap.parse_args()
    warnings.filterwarnings("ignore")
    docs = load_docs(Path(args.input))
    n_en = sum(1 for d in docs if d[2] == "en")
    print(f"documents: {len(docs)} ({n_en} en, {len(docs) - n_en} zh), {sum(len(d[1]) for d in docs) / 1e6:.1f}M chars")

    wiki = [t for u, t, lang, k in docs if lang == "en" and "wikipedia" in u]
    punkt_for_datatrove(wiki or [t for _, t, lang, _ in docs if lang == "en"][:500])
    impls = [Ours(), Datatrove()]
    for impl in impls:  # warm-up: jieba dictionary, spaCy, punkt load outside the timing
        for d in docs[:: max(len(docs) // 50, 1)]:
            impl(d[1], d[2])

    best = {impl.name: float("inf") for impl in impls}
    decisions = {}
    for r in range(args.rounds):
        for impl in impls if r % 2 == 0 else impls[::-1]:
            dt, out = timed(impl, docs)
            best[impl.name] = min(best[impl.name], dt)
            decisions[impl.name] = out
    ours, theirs = (decisions[i.name] for i in impls)
    print("\nspeed (CPU time of one process, best of %d rounds, same documents)" % args.rounds)
    rates = {}
    for impl in impls:
        rates[impl.name] = len(docs) / best[impl.name]
        print(f"  {impl.name:38s} {rates[impl.name]:9.1f} docs/s  ({best[impl.name]:.2f} s)")
    ratio = rates[impls[0].name] / rates[impls[1].name]
    print(f"  ratio ours/datatrove: {ratio:.2f}x")
    for lang in ("en", "zh"):
        sub = [d for d in docs if d[2] == lang]
        t = {impl.name: timed(impl, sub)[0] for impl in impls}
        print(f"  {lang}: ours {len(sub) / t[impls[0].name]:.1f} docs/s, datatrove "
              f"{len(sub) / t[impls[1].name]:.1f} docs/s, ratio {t[impls[1].name] / t[impls[0].name]:.2f}x")

    print("\nkeep/drop agreement on English")
    en = [i for i, d in enumerate(docs) if d[2] == "en"]
    table = collections.Counter((ours[i] is None, theirs[i] is None) for i in en)
    agree = table[(True, True)] + table[(False, False)]
    print(f"  both keep {table[(True, True)]}, both drop {table[(False, False)]}, "
          f"only ours keeps {table[(True, False)]}, only datatrove keeps {table[(False, True)]}")
    print(f"  agreement {agree / len(en):.3f} over {len(en)} documents")

    print("\nreject rate by sample kind (ours / datatrove)")
    by_kind = collections.defaultdict(list)
    for i, d in enumerate(docs):
        by_kind[(d[3], d[2])].append(i)
    kinds = sorted(by_kind)
    rej = {}
    for k in kinds:
        idx = by_kind[k]
        rej[k] = (sum(ours[i] is not None for i in idx) / len(idx), sum(theirs[i] is not None for i in idx) / len(idx))
        print(f"  {k[0]:15s} {k[1]}  n={len(idx):5d}  {rej[k][0]:.2f} / {rej[k][1]:.2f}")

    long_en = [i for i in en if len(docs[i][1].split()) >= 50]
    agree_long = sum((ours[i] is None) == (theirs[i] is None) for i in long_en)
    print(f"  on the {len(long_en)} English documents of >= 50 words: agreement {agree_long / max(len(long_en), 1):.3f}")
    # C4 runs last in datatrove's cascade: a document it drops passed both Gopher filters
    gopher_drop = {i for i in en if theirs[i] and theirs[i].startswith("Gopher")}
    agree_g = sum((ours[i] is not None) == (i in gopher_drop) for i in long_en)
    print(f"  same, against datatrove's two Gopher filters only (C4 left out): {agree_g / max(len(long_en), 1):.3f}")

    for label, out in (("ours", ours), ("datatrove", theirs)):
        for lang in ("en", "zh"):
            top = collections.Counter(out[i] for i, d in enumerate(docs) if d[2] == lang and out[i]).most_common(6)
            print(f"\nreasons ({label}, {lang}): " + ", ".join(f"{r} {n}" for r, n in top))

    print("\nexamples of disagreement (English, first 100 chars)")
    for label, cond in (("only ours drops", lambda i: ours[i] and not theirs[i]),
                        ("only datatrove drops", lambda i: theirs[i] and not ours[i])):
        ex = [i for i in en if cond(i)][:3]
        for i in ex:
            print(f"  [{label}] ours={ours[i]} datatrove={theirs[i]} kind={docs[i][3]}: {docs[i][1][:100]!r}")

    h = TextMetricFilter.from_config()
    print("\ndigit ratio (h_digit_ratio): quantiles 50/90/99/max of real documents; min of number tables")
    for lang in ("en", "zh"):
        real = sorted(h.metrics(Document(id="", text=t, lang=lg))["h_digit_ratio"]
                      for _, t, lg, k in docs if lg == lang and k == "real")
        q = [real[min(int(p * len(real)), len(real) - 1)] for p in (0.5, 0.9, 0.99)] + [real[-1]]
        print(f"  {lang} real: " + " ".join(f"{v:.3f}" for v in q))
    tables = [h.metrics(Document(id="", text=t, lang=lg))["h_digit_ratio"] for _, t, lg, k in docs if k == "number_table"]
    if tables:
        print(f"  number_table min: {min(tables):.3f}")

    from pipeline.words import CJK_RE, chinese_words

    zh_words = [w for _, t, lg, k in docs if lg == "zh" and k == "real" for w in chinese_words(t) if CJK_RE.match(w)]
    print(f"\nmean length of Chinese (jieba) words in real zh documents: "
          f"{sum(map(len, zh_words)) / max(len(zh_words), 1):.2f} characters ({len(zh_words)} words)")

    os.makedirs(args.out, exist_ok=True)
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, (a1, a2) = plt.subplots(1, 2, figsize=(13, 4.5), gridspec_kw={"width_ratios": [1, 3]})
    a1.bar(["ours", "datatrove"], [rates[i.name] for i in impls], color=["tab:blue", "tab:orange"])
    a1.set_ylabel("documents / s (one core)")
    a1.set_title(f"speed: {ratio:.1f}x")
    x = range(len(kinds))
    a2.bar([i - 0.2 for i in x], [rej[k][0] for k in kinds], 0.4, label="ours")
    a2.bar([i + 0.2 for i in x], [rej[k][1] for k in kinds], 0.4, label="datatrove")
    a2.set_xticks(list(x), [f"{k}\n{lg}" for k, lg in kinds], rotation=45, fontsize=7)
    a2.set_ylabel("share rejected")
    a2.legend(loc="lower left")
    a2.set_title("reject rate by sample kind")
    fig.tight_layout()
    fig.savefig(Path(args.out) / "filters.png", dpi=110)
    print(f"\nplot: {Path(args.out) / 'filters.png'}")


if __name__ == "__main__":
    main()
