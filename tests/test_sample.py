"""The shipped sample (data/sample/) and reference text (data/reference/):
every file parses with the plain libraries, the counts match what SOURCES.md
documents, the labels cover every record, and no reference text is in the
sample. (Byte-identical rebuilds: `make sample` twice, see SOURCES.md.)"""
from __future__ import annotations

import gzip
import io
import json
import re
from collections import Counter
from pathlib import Path

import pyarrow.parquet as pq
import pytest
import zstandard
from warcio.archiveiterator import ArchiveIterator

DATA = Path(__file__).resolve().parent.parent / "data"
SAMPLE = DATA / "sample"


def label(lang, kind):
    if kind == "non_text":
        return "non_text"
    if lang is None:
        return "junk"
    return lang if lang in ("en", "zh") else "other"


def documented_counts() -> dict[str, dict[str, int]]:
    """The per-file counts table of SOURCES.md."""
    md = (SAMPLE / "SOURCES.md").read_text(encoding="utf-8")
    table = md.split("## Counts", 1)[1]
    rows = [ln for ln in table.splitlines() if ln.startswith("| ")]
    head = [c.strip() for c in rows[0].strip("|").split("|")]
    out = {}
    for ln in rows[1:]:
        cells = [c.strip().strip("*") for c in ln.strip("|").split("|")]
        out[cells[0]] = dict(zip(head[1:], map(int, cells[1:])))
    return out


def read_jsonl(path: Path) -> list[dict]:
    raw = path.read_bytes()
    data = zstandard.ZstdDecompressor().stream_reader(io.BytesIO(raw)).read() \
        if path.suffix == ".zst" else gzip.decompress(raw)
    # split on "\n" only: texts hold U+2028 / U+0085, which JSON leaves raw
    return [json.loads(line) for line in data.decode("utf-8").split("\n") if line]


def warc_records(path: Path) -> list[tuple[str, str, str | None, bytes]]:
    """(WARC-Type, uri, content type, payload) of each record."""
    out = []
    with path.open("rb") as f:
        for rec in ArchiveIterator(f):
            ctype = rec.http_headers.get_header("Content-Type") if rec.http_headers else \
                rec.rec_headers.get_header("Content-Type")
            out.append((rec.rec_type, rec.rec_headers.get_header("WARC-Target-URI"), ctype,
                        rec.content_stream().read()))
    return out


@pytest.fixture(scope="module")
def sample():
    """url -> (file, text) for every record of data/sample, read with plain
    warcio / json / pyarrow."""
    recs: dict[str, tuple[str, str]] = {}

    def add(file, url, text):
        assert url not in recs, f"url twice: {url}"
        recs[url] = (file, text)

    for p in sorted((SAMPLE / "warc").glob("*.warc.gz")):
        for typ, url, ctype, payload in warc_records(p):
            if typ == "response":
                add(f"warc/{p.name}", url, payload.decode("utf-8", "replace"))
    for p in sorted((SAMPLE / "wet").glob("*.warc.wet.gz")):
        for typ, url, ctype, payload in warc_records(p):
            if typ == "conversion":
                assert ctype == "text/plain"
                add(f"wet/{p.name}", url, payload.decode("utf-8"))
    for p in sorted((SAMPLE / "jsonl").glob("*.jsonl.*")):
        for row in read_jsonl(p):
            assert {"id", "text", "url", "source"} <= row.keys()
            add(f"jsonl/{p.name}", row["url"], row["text"])
    for p in sorted((SAMPLE / "parquet").glob("*.parquet")):
        t = pq.read_table(p)
        assert t.column_names == ["id", "text", "url", "source", "lang_gold", "crawl_date"]
        for url, text in zip(t["url"].to_pylist(), t["text"].to_pylist()):
            add(f"parquet/{p.name}", url, text)
    return recs


@pytest.fixture(scope="module")
def labels():
    return pq.read_table(DATA / "sample_labels.parquet").to_pylist()


