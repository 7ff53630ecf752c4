"""Readers on the shipped sample and on bad input made from it in tmp dirs.

Engine-free (no Spark). Counts are checked against plain warcio / json /
pyarrow reads of the same files: input = kept + quarantined.
"""
from __future__ import annotations

import gzip
import io
import json
import random
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
import zstandard
from warcio.archiveiterator import ArchiveIterator
from warcio.statusandheaders import StatusAndHeaders
from warcio.warcwriter import WARCWriter

from pipeline.config import load_config
from pipeline.readers import QUARANTINE_TEXT_CHARS, READ_SCHEMA, UnreadableFile, list_inputs, read_file

SAMPLE = Path(__file__).resolve().parent.parent / "data" / "sample"
CFG = load_config().section("read")
FAST = {**CFG, "html_extractor": "resiliparse"}  # same code path, 20x faster: for counting tests
WARC0 = SAMPLE / "warc" / "YI-SAMPLE-2023-50-00000.warc.gz"


def read_rows(path, cfg=CFG, batch_size=1000) -> list[dict]:
    rows = []
    for b in read_file(str(path), cfg, batch_size=batch_size):
        assert b.schema == READ_SCHEMA
        rows += b.to_pylist()
    return rows


def jsonl_records(path: Path) -> list[dict]:
    with gzip.open(path, "rt", encoding="utf-8") as fh:
        return [json.loads(line) for line in fh if line.strip()]


def by_reason(rows) -> dict[str, list[dict]]:
    out: dict[str, list[dict]] = {}
    for r in rows:
        out.setdefault(r["reason"] or "kept", []).append(r)
    return out


def write_gz_lines(path: Path, lines: list[bytes]) -> Path:
    path.write_bytes(gzip.compress(b"".join(line + b"\n" for line in lines), mtime=0))
    return path


def sample_pages(n: int | None = None, url_part: str = "") -> list[tuple[str, bytes, str]]:
    """(url, payload, content type) of HTML responses of the sample WARCs
    whose url contains ``url_part``; the first ``n`` of them."""
    pages = []
    for f in sorted((SAMPLE / "warc").glob("*.warc.gz")):
        with open(f, "rb") as fh:
            for rec in ArchiveIterator(fh):
                ctype = rec.http_headers.get_header("Content-Type") if rec.http_headers else ""
                url = rec.rec_headers.get_header("WARC-Target-URI")
                if rec.rec_type == "response" and "html" in (ctype or "") and url_part in url:
                    pages.append((url, rec.content_stream().read(), ctype))
                    if len(pages) == n:
                        return pages
    return pages


def write_warc(path: Path, records: list[tuple[str, str, bytes, str | None]]) -> Path:
    """records: (warc type, url, payload, content type or None; "404" as type = 404 response)."""
    with open(path, "wb") as fh:
        w = WARCWriter(fh, gzip=True)
        for rtype, url, payload, ctype in records:
            status = "200 OK"
            if rtype == "404":
                rtype, status = "response", "404 Not Found"
            http = None
            if rtype == "response":
                http = StatusAndHeaders(status, [("Content-Type", ctype)] if ctype else [], protocol="HTTP/1.1")
            w.write_record(w.create_warc_record(url, rtype, payload=io.BytesIO(payload), http_headers=http))
    return path


# ------------------------------------------------------------- the sample --
def test_list_inputs_sample_and_unknown(tmp_path):
    files, unknown = list_inputs([str(SAMPLE)])
    assert files == sorted(files) and len(files) == 9
    assert {Path(f).parent.name for f in files} == {"jsonl", "parquet", "warc", "wet"}
    assert [Path(u).name for u in unknown] == ["SOURCES.md"]  # reported, not silently dropped
    (tmp_path / "b" / "c").mkdir(parents=True)
    (tmp_path / "b" / "c" / "x.jsonl").write_text('{"text": "hi"}\n')
    (tmp_path / "a.parquet").write_bytes(b"")
    (tmp_path / "notes.txt").write_text("x")
    files, unknown = list_inputs(str(tmp_path))
    assert files == [str(tmp_path / "a.parquet"), str(tmp_path / "b" / "c" / "x.jsonl")]
    assert unknown == [str(tmp_path / "notes.txt")]
    with pytest.raises(FileNotFoundError):
        list_inputs([str(tmp_path / "missing")])


