"""Writers: WARC/WET, JSONL (gzip, zstd), Parquet, the labels, the reference."""
from __future__ import annotations

import datetime as dt
import gzip
import hashlib
import io
import json
import random
import uuid
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import zstandard
from warcio.statusandheaders import StatusAndHeaders
from warcio.warcwriter import WARCWriter

from .records import SEED, Rec


def crawl_date(rng: random.Random) -> dt.datetime:
    return dt.datetime(2023, 9, 1) + dt.timedelta(seconds=rng.randrange(200 * 86400))


def warc_id(*parts: str) -> str:
    return f"<urn:uuid:{uuid.UUID(bytes=hashlib.sha1(chr(0).join(parts).encode()).digest()[:16])}>"


def write_warc(path: Path, recs: list[Rec], rng: random.Random, wet: bool = False) -> None:
    """WARC (or WET) file: a warcinfo record, then per record a request +
    response (WARC) or a conversion record (WET). Every id and date is fixed."""
    buf = io.BytesIO()
    writer = WARCWriter(buf, gzip=True)
    date0 = "2023-12-01T00:00:00Z"
    info = (f"software: infra/build_sample.py (yi-pipeline)\nformat: WARC File Format 1.0\n"
            f"description: sample crawl built from Debian/PyPI text, seed {SEED}\n"
            f"isPartOf: YI-SAMPLE-2023-50\n").encode()
    writer.write_record(writer.create_warc_record(
        path.name, "warcinfo", payload=io.BytesIO(info), warc_content_type="application/warc-fields",
        warc_headers_dict={"WARC-Record-ID": warc_id(path.name, "warcinfo"), "WARC-Date": date0,
                           "WARC-Filename": path.name}))
    for r in recs:
        date = crawl_date(rng).strftime("%Y-%m-%dT%H:%M:%SZ")
        if wet:
            body = r.text.encode("utf-8")
            writer.write_record(writer.create_warc_record(
                r.url, "conversion", payload=io.BytesIO(body), length=len(body),
                warc_content_type="text/plain",
                warc_headers_dict={"WARC-Record-ID": warc_id(r.url, "conversion"), "WARC-Date": date,
                                   "WARC-Refers-To": warc_id(r.url, "response")}))
            continue
        host = r.url.split("/")[2]
        req = (f"GET /{r.url.split('/', 3)[3] if r.url.count('/') >= 3 else ''} HTTP/1.1\r\nHost: {host}\r\n"
               "User-Agent: yi-sample-crawler/1.0\r\nAccept: text/html,*/*\r\n\r\n").encode()
        writer.write_record(writer.create_warc_record(
            r.url, "request", payload=io.BytesIO(req), length=len(req),
            warc_content_type="application/http; msgtype=request",
            warc_headers_dict={"WARC-Record-ID": warc_id(r.url, "request"), "WARC-Date": date,
                               "WARC-Concurrent-To": warc_id(r.url, "response")}))
        headers = [("Date", dt.datetime.strptime(date, "%Y-%m-%dT%H:%M:%SZ").strftime("%a, %d %b %Y %H:%M:%S GMT")),
                   ("Server", "nginx"), ("Content-Type", r.content_type),
                   ("Content-Length", str(len(r.html)))]
        if r.status.startswith("301"):
            headers.append(("Location", r.extra["location"]))
        writer.write_record(writer.create_warc_record(
            r.url, "response", payload=io.BytesIO(r.html), length=None,
            http_headers=StatusAndHeaders(r.status, headers, protocol="HTTP/1.1"),
            warc_headers_dict={"WARC-Record-ID": warc_id(r.url, "response"), "WARC-Date": date,
                               "WARC-IP-Address": "192.0.2.%d" % (int(hashlib.sha1(host.encode()).hexdigest()[:2], 16) % 250 + 1)}))
    path.write_bytes(buf.getvalue())


def gzip_bytes(data: bytes) -> bytes:
    out = io.BytesIO()
    with gzip.GzipFile(filename="", mode="wb", fileobj=out, mtime=0, compresslevel=9) as g:
        g.write(data)
    return out.getvalue()


