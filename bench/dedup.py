"""Benchmark of the MinHash-LSH stage: our Spark job (local[2]) vs
single-process datasketch MinHashLSH, same input, same shingles, same
banding; then documents vs seconds for our job up to 200,000 documents.

  .venv/bin/python bench/dedup.py [--sizes 25000 50000 100000 200000] [--out out/bench-dedup]

Part 1 (quality): the planted-duplicate set (tests/fixtures/planted.py,
real English + Chinese text); precision / recall / F1 of removal decisions
per edit rate against exact-Jaccard truth at 0.7.
Part 2 (speed): documents built by perturbing real text; docs/s of both
tools side by side in one run (ratio), then the scaling table + PNG.
text-dedup 0.4.1 is not run: its Spark MinHash needs a pinned pyspark 3.x
next to our 4.3 (see README).
"""
from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

import numpy as np  # noqa: E402

from pipeline.config import load_config  # noqa: E402
from pipeline.dedup.minhash import MinHasher  # noqa: E402
from tests.fixtures.planted import base_texts, planted_set, removals, truth_removed  # noqa: E402
from pipeline.dedup.tokens import tokens  # noqa: E402


def datasketch_removed(recs, m: dict) -> dict[str, str]:
    """Single-process datasketch: MinHash per document, MinHashLSH with our
    banding, exact-Jaccard verification of candidates, union-find, survivor."""
    from datasketch import MinHash, MinHashLSH

    from pipeline.dedup.jaccard import jaccard
    n, b, r = m["ngram"], m["bands"], m["rows"]
    hasher = MinHasher(bands=b, rows=r, ngram=n, seed=m["seed"])
    lsh = MinHashLSH(num_perm=b * r, params=(b, r))
    pairs: list[tuple[int, int]] = []
    sets = {}
    for i, rec in enumerate(recs):
        toks = tokens(rec["text"])
        grams = [" ".join(toks[j:j + n]).encode() for j in range(max(1, len(toks) - n + 1))] if toks else []
        mh = MinHash(num_perm=b * r)
        mh.update_batch(grams)
        for j in lsh.query(mh) if grams else []:
            if j not in sets:
                sets[j] = hasher.shingle_set(recs[j]["text"])
            if i not in sets:
                sets[i] = hasher.shingle_set(rec["text"])
            if jaccard(sets[i], sets[j]) >= m["threshold"]:
                pairs.append((i, j))
        if grams:
            lsh.insert(i, mh)
    return removals(recs, pairs)


