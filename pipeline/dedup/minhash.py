"""MinHash signatures and LSH band keys, vectorized over a whole batch.

Shingles are token n-grams (``tokens.py``: word n-grams for space-delimited
text, character n-grams for CJK). A shingle's 64-bit hash combines its token
hashes with position-dependent odd multipliers (so order matters), then the
splitmix64 finalizer. Permutation ``i`` is the multiply-shift hash
``(a_i * x + b_i) >> 32`` over uint64 (wrapping), a 2-universal family whose
32-bit minimum is the signature value; every step is numpy over the whole
batch, in chunks of ``chunk`` shingles so that memory stays bounded whatever
the length of a document (a 1 MB Chinese page is ~1M shingles: it is hashed
chunk by chunk, never materialized as strings or as a 1M x num_perm matrix).

Documents with no token get no band key (they are never candidates);
documents shorter than ``ngram`` tokens get one shingle of all their tokens.
"""
from __future__ import annotations

from typing import Sequence

import numpy as np

from pipeline.dedup.tokens import batch_token_hashes, mix64

_EMPTY = np.uint32(0xFFFFFFFF)


class MinHasher:
    """MinHash with ``bands * rows`` permutations over token ``ngram``-grams.

    Args:
        bands, rows: LSH banding; two documents become candidates if all
            ``rows`` values of at least one band agree ([dedup.minhash] of
            config/default.toml, chosen on the S-curve at Jaccard 0.7,
            ``scurve.optimal_bands``).
        ngram: tokens per shingle (5 words: FineWeb, RefinedWeb; 5 CJK chars).
        seed: seeds the permutations; the same seed gives the same keys on
            every machine.
        chunk: shingles hashed at once (memory ~ chunk * bands * rows * 8 B).
    """

    def __init__(self, *, bands: int, rows: int, ngram: int, seed: int, chunk: int = 16384):
        if bands < 1 or rows < 1 or ngram < 1:
            raise ValueError("bands, rows and ngram must be >= 1")
        self.bands, self.rows, self.ngram, self.chunk = bands, rows, ngram, chunk
        self.num_perm = bands * rows
        rng = np.random.default_rng(seed)
        self.a = rng.integers(1, 2**63, size=self.num_perm, dtype=np.uint64) * np.uint64(2) + np.uint64(1)
        self.b = rng.integers(0, 2**63, size=self.num_perm, dtype=np.uint64)
        self.gram_mult = rng.integers(1, 2**63, size=ngram, dtype=np.uint64) * np.uint64(2) + np.uint64(1)
        self.band_mult = rng.integers(1, 2**63, size=rows, dtype=np.uint64) * np.uint64(2) + np.uint64(1)

    # ------------------------------------------------------------ shingles --
    def shingles(self, th: np.ndarray, offsets: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Shingle hashes of a batch from its concatenated token hashes:
        (hashes, doc index of each hash), doc indices non-decreasing."""
        n = self.ngram
        lens = np.diff(offsets)
        m = len(th)
        if m >= n:
            g = np.zeros(m - n + 1, dtype=np.uint64)
            for k in range(n):
                g += th[k : m - n + 1 + k] * self.gram_mult[k]
        else:
            g = np.zeros(0, dtype=np.uint64)
        cnt = np.where(lens >= n, lens - n + 1, 0)
        total = int(cnt.sum())
        starts = np.repeat(offsets[:-1], cnt) + (np.arange(total) - np.repeat(np.cumsum(cnt) - cnt, cnt))
        hashes = g[starts]
        docs = np.repeat(np.arange(len(lens)), cnt)
        short = np.nonzero((lens > 0) & (lens < n))[0]
        if len(short):  # one shingle of all tokens of a short document
            extra = np.array([(th[offsets[d] : offsets[d + 1]] * self.gram_mult[: lens[d]]).sum(dtype=np.uint64)
                              for d in short], dtype=np.uint64)
            hashes = np.concatenate([hashes, extra])
            docs = np.concatenate([docs, short])
            order = np.argsort(docs, kind="stable")
            hashes, docs = hashes[order], docs[order]
        return mix64(hashes), docs

    def shingle_set(self, text: str) -> np.ndarray:
        """Sorted unique shingle hashes of one document (for exact Jaccard)."""
        th, off = batch_token_hashes([text])
        h, _ = self.shingles(th, off)
        return np.unique(h)

    # ---------------------------------------------------------- signatures --
    def signatures(self, texts: Sequence[str | None]) -> np.ndarray:
        """uint32 signatures, shape (len(texts), num_perm); a document without
        tokens keeps the all-0xFFFFFFFF signature."""
        th, off = batch_token_hashes(texts)
        hashes, docs = self.shingles(th, off)
        sig = np.full((len(texts), self.num_perm), _EMPTY, dtype=np.uint32)
        for lo in range(0, len(hashes), self.chunk):
            h = hashes[lo : lo + self.chunk]
            d = docs[lo : lo + self.chunk]
            perm = ((h[:, None] * self.a[None, :] + self.b[None, :]) >> np.uint64(32)).astype(np.uint32)
            seg = np.concatenate([[0], np.nonzero(np.diff(d))[0] + 1])
            mins = np.minimum.reduceat(perm, seg, axis=0)
            u = d[seg]
            sig[u] = np.minimum(sig[u], mins)
        return sig

    def band_keys(self, sig: np.ndarray) -> np.ndarray:
        """int64 key of each band, shape (n, bands): a hash of the band's
        ``rows`` values (equal bands give equal keys)."""
        s = sig.astype(np.uint64).reshape(len(sig), self.bands, self.rows)
        k = (s * self.band_mult[None, None, :]).sum(axis=2, dtype=np.uint64)
        k += np.arange(self.bands, dtype=np.uint64)[None, :] * np.uint64(0x9E3779B97F4A7C15)
        return mix64(k.ravel()).reshape(len(sig), self.bands).view(np.int64)

    @staticmethod
    def has_tokens(sig: np.ndarray) -> np.ndarray:
        return ~(sig == _EMPTY).all(axis=1)