def jsonl_bytes(rows: list[dict]) -> bytes:
    return "".join(json.dumps(r, ensure_ascii=False, sort_keys=False) + "\n" for r in rows).encode()


def rec_row(r: Rec) -> dict:
    """A JSONL row: `lang_gold` only where the language is known."""
    row = {"id": r.id, "text": r.text, "url": r.url, "source": r.source}
    if r.lang is not None:
        row["lang_gold"] = r.lang
    row.update(r.extra)
    return row


def clear_sample_dirs(sample: Path) -> None:
    for sub in ("warc", "wet", "jsonl", "parquet"):
        (sample / sub).mkdir(parents=True, exist_ok=True)
        for old in (sample / sub).iterdir():
            old.unlink()


def write_warc_files(sample: Path, recs: list[Rec], rng: random.Random) -> None:
    """The WARC records in two files, the WET records in one."""
    warc = [r for r in recs if r.fmt == "warc"]
    half = len(warc) // 2
    for i, part in enumerate((warc[:half], warc[half:])):
        name = f"YI-SAMPLE-2023-50-{i:05d}.warc.gz"
        for r in part:
            r.file = f"warc/{name}"
        write_warc(sample / "warc" / name, part, rng)
    wet = [r for r in recs if r.fmt == "wet"]
    name = "YI-SAMPLE-2023-50-00000.warc.wet.gz"
    for r in wet:
        r.file = f"wet/{name}"
    write_warc(sample / "wet" / name, wet, rng, wet=True)


def write_jsonl_files(sample: Path, recs: list[Rec]) -> None:
    jsonl: dict[str, list[Rec]] = {}
    for r in recs:
        if r.fmt == "jsonl":
            jsonl.setdefault(r.file, []).append(r)
    for name, rs in sorted(jsonl.items()):
        data = jsonl_bytes([rec_row(r) for r in rs])
        payload = zstandard.ZstdCompressor(level=12).compress(data) if name.endswith(".zst") else gzip_bytes(data)
        (sample / "jsonl" / name).write_bytes(payload)
        for r in rs:
            r.file = f"jsonl/{name}"


def write_parquet_file(sample: Path, recs: list[Rec], rng: random.Random) -> None:
    pq_recs = [r for r in recs if r.fmt == "parquet"]
    name = "web-text-00000.parquet"
    table = pa.table({
        "id": pa.array([r.id for r in pq_recs], pa.string()),
        "text": pa.array([r.text for r in pq_recs], pa.string()),
        "url": pa.array([r.url for r in pq_recs], pa.string()),
        "source": pa.array([r.source for r in pq_recs], pa.string()),
        "lang_gold": pa.array([r.lang for r in pq_recs], pa.string()),
        "crawl_date": pa.array([crawl_date(rng).date() for r in pq_recs], pa.date32()),
    })
    pq.write_table(table, sample / "parquet" / name, compression="zstd", row_group_size=2000)
    for r in pq_recs:
        r.file = f"parquet/{name}"


def write_labels(out: Path, recs: list[Rec]) -> None:
    """Ground truth, one row per record, sorted by url."""
    recs_sorted = sorted(recs, key=lambda r: r.url)
    labels = pa.table({
        "url": [r.url for r in recs_sorted],
        "file": [r.file for r in recs_sorted],
        "format": [r.fmt for r in recs_sorted],
        "source": [r.source or None for r in recs_sorted],
        "lang": pa.array([r.lang for r in recs_sorted], pa.string()),
        "kind": [r.kind for r in recs_sorted],
        "dup_of": pa.array([r.dup_of for r in recs_sorted], pa.string()),
    })
    pq.write_table(labels, out / "sample_labels.parquet", compression="zstd")


def write_reference(out: Path, ref_en: list[dict], ref_zh: list[dict]) -> None:
    ref = out / "reference"
    ref.mkdir(parents=True, exist_ok=True)
    for lang, rows in (("en", ref_en), ("zh", ref_zh)):
        (ref / f"{lang}.jsonl.gz").write_bytes(gzip_bytes(jsonl_bytes(sorted(rows, key=lambda x: x["id"]))))
