"""Readers: every input format → one document schema, bad records → quarantine.

``read_file(path, cfg)`` streams ONE input file (local path or any URI
``pyarrow.fs`` knows, e.g. ``s3://``) and yields Arrow batches of
``READ_SCHEMA``. Compressed streams are decompressed chunk by chunk, never
loaded whole. Formats, by file name ending:

  .warc .warc.gz                 WARC; HTML ``response`` records → main text
                                 (pipeline/extract.py); request, metadata,
                                 warcinfo, revisit records are not documents
                                 and are skipped (they still count in offset)
  .wet .wet.gz .warc.wet.gz      WET; ``conversion`` records (already text)
  .jsonl .jsonl.gz .json.gz      one JSON object a line (``text``, optional
  .jsonl.zst                     ``id``, ``url``, ``source``; other fields →
                                 ``meta``); blank lines are not records
  .parquet                       a ``text`` column (optional id/url/source)

Columns: ``id`` (the input's own id, else ``make_id``), ``text``, ``url``,
``source`` (from the record, else the format name), ``source_file``,
``offset`` (record index in the file: JSONL line, Parquet row, WARC record),
``meta`` (JSON object of the input fields the schema does not know, sorted
keys, or null), ``decision`` ("kept" | "quarantined"), ``stage`` ("read" when
quarantined, "" when kept), ``reason`` (null when kept).

Nothing is lost silently: every record is either kept or quarantined with a
reason (``invalid_utf8``, ``invalid_encoding`` (a declared charset that does
not decode), ``malformed_json``, ``empty_text``, ``text_not_string``,
``too_large``, ``non_html_payload``, ``binary_payload`` (NUL bytes),
``no_main_text``, ``extraction_error``, ``http_status:<code>`` (non-2xx WARC
responses, e.g. redirects)). A stream that breaks (``truncated_gzip``,
``corrupt_gzip``, ``truncated_zstd``, ``corrupt_zstd``, ``corrupt_warc``,
``corrupt_parquet``) yields the records read before the break, then ONE
quarantined record at the offset of the first record lost, whose text says
that the rest of the file is lost. A file that cannot be read at all (not
the format its name says, a Parquet file without a text column) raises
``UnreadableFile`` before anything is yielded.

The text of a quarantined record is a preview, cut to
``QUARANTINE_TEXT_CHARS`` (10,000) characters: enough to see what went
wrong, without storing a 50 MB blob in the ledger.
"""
from __future__ import annotations

import codecs
import gzip
import json
import os
import re
import zlib
from typing import Any, Iterator

import pyarrow as pa

from pipeline.document import make_id

READ_STAGE = "read"
KEPT, QUARANTINED = "kept", "quarantined"
QUARANTINE_TEXT_CHARS = 10_000

READ_SCHEMA = pa.schema([
    pa.field("id", pa.string()),
    pa.field("text", pa.string()),
    pa.field("url", pa.string()),
    pa.field("source", pa.string()),
    pa.field("source_file", pa.string()),
    pa.field("offset", pa.int64()),
    pa.field("meta", pa.string()),
    pa.field("decision", pa.string()),
    pa.field("stage", pa.string()),
    pa.field("reason", pa.string()),
])

# Longest file-name endings first: ".warc.wet.gz" before ".wet.gz"/".warc.gz".
FORMATS: list[tuple[str, str, str | None]] = [
    (".warc.wet.gz", "wet", "gzip"),
    (".wet.gz", "wet", "gzip"),
    (".wet", "wet", None),
    (".warc.gz", "warc", "gzip"),
    (".warc", "warc", None),
    (".jsonl.gz", "jsonl", "gzip"),
    (".json.gz", "jsonl", "gzip"),
    (".jsonl.zst", "jsonl", "zstd"),
    (".jsonl", "jsonl", None),
    (".parquet", "parquet", None),
]

CHUNK = 1 << 20


