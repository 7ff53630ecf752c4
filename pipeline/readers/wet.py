"""WET (.wet, .wet.gz, .warc.wet.gz): ``conversion`` records, already
plain text (UTF-8); the record loop is WARC's (pipeline/readers/warc.py)."""
from __future__ import annotations

from pipeline.readers.base import ReadOptions, Rows
from pipeline.readers.warc import RecordQuarantined, read_archive


def wet_text(rec, payload: bytes, url) -> str:
    if b"\x00" in payload:
        raise RecordQuarantined("binary_payload")
    try:
        return payload.decode("utf-8")
    except UnicodeDecodeError:
        raise RecordQuarantined("invalid_utf8") from None


def read_wet(path: str, codec: str | None, opts: ReadOptions, rows: Rows):
    return read_archive(path, codec, "wet", ("conversion",), opts, rows, wet_text, "empty_text")
