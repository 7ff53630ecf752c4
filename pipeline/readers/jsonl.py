"""JSONL (.jsonl, .jsonl.gz, .json.gz, .jsonl.zst): one JSON object a line
(``text``, optional ``id``, ``url``, ``source``; other fields → ``meta``);
blank lines are not records but count in ``offset``."""
from __future__ import annotations

import json
from typing import Iterator

from pipeline.readers.base import CHUNK, ReadOptions, Rows, StreamBroken, broken, dict_record
from pipeline.readers.streams import open_stream


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




def read_jsonl(path: str, codec: str | None, opts: ReadOptions, rows: Rows):
    stream = open_stream(path, codec)
    offset = 0
    try:
        for line, too_long in _lines(stream, opts.max_line_bytes):
            if too_long:
                rows.quarantine("too_large", offset, line.decode("utf-8", "replace"), "jsonl")
            elif line.strip():
                _jsonl_record(line, offset, opts, rows)
            offset += 1
            yield
    except StreamBroken as e:
        broken(rows, e, offset, "jsonl")
        yield


def _jsonl_record(line: bytes, offset: int, opts: ReadOptions, rows: Rows) -> None:
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
    dict_record(obj, offset, opts, rows, "jsonl", raw, "invalid_utf8" if bad_utf8 else None)
