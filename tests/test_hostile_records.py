"""Hostile records (issue #11, items 8-12): every bad record becomes a
quarantine row naming its file, offset and reason; nothing kills the read,
nothing is lost, the ledger counts records (one row per record).

Reader tests are engine-free; the duplicate-id rule and the packing of many
small files into read tasks run on a real Spark local[2] session.
"""
from __future__ import annotations

import codecs
import gzip
import io
import json
import re
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
import zstandard
from warcio.statusandheaders import StatusAndHeaders
from warcio.warcwriter import WARCWriter

from pipeline.config import load_config
from pipeline.readers import READ_SCHEMA, read_file, read_or_quarantine

CFG = {**load_config().section("read"), "html_extractor": "resiliparse"}
TEXT = "A perfectly ordinary sentence about the weather in spring."


def rows_of(path, cfg=CFG) -> list[dict]:
    out = []
    for b in read_or_quarantine(str(path), cfg):
        assert b.schema == READ_SCHEMA
        out += b.to_pylist()
    return out


def summary(rows) -> list[tuple]:
    return [(r["offset"], r["decision"], r["reason"]) for r in rows]


def jl(obj) -> bytes:
    return json.dumps(obj).encode()


# ------------------------------------------------------ item 8: JSON bombs --
def test_deeply_nested_line_is_one_quarantine_row(tmp_path):
    deep = b'{"text": "x", "a": ' + b"[" * 100_000 + b"]" * 100_000 + b"}"
    p = tmp_path / "deep.jsonl"
    p.write_bytes(b"\n".join([jl({"text": TEXT}), deep, jl({"text": TEXT})]) + b"\n")
    rows = rows_of(p)
    assert summary(rows) == [(0, "kept", None), (1, "quarantined", "json_too_deep"), (2, "kept", None)]
    assert all(r["source_file"] == str(p) for r in rows)


def test_5000_digit_id_is_one_quarantine_row(tmp_path):
    p = tmp_path / "bigint.jsonl.gz"
    lines = [jl({"text": TEXT}), b'{"id": ' + b"9" * 5000 + b', "text": "hello there"}', jl({"text": TEXT})]
    p.write_bytes(gzip.compress(b"\n".join(lines) + b"\n", mtime=0))
    rows = rows_of(p)
    assert summary(rows) == [(0, "kept", None), (1, "quarantined", "number_too_long"), (2, "kept", None)]


def test_json_siblings(tmp_path):
    """Non-standard literals, ids of every JSON type, NUL characters."""
    lines = [
        b'{"text": "' + TEXT.encode() + b'", "score": NaN, "w": -Infinity}',   # 0 kept, meta is valid JSON
        b'{"text": NaN}',                                                       # 1 text_not_string
        jl({"id": 7, "text": TEXT}),                                            # 2 kept, id "7"
        jl({"id": 7.0, "text": TEXT}),                                          # 3 kept, id "7" (same JSON number)
        jl({"id": 7.5, "text": TEXT}),                                          # 4 bad_id
        jl({"id": True, "text": TEXT}),                                         # 5 bad_id (not 1, not "True")
        jl({"id": [1, 2], "text": TEXT}),                                       # 6 bad_id
        jl({"id": {"a": 1}, "text": TEXT}),                                     # 7 bad_id (no Python repr)
        jl({"text": "binary\u0000garbage here"}),                               # 8 binary_payload
        b'{"text": "raw\x00nul"}',                                              # 9 malformed_json
        jl({"id": 1e300, "text": TEXT}),                                        # 10 bad_id (float beyond 2**53)
        jl({"text": TEXT, "url": {"u": 1}}),                                    # 11 kept, url not a string -> meta
        b"[1, 2, 3]",                                                           # 12 malformed_json (not an object)
        b'"just a string"',                                                     # 13 malformed_json
    ]
    p = tmp_path / "sib.jsonl"
    p.write_bytes(b"\n".join(lines) + b"\n")
    rows = rows_of(p)
    assert [r["reason"] for r in rows] == [
        None, "text_not_string", None, None, "bad_id", "bad_id", "bad_id", "bad_id", "binary_payload",
        "malformed_json", "bad_id", None, "malformed_json", "malformed_json"]
    assert [r["offset"] for r in rows] == list(range(len(lines)))
    assert rows[2]["id"] == "7" and rows[3]["id"] == "7"
    meta0 = json.loads(rows[0]["meta"], parse_constant=lambda c: pytest.fail(f"{c} in meta"))
    assert meta0 == {"score": None, "w": None}
    assert json.loads(rows[11]["meta"]) == {"url": {"u": 1}} and rows[11]["url"] is None
    for r in rows[4:8]:
        assert not r["id"].startswith(("[", "{", "True", "7.5")), r["id"]  # the id is a hash, not a repr
    assert all("(" not in (r["meta"] or "") for r in rows)


