"""Yi's repetitive-document removal: Gopher's repetition rules
(Rae et al. 2021, App. A, Table A1; arXiv 2403.04652 §2.1 "repeated words,
n-grams, or paragraphs"), read as datatrove 0.10.1's GopherRepetitionFilter
(the reading FineWeb and most open pipelines run).

Rules (fractions of the document's characters, ``len(text)``):
  duplicate lines / paragraphs: share of elements that repeat an earlier one,
      and share of characters inside such repeats;
  top n-gram (n = 2, 3, 4): characters of the most frequent n-gram's words
      times its count;
  duplicate n-grams (n = 5..10): characters of the n-grams that REPEAT an
      earlier one, scanning left to right: an n-gram seen before counts its
      characters and the scan jumps past it (no overlap: each character
      once); one not seen before is remembered and the scan moves one word.
      The first occurrence is not a duplicate.
Characters of n-grams are the characters of their words (spaces and
punctuation are not words); the denominator is all characters, as in
datatrove. Words: ``pipeline.words.mixed_words`` (jieba words for Chinese
script, letter/digit words otherwise, whatever the language label).

Issue #12: before, every occurrence of a repeated n-gram was counted (the
first one too) over word characters only, about 2.5x datatrove's figure for
a phrase said twice; clean documents that pass Gopher's own rule were
dropped as dup_5gram (data/sample: 26 en + 80 zh clean documents before,
6 + 18 now; bench/rules.py).

Speed: every word becomes a 64-bit hash once; n-gram hashes are rolled with
numpy (h_n = h_{n-1} * P + id), so no n-gram string or tuple is built; the
left-to-right scan visits only n-grams that occur more than once (the others
can never be a repeat, and remembering them changes nothing).
"""
from __future__ import annotations

import re
from collections import Counter

import numpy as np

from pipeline.config import Configured
from pipeline.document import Document, Stage
from pipeline.words import CJK_RE, words

PARAGRAPH_RE = re.compile(r"\n[ \t\u3000]*\n\s*")
_P = np.uint64(0x100000001B3)  # FNV prime: mixes the rolling n-gram hash


def _duplicates(elements: list[str]) -> tuple[int, int]:
    """(#elements that repeat an earlier one, #chars in those repeats)."""
    counts = Counter(elements)
    n = chars = 0
    for e, c in counts.items():
        if c > 1:
            n += c - 1
            chars += (c - 1) * len(e)
    return n, chars


def _repeated_chars(h: np.ndarray, count_at: np.ndarray, cum: np.ndarray, n: int) -> int:
    """datatrove's ``find_all_duplicate`` over n-gram hashes ``h`` (position
    i = words i..i+n-1): characters of the n-grams that repeat an earlier
    remembered one, the scan jumping n words past each repeat."""
    seen: set[int] = set()
    chars, nxt = 0, 0
    for i in np.flatnonzero(count_at > 1).tolist():
        if i < nxt:
            continue
        g = int(h[i])
        if g in seen:
            chars += int(cum[i + n] - cum[i])
            nxt = i + n
        else:
            seen.add(g)
    return chars


