"""Yi's rule-based correction (arXiv 2403.04652 §2.1, Fig. 2): fix text
instead of dropping it.

Edits, each counted in ``doc.edits``:
  mojibake_fixed            text decoded with the wrong charset, repaired by
                            ftfy (UTF-8 read as cp1252/latin-1: "cafÃ©" → "café");
  bidi_controls_removed     explicit bidirectional embeddings, overrides and
                            isolates U+202A-U+202E, U+2066-U+2069 (the Trojan
                            Source set, CVE-2021-42574: they reorder what a
                            reader sees); the implicit marks LRM/RLM/ALM stay
                            (count = characters; ``strip_bidi_controls``);
  control_chars_removed     C0/C1 controls (not tab/newline), zero-width
                            spaces, word joiner, BOM, soft hyphens, invisible
                            math operators U+2061-U+2064, deprecated format
                            characters U+206A-U+206F, interlinear annotation
                            marks U+FFF9-U+FFFB, Unicode tag characters
                            outside an emoji flag sequence ("ASCII smuggling"),
                            a variation selector after another (a base takes
                            one) (count = characters); ZWJ, ZWNJ and single
                            variation selectors are text (emoji, Persian,
                            Indic shaping, CJK glyph variants) and stay;
  whitespace_normalized     CR/LF → LF, U+2028 → LF, U+2029 → blank line,
                            exotic spaces → space, runs of spaces inside a
                            line, trailing spaces, 3+ newlines → one blank
                            line (paragraphs kept; count = substitutions);
  boilerplate_lines_removed navigation, cookie banners, share buttons,
                            copyright lines, in English and Chinese (count = lines).
The only rejection: a document left empty ("empty_after_correction").
"""
from __future__ import annotations

import re

import ftfy

from pipeline.config import Configured
from pipeline.document import Document, Stage

# Only texts with a latin-1 supplement char or U+FFFD can hold mojibake that
# ftfy repairs; the rest (plain English, Chinese) skip ftfy entirely.
MOJIBAKE_HINT_RE = re.compile("[\x80-\xff]")
FTFY_CONFIG = ftfy.TextFixerConfig(
    unescape_html=False,
    fix_latin_ligatures=False,
    fix_character_width=False,  # keep Chinese full-width punctuation
    uncurl_quotes=False,
    fix_line_breaks=False,  # done (and counted) below
    remove_control_chars=False,  # done (and counted) below
    normalization=None,
    explain=False,
)
# Trojan Source (CVE-2021-42574): LRE RLE PDF LRO RLO, LRI RLI FSI PDI.
BIDI_CONTROL_RE = re.compile("[\u202a-\u202e\u2066-\u2069]+")
CONTROL_RE = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\u200b\u2060-\u2064\u206a-\u206f"
                        "\ufeff\ufff9-\ufffb\u00ad]+")
# Tag characters are text only inside an emoji tag sequence (black flag,
# tag letters, CANCEL TAG: the flags of England, Scotland, Wales); group 1
# keeps those. A variation selector after another selects nothing.
_VS = "\ufe00-\ufe0f\U000e0100-\U000e01ef"
INVISIBLE_RE = re.compile(f"(\U0001f3f4[\U000e0020-\U000e007e]+\U000e007f)|[\U000e0000-\U000e007f]+"
                          f"|(?<=[{_VS}])[{_VS}]+")
# One scan decides whether any of the above can occur (most text: none).
INVISIBLE_HINT_RE = re.compile(f"[\U000e0000-\U000e007f{_VS}]")
WHITESPACE_RULES = [
    (re.compile(r"\r\n?"), "\n"),
    (re.compile("\u2028"), "\n"),
    (re.compile("\u2029"), "\n\n"),
    (re.compile("[\u00a0\u2000-\u200a\u202f\u205f]"), " "),
    (re.compile(r"(?<=\S)[ \t]{2,}(?=\S)"), " "),
    (re.compile("[ \t\u3000]+$", re.M), ""),
    (re.compile(r"\n{3,}"), "\n\n"),
]
# A line is boilerplate if it is short and says one of these.
# A line that is one of these words (then maybe »›>) is a menu item.
_MENU_WORDS = ("home", "menu", "search", "login", "log in", "sign in", "sign up", "register", "subscribe", "share",
               "tweet", "print", "read more", "continue reading", "previous", "next", "previous page", "next page",
               "older posts", "newer posts")