def test_huge_line_and_corrupt_zstd(tmp_path):
    small = {**CFG, "max_chars": 100}
    p = tmp_path / "long.jsonl"
    p.write_bytes(jl({"text": TEXT}) + b"\n" + jl({"text": "y" * 100_000}) + b"\n" + jl({"text": TEXT}))
    assert summary(rows_of(p, small)) == [(0, "kept", None), (1, "quarantined", "too_large"), (2, "kept", None)]
    z = tmp_path / "bad.jsonl.zst"
    data = zstandard.ZstdCompressor().compress(b"".join(jl({"text": f"{TEXT} {i}"}) + b"\n" for i in range(3)))
    z.write_bytes(data[:-8] + b"\xff" * 8)
    rows = rows_of(z)
    assert rows and rows[-1]["decision"] == "quarantined" and rows[-1]["reason"] in ("corrupt_zstd", "truncated_zstd")
    empty = tmp_path / "empty.jsonl"
    empty.write_bytes(b"")
    assert rows_of(empty) == []
    egz = tmp_path / "empty.jsonl.gz"
    egz.write_bytes(gzip.compress(b"", mtime=0))
    assert rows_of(egz) == []


def test_batches_cut_by_text_size(tmp_path):
    """1,000 records of max_chars (1M) CJK characters are 3 GB: more than an
    Arrow string column holds (2 GiB). Batches are cut by text size too."""
    from pipeline.readers.base import BATCH_CHARS

    n = BATCH_CHARS // 900_000 + 2
    p = tmp_path / "big.jsonl"
    with open(p, "wb") as fh:
        for i in range(n):
            fh.write(jl({"text": "字" * 900_000}) + b"\n")
    sizes = [b.num_rows for b in read_file(str(p), CFG)]
    assert sum(sizes) == n and len(sizes) >= 2, sizes


# ------------------------------------------------------------ item 9: BOMs --
RECORDS = [{"id": f"r{i}", "text": f"{TEXT} Number {i}, café ☕."} for i in range(3)]


@pytest.mark.parametrize("encoding,bom", [
    ("utf-8", codecs.BOM_UTF8), ("utf-16-le", codecs.BOM_UTF16_LE), ("utf-16-be", codecs.BOM_UTF16_BE),
    ("utf-32-le", codecs.BOM_UTF32_LE), ("utf-32-be", codecs.BOM_UTF32_BE),
    ("utf-16-le", b""), ("utf-16-be", b"")])
@pytest.mark.parametrize("suffix", [".jsonl", ".jsonl.gz"])
def test_bom_and_utf16(tmp_path, encoding, bom, suffix):
    body = "".join(json.dumps(r, ensure_ascii=False) + "\n" for r in RECORDS).encode(encoding)
    data = bom + body
    p = tmp_path / f"bom{suffix}"
    p.write_bytes(gzip.compress(data, mtime=0) if suffix.endswith(".gz") else data)
    rows = rows_of(p)
    assert summary(rows) == [(0, "kept", None), (1, "kept", None), (2, "kept", None)]
    assert [r["text"] for r in rows] == [r["text"] for r in RECORDS]
    assert [r["id"] for r in rows] == ["r0", "r1", "r2"]


