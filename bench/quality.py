"""Filtering on held-out labelled text: the whole corpus build, as a user runs
it, against a plain rules-only baseline, on data/eval/quality/<split>.jsonl.gz
(built by infra/eval/quality_set.py; `make eval-data`).

  python bench/quality.py [--split dev|test] [--out out/bench/quality]

1. writes the split's documents (id, text, url only: no label, language or
   source reaches the pipeline) to a temporary input folder and runs
   `jobs/filter.py --input IN --output OUT --master local[2]` with the
   default config, exactly as a user does;
2. joins the ledger back to the labels by id: a document is kept when its own
   ledger row is `kept` (a document split by the coherence stage is counted
   as removed, stage coherence_split; how many of those had parts kept is
   printed);
3. runs the plain baseline (bench/quality_baseline.py: lingua keeping en/zh,
   Gopher quality + repetition, C4, FineWeb as published) on the same
   documents in the same run;
4. prints per set (easy, hard, mojibake_repairable) and per category keep /
   drop rates and balanced accuracy (mean of the keep rate over keep-labelled
   documents and the drop rate over drop-labelled ones; mojibake_repairable
   is all keep-labelled: its keep rate is reported on its own), the stage and
   reason of every wrongly removed document (counts by stage/reason/category
   and a few examples), and wrongly kept documents by category; writes
   report.md, results.json and quality.png into --out.

Use `--split dev` for tuning; `--split test` only for reported figures.
"""
from __future__ import annotations

import argparse
import gzip
import json
import os
import subprocess
import sys
import tempfile
import time
from collections import Counter, defaultdict
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO / "bench"))

from quality_baseline import LangID, baseline  # noqa: E402

SETS = ("easy", "hard", "mojibake_repairable")


def load_split(split: str, data_dir: Path) -> list[dict]:
    path = data_dir / f"{split}.jsonl.gz"
    if not path.is_file():
        raise SystemExit(f"{path} is missing: run `make eval-data` (or python infra/eval/quality_set.py)")
    with gzip.open(path, "rt", encoding="utf-8") as fh:
        return [json.loads(ln) for ln in fh if ln.strip()]


def run_pipeline(docs: list[dict], work: Path, master: str) -> tuple[dict[str, dict], float]:
    """{id: {decision, stage, reason, parts_kept}} from the corpus build's ledger."""
    import pyarrow.dataset as ds

    inp = work / "in"
    inp.mkdir(parents=True)
    with gzip.open(inp / "eval.jsonl.gz", "wt", encoding="utf-8") as fh:
        for d in docs:
            fh.write(json.dumps({"id": d["id"], "text": d["text"], "url": f"https://eval.example/{d['id']}"},
                                ensure_ascii=False) + "\n")
    out = work / "out"
    env = dict(os.environ, PYTHONHASHSEED="0", SPARK_LOCAL_IP=os.environ.get("SPARK_LOCAL_IP", "127.0.0.1"),
               PYSPARK_PYTHON=sys.executable, PYSPARK_DRIVER_PYTHON=sys.executable)
    cmd = [sys.executable, str(REPO / "jobs" / "filter.py"), "--input", str(inp), "--output", str(out),
           "--master", master]
    print("[quality] " + " ".join(cmd), flush=True)
    t0 = time.time()
    res = subprocess.run(cmd, env=env, cwd=REPO, capture_output=True, text=True)
    secs = time.time() - t0
    if res.returncode != 0:
        sys.stderr.write(res.stdout[-4000:] + res.stderr[-8000:])
        raise SystemExit(f"jobs/filter.py failed (exit {res.returncode})")
    table = ds.dataset(str(out / "ledger"), format="parquet", partitioning=None).to_table(
        columns=["id", "parent_id", "decision", "stage", "reason"]).to_pylist()
    rows: dict[str, dict] = {}
    parts_kept: Counter = Counter()
    for r in table:
        if r["parent_id"] and r["id"] != r["parent_id"]:
            if r["decision"] == "kept":
                parts_kept[r["parent_id"]] += 1
            continue
        rows[r["id"]] = {"decision": r["decision"], "stage": r["stage"], "reason": r["reason"] or ""}
    for pid, n in parts_kept.items():
        if pid in rows:
            rows[pid]["parts_kept"] = n
    return rows, secs


def rate(xs: list[bool]) -> float | None:
    return sum(xs) / len(xs) if xs else None


