"""A plain rules-only baseline for bench/quality.py: language ID keeping en/zh,
then Gopher quality, Gopher repetition, C4 and FineWeb rules as published,
written out plainly (no code shared with pipeline/).

  Gopher   Rae et al. 2021, "Scaling Language Models" (MassiveWeb), App. A;
           thresholds as datatrove's GopherQualityFilter / GopherRepetitionFilter.
  C4       Raffel et al. 2020 (T5) §2.2: keep lines ending in terminal
           punctuation with >= 3 words, drop lines holding "javascript",
           drop the page for "lorem ipsum", a curly bracket "{", or fewer than
           5 sentences left. (The bad-words list is not applied: not offline.)
  FineWeb  Penedo et al. 2024, datatrove FineWebQualityFilter defaults.

Chinese has no spaces: every CJK character counts as a word (as the project
does), CJK punctuation is no word; Chinese sentence ends (。！？, no space
after them) count as terminal punctuation and as sentence ends.

``margin`` (0 = as published) tightens every threshold by that share: the
evaluation-set builder keeps a clean document only if it passes with
margin 0.3 ("passes with margin").
"""
from __future__ import annotations

import re
from collections import Counter

CJK = "\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff\u3040-\u30ff\uac00-\ud7af"
WORD_RE = re.compile(rf"[{CJK}]|[^\s{CJK}]+")
# CJK / full-width punctuation: not a word of its own (a Chinese text writes it
# between characters, where English attaches it to a word).
CJK_PUNCT_RE = re.compile(r"^[\u3000-\u303f\uff01-\uff0f\uff1a-\uff20\uff3b-\uff40\uff5b-\uff65\u2014\u2018\u2019\u201c\u201d\u2026\u00b7]+$")
ALPHA_RE = re.compile(rf"[^\W\d_]")
TERMINAL = (".", "!", "?", '"', "'", "”", "’", "。", "！", "？", "…", "」", "』", "）", ")")
STOP_EN = {"the", "be", "to", "of", "and", "that", "have", "with"}
STOP_ZH = {"的", "了", "是", "在", "和", "有", "我", "不", "这", "也"}
BULLETS = ("•", "‣", "⁃", "◦", "∙", "-", "*", "·", "●", "▪")
POLICY = ("terms of use", "privacy policy", "cookie policy", "uses cookies", "use of cookies", "use cookies")

GOPHER_QUALITY = dict(min_words=50, max_words=100_000, min_mean_word_len=3, max_mean_word_len=10,
                      max_symbol_word_ratio=0.1, max_bullet_lines=0.9, max_ellipsis_lines=0.3,
                      min_alpha_words=0.8, min_stop_words=2)
GOPHER_REPETITION = dict(dup_line_frac=0.3, dup_para_frac=0.3, dup_line_char_frac=0.2, dup_para_char_frac=0.2,
                         top_ngram={2: 0.2, 3: 0.18, 4: 0.16},
                         dup_ngram={5: 0.15, 6: 0.14, 7: 0.13, 8: 0.12, 9: 0.11, 10: 0.10})
C4 = dict(min_sentences=5, min_line_words=3)
FINEWEB = dict(min_line_punct_ratio=0.12, max_short_line_ratio=0.67, short_line_chars=30,
               max_dup_line_char_ratio=0.01, max_newline_ratio=0.3)


def words(text: str) -> list[str]:
    return [w for w in WORD_RE.findall(text) if not CJK_PUNCT_RE.match(w)]


def is_zh(text: str) -> bool:
    n = sum(1 for c in text if not c.isspace())
    return n > 0 and len(re.findall(f"[{CJK}]", text)) / n >= 0.3


def _le(value, thr, m):   # value must be <= thr: tightened to thr * (1 - m)
    return value <= thr * (1 - m)


def _ge(value, thr, m):   # value must be >= thr: tightened to thr * (1 + m)
    return value >= thr * (1 + m)


def gopher_quality(text: str, m: float = 0.0) -> str | None:
    g = GOPHER_QUALITY
    ws = words(text)
    zh = is_zh(text)
    n = len(ws)
    if not _ge(n, g["min_words"], m):
        return "gopher_short_doc"
    if n > g["max_words"]:
        return "gopher_long_doc"
    if not zh:
        mean = sum(map(len, ws)) / n
        if mean < g["min_mean_word_len"] * (1 + m / 3) or mean > g["max_mean_word_len"] * (1 - m / 5):
            return "gopher_mean_word_len"
    sym = text.count("#") + text.count("...") + text.count("…")
    if not _le(sym / n, g["max_symbol_word_ratio"], m):
        return "gopher_symbol_ratio"
    lines = [ln.strip() for ln in text.split("\n") if ln.strip()]
    if lines and not _le(sum(ln.startswith(BULLETS) for ln in lines) / len(lines), g["max_bullet_lines"], m):
        return "gopher_bullet_lines"
    if lines and not _le(sum(ln.endswith(("...", "…")) for ln in lines) / len(lines), g["max_ellipsis_lines"], m):
        return "gopher_ellipsis_lines"
    if not _ge(sum(bool(ALPHA_RE.search(w)) for w in ws) / n, g["min_alpha_words"], m * 0.2):
        return "gopher_alpha_words"
    stops = STOP_ZH if zh else STOP_EN
    if not _ge(sum(w.lower() in stops for w in ws), g["min_stop_words"], m):
        return "gopher_stop_words"
    return None


