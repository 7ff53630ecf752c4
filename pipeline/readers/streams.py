"""Byte streams of local paths or URIs (``pyarrow.fs``), gzip and zstd
decompressed as read, never loaded whole. A stream that breaks after some
data raises ``StreamBroken`` (the records before it are fine); one that
breaks before any data raises ``UnreadableFile``."""
from __future__ import annotations

import gzip
import os
import zlib

import pyarrow as pa

from pipeline.readers.base import CHUNK, StreamBroken, UnreadableFile


def filesystem(path: str):
    """(pyarrow FileSystem, path inside it) for a local path or a URI. A local
    path stays a path (never turned into a ``file://`` URI, where ``#``, ``?``
    or a space would be parsed as URI syntax); Hadoop's ``s3a://`` and
    ``s3n://`` are pyarrow's ``s3://`` (``hdfs://`` needs libhdfs)."""
    from pyarrow import fs as pafs

    if "://" not in path:
        return pafs.LocalFileSystem(), os.path.abspath(path)
    scheme, rest = path.split("://", 1)
    return pafs.FileSystem.from_uri(("s3" if scheme in ("s3a", "s3n") else scheme) + "://" + rest)


def open_raw(path: str, random_access: bool = False):
    """Open a local path or a URI with pyarrow.fs, without any decompression."""
    try:
        filesystem_, p = filesystem(path)
        if random_access:
            return filesystem_.open_input_file(p)
        return filesystem_.open_input_stream(p, compression=None)
    except (OSError, pa.ArrowException) as e:
        raise UnreadableFile(path, f"cannot open: {e}") from e


class _Peeked:
    """A raw stream whose first bytes were read to check a magic number."""

    def __init__(self, raw, n: int):
        self._raw = raw
        self.head = raw.read(n)
        self._pending = self.head

    def read(self, n: int = -1) -> bytes:
        if self._pending:
            if n < 0 or n >= len(self._pending):
                data, self._pending = self._pending, b""
                rest = self._raw.read() if n < 0 else self._raw.read(n - len(data)) if n > len(data) else b""
                return data + rest
            data, self._pending = self._pending[:n], self._pending[n:]
            return data
        return self._raw.read() if n < 0 else self._raw.read(n)


GZIP_MAGIC = b"\x1f\x8b"
ZSTD_MAGIC = b"\x28\xb5\x2f\xfd"


class _GzipStream:
    """Multi-member gzip, decompressed as read; a broken stream raises
    ``UnreadableFile`` if nothing was decoded yet and the file does not even
    start like gzip, else ``StreamBroken`` (a gzip file whose first member is
    corrupt loses its records from record 0 on, and says so)."""

    def __init__(self, raw, path: str):
        raw = _Peeked(raw, len(GZIP_MAGIC))
        self._magic_ok = raw.head == GZIP_MAGIC
        self._gz = gzip.GzipFile(fileobj=raw, mode="rb")
        self._path = path
        self._decoded = 0

    def read(self, n: int = -1) -> bytes:
        try:
            data = self._gz.read1(n)
        except EOFError as e:
            raise StreamBroken("truncated_gzip", f"gzip stream ends early ({e})") from e
        except (gzip.BadGzipFile, zlib.error, OSError) as e:
            if self._decoded == 0 and not self._magic_ok:
                raise UnreadableFile(self._path, f"not a gzip file: {e}") from e
            raise StreamBroken("corrupt_gzip", f"gzip data corrupt ({e})") from e
        self._decoded += len(data)
        return data


class _ZstdStream:
    """Zstandard (any number of frames), decompressed as read. The zstandard
    stream reader does not notice a cut-off last frame, so frames are fed by
    hand and a frame still open at the end of the file is reported."""

    def __init__(self, raw, path: str):
        import zstandard

        self._zstd = zstandard
        self._raw = _Peeked(raw, len(ZSTD_MAGIC))
        self._magic_ok = self._raw.head == ZSTD_MAGIC
        self._path = path
        self._dobj = zstandard.ZstdDecompressor().decompressobj()
        self._in_frame = False
        self._buf = b""
        self._decoded = 0

    def _fill(self) -> bool:
        chunk = self._raw.read(CHUNK)
        if not chunk:
            if self._in_frame:
                raise StreamBroken("truncated_zstd", "zstd stream ends inside a frame")
            return False
        out = []
        while chunk:
            try:
                out.append(self._dobj.decompress(chunk))
            except self._zstd.ZstdError as e:
                if self._decoded == 0 and not out and not self._magic_ok:
                    raise UnreadableFile(self._path, f"not a zstd file: {e}") from e
                raise StreamBroken("corrupt_zstd", f"zstd data corrupt ({e})") from e
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


def open_stream(path: str, codec: str | None):
    raw = open_raw(path)
    if codec == "gzip":
        return _GzipStream(raw, path)
    if codec == "zstd":
        return _ZstdStream(raw, path)
    return raw

