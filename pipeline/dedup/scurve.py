"""The LSH S-curve: which (bands, rows) to use at a Jaccard threshold, and
how far the implementation follows it.

With ``b`` bands of ``r`` rows, two documents of Jaccard ``s`` become
candidates with probability ``P(s) = 1 - (1 - s^r)^b``. The false-positive
mass is the integral of P below the threshold, the false-negative mass the
integral of 1 - P above it (Leskovec, Rajaraman, Ullman, *Mining of Massive
Datasets* §3.4; datasketch's ``_optimal_param``). Candidates are verified by
exact Jaccard (``jaccard.py``), so false positives cost only time and false
negatives cost recall: ``fn_weight`` > ``fp_weight`` by default.
"""
from __future__ import annotations

import numpy as np


def p_candidate(s, bands: int, rows: int):
    """Probability that two documents of Jaccard ``s`` share a band."""
    s = np.asarray(s, dtype=float)
    return 1.0 - (1.0 - s**rows) ** bands


def fp_fn_mass(threshold: float, bands: int, rows: int, grid: int = 2001) -> tuple[float, float]:
    """(false-positive mass below, false-negative mass above) the threshold,
    each as a mean over a uniform grid of Jaccard values on its side."""
    lo = np.linspace(0.0, threshold, grid)
    hi = np.linspace(threshold, 1.0, grid)
    return float(p_candidate(lo, bands, rows).mean()), float((1 - p_candidate(hi, bands, rows)).mean())


def optimal_bands(threshold: float, num_perm: int, fp_weight: float = 0.3, fn_weight: float = 0.7) -> tuple[int, int]:
    """(bands, rows) with ``bands * rows <= num_perm`` minimizing the weighted
    FP + FN mass at ``threshold``."""
    best, best_err = (1, 1), float("inf")
    for b in range(1, num_perm + 1):
        for r in range(1, num_perm // b + 1):
            fp, fn = fp_fn_mass(threshold, b, r, grid=201)
            err = fp_weight * fp + fn_weight * fn
            if err < best_err - 1e-12:
                best, best_err = (b, r), err
    return best


def measured_curve(hasher, jaccards=np.linspace(0.05, 1.0, 20), pairs: int = 200, set_size: int = 200,
                   seed: int = 0) -> np.ndarray:
    """Fraction of pairs of random shingle sets with exact Jaccard ``s`` that
    share a band under ``hasher`` (a ``MinHasher``): the measured S-curve of
    this implementation, to compare with ``p_candidate``."""
    from pipeline.dedup.tokens import mix64

    rng = np.random.default_rng(seed)
    out = []
    for s in jaccards:
        # |A|=|B|=n, |A & B| = k with k / (2n - k) = s.
        k = int(round(2 * set_size * s / (1 + s)))
        hit = 0
        for _ in range(pairs):
            u = mix64(rng.integers(0, 2**63, size=2 * set_size - k, dtype=np.uint64))
            a, b = u[:set_size], u[set_size - k :]
            sig = _sig_of_sets(hasher, [a, b])
            keys = hasher.band_keys(sig)
            hit += bool((keys[0] == keys[1]).any())
        out.append(hit / pairs)
    return np.array(out)


def _sig_of_sets(hasher, sets: list[np.ndarray]) -> np.ndarray:
    sig = np.empty((len(sets), hasher.num_perm), dtype=np.uint32)
    for i, h in enumerate(sets):
        perm = ((h[:, None] * hasher.a[None, :] + hasher.b[None, :]) >> np.uint64(32)).astype(np.uint32)
        sig[i] = perm.min(axis=0)
    return sig
