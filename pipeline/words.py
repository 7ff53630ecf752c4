"""Words of a document, for English-like and Chinese text alike.

The heuristic and repetition rules of Gopher (Rae et al. 2021) are stated in
words. Chinese has no spaces, so it needs either characters or a word
segmenter: the length rules count CJK characters (cheap), the repetition
rules use jieba words (closest to what an n-gram of words means in English;
datatrove's Gopher filters also cut Chinese with jieba), cut by rjieba,
jieba's algorithm and dictionary in Rust: the same words as
``jieba.lcut(text, HMM=False)`` (tests/test_repetition.py), ~15x faster.

A word depends on the script, not on the document's language label: every
run of CJK characters is cut by jieba and everything else is ``WORD_RE``
words, in English and Chinese documents alike. Before, an English-labelled
document cut its Chinese into single characters, whose 5-grams ("中华人民共"
and the like) repeat in any clean Chinese paragraph: mixed zh/en documents
were dropped as dup_5gram (issue #12).

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


# A run of CJK characters, or a word.
_SCRIPT_RUN_RE = re.compile(f"([{CJK_RANGES}]+)|{WORD_RE.pattern}")


def mixed_words(text: str) -> list[str]:
    """Words of any mix of scripts: jieba words for each CJK run, ``WORD_RE``
    words elsewhere (text without CJK: exactly ``WORD_RE.findall``)."""
    if not CJK_RE.search(text):
        return WORD_RE.findall(text)
    out: list[str] = []
    cut = rjieba.cut
    for m in _SCRIPT_RUN_RE.finditer(text):
        run = m.group(1)
        if run is None:
            out.append(m.group())
        elif len(run) == 1:
            out.append(run)
        else:
            out.extend(cut(run, False))
    return out


def words(doc: Document) -> list[str]:
    """The words of ``doc.text`` (cached per text), whatever its language:
    ``mixed_words``."""
    cached = doc.meta.get("_words")
    if cached is not None and cached[0] is doc.text:
        return cached[1]
    ws = mixed_words(doc.text)
    doc.meta["_words"] = (doc.text, ws)
    return ws
