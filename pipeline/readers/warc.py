"""WARC (.warc, .warc.gz): HTML ``response`` / ``resource`` records → main
text (pipeline/extract.py). Request, metadata, warcinfo and revisit records
are not documents and are skipped (they still count in ``offset``).
``read_archive`` is the record loop WARC and WET (pipeline/readers/wet.py)
share."""
from __future__ import annotations

import codecs
import re
from typing import Callable

from pipeline.readers.base import (QUARANTINE_TEXT_CHARS, ReadOptions, Rows, StreamBroken, UnreadableFile, broken,
                                   record_failed, str_or_none)
from pipeline.document import make_id
from pipeline.readers.streams import open_stream

# WARC headers that are plumbing or already columns; the others go to meta.
_WARC_KNOWN = {
    "warc-record-id", "warc-type", "warc-target-uri", "content-length", "content-type",
    "warc-block-digest", "warc-payload-digest", "warc-ip-address", "warc-warcinfo-id",
    "warc-concurrent-to", "warc-refers-to", "warc-filename", "warc-date", "warc-refers-to-target-uri",
    "warc-refers-to-date",
}
_CHARSET_RE = re.compile(rb"""<meta[^>]+charset\s*=\s*["']?\s*([a-zA-Z0-9_\-:.]+)""", re.I)
# WHATWG encoding labels that browsers read as a superset.
_WHATWG = {"gb2312": "gb18030", "gbk": "gb18030", "x-gbk": "gb18030", "iso-8859-1": "cp1252",
           "latin1": "cp1252", "latin-1": "cp1252", "us-ascii": "cp1252", "ascii": "cp1252",
           "big5": "big5hkscs", "shift_jis": "cp932", "euc-kr": "cp949", "iso-8859-9": "cp1254"}


def _warc_meta(headers) -> dict[str, str]:
    meta = {}
    date = headers.get_header("WARC-Date")
    if date:
        meta["crawl_date"] = date
    for name, value in headers.headers:
        low = name.lower()
        if low not in _WARC_KNOWN:
            key = low[5:] if low.startswith("warc-") else low
            meta[key.replace("-", "_")] = value
    return meta


def _record_id(headers) -> str | None:
    rid = headers.get_header("WARC-Record-ID")
    if not rid:
        return None
    rid = rid.strip().strip("<>")
    return rid[len("urn:uuid:"):] if rid.startswith("urn:uuid:") else rid


def html_charset(content_type: str | None, payload: bytes) -> str:
    """Declared charset (HTTP header, then <meta> in the first 4 KiB), else UTF-8."""
    label = None
    if content_type:
        m = re.search(r"charset\s*=\s*[\"']?([^\s;\"']+)", content_type, re.I)
        if m:
            label = m.group(1)
    if label is None:
        m = _CHARSET_RE.search(payload[:4096])
        if m:
            label = m.group(1).decode("ascii", "replace")
    if label is None:
        return "utf-8"
    label = _WHATWG.get(label.lower(), label.lower())
    try:
        return codecs.lookup(label).name
    except LookupError:
        return "utf-8"


def _is_html(content_type: str | None, payload: bytes) -> bool:
    if content_type:
        return "html" in content_type.lower()
    head = payload[:512].lstrip(b"\xef\xbb\xbf \t\r\n").lower()
    return head.startswith((b"<!doctype html", b"<html"))


class RecordQuarantined(Exception):
    """A record's payload cannot become a document: quarantine it with
    ``reason`` (``text``: what to show instead of the payload)."""

    def __init__(self, reason: str, text: str | None = None):
        super().__init__(reason)
        self.reason = reason
        self.text = text


def _quiet_iterator(stream):
    """warcio's ArchiveIterator without its stderr warning for a record
    that is not followed by its blank lines (a Content-Length shorter than
    the record): ``err_count`` still counts them, and the reader puts the
    record in the ledger as ``bad_content_length`` instead."""
    from warcio.archiveiterator import ArchiveIterator

    class Quiet(ArchiveIterator):
        INC_RECORD = ""

    return Quiet(stream, check_digests=False)