def test_sample_every_record_accounted():
    """Each sample file: records read = records in the file (plain readers),
    each kept or quarantined with a reason; meta carries unknown fields."""
    files, _ = list_inputs([str(SAMPLE)])
    seen_ids = set()
    for f in files:
        rows = read_rows(f, FAST)
        name = Path(f).name
        if f.endswith(".parquet"):
            expected = pq.read_metadata(f).num_rows
        elif ".jsonl" in f and f.endswith(".zst"):
            with open(f, "rb") as fh:
                data = zstandard.ZstdDecompressor().stream_reader(fh).read()
            expected = sum(1 for line in data.splitlines() if line.strip())
        elif ".jsonl" in f:
            expected = len(jsonl_records(Path(f)))
        else:
            want = ("conversion",) if "wet" in name else ("response",)
            with open(f, "rb") as fh:
                expected = sum(r.rec_type in want for r in ArchiveIterator(fh))
        assert len(rows) == expected, name
        for r in rows:
            assert r["source_file"] == f and r["id"]
            if r["decision"] == "kept":
                assert r["stage"] == "" and r["reason"] is None and r["text"].strip()
            else:
                assert r["decision"] == "quarantined" and r["stage"] == "read" and r["reason"]
        seen_ids.update(r["id"] for r in rows)
        offsets = [r["offset"] for r in rows]
        assert offsets == sorted(offsets) and len(set(offsets)) == len(offsets)
        if ".jsonl" in name or name.endswith(".parquet"):
            assert offsets == list(range(len(rows)))
    wet = read_rows(SAMPLE / "wet" / "YI-SAMPLE-2023-50-00000.warc.wet.gz")
    assert all(r["decision"] == "kept" and r["source"] == "wet" and "urn" not in r["id"] for r in wet)
    fort = read_rows(SAMPLE / "jsonl" / "fortunes-zh.jsonl.gz")
    raw = jsonl_records(SAMPLE / "jsonl" / "fortunes-zh.jsonl.gz")
    assert [r["id"] for r in fort] == [x["id"] for x in raw]  # the input's own ids
    assert json.loads(fort[0]["meta"]) == {"collection": raw[0]["collection"], "lang_gold": "zh"}
    par = read_rows(SAMPLE / "parquet" / "web-text-00000.parquet")
    assert "crawl_date" in json.loads(par[0]["meta"])


def test_sample_warc_quarantines_non_html_and_redirect():
    rows = []
    for f in sorted((SAMPLE / "warc").glob("*.warc.gz")):
        rows += read_rows(f, FAST)
    reasons = by_reason(rows)
    labels = pq.read_table(SAMPLE.parent / "sample_labels.parquet").to_pylist()
    non_text = sorted(r["url"] for r in labels if r["kind"] == "non_text" and r["format"] == "warc")
    got = sorted(r["url"] for r in rows if (r["reason"] or "").startswith(("non_html_payload", "http_status:3")))
    assert got == non_text and reasons["non_html_payload"] and reasons["http_status:301"]
    gbk = [r for r in reasons["kept"] if "debian-reference" in r["url"]]
    assert gbk and all("\ufffd" not in r["text"] for r in gbk)  # GBK pages decoded by their charset


def test_trafilatura_main_text_and_determinism(tmp_path):
    """The default extractor on real pages: main text kept, no markup; two
    reads give the same bytes."""
    pages = sample_pages(12)
    moz = sample_pages(1, "mozilla.org/en-US/firefox/developer")
    path = write_warc(tmp_path / "p.warc.gz", [("response", u, b, c) for u, b, c in pages + moz])
    assert CFG["html_extractor"] == "trafilatura"
    rows = read_rows(path)
    assert len(rows) == len(pages) + 1
    by_url = {r["url"]: r for r in rows}
    text = by_url["https://www.mozilla.org/en-US/firefox/developer/"]["text"]
    assert "Developer Edition comes with a new profile" in text and "<div" not in text
    sink1, sink2 = io.BytesIO(), io.BytesIO()
    for sink in (sink1, sink2):
        with pa.ipc.new_stream(sink, READ_SCHEMA) as w:
            for b in read_file(str(path), CFG, batch_size=5):
                assert b.num_rows <= 5
                w.write_batch(b)
    assert sink1.getvalue() == sink2.getvalue()