class UnreadableFile(Exception):
    """The whole file cannot be read; raised before any batch is yielded."""

    def __init__(self, path: str, reason: str):
        super().__init__(f"{path}: {reason}")
        self.path = path
        self.reason = reason


class _StreamBroken(Exception):
    """A compressed stream ended or broke mid-file (records before it are fine)."""

    def __init__(self, reason: str, detail: str):
        super().__init__(detail)
        self.reason = reason
        self.detail = detail


def detect_format(path: str) -> tuple[str, str | None] | None:
    """(format, codec) from the file name, or None for an unknown ending."""
    low = path.lower()
    for suffix, fmt, codec in FORMATS:
        if low.endswith(suffix):
            return fmt, codec
    return None


def list_inputs(paths: str | list[str]) -> tuple[list[str], list[str]]:
    """Expand files and directories (recursively) into the readable input
    files, sorted; returns ``(files, unknown)`` where ``unknown`` lists the
    files whose ending is not a known format, for the caller to report.
    A path that does not exist raises FileNotFoundError."""
    if isinstance(paths, str):
        paths = [paths]
    found: set[str] = set()
    for p in paths:
        if "://" in p:
            found.update(_list_uri(p))
        elif os.path.isdir(p):
            for root, dirs, names in os.walk(p):
                dirs.sort()
                found.update(os.path.join(root, n) for n in names)
        elif os.path.isfile(p):
            found.add(p)
        else:
            raise FileNotFoundError(f"input not found: {p}")
    files = sorted(f for f in found if detect_format(f))
    unknown = sorted(f for f in found if not detect_format(f))
    return files, unknown


def _list_uri(uri: str) -> list[str]:
    from pyarrow import fs as pafs

    filesystem, base = pafs.FileSystem.from_uri(uri)
    info = filesystem.get_file_info(base)
    if info.type == pafs.FileType.NotFound:
        raise FileNotFoundError(f"input not found: {uri}")
    if info.type == pafs.FileType.File:
        return [uri]
    prefix = uri.rstrip("/")
    out = []
    for f in filesystem.get_file_info(pafs.FileSelector(base, recursive=True)):
        if f.type == pafs.FileType.File:
            out.append(prefix + "/" + f.path[len(base.rstrip("/")) + 1:])
    return out


# ------------------------------------------------------------------ streams --
def _open_raw(path: str, random_access: bool = False):
    """Open a local path or a URI with pyarrow.fs, without any decompression."""
    from pyarrow import fs as pafs

    try:
        if "://" in path:
            filesystem, p = pafs.FileSystem.from_uri(path)
        else:
            filesystem, p = pafs.LocalFileSystem(), os.path.abspath(path)
        if random_access:
            return filesystem.open_input_file(p)
        return filesystem.open_input_stream(p, compression=None)
    except (OSError, pa.ArrowException) as e:
        raise UnreadableFile(path, f"cannot open: {e}") from e


class _GzipStream:
    """Multi-member gzip, decompressed as read; a broken stream raises
    ``UnreadableFile`` if nothing was decoded yet, else ``_StreamBroken``."""

    def __init__(self, raw, path: str):
        self._gz = gzip.GzipFile(fileobj=raw, mode="rb")
        self._path = path
        self._decoded = 0

    def read(self, n: int = -1) -> bytes:
        try:
            data = self._gz.read1(n)
        except EOFError as e:
            raise _StreamBroken("truncated_gzip", f"gzip stream ends early ({e})") from e
        except (gzip.BadGzipFile, zlib.error, OSError) as e:
            if self._decoded == 0:
                raise UnreadableFile(self._path, f"not a gzip file: {e}") from e
            raise _StreamBroken("corrupt_gzip", f"gzip data corrupt ({e})") from e
        self._decoded += len(data)
        return data


