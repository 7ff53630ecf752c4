"""Exact sub-document dedup: spans of >= ``window`` tokens shared by several
documents are removed from all but the first (RefinedWeb §G.3 uses 50
tokens; Yi follows it).

Instead of a suffix array (days to merge at scale), every window of
``window`` consecutive tokens is hashed with a polynomial rolling hash over
its token hashes (uint64, wrapping; one numpy pass per document, so a 1 MB
document costs O(length) memory, never its n-gram strings). On Spark, a
window hash held by more than one document marks the window duplicate in
every document but the one of highest quality, then smallest id
(jobs/dedup.py); the union of a document's
duplicate windows (each covering ``window`` tokens) is the set of tokens
removed. Any shared span of length L >= window is covered by its L - window
+ 1 windows, so it is removed whole.

Tokens are those of ``tokens.py``: words for space-delimited text, single
characters for CJK (50 Chinese characters ~ 30 words).
"""
from __future__ import annotations

from typing import Sequence

import numpy as np

from pipeline.config import Configured
from pipeline.dedup.tokens import TOKEN_RE, hash_tokens, normalize, token_spans

REASON_TOO_SHORT = "too_short_after_substring_dedup"
_BASE = np.uint64(0x100000001B3)  # FNV-64 prime: odd, hence invertible mod 2^64


class SubstringDedup(Configured):
    """Args ([dedup.substring] of config/default.toml):
        window: tokens per hashed window = minimum removed span (50: RefinedWeb).
        min_tokens: a document edited below this many tokens is rejected
            (50 words: Gopher's minimum document length; 50 CJK characters).
    """

    name = "substring_dedup"
    config_section = "dedup.substring"

    def __init__(self, *, window: int, min_tokens: int):
        if window < 2:
            raise ValueError("window must be >= 2")
        self.window = window
        self.min_tokens = min_tokens
        inv = pow(int(_BASE), -1, 2**64)
        self._inv = np.uint64(inv)

    def window_hashes(self, text: str | None) -> np.ndarray:
        """int64 hash of every window of ``window`` tokens (position = index)."""
        toks = [normalize(m.group()) for m in TOKEN_RE.finditer(text or "")]
        n, w = len(toks), self.window
        if n < w:
            return np.zeros(0, dtype=np.int64)
        th = hash_tokens(toks)
        with np.errstate(over="ignore"):
            pw = np.empty(n + 1, dtype=np.uint64)
            pw[0] = 1
            pw[1:] = _BASE
            pw = np.multiply.accumulate(pw)              # BASE^i
            inv = np.empty(n + 1, dtype=np.uint64)
            inv[0] = 1
            inv[1:] = self._inv
            inv = np.multiply.accumulate(inv)            # BASE^-i
            prefix = np.zeros(n + 1, dtype=np.uint64)
            prefix[1:] = np.add.accumulate(th * pw[:n])  # sum_{j<i} t_j BASE^j
            h = (prefix[w:] - prefix[: n - w + 1]) * inv[: n - w + 1]
        return h.view(np.int64)

    def remove(self, text: str, positions: Sequence[int]) -> tuple[str, str | None, list[tuple[int, int]]]:
        """Cut the tokens covered by the duplicate windows starting at
        ``positions``: (new text, rejection reason or None, removed char spans)."""
        if not len(positions):
            return text, None, []
        spans = token_spans(text)
        w = self.window
        cuts: list[tuple[int, int]] = []  # merged token intervals [s, e)
        for p in sorted(positions):
            if cuts and p <= cuts[-1][1]:
                cuts[-1] = (cuts[-1][0], max(cuts[-1][1], p + w))
            else:
                cuts.append((p, p + w))
        char_cuts = [(spans[s][0], spans[min(e, len(spans)) - 1][1]) for s, e in cuts]
        pieces, last = [], 0
        for s, e in char_cuts:
            pieces.append(text[last:s])
            last = e
        pieces.append(text[last:])
        out = "".join(pieces)
        kept = len(spans) - sum(min(e, len(spans)) - s for s, e in cuts)
        return out, (REASON_TOO_SHORT if kept < self.min_tokens else None), char_cuts
