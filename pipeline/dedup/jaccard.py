"""Exact Jaccard similarity of shingle sets: to verify LSH candidates, and
as the truth of the planted-duplicate evaluation (all pairs that share at
least one shingle, through a sparse doc x shingle product)."""
from __future__ import annotations

from typing import Sequence

import numpy as np

from pipeline.dedup.minhash import MinHasher


def jaccard(a: np.ndarray, b: np.ndarray) -> float:
    """Jaccard of two sorted unique uint64 arrays (0 for two empty sets)."""
    if len(a) == 0 and len(b) == 0:
        return 0.0
    inter = len(np.intersect1d(a, b, assume_unique=True))
    return inter / (len(a) + len(b) - inter)


def all_pairs_jaccard(texts: Sequence[str], hasher: MinHasher, threshold: float) -> list[tuple[int, int, float]]:
    """Every pair (i < j) with exact Jaccard >= ``threshold``: the truth.
    Exact over all pairs: pairs sharing no shingle have Jaccard 0."""
    from scipy import sparse

    sets = [hasher.shingle_set(t) for t in texts]
    vocab, inv = np.unique(np.concatenate(sets) if sets else np.zeros(0, np.uint64), return_inverse=True)
    indptr = np.concatenate([[0], np.cumsum([len(s) for s in sets])])
    x = sparse.csr_matrix((np.ones(len(inv), dtype=np.int32), inv, indptr), shape=(len(sets), len(vocab)))
    inter = sparse.triu(x @ x.T, k=1).tocoo()
    sizes = np.diff(indptr)
    jac = inter.data / (sizes[inter.row] + sizes[inter.col] - inter.data)
    keep = jac >= threshold
    return list(zip(inter.row[keep].tolist(), inter.col[keep].tolist(), jac[keep].tolist()))