class _ZstdStream:
    """Zstandard (any number of frames), decompressed as read. The zstandard
    stream reader does not notice a cut-off last frame, so frames are fed by
    hand and a frame still open at the end of the file is reported."""

    def __init__(self, raw, path: str):
        import zstandard

        self._zstd = zstandard
        self._raw = raw
        self._path = path
        self._dobj = zstandard.ZstdDecompressor().decompressobj()
        self._in_frame = False
        self._buf = b""
        self._decoded = 0

    def _fill(self) -> bool:
        chunk = self._raw.read(CHUNK)
        if not chunk:
            if self._in_frame:
                raise _StreamBroken("truncated_zstd", "zstd stream ends inside a frame")
            return False
        out = []
        while chunk:
            try:
                out.append(self._dobj.decompress(chunk))
            except self._zstd.ZstdError as e:
                if self._decoded == 0 and not out:
                    raise UnreadableFile(self._path, f"not a zstd file: {e}") from e
                raise _StreamBroken("corrupt_zstd", f"zstd data corrupt ({e})") from e
            self._in_frame = not self._dobj.eof
            if self._dobj.eof:
                chunk = self._dobj.unused_data
                self._dobj = self._zstd.ZstdDecompressor().decompressobj()
            else:
                chunk = b""
        data = b"".join(out)
        self._decoded += len(data)
        self._buf += data
        return True

    def read(self, n: int = -1) -> bytes:
        """Up to ``n`` bytes (fewer before the end; b"" at the end). Data
        decoded before a break is returned before the break is raised."""
        while not self._buf:
            if not self._fill():
                return b""
        if n < 0:
            n = len(self._buf)
        data, self._buf = self._buf[:n], self._buf[n:]
        return data


def _open_stream(path: str, codec: str | None):
    raw = _open_raw(path)
    if codec == "gzip":
        return _GzipStream(raw, path)
    if codec == "zstd":
        return _ZstdStream(raw, path)
    return raw


# -------------------------------------------------------------------- rows --
class _Rows:
    """Collects rows and cuts them into READ_SCHEMA batches."""

    def __init__(self, path: str, batch_size: int):
        self.path = path
        self.batch_size = batch_size
        self.cols: dict[str, list] = {f.name: [] for f in READ_SCHEMA}

    def __len__(self) -> int:
        return len(self.cols["id"])

    def kept(self, id_: str, text: str, url, source: str, offset: int, meta: dict | None) -> None:
        self._add(id_, text, url, source, offset, meta, KEPT, "", None)

    def quarantine(self, reason: str, offset: int, text: str, source: str, *,
                   id_: str | None = None, url=None, meta: dict | None = None) -> None:
        preview = text[:QUARANTINE_TEXT_CHARS]
        self._add(id_ or make_id(text, self.path, offset), preview, url, source, offset, meta,
                  QUARANTINED, READ_STAGE, reason)

    def _add(self, id_, text, url, source, offset, meta, decision, stage, reason) -> None:
        c = self.cols
        c["id"].append(id_)
        c["text"].append(text)
        c["url"].append(url)
        c["source"].append(source)
        c["source_file"].append(self.path)
        c["offset"].append(offset)
        c["meta"].append(_meta_json(meta))
        c["decision"].append(decision)
        c["stage"].append(stage)
        c["reason"].append(reason)

    def full(self) -> bool:
        return len(self) >= self.batch_size

    def flush(self) -> pa.RecordBatch:
        batch = pa.RecordBatch.from_pydict(self.cols, schema=READ_SCHEMA)
        self.cols = {f.name: [] for f in READ_SCHEMA}
        return batch


def _meta_json(meta: dict | None) -> str | None:
    if not meta:
        return None
    s = json.dumps(meta, sort_keys=True, ensure_ascii=False, default=str)
    try:
        s.encode("utf-8")
    except UnicodeEncodeError:  # lone surrogates from "\ud800"-style escapes
        s = json.dumps(meta, sort_keys=True, ensure_ascii=True, default=str)
    return s