def ours_removed(spark, recs, cfg, workdir: Path) -> tuple[dict[str, str], float]:
    """Our job's MinHash stage on ``recs`` written as Parquet (read included
    in the time, as a user runs it)."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    from jobs.dedup import run_dedup
    path = workdir / f"input-{len(recs)}.parquet"
    pq.write_table(pa.Table.from_pylist([{k: r[k] for k in ("id", "text", "quality")} for r in recs]), path,
                   row_group_size=20_000)
    t = time.perf_counter()
    res = run_dedup(spark, spark.read.parquet(str(path)), cfg, ["minhash"])
    rows = res.ledger.where("decision = 'rejected'").select("id", "duplicate_of").collect()
    dt = time.perf_counter() - t
    path.unlink()
    return {r["id"]: r["duplicate_of"] for r in rows}, dt


def prf(pred: set, truth: set) -> tuple[float, float, float]:
    tp = len(pred & truth)
    p = tp / len(pred) if pred else 1.0
    r = tp / len(truth) if truth else 1.0
    return p, r, (2 * p * r / (p + r) if p + r else 0.0)


def scaled_docs(n: int, seed: int = 0) -> list[dict]:
    """``n`` documents from real text: each a base document (cut to 150
    tokens) with words substituted at a rate drawn from 0, 1%, 5%, 30%, 100%."""
    rng = np.random.default_rng(seed)
    bases = [t.split()[:150] if lang == "en" else list(t)[:300] for t, lang in base_texts()]
    vocab = np.array(sorted({w for b in bases for w in b}), dtype=object)
    rates = np.array([0.0, 0.01, 0.05, 0.3, 1.0])
    out = []
    for i in range(n):
        words = np.array(bases[i % len(bases)], dtype=object)
        mask = rng.random(len(words)) < rates[rng.integers(len(rates))]
        words[mask] = vocab[rng.integers(len(vocab), size=int(mask.sum()))]
        out.append({"id": f"d{i:07d}", "text": " ".join(words), "quality": float(rng.random())})
    return out


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--sizes", type=int, nargs="+", default=[25_000, 50_000, 100_000, 200_000])
    ap.add_argument("--compare-size", type=int, default=25_000)
    ap.add_argument("--out", default="out/bench-dedup")
    args = ap.parse_args()
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    cfg = load_config()
    m = cfg.section("dedup.minhash")
    from jobs.common import spark_session
    spark = spark_session("bench-dedup", master="local[2]", conf={"spark.sql.shuffle.partitions": "8",
                                                                   "spark.driver.memory": "4g"})
    results: dict = {"quality": {}, "speed": {}, "scaling": []}

    # ---- part 1: F1 per edit rate on the planted set ----------------------
    recs = planted_set(n_base=1500, seed=1)
    truth = truth_removed(recs, MinHasher(bands=m["bands"], rows=m["rows"], ngram=m["ngram"], seed=m["seed"]), m["threshold"],
                          quality=cfg.get("dedup.quality_column"))
    ours, t_ours = ours_removed(spark, recs, cfg, out)
    t = time.perf_counter()
    ds = datasketch_removed(recs, m)
    t_ds = time.perf_counter() - t
    kinds = sorted({(r["kind"], r["edit_rate"]) for r in recs}, key=lambda k: (k[1] is None, k[1] or 0, k[0]))
    print(f"planted set: {len(recs)} documents, {len(truth)} removals in the exact-Jaccard truth at {m['threshold']}")
    print(f"{'kind':<12}{'edit_rate':>10}{'docs':>6}{'truth':>7} | {'ours P/R/F1':>20} | {'datasketch P/R/F1':>20}")
    for kind, rate in kinds:
        ids = {r["id"] for r in recs if r["kind"] == kind and r["edit_rate"] == rate}
        tr = truth.keys() & ids
        po, ro, fo = prf(ours.keys() & ids, tr)
        pd_, rd, fd = prf(ds.keys() & ids, tr)
        results["quality"][f"{kind}@{rate}"] = {"docs": len(ids), "truth": len(tr), "ours": [po, ro, fo],
                                                "datasketch": [pd_, rd, fd]}
        print(f"{kind:<12}{str(rate):>10}{len(ids):>6}{len(tr):>7} | {po:6.3f} {ro:6.3f} {fo:6.3f} | "
              f"{pd_:6.3f} {rd:6.3f} {fd:6.3f}")
    po, ro, fo = prf(set(ours), set(truth))
    pd_, rd, fd = prf(set(ds), set(truth))
    results["quality"]["all"] = {"ours": [po, ro, fo], "datasketch": [pd_, rd, fd]}
    print(f"{'all':<12}{'':>10}{len(recs):>6}{len(truth):>7} | {po:6.3f} {ro:6.3f} {fo:6.3f} | "
          f"{pd_:6.3f} {rd:6.3f} {fd:6.3f}")

    # ---- part 2: speed side by side, then scaling -------------------------
    docs = scaled_docs(args.compare_size)
    _, t_ours = ours_removed(spark, docs, cfg, out)
    t = time.perf_counter()
    datasketch_removed(docs, m)
    t_ds = time.perf_counter() - t
    results["speed"] = {"docs": len(docs), "ours_s": t_ours, "datasketch_s": t_ds, "ratio": t_ours / t_ds}
    print(f"\nspeed, {len(docs)} docs: ours local[2] {len(docs) / t_ours:,.0f} docs/s ({t_ours:.1f} s), "
          f"datasketch 1 process {len(docs) / t_ds:,.0f} docs/s ({t_ds:.1f} s); time ratio ours/datasketch "
          f"{t_ours / t_ds:.2f}")
    print(f"\n{'documents':>10} {'seconds':>8} {'docs/s':>8}")
    for n in args.sizes:
        _, dt = ours_removed(spark, scaled_docs(n), cfg, out)
        results["scaling"].append({"docs": n, "seconds": dt})
        print(f"{n:>10} {dt:8.1f} {n / dt:8.0f}", flush=True)
    spark.stop()
    (out / "dedup_bench.json").write_text(json.dumps(results, indent=2))
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    fig, ax = plt.subplots(figsize=(5, 4))
    xs = [r["docs"] for r in results["scaling"]]
    ys = [r["seconds"] for r in results["scaling"]]
    ax.plot(xs, ys, "o-", label="jobs/dedup.py minhash, local[2]")
    ax.plot(xs, [ys[0] * x / xs[0] for x in xs], "--", color="grey", label="linear from the first point")
    ax.set_xlabel("documents")
    ax.set_ylabel("seconds")
    ax.legend()
    fig.tight_layout()
    fig.savefig(out / "dedup_scaling.png", dpi=100)
    print(f"wrote {out}/dedup_bench.json and dedup_scaling.png")


if __name__ == "__main__":
    main()
