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
import xxhash
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


# ------------------------------------------- issue #13: tests that can fail --
TEXTS = ["The first record of the file, a plain sentence.", "The second one, last in the file, no newline after it."]


@pytest.mark.parametrize("name", ["t.jsonl", "t.jsonl.gz", "t.jsonl.zst", "t.json.gz"])
def test_last_jsonl_line_without_newline_is_a_record(tmp_path, name):
    """Issue #13 row 5: the last record of a file that does not end in a
    newline is read (the bug returned 1 of 2 records). CRLF endings too."""
    for sep in (b"\n", b"\r\n"):
        data = sep.join(json.dumps({"id": f"n{i}", "text": t}).encode() for i, t in enumerate(TEXTS))
        assert not data.endswith(b"\n")
        if name.endswith(".gz"):
            data = gzip.compress(data, mtime=0)
        elif name.endswith(".zst"):
            data = zstandard.ZstdCompressor().compress(data)
        (tmp_path / name).write_bytes(data)
        rows = read_rows(tmp_path / name)
        assert [(r["id"], r["text"], r["offset"], r["reason"]) for r in rows] == [
            ("n0", TEXTS[0], 0, None), ("n1", TEXTS[1], 1, None)]


def test_jsonl_blank_and_whitespace_lines_are_not_records(tmp_path):
    lines = [b"", b"   ", b"\t\r", json.dumps({"text": TEXTS[0]}).encode(), b" ", b""]
    (tmp_path / "b.jsonl").write_bytes(b"\n".join(lines))
    rows = read_rows(tmp_path / "b.jsonl")
    assert [(r["offset"], r["text"], r["reason"]) for r in rows] == [(3, TEXTS[0], None)]


def _pages(tmp_path, n=3):
    """A WARC of n HTML pages made here (no sample needed), with their record ids as warcio reads them."""
    body = "<html><body><h1>Page {i}</h1><p>" + "Page {i} has a paragraph of ordinary prose in it. " * 8 + "</p></body></html>"
    path = write_warc(tmp_path / "p.warc.gz", [("response", f"http://example.com/{i}", body.format(i=i).encode(),
                                                "text/html; charset=utf-8") for i in range(n)])
    with open(path, "rb") as fh:
        ids = [r.rec_headers.get_header("WARC-Record-ID") for r in ArchiveIterator(fh)]
    return path, ids


def test_extraction_error_is_a_quarantine_row(tmp_path, monkeypatch):
    """Issue #13 row 6: an extractor that raises on one page gives that page
    an ``extraction_error`` row (the exception first in the preview), and the
    file goes on."""
    from pipeline import extract

    real = extract.EXTRACTORS["resiliparse"]

    def crashing(html, url):
        if url.endswith("/1"):
            raise ValueError("parser crashed on this page")
        return real(html, url)

    monkeypatch.setitem(extract.EXTRACTORS, "resiliparse", crashing)
    path, ids = _pages(tmp_path)
    rows = read_rows(path, FAST)
    assert [(r["offset"], r["decision"], r["reason"]) for r in rows] == [
        (0, "kept", None), (1, "quarantined", "extraction_error"), (2, "kept", None)]
    bad = rows[1]
    assert bad["stage"] == "read" and bad["url"] == "http://example.com/1"
    assert bad["text"].startswith("ValueError: parser crashed on this page\n<html>")
    assert bad["id"] == ids[1].strip("<>").removeprefix("urn:uuid:")


