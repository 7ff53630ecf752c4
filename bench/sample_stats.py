"""What the shipped sample holds: records per format and gold label, kinds
(junk, duplicates), sizes; one example per kind. Reads only data/.

  python bench/sample_stats.py [--out out/sample-stats]

Prints the tables; writes OUT/sample_mix.png (records per format, stacked by
label) and OUT/examples.md (one record of each kind, first 300 chars).
"""
from __future__ import annotations

import argparse
import gzip
import io
import json
from collections import Counter, defaultdict
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import pyarrow.parquet as pq  # noqa: E402
import zstandard  # noqa: E402
from warcio.archiveiterator import ArchiveIterator  # noqa: E402

DATA = Path(__file__).resolve().parent.parent / "data"
LABELS = ("en", "zh", "other", "junk", "non_text")


def label(r: dict) -> str:
    if r["kind"] == "non_text":
        return "non_text"
    if r["lang"] is None:
        return "junk"
    return r["lang"] if r["lang"] in ("en", "zh") else "other"


def texts_by_url() -> dict[str, str]:
    """The text (WARC: the HTML) of every record, read back from the files."""
    out = {}
    for p in sorted((DATA / "sample").rglob("*.gz")) + sorted((DATA / "sample").rglob("*.zst")):
        if p.name.endswith(".warc.gz") or p.name.endswith(".wet.gz"):
            with p.open("rb") as f:
                for rec in ArchiveIterator(f):
                    if rec.rec_type in ("response", "conversion"):
                        out[rec.rec_headers.get_header("WARC-Target-URI")] = \
                            rec.content_stream().read().decode("utf-8", "replace")
        else:
            raw = p.read_bytes()
            data = zstandard.ZstdDecompressor().stream_reader(io.BytesIO(raw)).read() \
                if p.suffix == ".zst" else gzip.decompress(raw)
            for line in data.decode("utf-8").split("\n"):
                if line:
                    row = json.loads(line)
                    out[row["url"]] = row["text"]
    for p in sorted((DATA / "sample").rglob("*.parquet")):
        for row in pq.read_table(p, columns=["url", "text"]).to_pylist():
            out[row["url"]] = row["text"]
    return out


def main(argv=None) -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--out", default="out/sample-stats")
    a = ap.parse_args(argv)
    out = Path(a.out)
    out.mkdir(parents=True, exist_ok=True)

    labels = pq.read_table(DATA / "sample_labels.parquet").to_pylist()
    by_fmt: dict[str, Counter] = defaultdict(Counter)
    for r in labels:
        by_fmt[r["format"]][label(r)] += 1
    print(f"{'format':8} {'records':>8} " + " ".join(f"{k:>8}" for k in LABELS))
    total = Counter()
    for fmt in sorted(by_fmt):
        c = by_fmt[fmt]
        total.update(c)
        print(f"{fmt:8} {sum(c.values()):8d} " + " ".join(f"{c[k]:8d}" for k in LABELS))
    print(f"{'total':8} {sum(total.values()):8d} " + " ".join(f"{total[k]:8d}" for k in LABELS))
    n_text = sum(total.values()) - total["non_text"]
    print("text records: " + ", ".join(f"{k} {100 * total[k] / n_text:.1f}%" for k in LABELS[:4]))
    kinds = Counter(r["kind"] for r in labels)
    print("kinds: " + ", ".join(f"{k} {v}" for k, v in sorted(kinds.items())))
    sizes = {p.relative_to(DATA).as_posix(): p.stat().st_size for p in sorted(DATA.rglob("*")) if p.is_file()}
    print(f"bytes: sample/ {sum(v for k, v in sizes.items() if k.startswith('sample/'))}, "
          f"reference/ {sum(v for k, v in sizes.items() if k.startswith('reference/'))}")

    fig, ax = plt.subplots(figsize=(7, 4))
    fmts = sorted(by_fmt)
    bottom = [0] * len(fmts)
    for k in LABELS:
        vals = [by_fmt[f][k] for f in fmts]
        ax.bar(fmts, vals, bottom=bottom, label=k)
        bottom = [b + v for b, v in zip(bottom, vals)]
    ax.set_ylabel("records")
    ax.set_title("data/sample: records per format by gold label")
    ax.legend()
    fig.tight_layout()
    fig.savefig(out / "sample_mix.png", dpi=110)

    texts = texts_by_url()
    md = ["# data/sample: one example per kind", ""]
    for kind in sorted(kinds):
        r = next(r for r in labels if r["kind"] == kind)
        md += [f"## {kind}", "", f"`{r['url']}` ({r['file']}, lang {r['lang']}"
               + (f", copy of `{r['dup_of']}`" if r["dup_of"] else "") + ")", "", "```",
               texts[r["url"]][:300].replace("```", "'''"), "```", ""]
    (out / "examples.md").write_text("\n".join(md), encoding="utf-8")
    print(f"wrote {out / 'sample_mix.png'}, {out / 'examples.md'}")


if __name__ == "__main__":
    main()
