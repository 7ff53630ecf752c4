"""Tokens shared by every dedup stage, and their 64-bit hashes.

A token is a run of word characters for space-delimited scripts, and a
single character for CJK scripts (Chinese has no spaces, so its words are
not known without a segmenter; single characters are what cc_net / CCNet-zh
and text-dedup's CJK mode use). Punctuation and whitespace are not tokens.
Text is NFKC-normalized and lower-cased first, so tokens are the same for
two documents that differ only in case, width or spacing.

Token hashes come from ``pandas.util.hash_array`` (SipHash with a fixed key,
in C, over a whole batch at once): deterministic across processes and
machines, unlike Python's ``hash``.
"""
from __future__ import annotations

import re
import unicodedata
from typing import Sequence

import numpy as np
import pandas as pd

# CJK ideographs, kana, hangul: one token per character.
_CJK = (
    "\u3040-\u30ff\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff\uac00-\ud7af"
    "\U00020000-\U0002ebef\U00030000-\U0003134f"
)
TOKEN_RE = re.compile(rf"[{_CJK}]|[^\W{_CJK}]+")


def normalize(text: str) -> str:
    """NFKC + lower case (length-preserving enough for hashing, not for offsets)."""
    return unicodedata.normalize("NFKC", text).lower()


def tokens(text: str) -> list[str]:
    """Tokens of ``text`` after normalization (see module docstring)."""
    return TOKEN_RE.findall(normalize(text))


def token_spans(text: str) -> list[tuple[int, int]]:
    """Character spans of the tokens of the *original* ``text`` (lower-cased
    as written, so offsets index it); used to cut removed spans."""
    return [m.span() for m in TOKEN_RE.finditer(text)]


def hash_tokens(toks: Sequence[str]) -> np.ndarray:
    """uint64 hash of each token (vectorized, deterministic)."""
    if len(toks) == 0:
        return np.zeros(0, dtype=np.uint64)
    return pd.util.hash_array(np.asarray(toks, dtype=object), categorize=True)


def batch_token_hashes(texts: Sequence[str | None]) -> tuple[np.ndarray, np.ndarray]:
    """Token hashes of a whole batch, concatenated, and the offsets
    (``len(texts) + 1``) where each document's tokens start."""
    lens = np.zeros(len(texts) + 1, dtype=np.int64)
    all_toks: list[str] = []
    for i, t in enumerate(texts):
        toks = tokens(t) if t else []
        all_toks.extend(toks)
        lens[i + 1] = len(toks)
    return hash_tokens(all_toks), np.cumsum(lens)


def mix64(x: np.ndarray) -> np.ndarray:
    """Finalizer of splitmix64: spreads the bits of uint64 values (wrapping)."""
    x = x.astype(np.uint64, copy=True)
    x ^= x >> np.uint64(30)
    x *= np.uint64(0xBF58476D1CE4E5B9)
    x ^= x >> np.uint64(27)
    x *= np.uint64(0x94D049BB133111EB)
    x ^= x >> np.uint64(31)
    return x
