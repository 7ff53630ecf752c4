"""Yi's heuristic rule filter on text metrics (arXiv 2403.04652 §2.1:
"document length, the ratio of special symbols, and the ratio of short,
consecutive, or incomplete lines", plus garbled-text filters).

Each metric is computed once per document with compiled regexes and C-level
``str`` methods (no per-character Python loop) and written as an ``h_*``
score; the first threshold it breaks names the rejection reason. Every
threshold is a required keyword argument; its value (and source) is in
``config/default.toml`` [heuristics] (``TextMetricFilter.from_config()``).

English and Chinese: length is counted in words, where one CJK character is
one unit (Chinese has no spaces); mean word length and the Gopher stop words
apply to non-Chinese text, a list of common function characters to Chinese;
"short line" is measured in characters with a smaller limit for Chinese,
and a short line that ends in sentence or clause punctuation (verse,
dialog turns, classical Chinese) is not counted: FineWeb's rule aims at
menus and lists of items, and dropped 10 en + 35 zh clean data/sample
documents (poems, dialogs) that way (bench/rules.py, issue #12).
"""
from __future__ import annotations

import re

import ftfy

from pipeline.config import Configured
from pipeline.correction import FTFY_CONFIG
from pipeline.document import Document, Stage
from pipeline.words import CJK_RE, TOKEN_RE, is_chinese, words

# Gopher's stop words (Rae et al. 2021, App. A): a document needs >= 2 of them.
EN_STOP_WORDS = frozenset(["the", "be", "to", "of", "and", "that", "have", "with"])
# The most frequent Chinese function characters (的 了 是 在 和 ...): natural
# Chinese prose has several; lists, tables and keyword spam have few. Then
# their traditional forms (這 個 們 為 與 說) and the particles of classical
# Chinese (之 其 而 以 於 者 乎 兮 矣 焉 哉 亦 乃 無), which has almost none of
# the modern ones: classical poems and the Daodejing were dropped as
# no_stop_words (data/sample: 50 clean zh documents -> 11, bench/rules.py).
ZH_STOP_WORDS = ("的", "了", "是", "在", "和", "有", "我", "不", "这", "也", "就", "人", "都", "一个",
                 "這", "個", "們", "为", "為", "与", "與", "说", "說",
                 "之", "其", "而", "以", "于", "於", "者", "乎", "兮", "矣", "焉", "哉", "亦", "乃", "无", "無")

# Mojibake and garbled text: U+FFFD, private use, C1 controls, UTF-8 read as
# cp1252/latin-1 ("Ã©", "â€™", "Â "), and the classic GBK/UTF-8 mix-ups
# ("锟斤拷", "烫烫烫", "屯屯屯"). All metrics are measured on the text as ftfy
# repairs it (``measure_after_ftfy``): Yi's order runs this stage before the
# correction stage, which would have repaired such a page (issue #12).
GARBLED_RE = re.compile(
    "[\ufffd\ue000-\uf8ff\x80-\x9f]+"
    "|(?:[ÃÂ][\x80-\xbf\u0152\u0153\u0160\u0161\u0178\u017d\u017e\u0192\u02c6\u02dc"
    "\u2013\u2014\u2018-\u201e\u2020-\u2022\u2026\u2030\u2039\u203a\u20ac\u2122])+"
    "|(?:â€[\x80-\xbf\u0152\u0153\u0160\u0161\u0178\u017d\u017e\u0192\u02c6\u02dc"
    "\u2013\u2014\u2018-\u201e\u2020-\u2022\u2026\u2030\u2039\u203a\u20ac\u2122]?)+"
    "|(?:锟斤拷|烫烫|屯屯)+"
)
# Every GARBLED_RE match starts with one of these: a cheap scan first.
GARBLED_HINT_RE = re.compile("[\ufffd\ue000-\uf8ff\x80-\x9fÃÂâ锟烫屯]")
BULLET_LINE_RE = re.compile(r"^[ \t\u3000]*[•\-*·●▪◦‣➢►■□◆◇]", re.M)
ELLIPSIS_LINE_RE = re.compile(r"(?:\.\.\.|…)[ \t\u3000]*$", re.M)
TERMINAL_PUNCT = (".", "!", "?", '"', "'", "”", "’", "。", "！", "？", "」", "』", "…", "）", ")")
# A short line that ends a sentence or a clause is a line of verse, dialog or
# classical prose, not a menu or list item: it is not counted as short.
CLAUSE_END = TERMINAL_PUNCT + (",", ";", ":", "，", "；", "：", "、", "—", "–")
# ... but a closing bracket ends a menu item as often as a sentence ("run()",
# "create_task()" in a documentation sidebar): a short line ending in one
# stays short (bench/quality.py --split dev: 10 Python-doc navigation pages
# were kept through this exemption; no keep-labelled page needed it).
SHORT_LINE_EXEMPT_END = tuple(p for p in CLAUSE_END if p not in (")", "）"))
DIGITS = "0123456789"
# A whitespace-separated token with no letter (numbers, symbols, "--").
LETTERLESS_RE = re.compile(r"(?<!\S)[^\s\w]*(?:[\d_][^\s\w]*)*(?!\S)(?<=\S)")
# A run of one repeated punctuation character ("=====", "-----", "^^^^",
# "***", ">>>"): markup (reST/Markdown heading rules, prompts), not a word.
# Gopher's alpha-word rule is about words, so such runs are left out of it,
# and a line that is only such a run is not a line of text either.
MARKUP_RUN_RE = re.compile(r"(?<!\S)([^\s\w])\1{2,}(?!\S)")

