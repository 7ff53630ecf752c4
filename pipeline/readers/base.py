"""What every reader shares: the row schema, the errors, the row buffer, the
``[read]`` options, and the rows for broken streams and unreadable files."""
from __future__ import annotations

import base64
import json
import math
import os
from decimal import Decimal
from typing import Any

import pyarrow as pa
import xxhash

from pipeline.decisions import BAD_ID, KEPT, QUARANTINED, READ_STAGE, RECORD_ERROR, STILL_KEPT, UNREADABLE_FILE
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
# A batch is cut at this many characters of text too (not only at
# ``batch_size`` rows): Arrow string columns have 32-bit offsets (2 GiB a
# batch), and 1,000 records of max_chars (1M) CJK characters are 3 GB.
BATCH_CHARS = 32 << 20
# Ids of a float type are exact integers only up to 2**53 (IEEE 754 double).
_EXACT_FLOAT = 2 ** 53


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




def file_sizes(files: list[str]) -> list[int]:
    """Byte size of each input file (local path or URI), in order."""
    from pipeline.readers.streams import filesystem

    out = []
    for f in files:
        if "://" not in f:
            out.append(os.path.getsize(f))
        else:
            fs_, p = filesystem(f)
            out.append(max(0, fs_.get_file_info(p).size or 0))
    return out


