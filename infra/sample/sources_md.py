"""SOURCES.md of data/sample and data/reference: provenance, licences, what
was done, counts (the counts table is what tests/test_sample.py checks)."""
from __future__ import annotations

from collections import Counter
from pathlib import Path

from .records import N_FORTUNES_EN, N_FORTUNES_ZH, SEED, Rec


LICENCES = {
    "fortunes": "BSD (4.4BSD licence with the advertising clause deleted), \"Copyright (c) 1991 The "
                "Regents of the University of California\" (Debian copyright file); quotations collected "
                "by the fortune-mod authors, distributed in Debian main",
    "fortunes-min": "as fortunes (same source package fortune-mod)",
    "fortunes-zh": "GPL-3.0+ (Debian copyright file)",
    "python3.11-doc": "PSF License Version 2 (Python and its documentation; Debian copyright file)",
    "debian-reference-zh-cn": "GPL-2+ (Debian copyright file; translators licensed the same)",
    "manpages-zh": "GFDL-1.2+ for the translations (Debian copyright file; a few pages GPL-2.0/2.0+)",
    "trafilatura": "Apache-2.0 (the package); the one page used, mozilla.org's Firefox Developer Edition "
                   "page, says \"Content available under a Creative Commons license\" (mozilla.org: CC BY-SA)",
    "gensim": "LGPL-2.1 (the package); its test data is a shortened English Wikipedia dump: "
              "CC BY-SA 3.0 / GFDL (Wikipedia's licence)",
    "chatterbot-corpus": "BSD (the wheel's metadata: classifier \"License :: OSI Approved :: BSD "
                         "License\"; the wheel ships no licence text)",
}
USE = {
    "fortunes": "%d English fortunes drawn at random (all collections, `%%`-separated entries)",
    "fortunes-min": "pooled with fortunes",
    "fortunes-zh": "%d entries of `chinese` drawn at random + all of `tang300`/`song100`; ANSI colour codes stripped",
    "python3.11-doc": "%d HTML pages (<= 120 kB) drawn at random, stored as they are (Sphinx navigation and all)",
    "debian-reference-zh-cn": "chapters cut into one page per top-level section (chapter navigation kept); "
                              "half the sections (by hash of the page name) here, the other half in "
                              "data/reference; ~20%% of the pages here served as GBK",
    "manpages-zh": "zh_CN pages, roff turned into text by a small converter; half the pages (by hash of the "
                   "name) here as WET records, the DESCRIPTION of the other half in data/reference",
    "trafilatura": "tests/resources/mozilla.org.firefox.developer.html only (other test pages: "
                   "copyright unclear, left out)",
    "gensim": "enwiki test dump: main-namespace, non-redirect articles, wiki markup stripped; one third "
              "(by hash of the title) here, two thirds in data/reference",
    "chatterbot-corpus": "one record per conversation (turns one a line); up to 450 en, 320 zh "
                         "(simplified + traditional), 90 per other language; hinglish left out (no ISO code)",
}


def label(r: Rec) -> str:
    if r.kind == "non_text":
        return "non_text"
    if r.lang is None:
        return "junk"
    return r.lang if r.lang in ("en", "zh") else "other"


def counts_table(recs: list[Rec]) -> list[str]:
    cols = ("en", "zh", "other", "junk", "non_text")
    by_file: dict[str, Counter] = {}
    for r in recs:
        by_file.setdefault(r.file, Counter())[label(r)] += 1
    total = Counter()
    lines = ["| file | records | " + " | ".join(cols) + " |", "|---|---:|" + "---:|" * len(cols)]
    for f, c in sorted(by_file.items()):
        total.update(c)
        lines.append(f"| {f} | {sum(c.values())} | " + " | ".join(str(c[k]) for k in cols) + " |")
    lines.append(f"| **total** | {sum(total.values())} | " + " | ".join(str(total[k]) for k in cols) + " |")
    return lines


def write_sources_md(out: Path, recs, ref_en, ref_zh, debs, pypi) -> None:
    (out / "sample" / "SOURCES.md").write_text("\n".join(sample_md(recs, debs, pypi)), encoding="utf-8")
    (out / "reference" / "SOURCES.md").write_text("\n".join(reference_md(ref_en, ref_zh, debs, pypi)),
                                                  encoding="utf-8")