def test_bom_inside_file_and_broken_utf16(tmp_path):
    """Files concatenated with `cat` keep their BOMs mid-file; a UTF-16 file
    with a lone surrogate loses that record only."""
    p = tmp_path / "cat.jsonl"
    p.write_bytes(codecs.BOM_UTF8 + jl(RECORDS[0]) + b"\n" + codecs.BOM_UTF8 + jl(RECORDS[1]) + b"\n")
    assert summary(rows_of(p)) == [(0, "kept", None), (1, "kept", None)]
    q = tmp_path / "u16.jsonl"
    lines = [json.dumps(r, ensure_ascii=False).encode("utf-16-le") for r in RECORDS]
    lines[1] = lines[1][:20] + b"\x00\xd8" + lines[1][20:]  # a lone high surrogate
    q.write_bytes(codecs.BOM_UTF16_LE + "\n".encode("utf-16-le").join(lines) + "\n".encode("utf-16-le"))
    assert summary(rows_of(q)) == [(0, "kept", None), (1, "quarantined", "invalid_encoding"), (2, "kept", None)]


# -------------------------------------------------------- item 10: Parquet --
@pytest.mark.parametrize("ttype", ["dictionary", "large_string", "string_view", "binary"])
def test_parquet_text_column_types(tmp_path, ttype):
    texts = [f"{TEXT} {i % 3}" for i in range(9)]
    arr = pa.array(texts, pa.string())
    if ttype == "dictionary":
        arr = arr.dictionary_encode()
    else:
        arr = arr.cast(getattr(pa, ttype)())
    p = tmp_path / f"{ttype}.parquet"
    pq.write_table(pa.table({"id": [f"d{i}" for i in range(9)], "text": arr}), p)
    rows = rows_of(p)
    assert [r["decision"] for r in rows] == ["kept"] * 9, {r["reason"] for r in rows}
    assert [r["text"] for r in rows] == texts


def test_parquet_ids_and_binary_meta(tmp_path):
    """pandas stores an integer id column with nulls as float64."""
    p = tmp_path / "fid.parquet"
    pq.write_table(pa.table({"id": pa.array([1.0, float("nan"), 3.5, None], pa.float64()), "text": [TEXT] * 4,
                             "blob": pa.array([b"\xff", b"ok", None, b""])}), p)
    rows = rows_of(p)
    assert [r["reason"] for r in rows] == [None, "bad_id", "bad_id", None]
    assert rows[0]["id"] == "1" and len(rows[3]["id"]) == 32  # None: a content id
    assert [json.loads(r["meta"]) for r in rows][:2] == [{"blob": "base64:/w=="}, {"blob": "ok"}]


def test_parquet_binary_text_invalid_utf8(tmp_path):
    p = tmp_path / "bin.parquet"
    pq.write_table(pa.table({"text": pa.array([TEXT.encode(), b"\xff\xfe bad", TEXT.encode()], pa.binary())}), p)
    assert summary(rows_of(p)) == [(0, "kept", None), (1, "quarantined", "invalid_utf8"), (2, "kept", None)]


def _corrupt_middle_row_group(path: Path) -> None:
    """Overwrite the data pages of row group 1's text column with junk."""
    md = pq.ParquetFile(path).metadata
    col = md.row_group(1).column(1)
    start = col.dictionary_page_offset or col.data_page_offset
    data = bytearray(path.read_bytes())
    for i in range(start, start + col.total_compressed_size):
        data[i] = 0xAB
    path.write_bytes(bytes(data))