def pack_files(files: list[str], sizes: list[int], task_bytes: int, file_cost_bytes: int,
               parallelism: int) -> list[list[str]]:
    """Input files → read tasks, the way Spark packs file splits
    (``FilePartition.maxSplitBytes``): the target is ``min(task_bytes,
    max(file_cost_bytes, total / parallelism))`` where every file weighs its
    size plus ``file_cost_bytes``; files are taken in input order, a task is
    closed when the next file would take it past the target, and a file is
    never split. Deterministic: the same files, sizes and parallelism give
    the same tasks."""
    if not files:
        return []
    weights = [size + file_cost_bytes for size in sizes]
    target = min(task_bytes, max(file_cost_bytes, sum(weights) // max(1, parallelism)))
    tasks: list[list[str]] = [[]]
    held = 0
    for f, w in zip(files, weights):
        if tasks[-1] and held + w > target:
            tasks.append([])
            held = 0
        tasks[-1].append(f)
        held += w
    return tasks


# -------------------------------------------------------------------- rows --
class Rows:
    """Collects rows and cuts them into READ_SCHEMA batches. ``position``:
    the offset of the first record not yet accounted for (readers advance
    it), where a reader that breaks unexpectedly says the rest of the file
    was lost (``read_file``)."""

    def __init__(self, path: str, batch_size: int):
        self.path = path
        self.batch_size = batch_size
        self.position = 0
        self._chars = 0
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
        # Everything that can fail (meta → JSON) before the first append: a
        # row is added whole or not at all, the columns never go out of step.
        values = (id_, text, url, source, self.path, offset, meta_json(meta), decision, stage, reason)
        for name, v in zip(READ_SCHEMA.names, values):
            self.cols[name].append(v)
        self._chars += len(text or "")

    def full(self) -> bool:
        return len(self) >= self.batch_size or self._chars >= BATCH_CHARS

    def flush(self) -> pa.RecordBatch:
        batch = pa.RecordBatch.from_pydict(self.cols, schema=READ_SCHEMA)
        self.cols = {f.name: [] for f in READ_SCHEMA}
        self._chars = 0
        return batch



def meta_json(meta: dict | None) -> str | None:
    """The record's other fields as a JSON object (RFC 8259, sorted keys),
    or None. Strict JSON, readable by any JSON parser: NaN and ±Infinity
    (Python's ``json`` accepts and writes them, JSON has no such literals)
    become null; bytes (Parquet binary columns) become their UTF-8 text, or
    ``"base64:<...>"`` when they are not UTF-8; other non-JSON values
    (timestamps, decimals) their ``str``. Lone surrogates are escaped."""
    if not meta:
        return None
    try:
        s = json.dumps(meta, sort_keys=True, ensure_ascii=False, allow_nan=False, default=_json_default)
    except ValueError:  # NaN / Infinity somewhere
        s = json.dumps(_finite(meta), sort_keys=True, ensure_ascii=False, allow_nan=False, default=_json_default)
    try:
        s.encode("utf-8")
    except UnicodeEncodeError:  # lone surrogates from "\ud800"-style escapes
        s = json.dumps(json.loads(s), sort_keys=True, ensure_ascii=True)
    return s


def _json_default(v: Any):
    if isinstance(v, (bytes, bytearray, memoryview)):
        b = bytes(v)
        try:
            return b.decode("utf-8")
        except UnicodeDecodeError:
            return "base64:" + base64.b64encode(b).decode("ascii")
    if isinstance(v, float):  # a float subclass json cannot see as float
        return float(v) if math.isfinite(v) else None
    return str(v)


def _finite(v: Any):
    """``v`` with every NaN / ±Infinity replaced by None."""
    if isinstance(v, float):
        return v if math.isfinite(v) else None
    if isinstance(v, dict):
        return {k: _finite(x) for k, x in v.items()}
    if isinstance(v, (list, tuple)):
        return [_finite(x) for x in v]
    return v


def valid_utf8(text: str) -> bool:
    """False if ``text`` holds lone surrogates (JSON ``"\\ud800"`` escapes)."""
    try:
        text.encode("utf-8")
        return True
    except UnicodeEncodeError:
        return False


def str_or_none(v: Any) -> str | None:
    """A string field (url, source, WARC headers): itself, None when empty."""
    if v is None or v == "":
        return None
    return v if isinstance(v, str) else str(v)


class BadId(ValueError):
    """An id that is not a string or an integer (pipeline/decisions.py)."""


def canonical_id(v: Any) -> str | None:
    """The input's id as the ``id`` column holds it (the rule is in
    pipeline/decisions.py): a string as is (None when empty); an integer as
    its decimal string (so ``7`` and ``"7"`` are the same id); a float or
    decimal that is an exact integer (``7.0``, JSON does not tell 7.0 from 7;
    pandas turns integer columns with nulls into floats) likewise. Raises
    ``BadId`` for anything else: booleans, other floats, NaN, lists,
    objects, bytes that are not UTF-8, strings with lone surrogates."""
    if v is None:
        return None
    if isinstance(v, bool):
        raise BadId(f"boolean id {v!r}")
    if isinstance(v, str):
        if not valid_utf8(v):
            raise BadId("id with a lone surrogate")
        return v or None
    if isinstance(v, int):
        return str(v)
    if isinstance(v, (float, Decimal)):
        if not (math.isfinite(v) and v == int(v) and abs(v) <= _EXACT_FLOAT):
            raise BadId(f"id {v!r} is not an exact integer")
        return str(int(v))
    if isinstance(v, (bytes, bytearray)):
        try:
            return canonical_id(bytes(v).decode("utf-8"))
        except UnicodeDecodeError:
            raise BadId("binary id that is not UTF-8") from None
    raise BadId(f"id of type {type(v).__name__}")



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
                       quarantine row (``read_or_quarantine``), and any
                       unforeseen reader error instead of ``reader_error``
    task_bytes, file_cost_bytes
                       how jobs/steps.py packs input files into read tasks
                       (not used by the readers themselves)
    """

    KEYS = ("max_chars", "min_chars", "html_extractor", "max_payload_bytes", "text_key", "id_key", "strict",
            "task_bytes", "file_cost_bytes")

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
        self.task_bytes = int(c["task_bytes"])
        self.file_cost_bytes = int(c["file_cost_bytes"])
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
    """One JSONL object or Parquet row → a kept or quarantined row.

    ``url`` and ``source`` are used when they are strings; any other value
    stays in ``meta`` under its name (never a Python repr in a column). The
    id follows ``canonical_id``; an id it refuses is ``bad_id`` (the record
    gets a content id, its raw id is in the preview). A text of Parquet
    binary type is UTF-8 decoded (``invalid_utf8`` when it is not)."""
    text = obj.pop(opts.text_key, None)
    raw_id = obj.pop(opts.id_key, None)
    url = _take_str(obj, "url")
    source = _take_str(obj, "source") or fmt
    meta: dict[str, Any] = {}
    for k in ("meta", "metadata"):
        if isinstance(obj.get(k), dict):
            meta.update(obj.pop(k))
    meta.update(obj)
    reason = forced_reason
    try:
        id_ = canonical_id(raw_id)
    except BadId:
        id_ = None
        reason = reason or BAD_ID
    if isinstance(text, (bytes, bytearray)):
        try:
            text = bytes(text).decode("utf-8")
        except UnicodeDecodeError:
            text = bytes(text).decode("utf-8", "replace")
            reason = reason or "invalid_utf8"
    if reason is None:
        if text is not None and not isinstance(text, str):
            reason = "text_not_string"
        elif text is None or len(text.strip()) < opts.min_chars:
            reason = "empty_text"
        elif len(text) > opts.max_chars:
            reason = "too_large"
        elif not valid_utf8(text):
            reason = "invalid_utf8"
        elif "\x00" in text:  # as WARC / WET payloads: NUL is binary, not text
            reason = "binary_payload"
    if reason is None:
        rows.kept(id_ or make_id(text, rows.path, offset), text, url, source, offset, meta)
        return
    # Shown: the text if there is one, else the JSON line (a Parquet row's
    # other fields are in meta); a refused id is shown before it.
    preview = text if isinstance(text, str) and text.strip() else (raw or "")
    if reason == BAD_ID:
        preview = f"{BAD_ID}: {_short_repr(raw_id)}\n{preview}"
    if not valid_utf8(preview):
        preview = preview.encode("utf-8", "replace").decode("utf-8")
    rows.quarantine(reason, offset, preview, source, id_=id_, url=url, meta=meta)


def _take_str(obj: dict, key: str) -> str | None:
    """``obj[key]`` when it is a string (None when empty or absent); any
    other value is left in ``obj`` (it goes to meta)."""
    v = obj.get(key)
    if v is None or isinstance(v, str):
        obj.pop(key, None)
        return v or None
    return None


def _short_repr(v: Any) -> str:
    try:
        s = json.dumps(v, ensure_ascii=True, default=str)
    except (ValueError, RecursionError):
        s = type(v).__name__
    return s if len(s) <= 200 else s[:200] + "..."


def record_failed(rows: Rows, err: BaseException, offset: int, source: str, raw: str | None) -> None:
    """The quarantine row of a record whose reading raised ``err`` (a case no
    reader rule foresaw): ``record_error``, the exception shown first, then
    the record. The file goes on with the next record. Rows are added whole
    (``Rows._add``), so a failed record leaves no partial row behind."""
    note = f"{type(err).__name__}: {str(err)[:500]}"
    rows.quarantine(RECORD_ERROR, offset, note + ("\n" + raw if raw else ""), source)