def _dup_frac(items: list[str]) -> tuple[float, float]:
    """(share of items, share of their characters) that repeat an earlier item."""
    seen, dup_n, dup_chars = set(), 0, 0
    for it in items:
        if it in seen:
            dup_n += 1
            dup_chars += len(it)
        seen.add(it)
    total = sum(map(len, items)) or 1
    return dup_n / max(len(items), 1), dup_chars / total


def _top_ngram_char_frac(ws: list[str], n: int) -> float:
    grams = [tuple(ws[i:i + n]) for i in range(len(ws) - n + 1)]
    if not grams:
        return 0.0
    gram, count = Counter(grams).most_common(1)[0]
    return sum(map(len, gram)) * count / (sum(map(len, ws)) or 1)


def _dup_ngram_char_frac(ws: list[str], n: int) -> float:
    """Characters inside n-grams that occur again (each word counted once), as Gopher."""
    seen, dup = set(), [False] * len(ws)
    for i in range(len(ws) - n + 1):
        g = tuple(ws[i:i + n])
        if g in seen:
            for j in range(i, i + n):
                dup[j] = True
        seen.add(g)
    return sum(len(w) for w, d in zip(ws, dup) if d) / (sum(map(len, ws)) or 1)


def gopher_repetition(text: str, m: float = 0.0) -> str | None:
    g = GOPHER_REPETITION
    paras = [p.strip() for p in re.split(r"\n{2,}", text) if p.strip()]
    lines = [ln.strip() for ln in text.split("\n") if ln.strip()]
    pf, pcf = _dup_frac(paras)
    if not _le(pf, g["dup_para_frac"], m):
        return "gopher_dup_para_frac"
    if not _le(pcf, g["dup_para_char_frac"], m):
        return "gopher_dup_para_char_frac"
    lf, lcf = _dup_frac(lines)
    if not _le(lf, g["dup_line_frac"], m):
        return "gopher_dup_line_frac"
    if not _le(lcf, g["dup_line_char_frac"], m):
        return "gopher_dup_line_char_frac"
    ws = words(text)
    for n, thr in g["top_ngram"].items():
        if not _le(_top_ngram_char_frac(ws, n), thr, m):
            return f"gopher_top_{n}gram"
    for n, thr in g["dup_ngram"].items():
        if not _le(_dup_ngram_char_frac(ws, n), thr, m):
            return f"gopher_dup_{n}gram"
    return None


# English sentences end before a space; Chinese ones at 。！？ with no space after.
SENT_END = re.compile(r"[.!?]+[\"'”’」』)）]*(?:\s|$)|[。！？]+[\"'”’」』)）]*")


def c4(text: str, m: float = 0.0) -> str | None:
    c = C4
    low = text.lower()
    if "lorem ipsum" in low:
        return "c4_lorem_ipsum"
    if "{" in text:
        return "c4_curly_bracket"
    kept = []
    for ln in text.split("\n"):
        ln = ln.strip()
        if not ln or not ln.endswith(TERMINAL):
            continue
        if len(words(ln)) < c["min_line_words"] or "javascript" in ln.lower():
            continue
        if any(p in ln.lower() for p in POLICY):
            continue
        kept.append(ln)
    n_sent = sum(len(SENT_END.findall(ln + " ")) or 1 for ln in kept)
    if not _ge(n_sent, c["min_sentences"], m):
        return "c4_few_sentences"
    return None


def fineweb(text: str, m: float = 0.0) -> str | None:
    f = FINEWEB
    lines = [ln.strip() for ln in text.split("\n") if ln.strip()]
    if not lines:
        return "fineweb_empty"
    if not _ge(sum(ln.endswith(TERMINAL) for ln in lines) / len(lines), f["min_line_punct_ratio"], m):
        return "fineweb_line_punct_ratio"
    if not _le(sum(len(ln) <= f["short_line_chars"] for ln in lines) / len(lines), f["max_short_line_ratio"], m):
        return "fineweb_short_line_ratio"
    _, dup_chars = _dup_frac(lines)
    if not _le(dup_chars, f["max_dup_line_char_ratio"], m):
        return "fineweb_char_dup_ratio"
    n_words = len(words(text)) or 1
    if not _le(text.count("\n") / n_words, f["max_newline_ratio"], m):
        return "fineweb_newline_ratio"
    return None


RULES = (("gopher_repetition", gopher_repetition), ("gopher_quality", gopher_quality), ("c4", c4),
         ("fineweb", fineweb))


def rules_reason(text: str, margin: float = 0.0) -> tuple[str, str] | None:
    """(rule set, reason) of the first rule that rejects ``text``, else None."""
    for name, rule in RULES:
        r = rule(text, margin)
        if r:
            return name, r
    return None


class LangID:
    """lingua over all its languages (high accuracy), first 2,000 characters:
    the top language, no confidence threshold (plain)."""

    def __init__(self):
        from lingua import LanguageDetectorBuilder

        self.det = LanguageDetectorBuilder.from_all_languages().build()

    def lang(self, text: str) -> str | None:
        lang = self.det.detect_language_of(text[:2000])
        return lang.iso_code_639_1.name.lower() if lang is not None else None


def baseline(text: str, langid: LangID) -> tuple[bool, str, str]:
    """(kept, stage, reason) of the plain baseline for one document."""
    lang = langid.lang(text)
    if lang not in ("en", "zh"):
        return False, "langid", f"lang_{lang}"
    r = rules_reason(text)
    if r:
        return False, r[0], r[1]
    return True, "kept", ""