# Bare code and machine output (issue #12): a line of code or a log record.
# A code line starts with a statement keyword, a comment, a decorator, a
# prompt or a closing bracket, or has code signs (=, brackets, a.b, a_b)
# while fewer than half of its tokens are plain words; a log record starts
# with a timestamp. A prose line: >= 4 tokens, >= 70 % plain words, or CJK.
PLAIN_WORD_RE = re.compile(r"[\"'(“‘]?[A-Za-z][a-z'’\-]*[\"')”’]?[,.;:!?]?[\"')”’]?")
CODE_SIGN_RE = re.compile(r"[=(){}\[\];<>_\\|$#@]|->|\w\.\w")
CODE_START_RE = re.compile(
    r"(?:def|class)\s+\w+\s*[(:]|(?:import\s+[\w.]+|from\s+[\w.]+\s+import)\b"
    r"|(?:if|elif|while|for|with|try|except|finally|else)\b.*:$"
    r"|(?:return|raise|yield|pass|break|continue)\b|#|@\w|>>>|\.\.\.|[}\])]|//"
)
LOG_START_RE = re.compile(r"(?:\d{4}-\d\d-\d\d[T ]|[A-Z][a-z]{2} +\d+ )\d\d:\d\d(?::\d\d)?\b")


def logical_lines(text: str, max_wrap_chars: int, wrapped_line_frac: float) -> list[str]:
    """The stripped non-empty lines of ``text`` with hard-wrapped lines
    joined: a line is a wrapped line (its sentence goes on in the next one)
    when the next line is not blank, it does not end in terminal
    punctuation, the text's wrap width (the 90th percentile of its line
    lengths: a long URL or code line does not set it) is at most
    ``max_wrap_chars`` (a hard-wrapped text: mail, plain-text and reST docs
    wrap at 70-80 columns) and it fills at least ``wrapped_line_frac`` of
    that width.
    Lines that are only a markup run ("=====") are dropped, as by the
    other line rules, and end a paragraph like a blank line."""
    raw = [ln.strip() for ln in text.splitlines()]
    raw = ["" if MARKUP_RUN_RE.fullmatch(ln) else ln for ln in raw]
    lens = sorted(len(ln) for ln in raw if ln)
    width = lens[(len(lens) - 1) * 9 // 10] if lens else 0
    if width > max_wrap_chars:
        return [ln for ln in raw if ln]
    fill = wrapped_line_frac * width
    out: list[str] = []
    cur: list[str] = []
    for i, ln in enumerate(raw):
        if not ln:
            continue
        cur.append(ln)
        nxt = raw[i + 1] if i + 1 < len(raw) else ""
        if not (nxt and len(ln) >= fill and not ln.endswith(TERMINAL_PUNCT)):
            out.append(" ".join(cur))
            cur = []
    return out


def punct_line_ratio(lines: list[str]) -> float:
    """Share of ``lines`` that end in terminal punctuation (FineWeb)."""
    return sum(1 for ln in lines if ln.endswith(TERMINAL_PUNCT)) / max(len(lines), 1)


def code_and_prose_shares(lines: list[str]) -> tuple[float, float, list[str]]:
    """(share of characters in code/log lines, share in prose lines, the
    lines that are not code) of stripped non-empty ``lines``."""
    total = code = prose = 0
    text_lines: list[str] = []
    plain = PLAIN_WORD_RE.fullmatch
    for ln in lines:
        n = len(ln)
        total += n
        if CJK_RE.search(ln):
            prose += n
            text_lines.append(ln)
            continue
        toks = ln.split()
        plain_share = sum(1 for t in toks if plain(t)) / len(toks)
        if LOG_START_RE.match(ln) or CODE_START_RE.match(ln) or (plain_share < 0.5 and CODE_SIGN_RE.search(ln)):
            code += n
            continue
        text_lines.append(ln)
        if plain_share >= 0.7 and len(toks) >= 4:
            prose += n
    return (code / total, prose / total, text_lines) if total else (0.0, 0.0, text_lines)


class TextMetricFilter(Configured, Stage):
    """Reject documents whose text metrics fall outside the given bounds.

    Scores: h_n_words, h_mean_word_len, h_mean_line_len, h_symbol_ratio,
    h_garbled_ratio, h_digit_ratio, h_short_line_ratio, h_punct_line_ratio,
    h_bullet_ratio, h_ellipsis_ratio, h_alpha_word_ratio, h_n_stop_words.
    Reasons: too_short, too_long, mean_word_len_low, mean_word_len_high,
    too_many_symbols, garbled, too_many_digits, too_many_short_lines,
    too_few_punct_lines, too_many_bullet_lines, too_many_ellipsis_lines,
    too_few_alpha_words, no_stop_words, code_or_log_lines.
    """

    name = "heuristics"
    score_columns = (
        "h_n_words", "h_mean_word_len", "h_mean_line_len", "h_symbol_ratio",
        "h_garbled_ratio", "h_digit_ratio", "h_short_line_ratio", "h_punct_line_ratio",
        "h_bullet_ratio", "h_ellipsis_ratio", "h_alpha_word_ratio", "h_n_stop_words",
        "h_code_line_ratio", "h_prose_line_ratio",
    )
    integer_scores = ("h_n_words", "h_n_stop_words")

    def __init__(
        self,
        *,
        min_words: int,
        min_words_zh: int,
        max_words: int,
        min_mean_word_len: float,
        max_mean_word_len: float,
        max_symbol_ratio: float,
        max_garbled_ratio: float,
        max_digit_ratio: float,
        short_line_chars: int,
        short_line_chars_zh: int,
        max_short_line_ratio: float,
        min_punct_line_ratio: float,
        max_bullet_ratio: float,
        max_ellipsis_ratio: float,
        min_alpha_word_ratio: float,
        min_stop_words: int,
        measure_after_ftfy: bool,
        max_wrap_chars: int,
        wrapped_line_frac: float,
        max_code_line_ratio: float,
        min_prose_line_ratio: float,
    ):
        """``measure_after_ftfy``: measure a text with mojibake as ftfy
        repairs it (the correction stage's settings), so that a page ftfy
        can repair is judged as it will be, not dropped before correction
        repairs it."""
        self.min_words = min_words
        self.min_words_zh = min_words_zh
        self.max_words = max_words
        self.min_mean_word_len = min_mean_word_len
        self.max_mean_word_len = max_mean_word_len
        self.max_symbol_ratio = max_symbol_ratio
        self.max_garbled_ratio = max_garbled_ratio
        self.max_digit_ratio = max_digit_ratio
        self.short_line_chars = short_line_chars
        self.short_line_chars_zh = short_line_chars_zh
        self.max_short_line_ratio = max_short_line_ratio
        self.min_punct_line_ratio = min_punct_line_ratio
        self.max_bullet_ratio = max_bullet_ratio
        self.max_ellipsis_ratio = max_ellipsis_ratio
        self.min_alpha_word_ratio = min_alpha_word_ratio
        self.min_stop_words = min_stop_words
        self.measure_after_ftfy = measure_after_ftfy
        self.max_wrap_chars = max_wrap_chars
        self.wrapped_line_frac = wrapped_line_frac
        self.max_code_line_ratio = max_code_line_ratio
        self.min_prose_line_ratio = min_prose_line_ratio

    def metrics(self, doc: Document) -> dict[str, float]:
        """All ``h_*`` metrics of ``doc`` (what ``__call__`` judges), on the
        text as ftfy repairs it when ``measure_after_ftfy`` (``doc.text`` is
        not changed: the correction stage repairs it, later)."""
        text = doc.text
        if self.measure_after_ftfy and GARBLED_HINT_RE.search(text):
            fixed = ftfy.fix_text(text, FTFY_CONFIG)
            if fixed != text:
                doc, text = Document(id=doc.id, text=fixed, lang=doc.lang), fixed
        zh = is_chinese(doc)
        n_chars = max(len(text), 1)
        lines = [ln for ln in map(str.strip, text.splitlines()) if ln and not MARKUP_RUN_RE.fullmatch(ln)]
        n_lines = max(len(lines), 1)
        line_lens = list(map(len, lines))
        short = self.short_line_chars_zh if zh else self.short_line_chars
        m: dict[str, float] = {
            "h_mean_line_len": sum(line_lens) / n_lines,
            "h_short_line_ratio": sum(1 for ln in lines if len(ln) < short and not ln.endswith(SHORT_LINE_EXEMPT_END)) / n_lines,
            "h_bullet_ratio": len(BULLET_LINE_RE.findall(text)) / n_lines,
            "h_ellipsis_ratio": len(ELLIPSIS_LINE_RE.findall(text)) / n_lines,
            "h_garbled_ratio": 0.0,
            "h_digit_ratio": sum(map(text.count, DIGITS)) / n_chars,
        }
        m["h_code_line_ratio"], m["h_prose_line_ratio"], text_lines = code_and_prose_shares(lines)
        # FineWeb's punctuated-line share over logical lines that are not
        # code (code lines are judged by the code/log rule; all logical lines
        # when every one is code)
        logical = logical_lines(text, self.max_wrap_chars, self.wrapped_line_frac)
        m["h_punct_line_ratio"] = punct_line_ratio(logical)
        if GARBLED_HINT_RE.search(text):
            m["h_garbled_ratio"] = sum(map(len, GARBLED_RE.findall(text))) / n_chars
        if zh:
            toks = TOKEN_RE.findall(text)
            m["h_n_stop_words"] = sum(1 for w in ZH_STOP_WORDS if w in text)
        else:
            # one CJK character = one unit here (TOKEN_RE); text without CJK:
            # the same tokens as words(doc), shared with the repetition stage
            has_cjk = CJK_RE.search(text) is not None
            toks = TOKEN_RE.findall(text) if has_cjk else words(doc)
            m["h_n_stop_words"] = len(EN_STOP_WORDS.intersection(map(str.lower, toks)))
            n_cjk = len(CJK_RE.findall(text)) if has_cjk else 0
            n_latin = len(toks) - n_cjk
            m["h_mean_word_len"] = (sum(map(len, toks)) - n_cjk) / n_latin if n_latin else 0.0
            # over the lines that are not code (code lines are judged by the
            # code/log rule; all lines when every line is code)
            judged = "\n".join(text_lines) if text_lines else text
            n_markup = len(MARKUP_RUN_RE.findall(judged))
            n_spaced = len(judged.split()) - n_markup
            n_letterless = len(LETTERLESS_RE.findall(judged)) - n_markup
            m["h_alpha_word_ratio"] = (n_spaced - n_letterless) / n_spaced if n_spaced else 0.0
        n_words = len(toks)
        m["h_n_words"] = n_words
        m["h_symbol_ratio"] = (
            max(text.count("#"), text.count("...") + text.count("…")) / n_words if n_words else 1.0
        )
        return m

    def __call__(self, doc: Document) -> str | None:
        m = self.metrics(doc)
        doc.scores.update(m)
        zh = is_chinese(doc)
        if m["h_garbled_ratio"] > self.max_garbled_ratio:
            return "garbled"
        if m["h_n_words"] < (self.min_words_zh if zh else self.min_words):
            return "too_short"
        if m["h_n_words"] > self.max_words:
            return "too_long"
        if not zh:
            if m["h_mean_word_len"] < self.min_mean_word_len:
                return "mean_word_len_low"
            if m["h_mean_word_len"] > self.max_mean_word_len:
                return "mean_word_len_high"
        if m["h_symbol_ratio"] > self.max_symbol_ratio:
            return "too_many_symbols"
        if m["h_digit_ratio"] > self.max_digit_ratio:
            return "too_many_digits"
        if m["h_bullet_ratio"] > self.max_bullet_ratio:
            return "too_many_bullet_lines"
        if m["h_ellipsis_ratio"] > self.max_ellipsis_ratio:
            return "too_many_ellipsis_lines"
        if m["h_short_line_ratio"] > self.max_short_line_ratio:
            return "too_many_short_lines"
        if m["h_punct_line_ratio"] < self.min_punct_line_ratio:
            return "too_few_punct_lines"
        if not zh and m["h_alpha_word_ratio"] < self.min_alpha_word_ratio:
            return "too_few_alpha_words"
        if m["h_n_stop_words"] < self.min_stop_words:
            return "no_stop_words"
        if m["h_code_line_ratio"] > self.max_code_line_ratio and m["h_prose_line_ratio"] < self.min_prose_line_ratio:
            return "code_or_log_lines"
        return None
