"""What every reader shares: the row schema, the errors, the row buffer, the
``[read]`` options, and the rows for broken streams and unreadable files."""
from __future__ import annotations

import json
import os
from typing import Any

import pyarrow as pa
import xxhash

from pipeline.decisions import KEPT, QUARANTINED, READ_STAGE, STILL_KEPT, UNREADABLE_FILE
from pipeline.document import make_id

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


class StreamBroken(Exception):
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




# -------------------------------------------------------------------- rows --
class Rows:
    """Collects rows and cuts them into READ_SCHEMA batches."""

    def __init__(self, path: str, batch_size: int):
        self.path = path
        self.batch_size = batch_size
        self.cols: dict[str, list] = {f.name: [] for f in READ_SCHEMA}

    def __len__(self) -> int:
        return len(self.cols["id"])

    def kept(self, id_: str, text: str, url, source: str, offset: int, meta: dict | None) -> None:
        self._add(id_, text, url, source, offset, meta, KEPT, STILL_KEPT, None)

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
        c["meta"].append(meta_json(meta))
        c["decision"].append(decision)
        c["stage"].append(stage)
        c["reason"].append(reason)

    def full(self) -> bool:
        return len(self) >= self.batch_size

    def flush(self) -> pa.RecordBatch:
        batch = pa.RecordBatch.from_pydict(self.cols, schema=READ_SCHEMA)
        self.cols = {f.name: [] for f in READ_SCHEMA}
        return batch



def meta_json(meta: dict | None) -> str | None:
    if not meta:
        return None
    s = json.dumps(meta, sort_keys=True, ensure_ascii=False, default=str)
    try:
        s.encode("utf-8")
    except UnicodeEncodeError:  # lone surrogates from "\ud800"-style escapes
        s = json.dumps(meta, sort_keys=True, ensure_ascii=True, default=str)
    return s


def valid_utf8(text: str) -> bool:
    """False if ``text`` holds lone surrogates (JSON ``"\\ud800"`` escapes)."""
    try:
        text.encode("utf-8")
        return True
    except UnicodeEncodeError:
        return False


def str_or_none(v: Any) -> str | None:
    if v is None or v == "":
        return None
    return v if isinstance(v, str) else str(v)



class ReadOptions:
    """The ``[read]`` section (``cfg.section("read")``), checked once per
    file. Every key is required: the defaults live in config/default.toml.

    max_chars          longer texts are quarantined as ``too_large``
    min_chars          texts shorter than this (after stripping) are
                       ``empty_text`` (``no_main_text`` for HTML)
    html_extractor     "trafilatura" | "resiliparse" (pipeline/extract.py)
    max_payload_bytes  WARC payloads above this are ``too_large`` before
                       extraction (and are not read into memory whole)
    text_key, id_key   field names of the text and id in JSONL / Parquet
    strict             raise ``UnreadableFile`` instead of yielding its
                       quarantine row (``read_or_quarantine``)
    """

    KEYS = ("max_chars", "min_chars", "html_extractor", "max_payload_bytes", "text_key", "id_key", "strict")

    def __init__(self, cfg: dict):
        unknown, missing = set(cfg) - set(self.KEYS), set(self.KEYS) - set(cfg)
        if unknown or missing:
            raise ValueError(f"unknown [read] keys {sorted(unknown)}, missing [read] keys {sorted(missing)}; "
                             f"known: {list(self.KEYS)} (config/default.toml holds every default)")
        c = cfg
        self.max_chars = int(c["max_chars"])
        self.min_chars = int(c["min_chars"])
        self.html_extractor = str(c["html_extractor"])
        self.max_payload_bytes = int(c["max_payload_bytes"])
        self.text_key = str(c["text_key"])
        self.id_key = str(c["id_key"])
        self.strict = bool(c["strict"])
        # JSON-escaped text takes at most 6 bytes a character ("\uXXXX"):
        # a longer line cannot hold a text under max_chars, so it is not parsed.
        self.max_line_bytes = 6 * self.max_chars + (64 << 10)


def broken(rows: Rows, err: StreamBroken, offset: int, source: str) -> None:
    """The ONE quarantined row of a stream that breaks at record ``offset``."""
    note = (f"{err.detail}: the file ends at record {offset}; everything from "
            f"record {offset} on is lost ({rows.path})")
    rows.quarantine(err.reason, offset, note, source)


def unreadable_batch(path: str, err: UnreadableFile) -> pa.RecordBatch:
    """The quarantined row standing for a file that cannot be read at all:
    id = xxh3-128 of the path, offset -1, reason ``unreadable_file: <why>``."""
    row: dict[str, list] = {f.name: [None] for f in READ_SCHEMA}
    row.update(id=[xxhash.xxh3_128_hexdigest(path.encode())], source_file=[path], offset=[-1],
               decision=[QUARANTINED], stage=[READ_STAGE], reason=[f"{UNREADABLE_FILE}: {err}"])
    return pa.RecordBatch.from_pydict(row, schema=READ_SCHEMA)


def dict_record(obj: dict, offset: int, opts: ReadOptions, rows: Rows, fmt: str,
                raw: str | None, forced_reason: str | None = None) -> None:
    """One JSONL object or Parquet row → a kept or quarantined row."""
    text = obj.pop(opts.text_key, None)
    id_ = str_or_none(obj.pop(opts.id_key, None))
    url = str_or_none(obj.pop("url", None))
    source = str_or_none(obj.pop("source", None)) or fmt
    meta: dict[str, Any] = {}
    for k in ("meta", "metadata"):
        if isinstance(obj.get(k), dict):
            meta.update(obj.pop(k))
    meta.update(obj)
    if id_ is not None and not valid_utf8(id_):
        id_ = None
    reason = forced_reason
    if reason is None:
        if text is not None and not isinstance(text, str):
            reason = "text_not_string"
        elif text is None or len(text.strip()) < opts.min_chars:
            reason = "empty_text"
        elif len(text) > opts.max_chars:
            reason = "too_large"
        elif not valid_utf8(text):
            reason = "invalid_utf8"
    if reason is None:
        rows.kept(id_ or make_id(text, rows.path, offset), text, url, source, offset, meta)
        return
    # Shown: the text if there is one, else the JSON line (a Parquet row's
    # other fields are in meta).
    preview = text if isinstance(text, str) and text.strip() else (raw or "")
    if not valid_utf8(preview):
        preview = preview.encode("utf-8", "replace").decode("utf-8")
    rows.quarantine(reason, offset, preview, source, id_=id_, url=url, meta=meta)