def _valid_utf8(text: str) -> bool:
    """False if ``text`` holds lone surrogates (JSON ``"\\ud800"`` escapes)."""
    try:
        text.encode("utf-8")
        return True
    except UnicodeEncodeError:
        return False


def _str_or_none(v: Any) -> str | None:
    if v is None or v == "":
        return None
    return v if isinstance(v, str) else str(v)


class ReadOptions:
    """The ``[read]`` section, checked once per file.

    max_chars          longer texts are quarantined as ``too_large``
    min_chars          texts shorter than this (after stripping) are
                       ``empty_text`` (``no_main_text`` for HTML)
    html_extractor     "trafilatura" | "resiliparse" (pipeline/extract.py)
    max_payload_bytes  WARC payloads above this are ``too_large`` before
                       extraction (and are not read into memory whole)
    text_key, id_key   field names of the text and id in JSONL / Parquet
    strict             used by the job (fail on UnreadableFile), not here
    """

    KEYS = {"max_chars", "min_chars", "html_extractor", "max_payload_bytes", "text_key", "id_key", "strict"}

    def __init__(self, cfg: dict):
        unknown = set(cfg) - self.KEYS
        if unknown:
            raise ValueError(f"unknown [read] keys {sorted(unknown)}; known: {sorted(self.KEYS)}")
        self.max_chars = int(cfg.get("max_chars", 1_000_000))
        self.min_chars = int(cfg.get("min_chars", 1))
        self.html_extractor = str(cfg.get("html_extractor", "trafilatura"))
        self.max_payload_bytes = int(cfg.get("max_payload_bytes", 8 << 20))
        self.text_key = str(cfg.get("text_key", "text"))
        self.id_key = str(cfg.get("id_key", "id"))
        # JSON-escaped text takes at most 6 bytes a character ("\uXXXX"):
        # a longer line cannot hold a text under max_chars, so it is not parsed.
        self.max_line_bytes = 6 * self.max_chars + (64 << 10)


# ---------------------------------------------------------------- entry point
def read_file(path: str, cfg: dict, batch_size: int = 1000) -> Iterator[pa.RecordBatch]:
    """Stream one input file as READ_SCHEMA batches (see module docstring).

    Raises ``UnreadableFile`` (before yielding anything) for a file that is
    not what its name says or lacks a text column; ``ValueError`` for an
    unknown file ending or an unknown config key.
    """
    fmt = detect_format(path)
    if fmt is None:
        raise ValueError(f"{path}: unknown input format; known endings: {[s for s, _, _ in FORMATS]}")
    opts = ReadOptions(cfg)
    kind, codec = fmt
    rows = _Rows(path, batch_size)
    if kind == "parquet":
        gen = _read_parquet(path, opts, rows)
    elif kind == "jsonl":
        gen = _read_jsonl(path, codec, opts, rows)
    else:
        gen = _read_warc(path, codec, kind, opts, rows)
    # Every reader appends rows and yields None whenever the buffer is full.
    for _ in gen:
        if rows.full():
            yield rows.flush()
    if len(rows):
        yield rows.flush()


def _broken(rows: _Rows, err: _StreamBroken, offset: int, source: str) -> None:
    note = (f"{err.detail}: the file ends at record {offset}; everything from "
            f"record {offset} on is lost ({rows.path})")
    rows.quarantine(err.reason, offset, note, source)


# ------------------------------------------------------------------- JSONL --
def _lines(stream, max_line_bytes: int) -> Iterator[tuple[bytes, bool]]:
    """(line, too_long) per line, read in chunks. A line longer than
    ``max_line_bytes`` is returned cut to that many bytes with too_long=True
    (the rest is skipped, never buffered). A last line without newline
    is a line; a line cut by a broken stream is not (the error propagates)."""
    buf = b""
    skipping = False
    while True:
        chunk = stream.read(CHUNK)
        if not chunk:
            break
        parts = (buf + chunk).split(b"\n")
        buf = parts.pop()
        for line in parts:
            if skipping:  # the end of a too-long line
                skipping = False
                continue
            yield line, False
        if not skipping and len(buf) > max_line_bytes:
            yield buf[:max_line_bytes], True
            skipping = True
        if skipping:
            buf = b""
    if buf and not skipping:
        yield buf, False