def summarize(docs: list[dict], kept: dict[str, bool]) -> dict:
    """Per set and per category: n, kept share, correct share, balanced accuracy."""
    out: dict = {"sets": {}, "categories": {}}
    by_set, by_cat = defaultdict(list), defaultdict(list)
    for d in docs:
        by_set[d["set"]].append(d)
        by_cat[(d["set"], d["label"], d["category"])].append(d)
    for s, ds_ in by_set.items():
        keep_ok = rate([kept[d["id"]] for d in ds_ if d["label"] == "keep"])
        drop_ok = rate([not kept[d["id"]] for d in ds_ if d["label"] == "drop"])
        parts = [x for x in (keep_ok, drop_ok) if x is not None]
        out["sets"][s] = {"n": len(ds_), "keep_rate_on_keep": keep_ok, "drop_rate_on_drop": drop_ok,
                          "balanced_accuracy": sum(parts) / len(parts) if parts else None}
    for (s, label, cat), ds_ in by_cat.items():
        k = rate([kept[d["id"]] for d in ds_])
        out["categories"][f"{s}/{label}/{cat}"] = {"set": s, "label": label, "category": cat, "n": len(ds_),
                                                   "kept": k, "correct": k if label == "keep" else 1 - k}
    return out


def fmt(x: float | None) -> str:
    return "—" if x is None else f"{x:.3f}"


def snippet(text: str, n: int = 90) -> str:
    t = " ".join(text.split())
    return (t[:n] + "…") if len(t) > n else t


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--split", choices=("dev", "test"), default="dev")
    p.add_argument("--out", default=str(REPO / "out" / "bench" / "quality"))
    p.add_argument("--data", default=str(REPO / "data" / "eval" / "quality"))
    p.add_argument("--master", default="local[2]")
    p.add_argument("--examples", type=int, default=3, help="example ids per row of the error tables")
    args = p.parse_args(argv)
    t_start = time.time()
    docs = load_split(args.split, Path(args.data))
    print(f"[quality] split {args.split}: {len(docs)} documents", flush=True)

    with tempfile.TemporaryDirectory(prefix="quality-bench-") as tmp:
        rows, pipe_secs = run_pipeline(docs, Path(tmp), args.master)
    missing = [d["id"] for d in docs if d["id"] not in rows]
    if missing:
        raise SystemExit(f"{len(missing)} documents have no ledger row (e.g. {missing[:3]})")
    ours = {d["id"]: rows[d["id"]]["decision"] == "kept" for d in docs}

    t0 = time.time()
    lid = LangID()
    base_rows = {}
    for d in docs:
        k, stage, reason = baseline(d["text"], lid)
        base_rows[d["id"]] = {"kept": k, "stage": stage, "reason": reason}
    base_secs = time.time() - t0
    base = {i: r["kept"] for i, r in base_rows.items()}

    s_ours, s_base = summarize(docs, ours), summarize(docs, base)
    lines = [f"# Filtering on held-out text: data/eval/quality/{args.split}.jsonl.gz ({len(docs)} documents)", "",
             f"Command: `python bench/quality.py --split {args.split}`. Ours = `jobs/filter.py` (default config, "
             f"{args.master}, {pipe_secs:.0f} s); baseline = bench/quality_baseline.py (lingua en/zh + Gopher quality "
             f"+ Gopher repetition + C4 + FineWeb, {base_secs:.0f} s).", "",
             "## Balanced accuracy per set", "",
             "| set | n | ours: keep rate (keep) | ours: drop rate (drop) | **ours: balanced acc.** "
             "| baseline: keep rate | baseline: drop rate | **baseline: balanced acc.** |",
             "|---|---:|---:|---:|---:|---:|---:|---:|"]
    for s in SETS:
        if s not in s_ours["sets"]:
            continue
        a, b = s_ours["sets"][s], s_base["sets"][s]
        lines.append(f"| {s} | {a['n']} | {fmt(a['keep_rate_on_keep'])} | {fmt(a['drop_rate_on_drop'])} | "
                     f"**{fmt(a['balanced_accuracy'])}** | {fmt(b['keep_rate_on_keep'])} | "
                     f"{fmt(b['drop_rate_on_drop'])} | **{fmt(b['balanced_accuracy'])}** |")
    lines += ["", "mojibake_repairable is all keep-labelled (clean prose mis-decoded once; ftfy repairs each "
              "exactly): its balanced accuracy is its keep rate.", "",
              "## Per category (share handled correctly: kept if keep-labelled, dropped if drop-labelled)", "",
              "| set | label | category | n | ours | baseline |", "|---|---|---|---:|---:|---:|"]
    cats = sorted(s_ours["categories"], key=lambda k: (SETS.index(k.split("/")[0]), k))
    for k in cats:
        a, b = s_ours["categories"][k], s_base["categories"][k]
        lines.append(f"| {a['set']} | {a['label']} | {a['category']} | {a['n']} | {a['correct']:.3f} | "
                     f"{b['correct']:.3f} |")

    by_id = {d["id"]: d for d in docs}
    lost = [d for d in docs if d["label"] == "keep" and not ours[d["id"]]]
    lines += ["", f"## Ours: wrongly removed keep-labelled documents ({len(lost)}), by stage / reason / category", "",
              "| stage | reason | set | category | n | examples (id: start of text) |", "|---|---|---|---|---:|---|"]
    groups = defaultdict(list)
    for d in lost:
        r = rows[d["id"]]
        groups[(r["stage"], r["reason"], d["set"], d["category"])].append(d)
    for key, ds_ in sorted(groups.items(), key=lambda kv: (-len(kv[1]), kv[0])):
        ex = "<br>".join(f"`{d['id']}`: {snippet(d['text']).replace('|', '¦')}" for d in ds_[:args.examples])
        lines.append(f"| {key[0]} | {key[1]} | {key[2]} | {key[3]} | {len(ds_)} | {ex} |")
    split_parts = sum(1 for d in lost if rows[d["id"]].get("parts_kept"))
    lines += ["", f"Of these, {split_parts} were split by the coherence stage with some parts kept."]
    wrongly_kept = Counter((d["set"], d["category"]) for d in docs if d["label"] == "drop" and ours[d["id"]])
    lines += ["", f"## Ours: wrongly kept drop-labelled documents ({sum(wrongly_kept.values())}), by category", "",
              "| set | category | n | examples |", "|---|---|---:|---|"]
    for (s, c), n in sorted(wrongly_kept.items(), key=lambda kv: (-kv[1], kv[0])):
        ex = "<br>".join(f"`{d['id']}`: {snippet(d['text']).replace('|', '¦')}" for d in docs
                         if d["category"] == c and d["set"] == s and d["label"] == "drop" and ours[d["id"]])
        ex = "<br>".join(ex.split("<br>")[:args.examples])
        lines.append(f"| {s} | {c} | {n} | {ex} |")
    base_lost = Counter((r["stage"], r["reason"], by_id[i]["category"]) for i, r in base_rows.items()
                        if by_id[i]["label"] == "keep" and not r["kept"])
    lines += ["", f"## Baseline: wrongly removed keep-labelled documents ({sum(base_lost.values())})", "",
              "| rule set | reason | category | n |", "|---|---|---|---:|"]
    for (st, rs, c), n in sorted(base_lost.items(), key=lambda kv: (-kv[1], kv[0])):
        lines.append(f"| {st} | {rs} | {c} | {n} |")
    total = time.time() - t_start
    lines += ["", f"Total bench time {total:.0f} s."]
    report = "\n".join(lines) + "\n"
    print(report)

    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    (out / f"report-{args.split}.md").write_text(report, encoding="utf-8")
    result = {"split": args.split, "n_docs": len(docs), "pipeline_seconds": round(pipe_secs, 1),
              "baseline_seconds": round(base_secs, 1), "ours": s_ours, "baseline": s_base,
              "wrongly_removed": [{"id": d["id"], "set": d["set"], "category": d["category"], **rows[d["id"]]}
                                  for d in lost],
              "wrongly_kept": [{"id": d["id"], "set": d["set"], "category": d["category"], **rows[d["id"]]}
                               for d in docs if d["label"] == "drop" and ours[d["id"]]]}
    (out / f"results-{args.split}.json").write_text(json.dumps(result, indent=1, ensure_ascii=False) + "\n",
                                                    encoding="utf-8")
    plot(s_ours, s_base, cats, out / f"quality-{args.split}.png", args.split)
    print(f"[quality] wrote {out}/report-{args.split}.md, results-{args.split}.json, quality-{args.split}.png")
    return 0