def test_parquet_one_corrupt_row_group_of_three(tmp_path):
    p = tmp_path / "rg.parquet"
    t = pa.table({"id": [f"d{i:02d}" for i in range(30)], "text": [f"{TEXT} {i}" for i in range(30)]})
    pq.write_table(t, p, row_group_size=10, use_dictionary=False, compression="snappy")
    _corrupt_middle_row_group(p)
    rows = rows_of(p)
    assert len(rows) == 30
    assert [r["offset"] for r in rows] == list(range(30))
    kept = [r for r in rows if r["decision"] == "kept"]
    lost = [r for r in rows if r["decision"] == "quarantined"]
    assert [r["offset"] for r in kept] == list(range(10)) + list(range(20, 30))
    assert {r["reason"] for r in lost} == {"corrupt_parquet"} and len(lost) == 10
    assert [r["id"] for r in lost] == [f"d{i:02d}" for i in range(10, 20)]  # the id column was intact


# ------------------------------------------------------ item 12: WARC length --
def _warc(records: list[bytes]) -> bytes:
    buf = io.BytesIO()
    w = WARCWriter(buf, gzip=False)
    for i, body in enumerate(records):
        http = StatusAndHeaders("200 OK", [("Content-Type", "text/html")], protocol="HTTP/1.1")
        w.write_record(w.create_warc_record(f"http://example.com/{i}", "response", payload=io.BytesIO(body),
                                            http_headers=http))
    return buf.getvalue()


def _html(i: int) -> bytes:
    return f"<html><body><p>{(f'Page {i} says hello to the world. ' * 30)}</p></body></html>".encode()


def test_warc_content_length_too_short(tmp_path, capfd):
    data = _warc([_html(i) for i in range(3)])
    parts = data.split(b"WARC/1.0\r\n")
    m = re.search(rb"Content-Length: (\d+)", parts[2])
    parts[2] = parts[2].replace(m.group(0), b"Content-Length: %d" % (int(m.group(1)) - 300))
    p = tmp_path / "short.warc"
    p.write_bytes(b"WARC/1.0\r\n".join(parts))
    rows = rows_of(p)
    assert summary(rows) == [(0, "kept", None), (1, "quarantined", "bad_content_length"), (2, "kept", None)]
    assert "Content-Length" not in capfd.readouterr().err  # in the ledger, not on stderr
    # gzipped (one member a record) and too long (swallows the next record's
    # head: that record is lost, and says so)
    members = []
    for i in range(3):
        rec = _warc([_html(i)])
        if i == 1:
            m = re.search(rb"Content-Length: (\d+)", rec.split(b"\r\n\r\n", 1)[0])
            rec = rec.replace(m.group(0), b"Content-Length: %d" % (int(m.group(1)) - 300), 1)
        members.append(gzip.compress(rec, mtime=0))
    (tmp_path / "short.warc.gz").write_bytes(b"".join(members))
    assert summary(rows_of(tmp_path / "short.warc.gz")) == [
        (0, "kept", None), (1, "quarantined", "bad_content_length"), (2, "kept", None)]
    parts = data.split(b"WARC/1.0\r\n")
    m = re.search(rb"Content-Length: (\d+)", parts[2])
    parts[2] = parts[2].replace(m.group(0), b"Content-Length: %d" % (int(m.group(1)) + 50))
    (tmp_path / "long.warc").write_bytes(b"WARC/1.0\r\n".join(parts))
    assert summary(rows_of(tmp_path / "long.warc")) == [
        (0, "kept", None), (1, "quarantined", "bad_content_length"), (2, "quarantined", "corrupt_warc")]


# ------------------------------------------------ catch-all, nothing escapes --
def test_no_exception_escapes_any_record(tmp_path):
    """A file of every hostile line at once: each is one row, in order."""
    lines = [b'{"text": ' + b"[" * 5000 + b"]" * 5000 + b"}", b'{"id": 1' + b"0" * 4400 + b', "text": "x"}',
             b'{"text": "ok text", "m": ' + b'{"a":' * 2000 + b"1" + b"}" * 2000 + b"}",
             b"\xff\xfe\x00garbage", b"{" * 100_000, b"1" * 10_000, jl({"text": TEXT})]
    p = tmp_path / "all.jsonl"
    p.write_bytes(b"\n".join(lines))
    rows = rows_of(p)
    assert [r["offset"] for r in rows] == list(range(len(lines)))
    assert [r["decision"] for r in rows] == ["quarantined"] * (len(lines) - 1) + ["kept"]
    assert all(r["reason"] for r in rows[:-1])