def read_archive(path: str, codec: str | None, kind: str, want: tuple[str, ...], opts: ReadOptions, rows: Rows,
                 to_text: Callable, empty: str):
    """Every record of type ``want`` → ``to_text(rec, payload)`` → a row; a
    text under ``min_chars`` is quarantined as ``empty``.

    A record whose Content-Length does not match its block (warcio finds
    the record's end not followed by the two blank lines WARC requires) is
    quarantined as ``bad_content_length``: too short, its text is cut
    anywhere, mid-word or mid-tag; too long, it swallowed the start of the
    next record. What follows is parsed as warcio recovers it (the next
    record when the excess is one line, else ``corrupt_warc`` for the rest
    of the file). Records are never kept with a text known to be damaged."""
    from warcio.exceptions import ArchiveLoadFailed

    stream = open_stream(path, codec)
    offset = 0
    try:
        records = _quiet_iterator(stream)
        for rec in records:
            if rec.rec_type in want:
                errors = records.err_count
                try:
                    payload = rec.content_stream().read(opts.max_payload_bytes + 1)
                    records.read_to_end(rec)  # reads past the block: finds a bad Content-Length now
                    _record(rec, payload, records.err_count > errors, offset, kind, opts, rows, to_text, empty)
                except (StreamBroken, ArchiveLoadFailed):
                    raise
                except Exception as e:  # noqa: BLE001 - one record must not stop the file
                    record_failed(rows, e, offset, kind, None)
                yield
            offset += 1
            rows.position = offset
    except StreamBroken as e:
        broken(rows, e, offset, kind)
        yield
    except ArchiveLoadFailed as e:
        if offset == 0:
            raise UnreadableFile(path, f"not a {kind.upper()} file: {str(e)[:200]}") from e
        broken(rows, StreamBroken("corrupt_warc", f"WARC record unparsable ({str(e)[:200]})"), offset, kind)
        yield


def _record(rec, payload: bytes, truncated: bool, offset: int, kind: str, opts: ReadOptions, rows: Rows,
            to_text: Callable, empty: str) -> None:
    headers = rec.rec_headers
    id_ = _record_id(headers)
    url = str_or_none(headers.get_header("WARC-Target-URI"))
    meta = _warc_meta(headers)

    def quarantine(reason: str, text: str | None = None) -> None:
        if text is None:
            text = payload[:4 * QUARANTINE_TEXT_CHARS].decode("utf-8", "replace")
        rows.quarantine(reason, offset, text, kind, id_=id_, url=url, meta=meta)

    if len(payload) > opts.max_payload_bytes:
        return quarantine("too_large")
    if truncated:
        return quarantine("bad_content_length")
    try:
        text = to_text(rec, payload, url)
    except RecordQuarantined as q:
        return quarantine(q.reason, q.text)
    if len(text.strip()) < opts.min_chars:
        return quarantine(empty, text or None)
    if len(text) > opts.max_chars:
        return quarantine("too_large", text)
    rows.kept(id_ or make_id(text, rows.path, offset), text, url, kind, offset, meta)


def read_warc(path: str, codec: str | None, opts: ReadOptions, rows: Rows):
    from pipeline.extract import get_extractor

    extract = get_extractor(opts.html_extractor)

    def html_text(rec, payload: bytes, url) -> str:
        headers = rec.rec_headers
        http = rec.http_headers
        if http is not None and rec.rec_type == "response":
            code = http.get_statuscode()
            if not (code or "").startswith("2"):
                raise RecordQuarantined(f"http_status:{code}")
            ctype = http.get_header("Content-Type")
        else:
            ctype = headers.get_header("Content-Type")
        ctype = ctype or headers.get_header("WARC-Identified-Payload-Type")
        if not _is_html(ctype, payload):
            raise RecordQuarantined("non_html_payload")
        if b"\x00" in payload:
            raise RecordQuarantined("binary_payload")
        charset = html_charset(ctype, payload)
        try:
            html = payload.decode("utf-8-sig" if charset == "utf-8" else charset)
        except UnicodeDecodeError:
            raise RecordQuarantined("invalid_utf8" if charset == "utf-8" else "invalid_encoding") from None
        try:
            return extract(html, url)
        except Exception as e:  # a parser crash on one page must not stop the file
            raise RecordQuarantined("extraction_error", f"{type(e).__name__}: {e}\n{html}") from None

    return read_archive(path, codec, "warc", ("response", "resource"), opts, rows, html_text, "no_main_text")