def plot(s_ours: dict, s_base: dict, cats: list[str], path: Path, split: str) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    labels = [k.split("/", 1)[1].replace("/", ": ") for k in cats]
    a = [s_ours["categories"][k]["correct"] for k in cats]
    b = [s_base["categories"][k]["correct"] for k in cats]
    fig, ax = plt.subplots(figsize=(max(10, len(cats) * 0.45), 5.5))
    x = range(len(cats))
    ax.bar([i - 0.2 for i in x], a, width=0.4, label="ours (jobs/filter.py)")
    ax.bar([i + 0.2 for i in x], b, width=0.4, label="rules baseline")
    ax.set_xticks(list(x))
    ax.set_xticklabels(labels, rotation=70, ha="right", fontsize=8)
    ax.set_ylim(0, 1.05)
    ax.set_ylabel("share handled correctly")
    sets = " ".join(f"{s}: {fmt(s_ours['sets'][s]['balanced_accuracy'])} vs {fmt(s_base['sets'][s]['balanced_accuracy'])}"
                    for s in SETS if s in s_ours["sets"])
    ax.set_title(f"data/eval/quality {split} — balanced accuracy ours vs baseline: {sets}", fontsize=9)
    ax.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=110, metadata={"Software": None})
    plt.close(fig)


if __name__ == "__main__":
    sys.exit(main())