_ZH_MENU_WORDS = ("首页", "登录", "注册", "搜索")
_EN = [
    r"\ball rights reserved\b", r"\bcopyright\s*(?:©|\(c\)|\d{4})", r"©\s*\d{4}",
    r"\bclick here\b", r"\bskip to (?:main )?content\b", r"\bback to top\b",
    r"\bshare (?:this )?(?:on|via|to) (?:facebook|twitter|linkedin|whatsapp|e-?mail|pinterest|reddit|x)\b",
    r"\b(?:we|this (?:web)?site) uses? cookies\b", r"\baccept (?:all )?cookies\b",
    r"\bcookie (?:policy|settings|preferences)\b", r"\bprivacy policy\b",
    r"\bterms (?:of use|of service|and conditions)\b", r"\bsubscribe to (?:our )?newsletter\b",
    r"^\s*(?:" + "|".join(_MENU_WORDS) + r")\s*[»›>]*\s*$",
]
_ZH = [
    "版权所有", "保留所有权利", "点击这里", "点击此处", "上一页", "下一页", "上一篇", "下一篇",
    "返回顶部", "返回首页", "分享到", "扫一扫", "关注我们", "联系我们", "免责声明", "网站地图",
    "设为首页", "加入收藏", "相关阅读", "责任编辑", r"ICP备\s*\d+", r"^\s*(?:" + "|".join(_ZH_MENU_WORDS) + r")\s*$",
]
# "Home | About | Contact", "首页 > 新闻 > 国内": 3+ items of 1-2 short words,
# each starting with a letter, between separators; "·" and ">" need spaces
# around them (not a name like 理查德·斯托曼, not "<foo> <bar>"); a markdown
# table row starts with "|"; "-h|-?|--help" has no letter first.
_ITEM = r"[^\W\d_][^\s|·•»›<>()]{1,19}(?: [^\s|·•»›<>()]{1,20})?"
_SEP = r"(?:\s*[|»›]\s*|\s+[·•>]\s+)"
_NAV = rf"^\s*{_ITEM}(?:{_SEP}{_ITEM}){{2,}}\s*$"
BOILERPLATE_RE = re.compile("|".join(_EN + _ZH + [_NAV]), re.I)
# A cheap test that every line BOILERPLATE_RE matches passes (most content
# lines fail it and skip the regex, 3x faster on data/sample): a literal
# every _EN/_ZH pattern needs (lower case: re.I), a nav separator, or a line
# that is a menu word (with trailing »›> and spaces). Sound for lines without
# the four non-ASCII characters that re.I matches to ASCII letters (İ ı ſ K:
# tests/test_correction.py checks the list); those lines always take the regex.
_KEYS = ("all rights reserved", "copyright", "click here", "skip to ", "back to top", "share ", "cookie",
         "privacy policy", "terms ", "subscribe to", "©", "版权所有", "保留所有权利", "点击这里", "点击此处", "上一页",
         "下一页", "上一篇", "下一篇", "返回顶部", "返回首页", "分享到", "扫一扫", "关注我们", "联系我们", "免责声明",
         "网站地图", "设为首页", "加入收藏", "相关阅读", "责任编辑", "备")
_NAV_SEPARATORS = "|»›·•>"
# Searched in the lower-cased line (lower() leaves the CJK keys and the
# separators as they are).
_PREFILTER_RE = re.compile(f"[{re.escape(_NAV_SEPARATORS)}]|" + "|".join(map(re.escape, _KEYS)))
_MENU = frozenset(_MENU_WORDS + _ZH_MENU_WORDS)
IGNORECASE_ASCII_TWINS = "\u0130\u0131\u017f\u212a"
_TWIN_RE = re.compile(f"[{IGNORECASE_ASCII_TWINS}]")


def maybe_boilerplate(line: str) -> bool:
    """False only for a line BOILERPLATE_RE cannot match."""
    return (_PREFILTER_RE.search(line.lower()) is not None
            or line.strip().rstrip("»›>").rstrip().lower() in _MENU
            or (not line.isascii() and _TWIN_RE.search(line) is not None))


class RuleBasedCorrection(Configured, Stage):
    """Repair encoding, controls and whitespace; drop boilerplate lines."""

    name = "correction"

    def __init__(self, *, fix_mojibake: bool, strip_bidi_controls: bool, max_boilerplate_line_chars: int):
        """``max_boilerplate_line_chars``: only lines up to this length can be
        boilerplate (a long paragraph that mentions "click here" is content)."""
        self.fix_mojibake = fix_mojibake
        self.strip_bidi_controls = strip_bidi_controls
        self.max_boilerplate_line_chars = max_boilerplate_line_chars

    def __call__(self, doc: Document) -> str | None:
        text = doc.text
        if self.fix_mojibake and MOJIBAKE_HINT_RE.search(text):
            fixed = ftfy.fix_text(text, FTFY_CONFIG)
            if fixed != text:
                doc.add_edit("mojibake_fixed")
                text = fixed
        if self.strip_bidi_controls and BIDI_CONTROL_RE.search(text):
            cleaned = BIDI_CONTROL_RE.sub("", text)
            doc.add_edit("bidi_controls_removed", len(text) - len(cleaned))
            text = cleaned
        cleaned = CONTROL_RE.sub("", text) if CONTROL_RE.search(text) else text
        if INVISIBLE_HINT_RE.search(cleaned):
            cleaned = INVISIBLE_RE.sub(lambda m: m.group(1) or "", cleaned)
        if len(cleaned) != len(text):
            doc.add_edit("control_chars_removed", len(text) - len(cleaned))
            text = cleaned
        n_ws = 0
        for pattern, repl in WHITESPACE_RULES:
            text, n = pattern.subn(repl, text)
            n_ws += n
        doc.add_edit("whitespace_normalized", n_ws)
        text = self._drop_boilerplate(text, doc)
        text = text.strip()
        doc.text = text
        return None if text else "empty_after_correction"

    def _drop_boilerplate(self, text: str, doc: Document) -> str:
        limit = self.max_boilerplate_line_chars
        search, maybe = BOILERPLATE_RE.search, maybe_boilerplate
        lines = text.split("\n")
        kept = [ln for ln in lines if len(ln) > limit or not (maybe(ln) and search(ln))]
        doc.add_edit("boilerplate_lines_removed", len(lines) - len(kept))
        if len(kept) == len(lines):
            return text
        return re.sub(r"\n{3,}", "\n\n", "\n".join(kept))
