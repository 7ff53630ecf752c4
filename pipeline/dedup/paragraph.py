"""Paragraph dedup: a paragraph seen earlier in the corpus is removed.

A paragraph is a line of the document (extracted web text puts one block
per line). Its key is the xxh3-64 hash of the normalized line
(``pipeline.document.normalize_for_hash``: NFKC, lower case, spacing
folded). Lines shorter than ``min_paragraph_chars`` after normalization are
never removed (headings, list bullets and "Share" lines are the business of
the line-level heuristics, not of dedup). Across the corpus, the occurrence
that stays is the one of the document of highest quality, then smallest id
(jobs/dedup.py; documents that MinHash / exact dedup remove take no part),
then the smallest line number; every other occurrence, in the same document or
another, is removed. A document that loses lines and keeps fewer than
``min_tokens`` tokens is rejected (on Spark, only after MinHash and exact
dedup, which judge the uncut text, did not claim it as a duplicate).
"""
from __future__ import annotations

from typing import Iterable

import numpy as np
import xxhash

from pipeline.config import Configured
from pipeline.dedup.tokens import tokens
from pipeline.document import normalize_for_hash

REASON_TOO_SHORT = "too_short_after_paragraph_dedup"


class ParagraphDedup(Configured):
    """Args ([dedup.paragraph] of config/default.toml):
        min_paragraph_chars: shorter normalized lines are never removed.
        min_tokens: a document edited below this many tokens is rejected
            (50 words: Gopher's minimum document length; 50 CJK characters).
    """

    name = "paragraph_dedup"
    config_section = "dedup.paragraph"

    def __init__(self, *, min_paragraph_chars: int, min_tokens: int):
        self.min_paragraph_chars = min_paragraph_chars
        self.min_tokens = min_tokens

    def paragraph_hashes(self, text: str | None) -> tuple[list[int], list[int]]:
        """(line numbers, int64 hashes) of the lines eligible for dedup."""
        lines, hashes = [], []
        for i, line in enumerate((text or "").split("\n")):
            norm = normalize_for_hash(line)
            if len(norm) >= self.min_paragraph_chars:
                lines.append(i)
                hashes.append(xxhash.xxh3_64_intdigest(norm.encode("utf-8")))
        return lines, np.array(hashes, dtype=np.uint64).view(np.int64).tolist()

    def remove(self, text: str, drop_lines: Iterable[int]) -> tuple[str, str | None]:
        """Text without ``drop_lines``, and a rejection reason or None."""
        drop = set(drop_lines)
        if not drop:
            return text, None
        out = "\n".join(line for i, line in enumerate(text.split("\n")) if i not in drop)
        if len(tokens(out)) < self.min_tokens:
            return out, REASON_TOO_SHORT
        return out, None