def _read_jsonl(path: str, codec: str | None, opts: ReadOptions, rows: _Rows):
    stream = _open_stream(path, codec)
    offset = 0
    try:
        for line, too_long in _lines(stream, opts.max_line_bytes):
            if too_long:
                rows.quarantine("too_large", offset, line.decode("utf-8", "replace"), "jsonl")
            elif line.strip():
                _jsonl_record(line, offset, opts, rows)
            offset += 1
            yield
    except _StreamBroken as e:
        _broken(rows, e, offset, "jsonl")
        yield


def _jsonl_record(line: bytes, offset: int, opts: ReadOptions, rows: _Rows) -> None:
    try:
        raw = line.decode("utf-8")
        bad_utf8 = False
    except UnicodeDecodeError:
        raw = line.decode("utf-8", "replace")
        bad_utf8 = True
    try:
        obj = json.loads(raw)
    except json.JSONDecodeError:
        rows.quarantine("invalid_utf8" if bad_utf8 else "malformed_json", offset, raw, "jsonl")
        return
    if not isinstance(obj, dict):
        rows.quarantine("malformed_json", offset, raw, "jsonl")
        return
    _dict_record(obj, offset, opts, rows, "jsonl", raw, "invalid_utf8" if bad_utf8 else None)


def _dict_record(obj: dict, offset: int, opts: ReadOptions, rows: _Rows, fmt: str,
                 raw: str | None, forced_reason: str | None = None) -> None:
    """One JSONL object or Parquet row → a kept or quarantined row."""
    text = obj.pop(opts.text_key, None)
    id_ = _str_or_none(obj.pop(opts.id_key, None))
    url = _str_or_none(obj.pop("url", None))
    source = _str_or_none(obj.pop("source", None)) or fmt
    meta: dict[str, Any] = {}
    for k in ("meta", "metadata"):
        if isinstance(obj.get(k), dict):
            meta.update(obj.pop(k))
    meta.update(obj)
    if id_ is not None and not _valid_utf8(id_):
        id_ = None
    reason = forced_reason
    if reason is None:
        if text is not None and not isinstance(text, str):
            reason = "text_not_string"
        elif text is None or len(text.strip()) < opts.min_chars:
            reason = "empty_text"
        elif len(text) > opts.max_chars:
            reason = "too_large"
        elif not _valid_utf8(text):
            reason = "invalid_utf8"
    if reason is None:
        rows.kept(id_ or make_id(text, rows.path, offset), text, url, source, offset, meta)
        return
    # Shown: the text if there is one, else the JSON line (a Parquet row's
    # other fields are in meta).
    preview = text if isinstance(text, str) and text.strip() else (raw or "")
    if not _valid_utf8(preview):
        preview = preview.encode("utf-8", "replace").decode("utf-8")
    rows.quarantine(reason, offset, preview, source, id_=id_, url=url, meta=meta)


# ----------------------------------------------------------------- Parquet --
def _read_parquet(path: str, opts: ReadOptions, rows: _Rows):
    import pyarrow.parquet as pq

    try:
        pf = pq.ParquetFile(_open_raw(path, random_access=True))
    except (OSError, pa.ArrowException) as e:
        raise UnreadableFile(path, f"not a Parquet file: {e}") from e
    schema = pf.schema_arrow
    if opts.text_key not in schema.names:
        raise UnreadableFile(path, f"no {opts.text_key!r} column (columns: {schema.names})")
    ttype = schema.field(opts.text_key).type
    if not (pa.types.is_string(ttype) or pa.types.is_large_string(ttype) or pa.types.is_string_view(ttype)):
        raise UnreadableFile(path, f"column {opts.text_key!r} has type {ttype}, not string")
    offset = 0
    try:
        for batch in pf.iter_batches(batch_size=rows.batch_size):
            for row in batch.to_pylist():
                _dict_record(row, offset, opts, rows, "parquet", None)
                offset += 1
                yield
    except (OSError, pa.ArrowException) as e:
        _broken(rows, _StreamBroken("corrupt_parquet", f"Parquet data unreadable ({e})"), offset, "parquet")
        yield


