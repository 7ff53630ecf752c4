"""Words of a document, for English-like and Chinese text alike.

The heuristic and repetition rules of Gopher (Rae et al. 2021) are stated in
words. Chinese has no spaces, so it needs either characters or a word
segmenter: the length rules count CJK characters (cheap), the repetition
rules use jieba words (closest to what an n-gram of words means in English),
cut by rjieba, jieba's algorithm and dictionary in Rust: the same words as
``jieba.lcut(text, HMM=False)`` (tests/test_repetition.py), ~15x faster.

Words are computed once per document text and cached in ``doc.meta``, so the
heuristics and repetition stages share them.
"""
from __future__ import annotations

import re

import rjieba

from pipeline.document import Document

# CJK ideographs (ext. A, unified, compatibility), kana, hangul syllables.
CJK_RANGES = "\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff\u3040-\u30ff\uac00-\ud7af"
CJK_RE = re.compile(f"[{CJK_RANGES}]")
# A word: letters/digits (not CJK), with inner apostrophes or hyphens
# ("don't", "e-mail"); punctuation and symbols are not words.
WORD_RE = re.compile(f"[^\\W_{CJK_RANGES}]+(?:['’\\-][^\\W_{CJK_RANGES}]+)*")
# Generic tokens for languages without a segmenter: words, or single CJK chars.
TOKEN_RE = re.compile(f"{WORD_RE.pattern}|[{CJK_RANGES}]")
# A jieba token that is a word (not space or punctuation).
_WORDLIKE_RE = re.compile(r"\w")


def is_chinese(doc: Document, min_cjk_share: float = 0.3) -> bool:
    """Chinese by the language ID (``lang`` "zh*"), or, when no language was
    set, by the share of CJK characters among non-space characters."""
    if doc.lang:
        return doc.lang.lower().startswith("zh")
    text = doc.text
    n = len(text) - text.count(" ") - text.count("\n")
    return n > 0 and len(CJK_RE.findall(text)) / n >= min_cjk_share


def chinese_words(text: str) -> list[str]:
    """jieba words (dictionary mode, no HMM: deterministic), whitespace and
    punctuation dropped."""
    has_word = _WORDLIKE_RE.search
    return [w for w in rjieba.cut(text, False) if has_word(w)]


def words(doc: Document) -> list[str]:
    """The words of ``doc.text`` (cached per text): jieba words for Chinese,
    else ``TOKEN_RE`` tokens (words; a stray CJK char is one token)."""
    cached = doc.meta.get("_words")
    if cached is not None and cached[0] is doc.text:
        return cached[1]
    ws = chinese_words(doc.text) if is_chinese(doc) else TOKEN_RE.findall(doc.text)
    doc.meta["_words"] = (doc.text, ws)
    return ws