# ----------------------------------- ids across records and files (Spark) --
def test_pack_files_by_size():
    from pipeline.readers.base import pack_files

    files = [f"f{i}" for i in range(10)]
    assert pack_files(files, [10] * 10, 1000, 100, 2) == [files[:5], files[5:]]  # total/parallelism wins
    assert pack_files(files, [10] * 10, 220, 100, 1) == [files[i:i + 2] for i in range(0, 10, 2)]
    big = pack_files(files, [10, 5000, 10, 10, 10, 10, 10, 10, 10, 10], 300, 100, 1)
    assert big[0] == ["f0"] and big[1] == ["f1"] and sum(big, []) == files  # never split, order kept
    assert pack_files([], [], 300, 100, 2) == []


def _read_and_dedupe_ids(spark, tmp_path, files):
    from jobs.steps import Context, DuplicateIds, read_records

    ctx = Context(spark, load_config(), str(tmp_path / "work"), tmp_path / "report")
    docs, quarantined = read_records(ctx, [str(f) for f in files], False)
    res = DuplicateIds().run(ctx, docs)
    rows = [r.asDict() for r in quarantined.unionByName(res.ledger).collect()]
    rows += [{**r.asDict(), "decision": "kept", "reason": None} for r in res.docs.collect()]
    return ctx, sorted(rows, key=lambda r: (r["source_file"], r["offset"]))


def test_duplicate_id_rule(spark, tmp_path):
    """7 and "7" are one id; a twin quarantined by its reader does not claim
    the id; across files the first file keeps it; bad ids never collide."""
    a = tmp_path / "a.jsonl"
    a.write_bytes(b"\n".join([
        jl({"id": "x", "text": ""}),            # 0 empty_text: does not claim "x"
        jl({"id": "x", "text": TEXT}),          # 1 kept: its only twin was quarantined
        jl({"id": 7, "text": TEXT + " a"}),     # 2 kept as "7"
        jl({"id": "7", "text": TEXT + " b"}),   # 3 duplicate_id (the same id as 7)
        jl({"id": [1], "text": TEXT + " c"}),   # 4 bad_id
        jl({"id": [1], "text": TEXT + " d"}),   # 5 bad_id, not a duplicate of 4
        jl({"id": "y", "text": TEXT + " e"}),   # 6 kept: a.jsonl comes before b.jsonl
    ]) + b"\n")
    b = tmp_path / "b.jsonl"
    b.write_bytes(jl({"id": "y", "text": TEXT + " f"}) + b"\n")   # duplicate_id
    _, rows = _read_and_dedupe_ids(spark, tmp_path, [a, b])
    assert [(Path(r["source_file"]).name, r["offset"], r["id"] if r["reason"] != "bad_id" else "-", r["reason"])
            for r in rows] == [
        ("a.jsonl", 0, "x", "empty_text"), ("a.jsonl", 1, "x", None), ("a.jsonl", 2, "7", None),
        ("a.jsonl", 3, "7", "duplicate_id"), ("a.jsonl", 4, "-", "bad_id"), ("a.jsonl", 5, "-", "bad_id"),
        ("a.jsonl", 6, "y", None), ("b.jsonl", 0, "y", "duplicate_id")]
    assert rows[4]["id"] != rows[5]["id"]


