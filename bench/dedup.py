"""Dedup cascade on held-out real text (data/eval/dedup), next to datasketch.

  .venv/bin/python bench/dedup.py [--split dev|test] [--out out/bench/dedup]
  .venv/bin/python bench/dedup.py --legacy [--sizes ...]   # the old planted-set table + speed/scaling

Main report (default): runs the cascade exactly as ``jobs/dedup.py`` does
(``jobs.dedup.main``: default config, default stages in Yi's order
paragraph, minhash, exact, substring; Spark local[2]) on
data/eval/dedup/{split}.parquet (built by infra/eval/dedup_set.py; ``test``
is for reported figures only, tune on ``dev``), reads its ledger and corpus,
and scores document removal against {split}.labels.parquet:

  * per duplicate group of n members, n - 1 must go (any n - 1: the job may
    keep any member); per group TP = min(removed, must_go), FP = the rest of
    the removed, FN = must_go - TP. Groups of kinds that must stay (edit15,
    edit25, template, shared_span, singleton) have must_go = 0: every removal
    there is a false positive. Precision / recall / F1 overall, per language,
    per kind;
  * removals by (kind, stage, reason); removals whose reason is not a
    duplicate reason (``too_short_after_*``: an exact copy stripped by
    paragraph dedup must still be decided as a duplicate);
  * lines (>= 20 normalized chars) that left the kept documents (paragraph
    dedup, or span cuts), next to the line occurrences repeated among the
    kept documents' input text (what paragraph dedup should remove);
  * shared spans: hosts kept, and groups whose span survives in exactly one
    host (cut from all others by the substring stage).

Baselines on the same set, in the same run (single process, datasketch
MinHash, 128 permutations, word 5-gram shingles / CJK character 5-grams as
in pipeline/dedup/tokens.py; documents in id order; a document is removed if
an earlier kept one matches, else it is indexed):
  * ``ds_0.7``: exact SHA-1 of the text first, then MinHashLSH(threshold 0.7),
    any LSH candidate counts (no verification);
  * ``ds_0.5+v``: exact SHA-1 first, then MinHashLSH(threshold 0.5) with
    candidates verified by exact Jaccard >= 0.7.

Writes {out}/{split}.md, {split}.json, {split}.png (F1 per kind) and the job's
output under {out}/{split}-job/.

Legacy part (--legacy): the MinHash stage alone vs datasketch on the
planted set (tests/fixtures/planted.py, the generator the code was tuned
on) and documents vs seconds up to 200,000 documents.
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


def legacy_main(args) -> None:
    """The planted-set quality table and the speed / scaling part (--legacy)."""
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



# ====================================================== held-out evaluation --
DUP_REASONS = ("near_duplicate", "exact_duplicate")


def _read_dir(path: Path, columns=None):
    import pyarrow.parquet as pq
    import pyarrow as pa
    files = sorted(path.glob("*.parquet"))
    return pa.concat_tables([pq.read_table(f, columns=columns) for f in files]) if files else None


def run_job(inp: Path, out: Path) -> tuple[dict[str, dict], dict[str, str], float]:
    """jobs/dedup.py as a user runs it (default config and stages, local[2]);
    returns the ledger rows by id, the corpus texts by id, and seconds."""
    from jobs.dedup import main as dedup_main
    t = time.perf_counter()
    rc = dedup_main(["--input", str(inp), "--output", str(out), "--master", "local[2]", "--overwrite"])
    dt = time.perf_counter() - t
    if rc != 0:
        raise SystemExit(f"jobs/dedup.py exited {rc}")
    ledger = {}
    for r in _read_dir(out / "ledger").to_pylist():
        if r["decision"] != "kept" or r["id"] not in ledger:
            ledger[r["id"]] = r
    corpus = {r["id"]: r["text"] for r in _read_dir(out / "corpus", ["id", "text"]).to_pylist()}
    return ledger, corpus, dt


def _shingle_bytes(text: str) -> list[bytes]:
    from infra.eval.dedup_set import SHINGLE, tokens as set_tokens
    t = set_tokens(text)
    if len(t) < SHINGLE:
        return [" ".join(t).encode()] if t else []
    return [" ".join(t[i:i + SHINGLE]).encode() for i in range(len(t) - SHINGLE + 1)]


def baseline_removed(docs: list[dict], threshold: float, verify_at: float | None, num_perm: int = 128) -> set[str]:
    """Exact SHA-1 first, then datasketch MinHashLSH (see the docstring)."""
    import hashlib

    from datasketch import MinHash, MinHashLSH
    removed: set[str] = set()
    seen: set[str] = set()
    lsh = MinHashLSH(threshold=threshold, num_perm=num_perm)
    sets: dict[str, set] = {}
    for d in sorted(docs, key=lambda d: d["id"]):
        h = hashlib.sha1(d["text"].encode("utf-8")).hexdigest()
        if h in seen:
            removed.add(d["id"])
            continue
        seen.add(h)
        sh = _shingle_bytes(d["text"])
        if not sh:
            continue
        mh = MinHash(num_perm=num_perm)
        mh.update_batch(sh)
        cands = lsh.query(mh)
        if verify_at is not None and cands:
            s = set(sh)
            cands = [c for c in cands if len(s & sets[c]) / len(s | sets[c]) >= verify_at]
        if cands:
            removed.add(d["id"])
            continue
        lsh.insert(d["id"], mh)
        if verify_at is not None:
            sets[d["id"]] = set(sh)
    return removed


def score(labels: list[dict], removed: set[str], key=None) -> dict:
    """Group-wise TP / FP / FN (see the docstring), overall or per ``key(row)``."""
    groups: dict[str, list[dict]] = {}
    for r in labels:
        groups.setdefault(r["group"], []).append(r)
    acc: dict = {}
    for g, rows in groups.items():
        must = sum(r["must_go"] for r in rows)
        k = sum(r["id"] in removed for r in rows)
        tp = min(k, must)
        name = key(rows[0]) if key else "all"
        a = acc.setdefault(name, {"docs": 0, "must_go": 0, "removed": 0, "tp": 0, "fp": 0, "fn": 0})
        a["docs"] += len(rows)
        a["must_go"] += must
        a["removed"] += k
        a["tp"] += tp
        a["fp"] += k - tp
        a["fn"] += must - tp
    for a in acc.values():
        p = a["tp"] / (a["tp"] + a["fp"]) if a["tp"] + a["fp"] else 1.0
        r = a["tp"] / (a["tp"] + a["fn"]) if a["tp"] + a["fn"] else 1.0
        a.update(precision=round(p, 4), recall=round(r, 4), f1=round(2 * p * r / (p + r), 4) if p + r else 0.0)
    return acc


def _norm_lines(text: str) -> list[str]:
    from infra.eval.dedup_set import norm_line
    return [n for n in (norm_line(x) for x in text.split("\n")) if len(n) >= 20]


def _contains(text: str, span: str) -> bool:
    from infra.eval.dedup_set import tokens as set_tokens
    return " ".join(set_tokens(span)) in " ".join(set_tokens(text))


def eval_main(args) -> int:
    import pyarrow.parquet as pq

    from infra.eval.dedup_set import DUP_KINDS, OUT_DIR, STAY_KINDS
    inp = Path(args.data) / f"{args.split}.parquet"
    if not inp.exists():
        raise SystemExit(f"{inp} missing: run `python infra/eval/dedup_set.py` (make eval-dedup)")
    docs = pq.read_table(inp).to_pylist()
    labels = pq.read_table(Path(args.data) / f"{args.split}.labels.parquet").to_pylist()
    lab = {r["id"]: r for r in labels}
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    ledger, corpus, t_job = run_job(inp, out / f"{args.split}-job")
    ours = {i for i, r in ledger.items() if r["decision"] != "kept"}
    t = time.perf_counter()
    systems = {"ours": ours}
    t_base = {}
    for name, thr, ver in (("ds_0.7", 0.7, None), ("ds_0.5+v", 0.5, 0.7)):
        t = time.perf_counter()
        systems[name] = baseline_removed(docs, thr, ver)
        t_base[name] = time.perf_counter() - t
    kinds = list(DUP_KINDS) + list(STAY_KINDS)
    import subprocess
    head = subprocess.run(["git", "-C", str(REPO), "describe", "--always", "--dirty"], capture_output=True,
                          text=True).stdout.strip()
    res: dict = {"split": args.split, "code": head, "docs": len(docs), "must_go": sum(r["must_go"] for r in labels),
                 "groups": len({r["group"] for r in labels}), "seconds": {"ours_job": round(t_job, 1),
                 **{k: round(v, 1) for k, v in t_base.items()}}, "systems": {}}
    for name, rem in systems.items():
        res["systems"][name] = {"all": score(labels, rem)["all"],
                                "by_lang": score(labels, rem, key=lambda r: r["lang"]),
                                "by_kind": score(labels, rem, key=lambda r: r["kind"]),
                                "by_kind_lang": score(labels, rem, key=lambda r: f"{r['kind']}/{r['lang']}")}
    # ours only: reasons, lines, spans
    reasons: dict[str, int] = {}
    non_dup = []
    for i in sorted(ours):
        r = ledger[i]
        k = f"{lab[i]['kind']} | {r['stage']} | {r['reason']}"
        reasons[k] = reasons.get(k, 0) + 1
        if r["reason"] not in DUP_REASONS:
            non_dup.append({"id": i, "kind": lab[i]["kind"], "lang": lab[i]["lang"], "must_go": lab[i]["must_go"],
                            "stage": r["stage"], "reason": r["reason"]})
    # What paragraph dedup should remove among the survivors: line occurrences
    # of the kept documents' input text whose normalized line another kept
    # document (or an earlier line) also holds, all but one occurrence each.
    occ: dict[str, int] = {}
    for d in docs:
        if d["id"] in corpus:
            for n in _norm_lines(d["text"]):
                occ[n] = occ.get(n, 0) + 1
    repeated = sum(c - 1 for c in occ.values())
    lines_removed = 0
    for d in docs:
        if d["id"] in corpus:
            after = set(_norm_lines(corpus[d["id"]]))
            lines_removed += sum(n not in after for n in _norm_lines(d["text"]))
    span_groups: dict[str, list] = {}
    for r in labels:
        if r["kind"] == "shared_span":
            span_groups.setdefault(r["group"], []).append(r)
    hosts = sum(len(v) for v in span_groups.values())
    hosts_kept = sum(r["id"] in corpus for v in span_groups.values() for r in v)
    survive = {g: sum(r["id"] in corpus and _contains(corpus[r["id"]], r["span"]) for r in v)
               for g, v in span_groups.items()}
    res["ours_detail"] = {
        "removals_by_kind_stage_reason": dict(sorted(reasons.items())),
        "non_duplicate_reason_removals": len(non_dup),
        "non_duplicate_reason_removals_of_must_go": sum(x["must_go"] for x in non_dup),
        "non_duplicate_reason_examples": non_dup[:20],
        "lines_removed_from_kept_docs": lines_removed,
        "repeated_lines_in_kept_input": repeated,
        "shared_span": {"groups": len(span_groups), "hosts": hosts, "hosts_kept": hosts_kept,
                        "groups_span_in_exactly_one_host": sum(v == 1 for v in survive.values()),
                        "groups_span_in_no_host": sum(v == 0 for v in survive.values()),
                        "groups_span_in_several_hosts": sum(v > 1 for v in survive.values())},
    }
    md = render(res, kinds)
    print(md)
    (out / f"{args.split}.md").write_text(md)
    (out / f"{args.split}.json").write_text(json.dumps(res, indent=1, sort_keys=True, ensure_ascii=False) + "\n")
    plot(res, kinds, out / f"{args.split}.png")
    print(f"wrote {out}/{args.split}.md, {args.split}.json, {args.split}.png")
    return 0


def _f(x) -> str:
    return f"{x:.3f}"


def render(res: dict, kinds: list[str]) -> str:
    S = res["systems"]
    names = list(S)
    L = [f"## Dedup on held-out real text: data/eval/dedup {res['split']} split",
         "",
         f"{res['docs']} documents, {res['groups']} groups, {res['must_go']} must go; code {res['code']}. "
         f"`python jobs/dedup.py` (default config and stages, local[2]) took {res['seconds']['ours_job']} s; "
         f"datasketch baselines {res['seconds']['ds_0.7']} s / {res['seconds']['ds_0.5+v']} s.",
         "",
         "| system | P | R | F1 | removed | FP | FN | F1 en | F1 zh | R en | R zh |",
         "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|"]
    for n in names:
        a, bl = S[n]["all"], S[n]["by_lang"]
        L.append(f"| {n} | {_f(a['precision'])} | {_f(a['recall'])} | {_f(a['f1'])} | {a['removed']} | {a['fp']} | "
                 f"{a['fn']} | {_f(bl['en']['f1'])} | {_f(bl['zh']['f1'])} | {_f(bl['en']['recall'])} | "
                 f"{_f(bl['zh']['recall'])} |")
    L += ["", "Per kind: recall (R) for duplicate kinds, documents wrongly removed (FP) for every kind; "
          "F1 where the kind has documents that must go.", "",
          "| kind | docs | must go | " + " | ".join(f"{n} R | {n} FP | {n} F1" for n in names) + " |",
          "|---|---:|---:|" + "---:|" * (3 * len(names))]
    for k in kinds:
        if k not in S["ours"]["by_kind"]:
            continue
        a0 = S["ours"]["by_kind"][k]
        cells = []
        for n in names:
            a = S[n]["by_kind"][k]
            cells += [_f(a["recall"]) if a0["must_go"] else "—", str(a["fp"]), _f(a["f1"]) if a0["must_go"] else "—"]
        L.append(f"| {k} | {a0['docs']} | {a0['must_go']} | " + " | ".join(cells) + " |")
    L += ["", "Per kind and language, recall of ours (duplicate kinds):", "",
          "| kind | en R | zh R | en FP | zh FP |", "|---|---:|---:|---:|---:|"]
    bkl = S["ours"]["by_kind_lang"]
    for k in kinds:
        if f"{k}/en" in bkl:
            e, z = bkl[f"{k}/en"], bkl.get(f"{k}/zh", {"recall": 1.0, "fp": 0, "must_go": 0})
            L.append(f"| {k} | {_f(e['recall']) if e['must_go'] else '—'} | "
                     f"{_f(z['recall']) if z['must_go'] else '—'} | {e['fp']} | {z['fp']} |")
    d = res["ours_detail"]
    sp = d["shared_span"]
    L += ["", "### ours: what removed what", "", "| kind | stage | reason | documents |", "|---|---|---|---:|"]
    for k, v in d["removals_by_kind_stage_reason"].items():
        L.append("| " + " | ".join(x.strip() for x in k.split("|")) + f" | {v} |")
    L += ["",
          f"- removals with a non-duplicate reason: {d['non_duplicate_reason_removals']} "
          f"({d['non_duplicate_reason_removals_of_must_go']} of them documents that must go: decided as remnants, "
          f"not as duplicates)",
          f"- lines (>= 20 normalized chars) removed from kept documents: {d['lines_removed_from_kept_docs']} "
          f"(repeated line occurrences among the kept documents' input text, one of each aside: "
          f"{d['repeated_lines_in_kept_input']})",
          f"- shared spans: {sp['groups']} groups, {sp['hosts_kept']}/{sp['hosts']} hosts kept; span left in exactly "
          f"one host: {sp['groups_span_in_exactly_one_host']}, in none: {sp['groups_span_in_no_host']}, in several "
          f"(not cut): {sp['groups_span_in_several_hosts']}",
          ""]
    return "\n".join(L)


def plot(res: dict, kinds: list[str], path: Path) -> None:
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    S = res["systems"]
    ks = [k for k in kinds if k in S["ours"]["by_kind"]]
    fig, ax = plt.subplots(figsize=(10, 4))
    w = 0.8 / len(S)
    for j, (n, s) in enumerate(S.items()):
        # duplicate kinds: recall; must-stay kinds: share of documents kept
        ys = [s["by_kind"][k]["recall"] if s["by_kind"][k]["must_go"] else
              1 - s["by_kind"][k]["fp"] / s["by_kind"][k]["docs"] for k in ks]
        ax.bar([i + j * w for i in range(len(ks))], ys, w, label=f"{n} (F1 {s['all']['f1']:.3f})")
    ax.set_xticks([i + w * (len(S) - 1) / 2 for i in range(len(ks))], ks, rotation=30, ha="right")
    ax.set_ylabel("recall (dup kinds) / kept share (others)")
    ax.set_ylim(0, 1.05)
    ax.set_title(f"dedup on data/eval/dedup {res['split']}")
    ax.legend(loc="lower left", fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--split", choices=["dev", "test"], default="dev")
    ap.add_argument("--data", default=str(REPO / "data" / "eval" / "dedup"))
    ap.add_argument("--out", default="out/bench/dedup")
    ap.add_argument("--legacy", action="store_true", help="the old planted-set table and speed/scaling part")
    ap.add_argument("--sizes", type=int, nargs="+", default=[25_000, 50_000, 100_000, 200_000])
    ap.add_argument("--compare-size", type=int, default=25_000)
    args = ap.parse_args(argv)
    if args.legacy:
        if args.out == "out/bench/dedup":
            args.out = "out/bench-dedup"
        legacy_main(args)
        return 0
    return eval_main(args)


if __name__ == "__main__":
    sys.exit(main())