class RepetitionFilter(Configured, Stage):
    """Reject documents over any of Gopher's repetition thresholds.

    Scores: rep_dup_line_frac, rep_dup_line_char_frac, rep_dup_para_frac,
    rep_dup_para_char_frac, rep_top_{2,3,4}gram_frac, rep_dup_{5..10}gram_frac.
    Reasons: dup_line_frac, dup_line_char_frac, dup_para_frac,
    dup_para_char_frac, top_{n}gram, dup_{n}gram.
    """

    name = "repetition"
    score_columns = (
        "rep_dup_line_frac", "rep_dup_line_char_frac", "rep_dup_para_frac", "rep_dup_para_char_frac",
        "rep_top_2gram_frac", "rep_top_3gram_frac", "rep_top_4gram_frac",
        "rep_dup_5gram_frac", "rep_dup_6gram_frac", "rep_dup_7gram_frac",
        "rep_dup_8gram_frac", "rep_dup_9gram_frac", "rep_dup_10gram_frac",
    )

    def __init__(
        self,
        *,
        max_dup_line_frac: float,
        max_dup_para_frac: float,
        max_dup_line_char_frac: float,
        max_dup_para_char_frac: float,
        max_top_ngram_frac: dict[str, float],
        max_dup_ngram_frac: dict[str, float],
        cjk_char_weight: float,
    ):
        """``max_top_ngram_frac`` / ``max_dup_ngram_frac`` map n (as a string,
        TOML keys are strings) to the largest allowed fraction."""
        self.max_dup_line_frac = max_dup_line_frac
        self.max_dup_para_frac = max_dup_para_frac
        self.max_dup_line_char_frac = max_dup_line_char_frac
        self.max_dup_para_char_frac = max_dup_para_char_frac
        self.top = {int(n): float(v) for n, v in max_top_ngram_frac.items()}
        self.dup = {int(n): float(v) for n, v in max_dup_ngram_frac.items()}
        self.max_n = max([*self.top, *self.dup], default=1)
        self.cjk_char_weight = cjk_char_weight

    def metrics(self, doc: Document) -> dict[str, float]:
        text = doc.text
        n_chars = max(len(text), 1)
        m: dict[str, float] = {}
        lines = [ln.strip() for ln in text.split("\n")]
        lines = [ln for ln in lines if ln]
        n, chars = _duplicates(lines)
        m["rep_dup_line_frac"] = n / max(len(lines), 1)
        m["rep_dup_line_char_frac"] = chars / n_chars
        paras = [p.strip() for p in PARAGRAPH_RE.split(text.strip())]
        paras = [p for p in paras if p]
        n, chars = _duplicates(paras)
        m["rep_dup_para_frac"] = n / max(len(paras), 1)
        m["rep_dup_para_char_frac"] = chars / n_chars
        ws = words(doc)
        m.update(self.ngram_metrics(ws, len(text)))
        if self.cjk_char_weight != 1 and self.top and CJK_RE.search(text):
            # top n-gram rules: a CJK character weighs cjk_char_weight Latin
            # letters, so one repeated English name does not outweigh Chinese
            k = self.cjk_char_weight
            n_cjk = len(CJK_RE.findall(text))
            lens = [len(w) * k if CJK_RE.match(w) else len(w) for w in ws]
            top = self.ngram_metrics(ws, len(text) - n_cjk + n_cjk * k, lens=lens, only_top=True)
            m.update({key: v for key, v in top.items() if key.startswith("rep_top_")})
        return m

    def ngram_metrics(self, ws: list[str], n_chars: float | None = None, lens: list[float] | None = None,
                      only_top: bool = False) -> dict[str, float]:
        """Top and duplicate n-gram character fractions of a word list, over
        ``n_chars`` characters (the document's; default: the words');
        ``lens``: the length of each word (default: its characters)."""
        m = {f"rep_top_{n}gram_frac": 0.0 for n in self.top}
        m.update({f"rep_dup_{n}gram_frac": 0.0 for n in self.dup})
        n_words = len(ws)
        if n_words < 2:
            return m
        if lens is None:
            lens = np.fromiter(map(len, ws), dtype=np.int64, count=n_words)
        else:
            lens = np.asarray(lens, dtype=np.float64)
        cum = np.zeros(n_words + 1, dtype=lens.dtype)
        np.cumsum(lens, out=cum[1:])
        if n_chars is None:
            n_chars = cum[-1]
        total = max(n_chars, 1)
        ids = np.fromiter(map(hash, ws), dtype=np.int64, count=n_words).view(np.uint64)
        h = ids.copy()
        with np.errstate(over="ignore"):
            for n in range(2, min(self.max_n, n_words) + 1):
                h = h[:-1] * _P + ids[n - 1:]
                if n not in self.top and n not in self.dup:
                    continue
                _, inverse, counts = np.unique(h, return_inverse=True, return_counts=True)
                count_at = counts[inverse]
                if n in self.top:
                    top = counts.max()
                    if top > 1:
                        starts = np.flatnonzero(count_at == top)
                        # ties: the longest gram, so the score does not depend on hash order
                        longest = (cum[starts + n] - cum[starts]).max()
                        m[f"rep_top_{n}gram_frac"] = float(longest * int(top) / total)
                if n in self.dup and not only_top:
                    m[f"rep_dup_{n}gram_frac"] = _repeated_chars(h, count_at, cum, n) / total
        return m

    def __call__(self, doc: Document) -> str | None:
        m = self.metrics(doc)
        doc.scores.update(m)
        if m["rep_dup_para_frac"] > self.max_dup_para_frac:
            return "dup_para_frac"
        if m["rep_dup_para_char_frac"] > self.max_dup_para_char_frac:
            return "dup_para_char_frac"
        if m["rep_dup_line_frac"] > self.max_dup_line_frac:
            return "dup_line_frac"
        if m["rep_dup_line_char_frac"] > self.max_dup_line_char_frac:
            return "dup_line_char_frac"
        for n, limit in self.top.items():
            if m[f"rep_top_{n}gram_frac"] > limit:
                return f"top_{n}gram"
        for n, limit in self.dup.items():
            if m[f"rep_dup_{n}gram_frac"] > limit:
                return f"dup_{n}gram"
        return None