# -------------------------------------------------------------- WARC / WET --
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


def _read_warc(path: str, codec: str | None, kind: str, opts: ReadOptions, rows: _Rows):
    from warcio.archiveiterator import ArchiveIterator
    from warcio.exceptions import ArchiveLoadFailed

    from pipeline.extract import get_extractor

    extract = get_extractor(opts.html_extractor) if kind == "warc" else None
    want = ("conversion",) if kind == "wet" else ("response", "resource")
    stream = _open_stream(path, codec)
    offset = 0
    try:
        for rec in ArchiveIterator(stream, check_digests=False):
            if rec.rec_type in want:
                _warc_record(rec, offset, kind, opts, rows, extract)
                yield
            offset += 1
    except _StreamBroken as e:
        _broken(rows, e, offset, kind)
        yield
    except ArchiveLoadFailed as e:
        if offset == 0:
            raise UnreadableFile(path, f"not a {kind.upper()} file: {str(e)[:200]}") from e
        _broken(rows, _StreamBroken("corrupt_warc", f"WARC record unparsable ({str(e)[:200]})"), offset, kind)
        yield


def _warc_record(rec, offset: int, kind: str, opts: ReadOptions, rows: _Rows, extract) -> None:
    headers = rec.rec_headers
    id_ = _record_id(headers)
    url = _str_or_none(headers.get_header("WARC-Target-URI"))
    meta = _warc_meta(headers)
    payload = rec.content_stream().read(opts.max_payload_bytes + 1)

    def quarantine(reason: str, text: str | None = None) -> None:
        if text is None:
            text = payload[:4 * QUARANTINE_TEXT_CHARS].decode("utf-8", "replace")
        rows.quarantine(reason, offset, text, kind, id_=id_, url=url, meta=meta)

    if len(payload) > opts.max_payload_bytes:
        return quarantine("too_large")
    if kind == "wet":
        if b"\x00" in payload:
            return quarantine("binary_payload")
        try:
            text = payload.decode("utf-8")
        except UnicodeDecodeError:
            return quarantine("invalid_utf8")
        empty = "empty_text"
    else:
        http = rec.http_headers
        if http is not None and rec.rec_type == "response":
            code = http.get_statuscode()
            if not (code or "").startswith("2"):
                return quarantine(f"http_status:{code}")
            ctype = http.get_header("Content-Type")
        else:
            ctype = headers.get_header("Content-Type")
        ctype = ctype or headers.get_header("WARC-Identified-Payload-Type")
        if not _is_html(ctype, payload):
            return quarantine("non_html_payload")
        if b"\x00" in payload:
            return quarantine("binary_payload")
        charset = html_charset(ctype, payload)
        try:
            html = payload.decode("utf-8-sig" if charset == "utf-8" else charset)
        except UnicodeDecodeError:
            return quarantine("invalid_utf8" if charset == "utf-8" else "invalid_encoding")
        try:
            text = extract(html, url)
        except Exception as e:  # a parser crash on one page must not stop the file
            return quarantine("extraction_error", f"{type(e).__name__}: {e}\n{html}")
        empty = "no_main_text"
    if len(text.strip()) < opts.min_chars:
        return quarantine(empty, text or None)
    if len(text) > opts.max_chars:
        return quarantine("too_large", text)
    rows.kept(id_ or make_id(text, rows.path, offset), text, url, kind, offset, meta)