def sample_md(recs, debs, pypi) -> list[str]:
    n_py = sum(r.source == "python-docs" and r.kind == "real" for r in recs)
    use = dict(USE)
    use["fortunes"] %= N_FORTUNES_EN
    use["fortunes-zh"] %= N_FORTUNES_ZH
    use["python3.11-doc"] %= n_py
    use["debian-reference-zh-cn"] = use["debian-reference-zh-cn"].replace("%%", "%")
    src_rows = [f"| Debian `{d.name}` | {d.version} | {LICENCES[d.name]} | {use[d.name]} |" for d in debs.values()]
    src_rows += [f"| PyPI `{k}` ({p.name}) | {p.name.split('-')[1].removesuffix('.tar.gz')} | {LICENCES[k]} | {use[k]} |"
                 for k, p in pypi.items()]
    kinds = Counter(r.kind for r in recs)
    text_recs = [r for r in recs if r.kind != "non_text"]
    mix = Counter(label(r) for r in text_recs)
    other_langs = Counter(r.lang for r in text_recs if label(r) == "other")
    return [
        "# data/sample: the shipped sample corpus",
        "",
        "Built by `make sample` (`python infra/build_sample.py`) from the Debian and PyPI files below; "
        f"seed {SEED}. Every file is byte-identical from one build to the next (sorted inputs, one seeded "
        "generator, ids from hashes, gzip mtime 0): checked by building twice and comparing sha256.",
        "",
        "## Sources",
        "",
        "| source | version | licence (as its package states it) | what was taken / done |",
        "|---|---|---|---|",
        *src_rows,
        "",
        "Synthetic parts (made here from the real text above, seeded): junk pages and texts "
        "(navigation-only, cookie banner, keyword spam, repeated lines, lorem ipsum, very short, number "
        "tables), mojibake (real en/zh text, UTF-8 bytes decoded as latin-1 or cp1252), exact duplicates "
        "(same text at another url, possibly another format; HTML pages again at `?utm_source=`-style urls) "
        "and near duplicates (a share line added, a few words or characters swapped, spacing changed; "
        "HTML pages with a scraper's banner and footer added), WARC non-HTML records (PNG and PDF of random "
        "bytes, a 301 redirect) that the reader must skip.",
        "",
        "## Formats",
        "",
        "- `warc/*.warc.gz`: warcinfo, then a request + response record per page (HTTP headers, "
        "`Content-Type`; some Chinese pages `charset=GBK`).",
        "- `wet/*.warc.wet.gz`: warcinfo, then `conversion` records (text/plain), as Common Crawl's WET.",
        "- `jsonl/*.jsonl.gz`, `jsonl/dialogs.jsonl.zst`: `id`, `text`, `url`, `source`, `lang_gold` "
        "(only where the language is known: absent on junk), plus per-file extra fields "
        "(`collection`, `title`, `topic`) that the pipeline must carry through.",
        "- `parquet/*.parquet`: `id`, `text`, `url`, `source`, `lang_gold` (null on junk), `crawl_date` (date).",
        "- `../sample_labels.parquet` (outside sample/, so the pipeline never reads it): one row per "
        "record, keyed by `url`: `file`, `format`, `source`, `lang`, `kind` (real, exact_dup, near_dup, "
        "a junk kind, non_text), `dup_of` (url of the original). Ground truth for benches.",
        "",
        "## Counts",
        "",
        "Per file, by gold label (en, zh, other = another language, junk = no language, "
        "non_text = WARC records with no text):",
        "",
        *counts_table(recs),
        "",
        f"Text records: {len(text_recs)}; " + ", ".join(
            f"{k} {mix[k]} ({100 * mix[k] / len(text_recs):.1f}%)" for k in ("en", "zh", "other", "junk")) + ".",
        "",
        "Other languages: " + ", ".join(f"{k} {v}" for k, v in sorted(other_langs.items())) + ".",
        "",
        "Kinds: " + ", ".join(f"{k} {v}" for k, v in sorted(kinds.items())) + ".",
        "",
        "Bad input (invalid UTF-8, truncated gzip, ...) is not shipped: tests make it in tmp dirs.",
        "",
    ]


def reference_md(ref_en, ref_zh, debs, pypi) -> list[str]:
    return [
        "# data/reference: high-quality reference text",
        "",
        "For the KenLM perplexity model and the quality classifier (positives). Built by "
        "`infra/build_sample.py` with data/sample; no document text here is in data/sample "
        "(split by hash of the article / page name; checked by tests/test_sample.py).",
        "",
        "| file | docs | chars | source | licence |",
        "|---|---:|---:|---|---|",
        f"| en.jsonl.gz | {len(ref_en)} | {sum(len(x['text']) for x in ref_en)} | English Wikipedia articles "
        f"(gensim {pypi['gensim'].name.split('-')[1]} test dump), markup stripped | {LICENCES['gensim']} |",
        f"| zh.jsonl.gz | {len(ref_zh)} | {sum(len(x['text']) for x in ref_zh)} | "
        f"{sum(x['source'] == 'debian-reference-zh-cn' for x in ref_zh)} debian-reference-zh-cn sections "
        f"({debs['debian-reference-zh-cn'].version}) as text + "
        f"{sum(x['source'] == 'manpages-zh' for x in ref_zh)} manpages-zh DESCRIPTION sections "
        f"({debs['manpages-zh'].version}) | GPL-2+ / GFDL-1.2+ |",
        "",
        "Rows: `id` (source/page), `text`, `source` (+ `title` for Wikipedia).",
        "",
        "Limits: both are small (a language model on this is a toy, fine for tests and relative scores). "
        "English is encyclopaedic (Wikipedia, as Yi and CCNet use). The Chinese is technical "
        "documentation (Debian manual, man pages) full of commands, paths and English option names: "
        "it is the best freely licensed Chinese prose available offline, but it is not news or "
        "encyclopaedia text, so a perplexity model built on it favours technical Chinese.",
        "",
    ]
