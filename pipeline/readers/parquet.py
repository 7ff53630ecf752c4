"""Parquet (.parquet): a ``text`` column (optional ``id``, ``url``,
``source``; other columns → ``meta``), read row group by row group, batch by
batch.

The text column may be any string type (``string``, ``large_string``,
``string_view``), dictionary-encoded strings (pandas ``category``, Spark's
and pyarrow's dictionary pages read back as dictionaries), or binary
(decoded as UTF-8 per record, ``invalid_utf8`` when it is not).

A row group that cannot be read (corrupt pages, bad compression) loses only
its own records: the footer says how many rows it has, and each of them is
one ``corrupt_parquet`` row at its own offset (one ledger row per record,
as for every other record), with its input id when the group's id column
still reads, else a content id of the note. Other row groups are read.
"""
from __future__ import annotations

import pyarrow as pa

from pipeline.readers.base import (BadId, ReadOptions, Rows, UnreadableFile, canonical_id, dict_record,
                                   record_failed)
from pipeline.readers.streams import open_raw


def _text_type_ok(t: pa.DataType) -> bool:
    if pa.types.is_dictionary(t):
        t = t.value_type
    return (pa.types.is_string(t) or pa.types.is_large_string(t) or pa.types.is_string_view(t)
            or pa.types.is_binary(t) or pa.types.is_large_binary(t) or pa.types.is_binary_view(t))


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
    if not _text_type_ok(ttype):
        raise UnreadableFile(path, f"column {opts.text_key!r} has type {ttype}, not string")
    offset = 0
    for g in range(pf.num_row_groups):
        end = offset + pf.metadata.row_group(g).num_rows
        try:
            for batch in pf.iter_batches(batch_size=rows.batch_size, row_groups=[g]):
                for row in batch.to_pylist():
                    try:
                        dict_record(row, offset, opts, rows, "parquet", None)
                    except Exception as e:  # noqa: BLE001 - one record must not stop the file
                        record_failed(rows, e, offset, "parquet", None)
                    offset += 1
                    rows.position = offset
                    yield
        except (OSError, pa.ArrowException) as e:
            ids = _group_ids(pf, g, opts.id_key) if opts.id_key in schema.names else None
            first = end - pf.metadata.row_group(g).num_rows
            note = f"Parquet row group {g} unreadable ({str(e)[:300]})"
            for k in range(offset, end):
                rows.quarantine("corrupt_parquet", k, f"{note}: record {k} of {path} lost", "parquet",
                                id_=ids[k - first] if ids else None)
                rows.position = k + 1
                yield
        offset = max(offset, end)


def _group_ids(pf, g: int, id_key: str) -> list[str | None] | None:
    """The canonical ids of row group ``g`` when its id column still reads."""
    try:
        values = pf.read_row_group(g, columns=[id_key]).column(0).to_pylist()
    except (OSError, pa.ArrowException):
        return None
    out = []
    for v in values:
        try:
            out.append(canonical_id(v))
        except BadId:
            out.append(None)
    return out