def test_formats_present():
    assert len(list((SAMPLE / "warc").glob("*.warc.gz"))) >= 1
    assert len(list((SAMPLE / "wet").glob("*.warc.wet.gz"))) >= 1
    assert list((SAMPLE / "jsonl").glob("*.jsonl.gz")) and list((SAMPLE / "jsonl").glob("*.jsonl.zst"))
    assert list((SAMPLE / "parquet").glob("*.parquet"))
    size = sum(p.stat().st_size for p in SAMPLE.rglob("*") if p.is_file())
    assert size <= 15e6
    assert sum(p.stat().st_size for p in (DATA / "reference").rglob("*")) <= 5e6


def test_labels_cover_every_record_and_match_sources_md(sample, labels):
    assert {r["url"] for r in labels} == set(sample)
    by_file: dict[str, Counter] = {}
    for r in labels:
        assert sample[r["url"]][0] == r["file"]
        by_file.setdefault(r["file"], Counter())[label(r["lang"], r["kind"])] += 1
    doc = documented_counts()
    total = doc.pop("total")
    for f, c in by_file.items():
        assert doc[f] == {"records": sum(c.values()), **{k: c[k] for k in doc[f] if k != "records"}}, f
    assert set(doc) == set(by_file)
    text = total["records"] - total["non_text"]
    assert 8000 <= text <= 15000
    assert 0.38 <= total["en"] / text <= 0.50
    assert 0.30 <= total["zh"] / text <= 0.40
    assert 0.15 <= (total["other"] + total["junk"]) / text <= 0.30


def test_lang_gold_in_files_matches_labels(labels):
    gold = {r["url"]: r["lang"] for r in labels}
    for p in sorted((SAMPLE / "jsonl").glob("*.jsonl.*")):
        for row in read_jsonl(p):
            assert row.get("lang_gold") == gold[row["url"]]
    for p in sorted((SAMPLE / "parquet").glob("*.parquet")):
        for row in pq.read_table(p, columns=["url", "lang_gold"]).to_pylist():
            assert row["lang_gold"] == gold[row["url"]]


def test_warc_has_non_html_records_and_gbk_pages():
    ctypes = Counter()
    for p in sorted((SAMPLE / "warc").glob("*.warc.gz")):
        for typ, url, ctype, payload in warc_records(p):
            if typ == "response":
                ctypes[ctype.split(";")[0]] += 1
                if "GBK" in ctype:
                    payload.decode("gbk")
                    ctypes["gbk"] += 1
    assert ctypes["image/png"] >= 1 and ctypes["application/pdf"] >= 1
    assert ctypes["gbk"] >= 1 and ctypes["text/html"] > 400


def test_duplicates_point_at_real_records(sample, labels):
    by_url = {r["url"]: r for r in labels}
    kinds = Counter(r["kind"] for r in labels)
    assert kinds["exact_dup"] >= 0.02 * len(labels) and kinds["near_dup"] >= 0.02 * len(labels)
    for r in labels:
        if r["kind"] == "exact_dup":
            assert sample[r["url"]][1] == sample[r["dup_of"]][1]
            assert by_url[r["dup_of"]]["kind"] == "real"
        elif r["kind"] == "near_dup":
            assert sample[r["url"]][1] != sample[r["dup_of"]][1]


def line_keys(text: str) -> set[str]:
    """First 32 non-space chars of each line (the builder's notion of a shared line)."""
    return {k for ln in text.split("\n") if len(k := re.sub(r"\s+", "", ln)[:32]) == 32}


def test_reference_shares_no_text_with_sample(sample):
    from lxml import html as lxml_html

    keys: set[str] = set()
    for file, text in sample.values():
        keys |= line_keys(text)
        if file.startswith("warc/") and "<" in text:  # also each text node of the HTML
            for node in lxml_html.fromstring(text).itertext():
                keys |= line_keys(node)
    for lang in ("en", "zh"):
        rows = read_jsonl(DATA / "reference" / f"{lang}.jsonl.gz")
        assert len(rows) >= 40 and all(len(r["text"]) >= 200 for r in rows)
        ref_keys = {k for r in rows for k in line_keys(r["text"])}
        assert len(ref_keys) > 1000
        shared = ref_keys & keys
        assert not shared, sorted(shared)[:3]
