"""Parquet (.parquet): a ``text`` column (optional ``id``, ``url``,
``source``; other columns → ``meta``), read batch by batch."""
from __future__ import annotations

import pyarrow as pa

from pipeline.readers.base import ReadOptions, Rows, StreamBroken, UnreadableFile, broken, dict_record
from pipeline.readers.streams import open_raw


def read_parquet(path: str, opts: ReadOptions, rows: Rows):
    import pyarrow.parquet as pq

    try:
        pf = pq.ParquetFile(open_raw(path, random_access=True))
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
                dict_record(row, offset, opts, rows, "parquet", None)
                offset += 1
                yield
    except (OSError, pa.ArrowException) as e:
        broken(rows, StreamBroken("corrupt_parquet", f"Parquet data unreadable ({e})"), offset, "parquet")
        yield

