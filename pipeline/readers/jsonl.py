"""JSONL (.jsonl, .jsonl.gz, .json.gz, .jsonl.zst): one JSON object a line
(``text``, optional ``id``, ``url``, ``source``; other fields → ``meta``);
blank lines are not records but count in ``offset``.

Encoding (RFC 8259 §8.1, and what editors and Windows tools write): the
first four bytes of the (decompressed) file decide, as ``json.detect_encoding``
does: a UTF-8 / UTF-16 / UTF-32 byte-order mark, or the NUL pattern of
BOM-less UTF-16 / UTF-32 (a JSON text starts with an ASCII character);
otherwise UTF-8. A UTF-8 BOM at the start of any line (files joined with
``cat``) is not part of the record. In a UTF-16/32 file, a line with a
sequence that does not decode is ``invalid_encoding`` (``invalid_utf8`` in
a UTF-8 file).

Per line, besides the shared rules of ``dict_record``: ``malformed_json``
(not JSON, or not an object), ``json_too_deep`` (nested deeper than
Python's parser recursion: the 100,000-level ``[[[...]]]`` bomb),
``number_too_long`` (an integer literal over Python's 4,300-digit
conversion limit), ``too_large`` (a line longer than any text under
``max_chars`` can be, never buffered whole), ``record_error`` (anything
else a line raises). No line can stop the file.
"""
from __future__ import annotations

import codecs
import json
from typing import Iterator

from pipeline.readers.base import (CHUNK, ReadOptions, Rows, StreamBroken, broken, dict_record, record_failed)
from pipeline.readers.streams import open_stream

_MARK = "yi-jsonl-invalid"


def _mark_invalid(err: UnicodeDecodeError):
    # A lone surrogate: re-encoded with "surrogatepass" it is not valid UTF-8,
    # so the line fails to decode and is quarantined, never silently changed.
    return "\udcff", err.end


codecs.register_error(_MARK, _mark_invalid)


def _chunks(stream) -> Iterator[bytes]:
    while True:
        chunk = stream.read(CHUNK)
        if not chunk:
            return
        yield chunk


def _utf8_chunks(stream) -> tuple[Iterator[bytes], str]:
    """(chunks of the file as UTF-8 bytes, encoding found)."""
    chunks = _chunks(stream)
    head = b""
    for chunk in chunks:
        head += chunk
        if len(head) >= 4:
            break
    encoding = json.detect_encoding(head) if head else "utf-8"

    def rest() -> Iterator[bytes]:
        if head:
            yield head
        yield from chunks

    if encoding in ("utf-8", "utf-8-sig"):  # the BOM is stripped per line
        return rest(), "utf-8"

    def recoded() -> Iterator[bytes]:
        dec = codecs.getincrementaldecoder(encoding)(errors=_MARK)
        for chunk in rest():
            out = dec.decode(chunk)
            if out:
                yield out.encode("utf-8", "surrogatepass")
        out = dec.decode(b"", final=True)
        if out:
            yield out.encode("utf-8", "surrogatepass")

    return recoded(), encoding


def _lines(chunks: Iterator[bytes], max_line_bytes: int) -> Iterator[tuple[bytes, bool]]:
    """(line, too_long) per line, read in chunks. A line longer than
    ``max_line_bytes`` is returned cut to that many bytes with too_long=True
    (the rest is skipped, never buffered). A last line without newline
    is a line; a line cut by a broken stream is not (the error propagates)."""
    buf = b""
    skipping = False
    for chunk in chunks:
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
        chunks, encoding = _utf8_chunks(stream)
        bad_bytes = "invalid_utf8" if encoding == "utf-8" else "invalid_encoding"
        for line, too_long in _lines(chunks, opts.max_line_bytes):
            if too_long:
                rows.quarantine("too_large", offset, line.decode("utf-8", "replace"), "jsonl")
            elif line.strip():
                try:
                    _jsonl_record(line, offset, opts, rows, bad_bytes)
                except Exception as e:  # noqa: BLE001 - one record must not stop the file
                    record_failed(rows, e, offset, "jsonl", line[:4096].decode("utf-8", "replace"))
            offset += 1
            rows.position = offset
            yield
    except StreamBroken as e:
        broken(rows, e, offset, "jsonl")
        yield


def _jsonl_record(line: bytes, offset: int, opts: ReadOptions, rows: Rows, bad_bytes: str) -> None:
    if line.startswith(codecs.BOM_UTF8):
        line = line[len(codecs.BOM_UTF8):]
    try:
        raw = line.decode("utf-8")
        bad_utf8 = False
    except UnicodeDecodeError:
        raw = line.decode("utf-8", "replace")
        bad_utf8 = True
    reason = None
    try:
        obj = json.loads(raw)
    except json.JSONDecodeError:
        reason = bad_bytes if bad_utf8 else "malformed_json"
    except RecursionError:
        reason = "json_too_deep"
    except ValueError as e:  # int("9" * 5000): Python's integer conversion limit
        reason = "number_too_long" if "integer string conversion" in str(e) else "malformed_json"
    if reason is None and not isinstance(obj, dict):
        reason = "malformed_json"
    if reason is not None:
        rows.quarantine(reason, offset, raw, "jsonl")
        return
    try:
        dict_record(obj, offset, opts, rows, "jsonl", raw, bad_bytes if bad_utf8 else None)
    except RecursionError:  # meta nested deeper than json.dumps can write
        rows.quarantine("json_too_deep", offset, raw, "jsonl")
