"""The document every stage sees, and the stage interface.

Schema (the same for every stage and every output):
  id      the input's own id where it has one (users join on it), else a
          content hash (see ``make_id``): deterministic, never a counter.
  text    the document text (stages may edit it: correction, PII, dedup).
  url     source URL or null.
  source  short name of the data source (file-level), e.g. ``"cc-warc"``.
  lang    ISO 639-1 code set by language ID (``"en"``, ``"zh"``, ...).
plus score columns added by stages (float64; int64 for the counts a stage
names in ``integer_scores``) and ``edits`` (counts of corrections and
anonymizations, by kind).
"""
from __future__ import annotations

import unicodedata
from abc import ABC, abstractmethod
from dataclasses import dataclass, field
from typing import Any, ClassVar

import xxhash


def normalize_for_hash(text: str) -> str:
    """NFKC, lower case, whitespace runs folded: two texts that differ only in
    spacing or case hash the same (used by ids and exact dedup)."""
    return " ".join(unicodedata.normalize("NFKC", text).lower().split())


def content_hash(text: str) -> str:
    """128-bit xxh3 of the normalized text, hex (32 chars)."""
    return xxhash.xxh3_128_hexdigest(normalize_for_hash(text).encode("utf-8"))


def make_id(text: str, source_file: str, offset: int) -> str:
    """Id for a record that has none: a hash of its normalized text, salted
    with the record's place (file base name + offset) so that two exact
    copies keep distinct ids until exact dedup decides between them."""
    base = source_file.rsplit("/", 1)[-1]
    key = f"{base}\x00{offset}\x00{normalize_for_hash(text)}"
    return xxhash.xxh3_128_hexdigest(key.encode("utf-8"))


@dataclass(slots=True)
class Document:
    id: str
    text: str
    url: str | None = None
    source: str | None = None
    lang: str | None = None
    scores: dict[str, float] = field(default_factory=dict)
    edits: dict[str, int] = field(default_factory=dict)
    meta: dict[str, Any] = field(default_factory=dict)

    def add_edit(self, kind: str, n: int = 1) -> None:
        if n:
            self.edits[kind] = self.edits.get(kind, 0) + n


class Quarantine(Exception):
    """Raised by a stage for a document it cannot judge (bad input): the
    document goes to quarantine with ``reason`` instead of being rejected."""

    def __init__(self, reason: str):
        super().__init__(reason)
        self.reason = reason


class Stage(ABC):
    """One step of the cascade over single documents.

    ``__call__`` returns ``None`` to keep the document or a short rejection
    reason (snake_case, e.g. ``"too_short"``); it may edit ``doc.text`` and
    record ``doc.scores`` / ``doc.edits``. Raise ``Quarantine`` for input the
    stage cannot judge. ``score_columns`` names (and so fixes the schema of)
    every score the stage may write; a missing score is written as null.
    ``integer_scores``: those of them that are whole numbers (counts,
    character offsets), stored as int64 columns; the rest are float64.
    """

    name: ClassVar[str]
    score_columns: ClassVar[tuple[str, ...]] = ()
    integer_scores: ClassVar[tuple[str, ...]] = ()

    @abstractmethod
    def __call__(self, doc: Document) -> str | None: ...

    def __repr__(self) -> str:  # pragma: no cover - cosmetic
        return f"{type(self).__name__}()"
