"""The corpus-build report: funnel (JSON, Markdown, PNG) and rejected examples."""
from __future__ import annotations

import json
from pathlib import Path
from typing import Mapping, Sequence

from pipeline.ledger import Funnel


def _fmt(n: int) -> str:
    return f"{n:,}"


def funnel_markdown(funnel: Funnel) -> str:
    lines = ["# Corpus build funnel", ""]
    t = funnel.to_dict()["total"]
    lines.append(f"Ledger rows: **{_fmt(t['input'])}** ({_fmt(t['input'] - t['derived'])} input records + "
                 f"{_fmt(t['derived'])} parts of split documents) = kept {_fmt(t['kept'])} + rejected "
                 f"{_fmt(t['rejected'])} + quarantined {_fmt(t['quarantined'])}")
    lines.append("")
    for lang in funnel.langs:
        lines += [f"## lang = {lang}", "",
                  "| stage | docs in | added | kept | rejected | quarantined | kept % | chars in | chars kept |",
                  "|---|---:|---:|---:|---:|---:|---:|---:|---:|"]
        for r in funnel.for_lang(lang):
            pct = 100.0 * r.docs_kept / r.docs_in if r.docs_in else 0.0
            lines.append(f"| {r.stage} | {_fmt(r.docs_in)} | {_fmt(r.docs_added)} | {_fmt(r.docs_kept)} | {_fmt(r.docs_rejected)} | "
                         f"{_fmt(r.docs_quarantined)} | {pct:.1f} | {_fmt(r.chars_in)} | {_fmt(r.chars_kept)} |")
        lines.append("")
    return "\n".join(lines)


def funnel_plot(funnel: Funnel, path: Path, main_langs: Sequence[str] = ("en", "zh")) -> None:
    """Two panels: documents and characters surviving each stage, a line per language."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    langs = [l for l in main_langs if l in funnel.langs]
    others = [l for l in funnel.langs if l not in langs]
    fig, axes = plt.subplots(1, 2, figsize=(13, 4.8))
    x = list(range(len(funnel.stages) + 1))
    labels = ["input"] + funnel.stages
    series: list[tuple[str, list[int], list[int]]] = []
    for lang in langs:
        rows = funnel.for_lang(lang)
        series.append((lang, [rows[0].docs_in] + [r.docs_kept for r in rows],
                       [rows[0].chars_in] + [r.chars_kept for r in rows]))
    if others:
        docs = [0] * len(x)
        chars = [0] * len(x)
        for lang in others:
            rows = funnel.for_lang(lang)
            for i, v in enumerate([rows[0].docs_in] + [r.docs_kept for r in rows]):
                docs[i] += v
            for i, v in enumerate([rows[0].chars_in] + [r.chars_kept for r in rows]):
                chars[i] += v
        series.append(("other / undetected", docs, chars))
    for name, docs, chars in series:
        axes[0].plot(x, docs, marker="o", label=name)
        axes[1].plot(x, [c / 1e6 for c in chars], marker="o", label=name)
    for ax, title, ylab in ((axes[0], "Documents surviving each stage", "documents"),
                            (axes[1], "Characters surviving each stage", "million characters (input length)")):
        ax.set_xticks(x)
        ax.set_xticklabels(labels, rotation=40, ha="right", fontsize=8)
        ax.set_title(title)
        ax.set_ylabel(ylab)
        ax.grid(alpha=0.3)
        ax.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def write_examples(examples: Sequence[Mapping], out_dir: Path, snippet_chars: int = 400) -> None:
    """``examples``: rows with stage, reason, id, lang, text (rejected or
    quarantined documents). Writes examples/<stage>.md, grouped by reason."""
    out_dir.mkdir(parents=True, exist_ok=True)
    by_stage: dict[str, dict[str, list[Mapping]]] = {}
    for e in examples:
        by_stage.setdefault(e["stage"], {}).setdefault(e["reason"] or "", []).append(e)
    for stage, reasons in sorted(by_stage.items()):
        lines = [f"# Examples decided at stage `{stage}`", ""]
        for reason, rows in sorted(reasons.items()):
            lines += [f"## {reason}", ""]
            for r in sorted(rows, key=lambda r: r["id"]):
                text = (r.get("text") or "").replace("\r", "")[:snippet_chars]
                quoted = "\n".join("> " + ln for ln in text.splitlines()[:12]) or "> (empty)"
                lines += [f"**{r['id']}** (lang={r.get('lang')}, {r.get('decision')})", "", quoted, ""]
        (out_dir / f"{stage}.md").write_text("\n".join(lines), encoding="utf-8")


def write_funnel(funnel: Funnel, report_dir: Path, extra: Mapping | None = None) -> None:
    report_dir.mkdir(parents=True, exist_ok=True)
    data = funnel.to_dict()
    if extra:
        data.update(extra)
    (report_dir / "funnel.json").write_text(json.dumps(data, indent=2, sort_keys=True), encoding="utf-8")
    (report_dir / "funnel.md").write_text(funnel_markdown(funnel), encoding="utf-8")
    funnel_plot(funnel, report_dir / "funnel.png")