@pytest.mark.parametrize("fmt", ["warc", "jsonl", "parquet"])
def test_a_record_that_raises_is_a_record_error_row(tmp_path, monkeypatch, fmt):
    """Any exception one record raises is that record's ``record_error`` row
    (never dropped, never the end of the file)."""
    import pipeline.readers.jsonl as jsonl_mod
    import pipeline.readers.parquet as parquet_mod
    import pipeline.readers.warc as warc_mod

    if fmt == "warc":
        path, _ = _pages(tmp_path)
        real = warc_mod._warc_meta

        def meta(headers):
            if headers.get_header("WARC-Target-URI").endswith("/1"):
                raise KeyError("boom")
            return real(headers)

        monkeypatch.setattr(warc_mod, "_warc_meta", meta)
    else:
        mod = jsonl_mod if fmt == "jsonl" else parquet_mod
        real = mod.dict_record

        def record(obj, offset, *a, **k):
            if offset == 1:
                raise KeyError("boom")
            return real(obj, offset, *a, **k)

        monkeypatch.setattr(mod, "dict_record", record)
        recs = [{"id": f"x{i}", "text": f"{TEXTS[0]} {i}"} for i in range(3)]
        if fmt == "jsonl":
            path = tmp_path / "r.jsonl"
            path.write_text("".join(json.dumps(r) + "\n" for r in recs))
        else:
            path = tmp_path / "r.parquet"
            pq.write_table(pa.Table.from_pylist(recs), path)
    rows = read_rows(path, FAST)
    assert [(r["offset"], r["reason"]) for r in rows] == [(0, None), (1, "record_error"), (2, None)]
    assert rows[1]["text"].startswith("KeyError: 'boom'") and rows[1]["decision"] == "quarantined"


def test_format_detection_by_ending():
    from pipeline.readers import detect_format

    assert [detect_format(p) for p in ("a.warc.wet.gz", "a.wet.gz", "a.wet", "a.warc.gz", "a.warc", "a.jsonl.gz",
                                       "a.json.gz", "a.jsonl.zst", "a.jsonl", "a.parquet", "A.JSONL.GZ",
                                       "s3://b/x.Warc.Gz", "a.json", "a.jsonl.bz2", "a.gz")] == [
        ("wet", "gzip"), ("wet", "gzip"), ("wet", None), ("warc", "gzip"), ("warc", None), ("jsonl", "gzip"),
        ("jsonl", "gzip"), ("jsonl", "zstd"), ("jsonl", None), ("parquet", None), ("jsonl", "gzip"),
        ("warc", "gzip"), None, None, None]


def test_multi_member_gzip_and_upper_case_ending(tmp_path):
    """Files joined with ``cat`` (one gzip member each) are read whole."""
    recs = [json.dumps({"id": f"m{i}", "text": f"{TEXTS[0]} {i}"}).encode() + b"\n" for i in range(5)]
    path = tmp_path / "JOINED.JSONL.GZ"
    path.write_bytes(gzip.compress(b"".join(recs[:2]), mtime=0) + gzip.compress(b"".join(recs[2:]), mtime=0))
    assert [r["id"] for r in read_rows(path)] == [f"m{i}" for i in range(5)]
    # a gzip file whose first member is corrupt is not "unreadable": it says its records are lost
    bad = tmp_path / "bad.jsonl.gz"
    raw = bytearray(gzip.compress(b"".join(recs), mtime=0))
    raw[12:20] = b"\xff" * 8
    bad.write_bytes(bytes(raw))
    rows = read_rows(bad)
    assert rows[-1]["reason"] in ("corrupt_gzip", "truncated_gzip") and rows[-1]["offset"] == len(rows) - 1


