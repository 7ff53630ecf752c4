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
reason (``invalid_utf8``, ``invalid_encoding`` (a declared charset, or a
UTF-16/32 JSONL line, that does not decode), ``malformed_json``,
``json_too_deep``, ``number_too_long``, ``bad_id`` (an id that is not a
string or an integer: pipeline/decisions.py), ``empty_text``,
``text_not_string``, ``too_large``, ``non_html_payload``, ``binary_payload``
(NUL bytes / characters), ``no_main_text``, ``extraction_error``,
``http_status:<code>`` (non-2xx WARC responses, e.g. redirects),
``bad_content_length`` (a WARC record whose Content-Length does not match its
block), ``record_error`` (any other exception one record raises; the file
goes on with the next record)). A stream that breaks (``truncated_gzip``,
``corrupt_gzip``, ``truncated_zstd``, ``corrupt_zstd``, ``corrupt_warc``, or
``reader_error``: a reader broke in a way no rule foresaw) yields the records
read before the break, then ONE quarantined record at the offset of the
first record lost, whose text says that the rest of the file is lost (how
many records that is cannot be known). Parquet knows its row counts: an
unreadable row group is one ``corrupt_parquet`` row per record it held, and
the other row groups are read. A file that cannot be read at all (not the
format its name says, a Parquet file without a text column) raises
``UnreadableFile`` before anything is yielded; ``read_or_quarantine`` turns
it into ONE quarantined row naming the file (``unreadable_file: <why>``),
or re-raises it with ``[read] strict`` (which also re-raises what would be a
``reader_error``).

One module per format: ``jsonl.py``, ``parquet.py``, ``warc.py``,
``wet.py``; ``base.py`` holds the schema, the row buffer and the ``[read]``
options (defaults: config/default.toml only), ``streams.py`` the
decompressing byte streams. Decision and reason words: pipeline/decisions.py.

The text of a quarantined record is a preview, cut to
``QUARANTINE_TEXT_CHARS`` (10,000) characters: enough to see what went
wrong, without storing a 50 MB blob in the ledger.
"""
from __future__ import annotations

from typing import Iterator

import pyarrow as pa

from pipeline.decisions import READER_ERROR
from pipeline.readers.base import (FORMATS, QUARANTINE_TEXT_CHARS, READ_SCHEMA, ReadOptions, Rows, StreamBroken,
                                   UnreadableFile, broken, detect_format, list_inputs, unreadable_batch)
from pipeline.readers.jsonl import read_jsonl
from pipeline.readers.parquet import read_parquet
from pipeline.readers.warc import html_charset, read_warc
from pipeline.readers.wet import read_wet

__all__ = ["FORMATS", "QUARANTINE_TEXT_CHARS", "READ_SCHEMA", "ReadOptions", "UnreadableFile", "detect_format",
           "html_charset", "list_inputs", "read_file", "read_or_quarantine"]


def read_file(path: str, cfg: dict, batch_size: int = 1000) -> Iterator[pa.RecordBatch]:
    """Stream one input file as READ_SCHEMA batches (see module docstring).

    ``cfg``: the whole ``[read]`` section (``cfg.section("read")``).
    Raises ``UnreadableFile`` (before yielding anything) for a file that is
    not what its name says or lacks a text column; ``ValueError`` for an
    unknown file ending or an unknown or missing config key.
    """
    fmt = detect_format(path)
    if fmt is None:
        raise ValueError(f"{path}: unknown input format; known endings: {[s for s, _, _ in FORMATS]}")
    opts = ReadOptions(cfg)
    kind, codec = fmt
    rows = Rows(path, batch_size)
    if kind == "parquet":
        gen = read_parquet(path, opts, rows)
    elif kind == "jsonl":
        gen = read_jsonl(path, codec, opts, rows)
    elif kind == "wet":
        gen = read_wet(path, codec, opts, rows)
    else:
        gen = read_warc(path, codec, opts, rows)
    # Every reader appends rows and yields None whenever the buffer is full.
    yielded = False
    try:
        for _ in gen:
            if rows.full():
                yielded = True
                yield rows.flush()
    except Exception as e:  # noqa: BLE001 - a reader bug or unforeseen input must not stop the job
        if isinstance(e, UnreadableFile) and not yielded and not len(rows):
            raise
        if opts.strict:
            raise
        broken(rows, StreamBroken(READER_ERROR, f"{type(e).__name__}: {str(e)[:500]}"), rows.position, kind)
    if len(rows):
        yield rows.flush()


def read_or_quarantine(path: str, cfg: dict, batch_size: int = 1000) -> Iterator[pa.RecordBatch]:
    """``read_file``, except that a file that cannot be read at all yields
    its one quarantined row (``unreadable_batch``) instead of raising,
    unless ``cfg["strict"]``."""
    try:
        yield from read_file(path, cfg, batch_size)
    except UnreadableFile as e:
        if ReadOptions(cfg).strict:
            raise
        yield unreadable_batch(path, e)