def test_many_small_files_few_tasks(spark, tmp_path):
    """60 small files (one unreadable) are read in a few tasks, not 60, and
    give exactly the rows of reading each file alone."""
    files = []
    for i in range(60):
        f = tmp_path / "in" / f"f{i:02d}.jsonl"
        f.parent.mkdir(exist_ok=True)
        f.write_bytes(b"".join(jl({"id": f"f{i}-{j}", "text": f"{TEXT} {i} {j}"}) + b"\n" for j in range(3)))
        files.append(f)
    bad = tmp_path / "in" / "f99.parquet"
    bad.write_bytes(b"not parquet")
    files.append(bad)
    ctx, rows = _read_and_dedupe_ids(spark, tmp_path, files)
    alone = sorted((r for f in files for r in rows_of(f, load_config().section("read"))),
                   key=lambda r: (r["source_file"], r["offset"]))
    cols = ("id", "text", "source_file", "offset", "reason")
    assert [tuple(r[c] for c in cols) for r in rows] == [tuple(r[c] for c in cols) for r in alone]
    assert len(rows) == 60 * 3 + 1 and rows[-1]["reason"].startswith("unreadable_file")
    parts = list((Path(ctx.work) / "read").glob("part-*.parquet"))
    assert 1 <= len(parts) <= 2 * spark.sparkContext.defaultParallelism, len(parts)  # tasks, not files


SPLITTING_DOC = "4b3b4ca7-dfe3-d966-f06a-4f28645b735d"  # a sample WET page the coherence step splits in two
# (the coherence step splits only at confident breaks since issue #12: the
# page used before, 07f47e20-..., is no longer split)


def test_a_split_part_never_takes_an_input_id(tmp_path):
    """A split document's parts are ``<id>-p<k>``; an input record that
    already holds ``<id>-p0`` must keep it, and the part gets another id:
    every id appears once in the ledger and in the corpus."""
    import os
    import subprocess
    import sys

    import pyarrow.dataset as ds

    repo = Path(__file__).resolve().parent.parent
    wet = repo / "data" / "sample" / "wet" / "YI-SAMPLE-2023-50-00000.warc.wet.gz"
    rows = [r for b in read_file(str(wet), load_config().section("read")) for r in b.to_pylist()]
    parent = next(r for r in rows if r["id"] == SPLITTING_DOC)
    other = next(r for r in rows if r["id"] != SPLITTING_DOC and r["decision"] == "kept"
                 and len(r["text"] or "") > 2000)
    src = tmp_path / "in"
    src.mkdir()
    (src / "a.jsonl").write_bytes(jl({"id": SPLITTING_DOC, "text": parent["text"]}) + b"\n"
                                  + jl({"id": f"{SPLITTING_DOC}-p0", "text": other["text"]}) + b"\n")
    out = tmp_path / "out"
    r = subprocess.run([sys.executable, str(repo / "jobs" / "filter.py"), "--input", str(src), "--output", str(out)],
                       cwd=repo, capture_output=True, text=True, timeout=600,
                       env={**os.environ, "YI_SPARK_MASTER": "local[2]", "PYTHONHASHSEED": "0"})
    assert r.returncode == 0, r.stderr[-3000:]
    ledger = ds.dataset(out / "ledger").to_table(columns=["id", "parent_id", "reason"]).to_pylist()
    assert any(x["reason"] == "split_into_parts" for x in ledger), "the document no longer splits: pick another"
    ids = [x["id"] for x in ledger]
    assert len(ids) == len(set(ids)), sorted(i for i in ids if ids.count(i) > 1)
    original = [x for x in ledger if x["id"] == f"{SPLITTING_DOC}-p0"]
    assert original and original[0]["parent_id"] is None  # the input record keeps its id
    parts = [x["id"] for x in ledger if x["parent_id"] == SPLITTING_DOC]
    assert any(p.startswith(f"{SPLITTING_DOC}-p0~") for p in parts), parts
    corpus = ds.dataset(out / "corpus", partitioning="hive").to_table(columns=["id"])["id"].to_pylist()
    assert len(corpus) == len(set(corpus))
