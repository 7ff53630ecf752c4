"""The dedup report: per-stage counts (JSON + Markdown), cluster-size
histogram, largest clusters and removed spans with examples, and the LSH
S-curve with the false-positive / false-negative rates of this
implementation, measured on shingle sets of known Jaccard.

Takes small, already collected data (``jobs/dedup.py`` collects it)."""
from __future__ import annotations

import json
from pathlib import Path

import numpy as np


def _plt():
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    return plt


def scurve_figures(hasher, threshold: float, path: Path, pairs: int = 100) -> dict:
    """Plot theory vs measured S-curve; return the FP/FN figures."""
    from pipeline.dedup.scurve import fp_fn_mass, measured_curve, p_candidate

    s = np.linspace(0.05, 1.0, 20)
    meas = measured_curve(hasher, s, pairs=pairs)
    lo, hi = s < threshold, s >= threshold
    fp_theory, fn_theory = fp_fn_mass(threshold, hasher.bands, hasher.rows)
    figs = {"bands": hasher.bands, "rows": hasher.rows, "ngram": hasher.ngram, "threshold": threshold,
            "fp_mass_theory": round(fp_theory, 4), "fn_mass_theory": round(fn_theory, 4),
            "fp_rate_measured": round(float(meas[lo].mean()), 4),
            "fn_rate_measured": round(float(1 - meas[hi].mean()), 4),
            "pairs_per_point": pairs}
    plt = _plt()
    fig, ax = plt.subplots(figsize=(6, 4))
    grid = np.linspace(0, 1, 201)
    ax.plot(grid, p_candidate(grid, hasher.bands, hasher.rows), label=f"theory b={hasher.bands}, r={hasher.rows}")
    ax.plot(s, meas, "o", label=f"measured ({pairs} pairs/point)")
    ax.axvline(threshold, color="grey", ls="--", label=f"threshold {threshold}")
    ax.set_xlabel("Jaccard similarity")
    ax.set_ylabel("P(candidate pair)")
    ax.set_title(f"LSH S-curve: FP {figs['fp_rate_measured']:.3f}, FN {figs['fn_rate_measured']:.3f} (measured)")
    ax.legend(loc="lower right")
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)
    return figs


def write_report(out: Path, *, counts: list[dict], histogram: list[dict], largest: list[dict],
                 spans: list[dict], hasher=None, threshold: float = 0.7, lsh: dict | None = None) -> None:
    out.mkdir(parents=True, exist_ok=True)
    summary = {"counts": counts, "lsh": dict(lsh or {})}
    if hasher is not None:
        summary["lsh"].update(scurve_figures(hasher, threshold, out / "scurve.png"))
    plt = _plt()
    fig, ax = plt.subplots(figsize=(6, 4))
    for stage in sorted({h["stage"] for h in histogram}):
        rows = [h for h in histogram if h["stage"] == stage]
        ax.bar([str(r["cluster_size"]) for r in rows], [r["clusters"] for r in rows], label=stage, alpha=0.7)
    ax.set_xlabel("cluster size (documents)")
    ax.set_ylabel("clusters")
    ax.set_yscale("log")
    ax.set_title("Duplicate cluster sizes")
    if histogram:
        ax.legend()
    fig.tight_layout()
    fig.savefig(out / "cluster_sizes.png", dpi=100)
    plt.close(fig)
    (out / "counts.json").write_text(json.dumps(summary, indent=2, sort_keys=True) + "\n")
    md = ["# Dedup report", "", "| stage | in | kept | rejected | quarantined |", "|---|---:|---:|---:|---:|"]
    md += [f"| {c['stage']} | {c['in']} | {c['kept']} | {c['rejected']} | {c['quarantined']} |" for c in counts]
    if summary["lsh"]:
        md += ["", "## MinHash-LSH", "", "![S-curve](scurve.png)", ""]
        md += [f"- {k}: {v}" for k, v in sorted(summary["lsh"].items())]
    md += ["", "## Largest clusters", "", "![cluster sizes](cluster_sizes.png)", ""]
    for c in largest:
        md.append(f"### {c['stage']} cluster {c['cluster_id']} ({c['size']} documents)")
        for m in c["members"]:
            snippet = m["snippet"].replace("\n", " ")[:200]
            md.append(f"- `{m['id']}` {'**kept**' if m['kept'] else 'removed'}: {snippet}")
        md.append("")
    md += ["## Removed spans (substring dedup)", ""]
    for s in spans:
        md.append(f"- `{s['id']}`: {s['removed_chars']} chars removed{' → ' + s['reason'] if s['reason'] else ''}")
        md += [f"  > {r.replace(chr(10), ' ')[:300]}" for r in s["removed"]]
    (out / "report.md").write_text("\n".join(md) + "\n")