def test_parquet_column_mapping(tmp_path):
    """id / text / url / source columns go to their columns (the names from
    ``[read] text_key / id_key``), everything else to meta, by name."""
    t = pa.table({
        "doc_id": pa.array([7, None, 9], pa.int64()),
        "body": [TEXTS[0], TEXTS[1], " "],
        "url": ["http://a/1", None, "http://a/3"],
        "source": ["crawl-A", "", "crawl-B"],
        "lang_hint": ["en", "en", "de"],
        "text": ["not the text", "not the text", "not the text"],
    })
    path = tmp_path / "m.parquet"
    pq.write_table(t, path, row_group_size=2)
    rows = read_rows(path, {**CFG, "text_key": "body", "id_key": "doc_id"})
    got = [(r["offset"], r["id"], r["text"], r["url"], r["source"], json.loads(r["meta"]), r["reason"])
           for r in rows]
    assert got[0] == (0, "7", TEXTS[0], "http://a/1", "crawl-A", {"lang_hint": "en", "text": "not the text"}, None)
    assert got[1][2:] == (TEXTS[1], None, "parquet", {"lang_hint": "en", "text": "not the text"}, None)
    assert got[2][0] == 2 and got[2][1] == "9" and got[2][4] == "crawl-B" and got[2][6] == "empty_text"
    # no id: a content id salted with the file's base name and the record's offset
    base = "m.parquet"
    assert got[1][1] == xxhash.xxh3_128_hexdigest(f"{base}\x00{1}\x00{' '.join(TEXTS[1].lower().split())}".encode())


def test_derived_ids_are_salted_by_offset(tmp_path):
    """Records without an id: the same text twice in a file gets two ids; a
    read gives the same ids again; an empty or missing id is no id."""
    lines = [{"text": TEXTS[0]}, {"text": TEXTS[0]}, {"id": "", "text": TEXTS[0]}, {"id": None, "text": TEXTS[1]}]
    path = tmp_path / "d.jsonl"
    path.write_text("".join(json.dumps(x) + "\n" for x in lines))
    rows = read_rows(path)

    def content_id(offset, text):
        return xxhash.xxh3_128_hexdigest(f"d.jsonl\x00{offset}\x00{' '.join(text.lower().split())}".encode())

    assert [r["id"] for r in rows] == [content_id(i, x["text"]) for i, x in enumerate(lines)]
    assert len({r["id"] for r in rows}) == 4 and [r["id"] for r in read_rows(path)] == [r["id"] for r in rows]


def test_exact_integer_ids_up_to_2_53(tmp_path):
    lines = [b'{"id": 9007199254740992.0, "text": "a"}', b'{"id": 9007199254740994.0, "text": "b"}',
             b'{"id": -9007199254740992.0, "text": "c"}', b'{"id": 123456789012345678901234567890, "text": "d"}',
             b'{"id": false, "text": "e"}', b'{"id": 0, "text": "f"}']
    (tmp_path / "i.jsonl").write_bytes(b"\n".join(lines))
    rows = read_rows(tmp_path / "i.jsonl")
    assert [(r["id"] if r["reason"] is None else r["reason"]) for r in rows] == [
        "9007199254740992", "bad_id", "-9007199254740992", "123456789012345678901234567890", "bad_id", "0"]


def test_warc_record_ids_headers_and_skipped_records(tmp_path):
    """The id is the WARC-Record-ID uuid (no urn:uuid:, no <>); the date and
    unknown headers go to meta; non-document records count in offset."""
    path, ids = _pages(tmp_path, 2)
    rows = read_rows(path, FAST)
    with open(path, "rb") as fh:
        heads = [r.rec_headers for r in ArchiveIterator(fh)]
    assert [r["id"] for r in rows] == [i[len("<urn:uuid:"):-1] for i in ids]
    assert all(len(r["id"]) == 36 and r["id"].count("-") == 4 for r in rows)
    assert [json.loads(r["meta"])["crawl_date"] for r in rows] == [h.get_header("WARC-Date") for h in heads]
    assert [r["url"] for r in rows] == ["http://example.com/0", "http://example.com/1"]
    assert all(r["source"] == "warc" and "Page" in r["text"] for r in rows)