# ------------------------------------------------------------ bad input --
def test_jsonl_bad_records(tmp_path):
    src = jsonl_records(SAMPLE / "jsonl" / "fortunes-en.jsonl.gz")[:6]
    good = [json.dumps(x, ensure_ascii=False).encode() for x in src]
    bad_utf8 = good[1].replace(b'"text": "', b'"text": "\xff\xfe', 1)
    lines = [
        good[0],
        bad_utf8,                                        # 1 invalid_utf8
        good[2][: len(good[2]) // 2],                    # 2 malformed_json (cut)
        json.dumps({"id": "e1", "text": ""}).encode(),   # 3 empty_text
        json.dumps({"id": "e2", "text": None}).encode(),  # 4 empty_text
        json.dumps({"id": "e3", "url": "u"}).encode(),   # 5 empty_text (no text)
        json.dumps({"id": "e4", "text": "  \n "}).encode(),  # 6 empty_text (blank)
        b"[1, 2, 3]",                                    # 7 malformed_json (not an object)
        b'{"id": "s1", "text": "lone \\ud800 surrogate"}',  # 8 invalid_utf8
        json.dumps({"id": "n1", "text": 42}).encode(),   # 9 text_not_string
        b"",                                             # 10 blank line: not a record
        good[3],
    ]
    rows = read_rows(write_gz_lines(tmp_path / "bad.jsonl.gz", lines))
    got = [(r["offset"], r["reason"]) for r in rows]
    assert got == [(0, None), (1, "invalid_utf8"), (2, "malformed_json"), (3, "empty_text"),
                   (4, "empty_text"), (5, "empty_text"), (6, "empty_text"), (7, "malformed_json"),
                   (8, "invalid_utf8"), (9, "text_not_string"), (11, None)]
    assert rows[1]["id"] == src[1]["id"]          # the id survives a bad byte
    assert "\ufffd" in rows[1]["text"]            # stored as decoded with replacement
    assert rows[0]["text"] == src[0]["text"] and rows[-1]["id"] == src[3]["id"]


def test_truncated_gzip_jsonl(tmp_path):
    data = (SAMPLE / "jsonl" / "wikipedia-en.jsonl.gz").read_bytes()
    full = jsonl_records(SAMPLE / "jsonl" / "wikipedia-en.jsonl.gz")
    path = tmp_path / "cut.jsonl.gz"
    path.write_bytes(data[: len(data) // 2])
    rows = read_rows(path)
    *kept, last = rows
    assert 0 < len(kept) < len(full)
    assert [r["id"] for r in kept] == [x["id"] for x in full[: len(kept)]]
    assert all(r["decision"] == "kept" for r in kept)
    assert last["reason"] == "truncated_gzip" and last["offset"] == len(kept)
    assert "lost" in last["text"]


def test_truncated_zstd_jsonl(tmp_path):
    data = (SAMPLE / "jsonl" / "dialogs.jsonl.zst").read_bytes()
    path = tmp_path / "cut.jsonl.zst"
    path.write_bytes(data[: len(data) * 2 // 3])
    rows = read_rows(path)
    assert rows[-1]["reason"] == "truncated_zstd" and rows[-1]["offset"] == len(rows) - 1
    assert len(rows) > 100 and all(r["decision"] == "kept" for r in rows[:-1])


def test_truncated_gzip_warc(tmp_path):
    data = WARC0.read_bytes()
    path = tmp_path / "cut.warc.gz"
    path.write_bytes(data[: len(data) // 3])
    rows = read_rows(path, FAST)
    *docs, last = rows
    assert last["reason"] == "truncated_gzip" and len(docs) > 10
    assert last["offset"] > docs[-1]["offset"]
    full = read_rows(WARC0, FAST)
    assert [r["id"] for r in docs] == [r["id"] for r in full[: len(docs)]]


@pytest.mark.parametrize("name", ["junk.jsonl.gz", "junk.warc.gz", "junk.warc", "junk.parquet",
                                  "junk.jsonl.zst", "junk.warc.wet.gz"])
def test_unreadable_file(tmp_path, name):
    path = tmp_path / name
    path.write_bytes(random.Random(0).randbytes(4096))
    with pytest.raises(UnreadableFile) as e:
        read_rows(path)
    assert str(path) in str(e.value)


def test_parquet_without_text_column(tmp_path):
    rows = pq.read_table(SAMPLE / "parquet" / "web-text-00000.parquet").slice(0, 20)
    path = tmp_path / "renamed.parquet"
    pq.write_table(rows.rename_columns(["body" if c == "text" else c for c in rows.column_names]), path)
    with pytest.raises(UnreadableFile, match="no 'text' column") as e:
        read_rows(path)
    assert e.value.path == str(path)


def test_50mb_document_quarantined_not_stored(tmp_path):
    src = jsonl_records(SAMPLE / "jsonl" / "wikipedia-en.jsonl.gz")[:2]
    big = (src[0]["text"] + "\n") * (50_000_000 // (len(src[0]["text"]) + 1) + 1)
    assert len(big) >= 50_000_000
    path = tmp_path / "big.jsonl"
    with open(path, "w", encoding="utf-8") as fh:
        fh.write(json.dumps({"id": "big", "text": big}) + "\n")
        fh.write(json.dumps(src[1]) + "\n")
    rows = read_rows(path)
    assert [r["reason"] for r in rows] == ["too_large", None]
    assert len(rows[0]["text"]) == QUARANTINE_TEXT_CHARS
    assert rows[1]["id"] == src[1]["id"] and rows[1]["offset"] == 1


def test_warc_bad_records(tmp_path):
    (url, html, ctype), (url2, html2, ctype2) = sample_pages(2)
    rnd = random.Random(1)
    cut = html.index(b"</p>")
    records = [
        ("request", url, b"GET / HTTP/1.1\r\n\r\n", None),                     # 0 skipped: not a document
        ("response", url, html[:cut] + b"\xff\xfe" + html[cut:], "text/html; charset=utf-8"),  # 1
        ("response", url + "?bin", b"<html>" + rnd.randbytes(3000), "text/html"),  # 2
        ("response", url + ".png", b"\x89PNG\r\n\x1a\n" + rnd.randbytes(500), "image/png"),  # 3
        ("response", url + "?nav", b"<html><body><script>var a=1;</script></body></html>", "text/html"),  # 4
        ("404", url + "?gone", html2, ctype2),                                   # 5
        ("response", url2, html2, ctype2),                                       # 6 fine
        ("metadata", url2, b"fetchTimeMs: 12\r\n", None),                        # 7 skipped
    ]
    path = write_warc(tmp_path / "bad.warc.gz", records)
    rows = read_rows(path)
    assert [(r["offset"], r["reason"]) for r in rows] == [
        (1, "invalid_utf8"), (2, "binary_payload"), (3, "non_html_payload"), (4, "no_main_text"),
        (5, "http_status:404"), (6, None)]
    assert len({r["id"] for r in rows}) == len(rows)  # WARC-Record-IDs
    small = read_rows(path, {**CFG, "max_payload_bytes": 1000})
    assert by_reason(small)["too_large"][-1]["offset"] == 6


def test_config_errors():
    with pytest.raises(ValueError, match="unknown \\[read\\] keys"):
        next(read_file(str(WARC0), {**CFG, "html_extractr": "x"}))
    with pytest.raises(ValueError, match="missing \\[read\\] keys \\['strict'\\]"):  # no second home of defaults
        next(read_file(str(WARC0), {k: v for k, v in CFG.items() if k != "strict"}))
    with pytest.raises(ValueError, match="unknown html_extractor"):
        next(read_file(str(WARC0), {**CFG, "html_extractor": "bs4"}))
    with pytest.raises(ValueError, match="unknown input format"):
        next(read_file("x.csv", CFG))


def test_uncompressed_and_uri_inputs(tmp_path):
    """Plain .wet/.jsonl files, listed and read through a file:// URI
    (pyarrow.fs: the same code path as s3:// or hdfs://)."""
    wet_gz = SAMPLE / "wet" / "YI-SAMPLE-2023-50-00000.warc.wet.gz"
    (tmp_path / "d").mkdir()
    (tmp_path / "d" / "x.wet").write_bytes(gzip.decompress(wet_gz.read_bytes()))
    (tmp_path / "y.jsonl").write_bytes(gzip.decompress((SAMPLE / "jsonl" / "wikipedia-en.jsonl.gz").read_bytes()))
    files, unknown = list_inputs([f"file://{tmp_path}"])
    assert files == [f"file://{tmp_path}/d/x.wet", f"file://{tmp_path}/y.jsonl"] and unknown == []
    plain = read_rows(files[0])
    assert [(r["id"], r["text"]) for r in plain] == [(r["id"], r["text"]) for r in read_rows(wet_gz)]
    assert len(read_rows(files[1])) == len(jsonl_records(SAMPLE / "jsonl" / "wikipedia-en.jsonl.gz"))