def test_warc_status_and_html_sniffing(tmp_path):
    """A redirect is ``http_status:301``; a record without a content type is
    HTML when its payload starts like HTML, in any case."""
    page = ("<!DOCTYPE HTML><HTML><BODY><P>" + "An old page written in capital tags, still plain prose. " * 6
            + "</P></BODY></HTML>").encode()
    buf = tmp_path / "s.warc"
    with open(buf, "wb") as fh:
        w = WARCWriter(fh, gzip=False)
        http = StatusAndHeaders("301 Moved Permanently", [("Location", "http://x/")], protocol="HTTP/1.1")
        w.write_record(w.create_warc_record("http://x/old", "response", payload=io.BytesIO(page), http_headers=http))
        for i, payload in enumerate((page, b"just some text " * 20)):  # no Content-Type header at all
            fh.write(b"WARC/1.0\r\nWARC-Type: resource\r\nWARC-Record-ID: <urn:uuid:00000000-0000-0000-0000-00000000000%d>"
                     b"\r\nWARC-Target-URI: http://x/%d\r\nContent-Length: %d\r\n\r\n%s\r\n\r\n"
                     % (i, i, len(payload), payload))
    rows = read_rows(buf, FAST)
    assert [(r["offset"], r["reason"]) for r in rows] == [(0, "http_status:301"), (1, None), (2, "non_html_payload")]
    assert "capital tags" in rows[1]["text"]


def test_html_charset_labels():
    from pipeline.readers import html_charset

    assert html_charset("text/html; charset=GB2312", b"") == "gb18030"
    assert html_charset("text/html; Charset=\"ISO-8859-1\"", b"") == "cp1252"
    assert html_charset("text/html", b'<head><META http-equiv="x" content="text/html; charset=Shift_JIS">') == "cp932"
    assert html_charset("text/html; charset=utf-8", b'<meta charset="gbk">') == "utf-8"  # the header first
    assert html_charset(None, b"<meta charset='no-such-codec'>") == "utf-8"
    assert html_charset(None, b" " * 5000 + b"<meta charset='gbk'>") == "utf-8"  # only the first 4 KiB


def test_wet_records(tmp_path):
    path = tmp_path / "x.warc.wet.gz"
    recs = [("warcinfo", b"software: test\r\n"), ("conversion", TEXTS[0].encode()),
            ("conversion", b"bin\x00ary " * 10), ("conversion", b"caf\xe9 latin-1 bytes"),
            ("conversion", b"  \n "), ("conversion", TEXTS[1].encode())]
    with open(path, "wb") as fh:
        w = WARCWriter(fh, gzip=True)
        for i, (rtype, payload) in enumerate(recs):
            w.write_record(w.create_warc_record(f"http://w/{i}", rtype, payload=io.BytesIO(payload),
                                                warc_content_type="text/plain"))
    rows = read_rows(path)
    assert [(r["offset"], r["reason"]) for r in rows] == [
        (1, None), (2, "binary_payload"), (3, "invalid_utf8"), (4, "empty_text"), (5, None)]
    assert [r["text"] for r in rows if r["reason"] is None] == TEXTS
    assert all(r["source"] == "wet" for r in rows)


def test_length_bounds(tmp_path):
    """``min_chars`` (stripped) and ``max_chars`` are inclusive bounds; a WARC
    payload of exactly ``max_payload_bytes`` is read."""
    cfg = {**CFG, "min_chars": 5, "max_chars": 20}
    texts = ["  abcd  ", " abcde ", "x" * 20, "x" * 21]
    (tmp_path / "l.jsonl").write_text("".join(json.dumps({"text": t}) + "\n" for t in texts))
    assert [r["reason"] for r in read_rows(tmp_path / "l.jsonl", cfg)] == ["empty_text", None, None, "too_large"]
    path, _ = _pages(tmp_path, 1)
    with open(path, "rb") as fh:
        size = len(next(r for r in ArchiveIterator(fh)).content_stream().read())
    assert [r["reason"] for r in read_rows(path, {**FAST, "max_payload_bytes": size})] == [None]
    assert [r["reason"] for r in read_rows(path, {**FAST, "max_payload_bytes": size - 1})] == ["too_large"]
