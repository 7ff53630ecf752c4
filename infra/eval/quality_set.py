"""Build the held-out filtering evaluation set data/eval/quality/{dev,test}.jsonl.gz.

  python infra/eval/quality_set.py [--src build/eval-src] [--out data/eval/quality]

Reads only files already downloaded into --src (`make eval-src`), works
offline and deterministically: sorted inputs, generators seeded per category,
ids from content hashes, gzip mtime 0; a rebuild reproduces the files byte for
byte.

Every record: id, text, lang_gold (or null), label ("keep"/"drop"), set
("easy", "hard", "mojibake_repairable"), category, source, plus ``origin``
(the source document's key) and ``transform`` (how a derived document was
made from real text; "" for real text as it is).

Rules (out/brief12/RULES.md):
  - only bucket-0 documents of sources shared with training
    (sources.bucket(source, key) == 0);
  - nothing from data/sample or data/reference: a document whose text, or any
    paragraph / line of >= 60 characters (normalized), is in
    sources.training_fingerprints() is left out (tests/test_eval_data.py
    checks the shipped files again);
  - dev / test split by a hash of the source document (``origin``), so
    chunks of one page never straddle the splits;
  - each source chunk is used by at most one category (a mojibake'd or
    shuffled copy never meets its original in the dedup stages);
  - each source paragraph is in at most one document of the whole set (both
    splits, all categories): the prose pools take a paragraph where it first
    occurs (FAQ pages only as faq documents), and no keep document shares
    a dedup key (``dedup_keys``: a normalized line of >= 20 characters, or a
    50-token window, as the pipeline's paragraph / substring dedup match
    them) with any other document; the document added first stays. Drop
    documents may share keys among themselves (a site's navigation links):
    dedup only drops them harder.

Easy keep documents pass the plain Gopher / C4 / FineWeb rules of
bench/quality_baseline.py with every threshold tightened by 30 % (EASY_MARGIN).
Junk is real text made junk (seeded): shuffled, repeated, decorated,
mis-decoded, transliterated, or real lines laid into templates.
"""
from __future__ import annotations

import argparse
import gzip
import hashlib
import io
import json
import random
import re
import sys
from collections import Counter, defaultdict
from functools import lru_cache
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(REPO / "bench"))

import xxhash  # noqa: E402

from infra.eval import sources as S  # noqa: E402
from pipeline.config import load_config  # noqa: E402
from pipeline.dedup.tokens import tokens as dedup_tokens  # noqa: E402
from pipeline.document import normalize_for_hash  # noqa: E402
from quality_baseline import rules_reason  # noqa: E402

SEED = 20261129
# Easy keep documents pass the baseline rules with every threshold tightened by this share.
EASY_MARGIN = 0.3
MAX_CHARS = 2800
SPLITS = ("dev", "test")
# Documents per split.
N_EASY_KEEP = {"en": 500, "zh": 500}
N_EASY_DROP = 125            # each of 8 easy junk categories
N_HARD_KEEP = 92             # each of 6 hard keep categories
N_HARD_DROP = 61             # each of 9 hard junk categories
N_MOJIBAKE_REPAIRABLE = 100
# Keep-labelled documents are at least Gopher's minimum length: words (en), CJK characters (zh).
MIN_KEEP = {"en": 50, "zh": 75}
# mixed_zh_en: share of Latin among the letters (CJK + Latin) of a Chinese chunk.
MIXED_LATIN = (0.4, 0.8)
# Chinese prose chunks: (lo, hi) characters (chunk_paragraphs).
ZH_CHUNK = (150, 500)
# What the pipeline's dedup stages match on (config/default.toml): lines of at least
# [dedup.paragraph] min_paragraph_chars normalized characters, windows of [dedup.substring] window tokens.
_CFG = load_config()
DEDUP_LINE_CHARS = int(_CFG.get("dedup.paragraph.min_paragraph_chars"))
DEDUP_WINDOW = int(_CFG.get("dedup.substring.window"))
# A prose chunk in which one line (>= DEDUP_LINE_CHARS normalized characters, digits
# masked) occurs this many times is a listing, not prose (LibreOffice help's stacked
# "menu 「File - Export」, page 3 / 4 / 5" lines, box-drawn tables): out of the pools.
LISTING_REPEATS = 3

EASY_DROP = ("other_language", "mojibake", "nav_boilerplate", "keyword_spam", "repeated_lines", "too_short",
             "symbol_heavy", "lorem_ipsum")
HARD_KEEP = ("verse", "code_prose", "mixed_zh_en", "number_heavy", "dialog", "faq")
HARD_DROP = ("word_salad", "boilerplate_heavy", "japanese", "korean", "log_dump", "csv_dump", "transliteration",
             "bare_code", "template_text")

CJK_RE = re.compile("[\u3400-\u4dbf\u4e00-\u9fff]")


def vocabulary(text: str, lang: str, *, min_latin: int) -> list[str]:
    """Sorted distinct words of a real text, to build junk from: English
    words of at least ``min_latin`` letters (lower-cased), or Chinese jieba
    words of two or more CJK characters."""
    if lang == "en":
        return sorted({w.lower() for w in re.findall(r"[A-Za-z]{%d,}" % min_latin, text)})
    import jieba

    return sorted({w for w in jieba.lcut(text) if len(w) >= 2 and CJK_RE.match(w)})
LATIN_RE = re.compile("[A-Za-z]")


def rng_for(name: str) -> random.Random:
    return random.Random(f"{SEED}:{name}")


def split_of(source: str, origin: str) -> str:
    return SPLITS[xxhash.xxh64_intdigest(f"split:{source}:{origin}".encode("utf-8")) % 2]


def doc_id(category: str, text: str) -> str:
    return hashlib.sha256(f"{category}\n{text}".encode("utf-8")).hexdigest()[:20]


def dedup_keys(text: str) -> set[int]:
    """Hashes of what the pipeline's dedup stages match on: each line of
    ``text`` normalized as paragraph dedup does (normalize_for_hash) with at
    least DEDUP_LINE_CHARS characters and a token, and each window of
    DEDUP_WINDOW tokens (pipeline/dedup/tokens.py, as substring dedup reads
    them). A line without a token (a reST underline, a table rule) is left
    out: cutting it takes no token away, so it cannot change a document's fate."""
    keys = set()
    for line in text.split("\n"):
        norm = normalize_for_hash(line)
        if len(norm) >= DEDUP_LINE_CHARS and dedup_tokens(norm):
            keys.add(xxhash.xxh64_intdigest(("L\x1f" + norm).encode("utf-8")))
    toks = dedup_tokens(text)
    for i in range(len(toks) - DEDUP_WINDOW + 1):
        keys.add(xxhash.xxh64_intdigest(("W\x1f" + "\x1f".join(toks[i:i + DEDUP_WINDOW])).encode("utf-8")))
    return keys


def is_listing(chunk: str) -> bool:
    """One line (normalized, >= DEDUP_LINE_CHARS characters, digits masked)
    occurs LISTING_REPEATS times or more."""
    lines = [re.sub(r"\d+", "0", normalize_for_hash(ln)) for ln in chunk.split("\n")]
    counts = Counter(ln for ln in lines if len(ln) >= DEDUP_LINE_CHARS)
    return bool(counts) and max(counts.values()) >= LISTING_REPEATS


class Builder:
    def __init__(self):
        self.fp = S.training_fingerprints()
        self.all_keys: set[int] = set()    # dedup_keys of every document added
        self.keep_keys: set[int] = set()   # ... of the keep documents
        self.docs: dict[str, list[dict]] = {s: [] for s in SPLITS}
        self.counts: Counter = Counter()
        self.seen_texts: set[str] = set()
        self.sample_urls = self._sample_urls()

    @staticmethod
    def _sample_urls() -> set[str]:
        import pyarrow.parquet as pq

        return set(pq.read_table(REPO / "data" / "sample_labels.parquet", columns=["url"]).column("url").to_pylist())

    def clean(self, text: str) -> bool:
        """No piece of ``text`` is in any training text."""
        return not (S.pieces(text) & self.fp)

    def full(self, split: str, set_: str, category: str, n: int, lang: str | None = None) -> bool:
        return self.counts[(split, set_, category, lang)] >= n

    def add(self, *, text: str, label: str, set_: str, category: str, source: str, origin: str,
            lang_gold: str | None, n: int, transform: str = "", count_lang: str | None = None) -> bool:
        """Add one document if its split still has room; True if added."""
        text = text.strip()
        split = split_of(source, origin)
        key = (split, set_, category, count_lang)
        if self.counts[key] >= n or not text:
            return False
        norm = S.normalize(text)
        if norm in self.seen_texts or not self.clean(text):
            return False
        if label == "keep" and not keep_length_ok(text, lang_gold):
            return False
        # no keep document shares a line / token window with another document
        keys = dedup_keys(text)
        if keys & (self.all_keys if label == "keep" else self.keep_keys):
            return False
        self.all_keys |= keys
        if label == "keep":
            self.keep_keys |= keys
        self.seen_texts.add(norm)
        self.counts[key] += 1
        self.docs[split].append({"id": doc_id(category, text), "text": text, "lang_gold": lang_gold,
                                 "label": label, "set": set_, "category": category, "source": source,
                                 "origin": origin, "transform": transform})
        return True


# ----------------------------------------------------------- real text --
def chunk_paragraphs(paras: list[str], lo: int = 300, hi: int = 1500, max_para: int | None = None) -> list[str]:
    """Consecutive paragraphs in chunks of lo..hi characters; a paragraph
    longer than hi is a chunk of its own if it is at most max_para long
    (default: left out)."""
    out, cur = [], []
    for p in paras:
        if len(p) > hi:
            if max_para and len(p) <= max_para:
                if sum(map(len, cur)) >= lo:
                    out.append("\n\n".join(cur))
                cur = []
                out.append(p)
            continue
        if cur and sum(map(len, cur)) + len(p) > hi:
            if sum(map(len, cur)) >= lo:
                out.append("\n\n".join(cur))
            cur = []
        cur.append(p)
        if sum(map(len, cur)) >= (lo + hi) // 2:
            out.append("\n\n".join(cur))
            cur = []
    if cur and sum(map(len, cur)) >= lo:
        out.append("\n\n".join(cur))
    return out


@lru_cache(maxsize=1)
def english_paragraphs() -> frozenset[str]:
    """Normalized paragraphs of the English handbook and GNOME help (all
    pages): a translated page keeps some of them untranslated, and those are
    left out of every non-English pool (else an "other language" document is
    English, and a Chinese chunk a near duplicate of an English one)."""
    out = set()
    for _, page in S.handbook_pages("en-US"):
        out |= {S.normalize(p) for p in S.handbook_paragraphs(page)}
    for _, page in S.gnome_pages("C"):
        out |= {S.normalize(p) for p in S.mallard_paragraphs(page)}
    return frozenset(out)


def translated(paras: list[str]) -> list[str]:
    en = english_paragraphs()
    return [p for p in paras if S.normalize(p) not in en]


def prose_paragraphs(blocks: list[tuple[str, str]], min_len: int = 40) -> list[str]:
    return [t for tag, t in blocks if tag == "p" and len(t) >= min_len]


def prose_pool(lang: str) -> list[tuple[str, str, str]]:
    """(source, origin, chunk) of clean prose in ``lang`` (en / zh), bucket 0.
    A paragraph (a fortune's line) is taken where it first occurs (sources
    and pages in a fixed order): a footer, a note, a step or an attribution
    line that several pages repeat is in one chunk only. Chunks that are
    listings (``is_listing``) are left out. Debian FAQ paragraphs that a faq
    document may take (``debian_faq_items``) are not prose here."""
    hbs = {"en": ["en-US"], "zh": ["zh-CN", "zh-TW"]}[lang]
    gn = {"en": "C", "zh": "zh_CN"}[lang]
    out = []
    faq_pkg = {"en": "debian-faq", "zh": "debian-faq-zh-cn"}[lang]
    seen: set[str] = {normalize_for_hash(p) for pkg, _, _, _, paras in debian_faq_items() if pkg == faq_pkg
                      for p in paras}

    def first_use(paras):
        keep = []
        for p in paras:
            norm = normalize_for_hash(p)
            if norm not in seen:
                seen.add(norm)
                keep.append(p)
        return keep

    def chunks(paras):
        if lang == "en":
            found = chunk_paragraphs(first_use([p for p in paras if len(p) >= 40]))
        else:
            # Chinese: untranslated (mostly Latin) paragraphs out; denser script, so
            # chunks of ZH_CHUNK characters (>= 75 CJK characters each, see MIN_KEEP)
            paras = first_use([p for p in translated(paras) if len(p) >= 15 and S.cjk_share(p) >= 0.3])
            found = chunk_paragraphs(paras, *ZH_CHUNK, max_para=MAX_CHARS)
        return [c for c in found if not is_listing(c)]

    for key, page in [kp for hb in hbs for kp in S.handbook_pages(hb)]:
        if S.is_eval("debian-handbook", key):
            out += [("debian-handbook", key, c) for c in chunks(S.handbook_paragraphs(page))]
    for key, page in S.gnome_pages(gn):
        if S.is_eval("gnome-user-docs", key):
            out += [("gnome-user-docs", key, c) for c in chunks(S.mallard_paragraphs(page))]
    if lang == "zh":
        for source, key, paras in S.zh_doc_sections():
            if S.is_eval(bucket_source(source), key):
                out += [(source, key, c) for c in chunks(paras)]
    for key, page in faq_pages(faq_pkg):
        if S.is_eval(faq_pkg, key):
            out += [(faq_pkg, key, c) for c in chunk_paragraphs(first_use(prose_paragraphs(S.html_blocks(page))))
                    if not is_listing(c)]
    # long prose fortunes (quotations, anecdotes; not verse: lines run long)
    for pkg in {"en": ("fortunes", "fortunes-min"), "zh": ("fortunes-zh",)}[lang]:
        src = "fortunes-zh" if lang == "zh" else "fortunes"
        for key, text in S.fortunes(pkg):
            lines = [ln.strip() for ln in text.split("\n") if ln.strip()]
            if not S.is_eval(src, key) or len(text) < (300 if lang == "en" else 150) or len(text) > 1500 or key.startswith(("zippy/", "ascii-art/")):
                continue
            if sum(len(ln) for ln in lines) / len(lines) < (50 if lang == "en" else 25):
                continue
            lines = first_use(lines)
            if sum(map(len, lines)) >= (300 if lang == "en" else 150):
                out.append((src, key, "\n".join(lines)))
    if lang == "en":
        for key, text in S.lee_corpus():
            if S.is_eval("gensim-lee", key) and 400 <= len(text) <= MAX_CHARS:
                out.append(("gensim-lee", key, text))
    return out


def bucket_source(source: str) -> str:
    """The name the bucket rule hashes: the two scripts of the New Maintainers'
    Guide are one text, so one name (a section is in one bucket in both)."""
    return "maint-guide" if source.startswith("maint-guide-") else source


def _length(text: str, lang: str) -> int:
    return len(CJK_RE.findall(text)) if lang == "zh" else len(re.findall(r"[^\W_]+", text))


def keep_length_ok(text: str, lang: str | None) -> bool:
    """A keep-labelled document is a real page's worth of text: Gopher's
    minimum (>= 50 words; Chinese >= 75 CJK characters)."""
    if lang == "zh" or (lang is None and len(CJK_RE.findall(text)) > len(re.findall(r"[A-Za-z]+", text))):
        return len(CJK_RE.findall(text)) >= MIN_KEEP["zh"]
    return len(re.findall(r"[^\W_]+", text)) >= MIN_KEEP["en"]


def faq_pages(pkg: str) -> list[tuple[str, str]]:
    d = S.deb(pkg)
    return [(p.rsplit("/", 1)[1], d.text(p)) for p in d.glob("usr/share/doc/debian/FAQ/", ".html")
            if "index" not in p]


# English function words that are not also common words of the handbook's other
# Latin-script languages (no "in", "is", "to", "on", "as", "an", "die", "will"...).
EN_MARKERS = frozenset("""the and of that this with you are for which from have should when their these be can not it if
by or some might only but all there they was were been has would could what your its into than then also more such
other any each how we our""".split())
SCRIPT_RE = {"ja": re.compile("[\u3040-\u30ff\u3400-\u4dbf\u4e00-\u9fff]"), "ko": re.compile("[\uac00-\ud7af]")}


def in_language(para: str, code: str) -> bool:
    """A script check (not the pipeline's langid) that a paragraph of a
    translated page is translated: Japanese / Korean paragraphs are mostly in
    their script; other languages' paragraphs are not English (English
    function words are under 15 % of their Latin words)."""
    letters = re.findall(r"[^\W\d_]", para)
    if code in SCRIPT_RE:
        return len(SCRIPT_RE[code].findall(para)) >= 0.5 * max(len(letters), 1)
    words = re.findall(r"[a-z]+", para.lower())
    return len(words) < 8 or sum(w in EN_MARKERS for w in words) < 0.15 * len(words)


def other_lang_pool(langs: list[str]) -> dict[str, list[tuple[str, str, str]]]:
    out: dict[str, list] = defaultdict(list)
    for hb in langs:
        code = hb.split("-")[0]
        for key, page in S.handbook_pages(hb):
            if S.is_eval("debian-handbook", key):
                out[code] += [("debian-handbook", key, c)
                              for c in chunk_paragraphs(translated([p for p in S.handbook_paragraphs(page)
                                                                    if len(p) >= 20 and in_language(p, code)]),
                                                        lo=300, hi=1600)]
    return out


def gnome_lang_pool(lang: str) -> list[tuple[str, str, str]]:
    out = []
    for key, page in S.gnome_pages(lang):
        if S.is_eval("gnome-user-docs", key):
            out += [("gnome-user-docs", key, c)
                    for c in chunk_paragraphs(translated([p for p in S.mallard_paragraphs(page)
                                                          if len(p) >= 20 and in_language(p, lang)]),
                                              lo=300, hi=1600)]
    return out


def shuffled(items: list, name: str) -> list:
    items = sorted(items)
    rng_for(name).shuffle(items)
    return items


# ---------------------------------------------------------- transforms --
def sentences(text: str) -> list[str]:
    return [s.strip() for s in re.split(r"(?<=[.!?。！？])\s*", text) if len(s.strip()) > 3]


def word_salad(text: str, lang: str, rng: random.Random) -> str:
    """The document's own words in random order, laid out as sentences."""
    if lang == "zh":
        import jieba

        toks = [t for t in jieba.lcut(text.replace("\n", "")) if re.search(r"\w", t)]
        rng.shuffle(toks)
        out, i = [], 0
        while i < len(toks):
            k = rng.randint(8, 18)
            out.append("".join(toks[i:i + k]) + "。")
            i += k
        paras = []
        while out:
            k = rng.randint(3, 6)
            paras.append("".join(out[:k]))
            out = out[k:]
        return "\n\n".join(paras)
    toks = re.findall(r"[A-Za-z][A-Za-z'\-]*|\d+", text)
    toks = [t if t.isupper() and len(t) > 1 else t.lower() for t in toks]
    rng.shuffle(toks)
    out, i = [], 0
    while i < len(toks):
        k = rng.randint(8, 20)
        s = " ".join(toks[i:i + k])
        out.append(s[:1].upper() + s[1:] + ".")
        i += k
    paras = []
    while out:
        k = rng.randint(3, 6)
        paras.append(" ".join(out[:k]))
        out = out[k:]
    return "\n\n".join(paras)


def mojibake(text: str, how: str) -> str:
    if how == "utf8-as-latin1":
        return text.encode("utf-8").decode("latin-1")
    if how == "utf8-as-cp1252":
        return text.encode("utf-8").decode("cp1252", errors="replace")
    if how == "utf8-as-gbk":
        return text.encode("utf-8").decode("gbk", errors="replace")
    if how == "gbk-as-utf8":
        return text.encode("gbk", errors="replace").decode("utf-8", errors="replace")
    if how == "utf8-as-cp1252-twice":
        once = text.encode("utf-8").decode("cp1252", errors="replace")
        return once.encode("utf-8").decode("cp1252", errors="replace")
    raise ValueError(how)


def ftfy_fix_encoding(text: str) -> str:
    """ftfy's encoding repair only (ftfy.fix_text also narrows full-width
    punctuation, so it never gives Chinese text back byte for byte)."""
    import ftfy

    return ftfy.fix_encoding(text)


def ftfy_fix(text: str) -> str:
    import ftfy

    return ftfy.fix_text(text)


_CYR = dict(zip("абвгдеёжзийклмнопрстуфхцчшщъыьэюя",
                ["a", "b", "v", "g", "d", "e", "ë", "zh", "z", "i", "j", "k", "l", "m", "n", "o", "p", "r", "s", "t",
                 "u", "f", "h", "c", "ch", "sh", "shch", "ʺ", "y", "ʹ", "è", "ju", "ja"]))


def cyr_translit(text: str) -> str:
    out = []
    for ch in text:
        low = ch.lower()
        if low in _CYR:
            t = _CYR[low]
            out.append(t.capitalize() if ch != low else t)
        else:
            out.append(ch)
    return "".join(out)


def pinyin(text: str, style_name: str) -> str:
    dest = S.SRC_DIR / "unpacked" / "pypinyin-wheel"
    if not (dest / "pypinyin" / "__init__.py").is_file():
        S.wheel("pypinyin").extractall(dest)
    if str(dest) not in sys.path:
        sys.path.insert(0, str(dest))
    import pypinyin

    style = {"tone": pypinyin.Style.TONE, "tone3": pypinyin.Style.TONE3, "normal": pypinyin.Style.NORMAL}[style_name]
    lines = []
    for line in text.split("\n"):
        syl = pypinyin.lazy_pinyin(line, style=style, errors="default")
        s = " ".join(x.strip() for x in syl if x.strip())
        s = re.sub(r"\s+([，。！？、；：,.!?;:])", r"\1", s)
        lines.append(s)
    return "\n".join(lines)


LOREM = ("lorem ipsum dolor sit amet consectetur adipiscing elit sed do eiusmod tempor incididunt ut labore et dolore "
         "magna aliqua ut enim ad minim veniam quis nostrud exercitation ullamco laboris nisi ut aliquip ex ea commodo "
         "consequat duis aute irure dolor in reprehenderit in voluptate velit esse cillum dolore eu fugiat nulla "
         "pariatur excepteur sint occaecat cupidatat non proident sunt in culpa qui officia deserunt mollit anim id "
         "est laborum").split()


# --------------------------------------------------------------- build --
def build(src: Path) -> Builder:
    S.SRC_DIR = src
    b = Builder()
    pools = {lang: shuffled(prose_pool(lang), f"pool:{lang}") for lang in ("en", "zh")}
    used: set[str] = set()       # chunks taken by a keep category (each is used once)
    derived: dict[str, set] = defaultdict(set)

    def take(lang: str, pred=lambda t: True, cat: str | None = None):
        """Chunks of the pool: a keep category (cat None) takes each chunk
        once across keep categories; a junk category made from real text
        (cat given) may reuse a kept chunk (its text differs: shuffled,
        repeated, decorated...), once within that category."""
        seen = used if cat is None else derived[cat]
        for item in pools[lang]:
            if item[2] not in seen and pred(item[2]):
                seen.add(item[2])
                yield item

    def digit_share(t):
        n = sum(1 for c in t if not c.isspace())
        return sum(c.isdigit() for c in t) / max(n, 1)

    def latin_share(t):
        n = len(CJK_RE.findall(t)) + len(LATIN_RE.findall(t))
        return len(LATIN_RE.findall(t)) / max(n, 1)

    # --- hard keep: number-heavy and mixed zh/en prose first (they pick from the same pools)
    for lang in ("en", "zh"):
        for source, origin, text in take(lang, lambda t: digit_share(t) >= 0.035):
            b.add(text=text, label="keep", set_="hard", category="number_heavy", source=source, origin=origin,
                  lang_gold=lang, n=N_HARD_KEEP // 2 + (lang == "en"), count_lang=lang)
    # mixed: a third or more of the letters Latin (English phrases, names, commands
    # between Chinese); Chinese prose with a product name or two is clean_zh
    for source, origin, text in take("zh", lambda t: MIXED_LATIN[0] <= latin_share(t) <= MIXED_LATIN[1]):
        b.add(text=text, label="keep", set_="hard", category="mixed_zh_en", source=source, origin=origin,
              lang_gold="zh", n=N_HARD_KEEP)

    # --- easy keep: clean prose passing the baseline rules with margin 0.5
    for lang in ("en", "zh"):
        for source, origin, text in take(lang):
            if rules_reason(text, margin=EASY_MARGIN) is not None:
                used.discard(text)
                continue
            if not b.add(text=text, label="keep", set_="easy", category=f"clean_{lang}", source=source,
                         origin=origin, lang_gold=lang, n=N_EASY_KEEP[lang]):
                used.discard(text)
            if all(b.full(s, "easy", f"clean_{lang}", N_EASY_KEEP[lang]) for s in SPLITS):
                break

    # --- mojibake that ftfy repairs exactly (keep, reported on its own)
    rng = rng_for("mojibake_repairable")
    for lang, n in (("zh", 60), ("en", 40)):
        for source, origin, text in take(lang):
            if b.full(split_of(source, origin), "mojibake_repairable", "mojibake_repairable", n, lang):
                used.discard(text)
                continue
            hows = ["utf8-as-latin1", "utf8-as-cp1252"] + (["gbk-as-utf8", "utf8-as-gbk"] if lang == "zh" else [])
            rng.shuffle(hows)
            for how in hows:   # the first way of mis-decoding that ftfy undoes exactly
                bad = mojibake(text, how)
                if bad != text and ftfy_fix_encoding(bad) == text:
                    break
            else:
                used.discard(text)
                continue
            b.add(text=bad, label="keep", set_="mojibake_repairable", category="mojibake_repairable", source=source,
                  origin=origin, lang_gold=lang, n=n, transform=how, count_lang=lang)
            if all(b.full(s, "mojibake_repairable", "mojibake_repairable", n, lang) for s in SPLITS):
                break

    # --- derived junk from the rest of the pools
    rng = rng_for("word_salad")
    for lang in ("en", "zh"):
        for source, origin, text in take(lang, cat="word_salad"):
            b.add(text=word_salad(text, lang, rng), label="drop", set_="hard", category="word_salad", source=source,
                  origin=origin, lang_gold=lang, n=N_HARD_DROP // 2 + (lang == "en"), transform="words shuffled",
                  count_lang=lang)
            if all(b.full(s, "hard", "word_salad", N_HARD_DROP // 2 + (lang == "en"), lang) for s in SPLITS):
                break

    rng = rng_for("transliteration")
    for source, origin, text in take("zh", cat="transliteration"):
        style = rng.choice(["tone", "tone3", "normal"])
        b.add(text=pinyin(text, style), label="drop", set_="hard", category="transliteration", source=source,
              origin=origin, lang_gold=None, n=N_HARD_DROP - 15, transform=f"pinyin ({style})", count_lang="zh")
        if all(b.full(s, "hard", "transliteration", N_HARD_DROP - 15, "zh") for s in SPLITS):
            break

    rng = rng_for("mojibake")
    others = other_lang_pool(["ru-RU", "el-GR", "fa-IR"])
    mpool = [(lang, it) for lang in ("zh",) for it in take(lang, cat="mojibake")][:900] + \
        [(lang, it) for lang in sorted(others) for it in shuffled(others[lang], f"moj:{lang}")[:200]]
    for lang, (source, origin, text) in shuffled(mpool, "mojibake-order"):
        how = rng.choice(["utf8-as-cp1252", "utf8-as-gbk", "utf8-as-cp1252-twice"])
        bad = mojibake(text, how)
        if ftfy_fix(bad) == text or ftfy_fix_encoding(bad) == text:
            continue
        b.add(text=bad, label="drop", set_="easy", category="mojibake", source=source, origin=origin, lang_gold=None,
              n=N_EASY_DROP, transform=how)

    rng = rng_for("repeated_lines")
    for lang in ("en", "zh"):
        for source, origin, text in take(lang, cat="repeated_lines"):
            sents = sentences(text)
            if len(sents) < 3:
                continue
            k = rng.randint(1, 3)
            block = sents[:k]
            lines = block * rng.randint(8, 20)
            if rng.random() < 0.5:
                lines = sents[k:k + 2] + lines
            b.add(text="\n".join(lines), label="drop", set_="easy", category="repeated_lines", source=source,
                  origin=origin, lang_gold=lang, n=N_EASY_DROP // 2 + (lang == "en"), transform="lines repeated",
                  count_lang=lang)
            if all(b.full(s, "easy", "repeated_lines", N_EASY_DROP // 2 + (lang == "en"), lang) for s in SPLITS):
                break

    rng = rng_for("too_short")
    for lang in ("en", "zh"):
        for source, origin, text in take(lang, cat="too_short"):
            sents = [s for s in sentences(text) if (len(s.split()) <= 12 if lang == "en" else len(s) <= 25)]
            if not sents:
                continue
            b.add(text=rng.choice(sents), label="drop", set_="easy", category="too_short", source=source,
                  origin=origin, lang_gold=lang, n=N_EASY_DROP // 2 + (lang == "en"), transform="one sentence",
                  count_lang=lang)
            if all(b.full(s, "easy", "too_short", N_EASY_DROP // 2 + (lang == "en"), lang) for s in SPLITS):
                break

    rng = rng_for("keyword_spam")
    for lang in ("en", "zh"):
        for source, origin, text in take(lang, cat="keyword_spam"):
            vocab = vocabulary(text, lang, min_latin=4)
            if len(vocab) < 8:
                continue
            kws = rng.sample(vocab, rng.randint(3, 6))
            sep = " " if lang == "en" else rng.choice([" ", "，", ""])
            lines = [sep.join(rng.choice(kws) for _ in range(rng.randint(4, 12))) for _ in range(rng.randint(10, 30))]
            b.add(text="\n".join(lines), label="drop", set_="easy", category="keyword_spam", source=source,
                  origin=origin, lang_gold=lang, n=N_EASY_DROP // 2 + (lang == "en"), transform="keywords repeated",
                  count_lang=lang)
            if all(b.full(s, "easy", "keyword_spam", N_EASY_DROP // 2 + (lang == "en"), lang) for s in SPLITS):
                break

    rng = rng_for("symbol_heavy")
    deco = ["★", "☆", "■", "□", "◆", "►", "✔", "✘", "※", "→", "»", "|", "#", "=", "*", "~", "+", "$", "%", "@", "♥"]
    for lang in ("en", "zh"):
        for source, origin, text in take(lang, cat="symbol_heavy"):
            sents = sentences(text)
            if len(sents) < 3:
                continue
            lines = []
            for s in sents[:rng.randint(3, 8)]:
                d = rng.choice(deco)
                w = rng.randint(4, 12)
                words = s.split() if lang == "en" else list(s)
                mid = rng.choice(deco).join(words[:rng.randint(2, 6)])
                lines.append(f"{d * w} {mid} {d * w}")
                lines.append(rng.choice(deco) * rng.randint(20, 60))
                lines.append(" ".join(rng.choice(deco) + str(rng.randint(0, 999)) for _ in range(rng.randint(4, 10))))
            b.add(text="\n".join(lines), label="drop", set_="easy", category="symbol_heavy", source=source,
                  origin=origin, lang_gold=None, n=N_EASY_DROP // 2 + (lang == "en"), transform="symbols around words",
                  count_lang=lang)
            if all(b.full(s, "easy", "symbol_heavy", N_EASY_DROP // 2 + (lang == "en"), lang) for s in SPLITS):
                break

    rng = rng_for("lorem_ipsum")
    for source, origin, text in take("en", cat="lorem_ipsum"):
        heads = [s for s in sentences(text) if len(s.split()) <= 10][:2]
        paras = []
        for _ in range(rng.randint(2, 5)):
            words = [rng.choice(LOREM) for _ in range(rng.randint(30, 80))]
            if rng.random() < 0.7:
                words[:5] = LOREM[:5]
            sents, i = [], 0
            while i < len(words):
                k = rng.randint(6, 14)
                s = " ".join(words[i:i + k])
                sents.append(s[:1].upper() + s[1:] + ".")
                i += k
            paras.append(" ".join(sents))
        b.add(text="\n\n".join(heads + paras), label="drop", set_="easy", category="lorem_ipsum", source=source,
              origin=origin, lang_gold=None, n=N_EASY_DROP, transform="lorem ipsum under real headings")
        if all(b.full(s, "easy", "lorem_ipsum", N_EASY_DROP) for s in SPLITS):
            break

    rng = rng_for("template_text")
    for source, origin, text in take("en", cat="template_text"):
        names = sorted({w for w in re.findall(r"\b[A-Z][a-z]{3,}\b", text)})
        nouns = sorted({w for w in re.findall(r"\b[a-z]{5,}\b", text)})
        if len(names) < 3 or len(nouns) < 6:
            continue
        tpl = rng.choice([
            "{N} is a {a} {b} located in {M}. The {b} has {n} {c}s and was established in {y}.",
            "Looking for the best {a} {b} in {M}? Compare {n} {b} offers from {N} and save up to {p}% today.",
            "{N} {b} price in {M}: {n} dollars. Buy {a} {b} online from {N} with free {c} delivery in {y}.",
            "The {b} of {N} on {d} was {n} {c}s, {p} percent more than in {M}.",
        ])
        lines = [tpl.format(N=rng.choice(names), M=rng.choice(names), a=rng.choice(nouns), b=rng.choice(nouns),
                            c=rng.choice(nouns), n=rng.randint(2, 9999), y=rng.randint(1950, 2023),
                            p=rng.randint(5, 90), d=f"{rng.randint(1, 28)}/{rng.randint(1, 12)}")
                 for _ in range(rng.randint(8, 20))]
        b.add(text="\n".join(lines), label="drop", set_="hard", category="template_text", source=source, origin=origin,
              lang_gold="en", n=N_HARD_DROP, transform="real words in one template")
        if all(b.full(s, "hard", "template_text", N_HARD_DROP) for s in SPLITS):
            break

    rng = rng_for("log_dump")
    hosts = ["web01", "db-2", "gw", "build7", "node13"]
    apps = ["sshd", "systemd", "kernel", "nginx", "cron", "dpkg", "apt", "postfix", "dockerd"]
    for source, origin, text in take("en", cat="log_dump"):
        msgs = [s.rstrip(".") for s in sentences(text) if len(s) < 120]
        words = re.findall(r"[a-z]{4,}", text)
        if len(msgs) < 3 or len(words) < 10:
            continue
        t = rng.randint(1_600_000_000, 1_700_000_000)
        lines = []
        for _ in range(rng.randint(20, 45)):
            t += rng.randint(0, 90)
            hh, mm, ss = (t // 3600) % 24, (t // 60) % 60, t % 60
            lvl = rng.choice(["INFO", "WARN", "ERROR", "DEBUG"])
            msg = rng.choice(msgs) if rng.random() < 0.3 else \
                f"{rng.choice(words)}={rng.randint(0, 65535)} {rng.choice(words)}: {rng.choice(words)} failed (code {rng.randint(1, 255)})"
            lines.append(f"2023-{rng.randint(1, 12):02d}-{rng.randint(1, 28):02d} {hh:02d}:{mm:02d}:{ss:02d} "
                         f"{rng.choice(hosts)} {rng.choice(apps)}[{rng.randint(100, 40000)}]: {lvl} {msg}")
        b.add(text="\n".join(lines), label="drop", set_="hard", category="log_dump", source=source, origin=origin,
              lang_gold=None, n=N_HARD_DROP, transform="syslog lines around real phrases")
        if all(b.full(s, "hard", "log_dump", N_HARD_DROP) for s in SPLITS):
            break

    rng = rng_for("csv_dump")
    for lang in ("en", "zh"):
        for source, origin, text in take(lang, cat="csv_dump"):
            vocab = vocabulary(text, lang, min_latin=3)
            if len(vocab) < 10:
                continue
            cols = rng.sample(vocab, rng.randint(4, 8))
            kinds = [rng.choice(["int", "float", "word", "date"]) for _ in cols]
            rows = [",".join(cols)]
            for _ in range(rng.randint(15, 40)):
                cells = []
                for k in kinds:
                    cells.append(str(rng.randint(0, 99999)) if k == "int" else
                                 f"{rng.uniform(0, 1000):.2f}" if k == "float" else
                                 rng.choice(vocab) if k == "word" else
                                 f"20{rng.randint(10, 23)}-{rng.randint(1, 12):02d}-{rng.randint(1, 28):02d}")
                rows.append(",".join(cells))
            b.add(text="\n".join(rows), label="drop", set_="hard", category="csv_dump", source=source, origin=origin,
                  lang_gold=None, n=N_HARD_DROP // 2 + (lang == "en"), transform="csv of real words and numbers",
                  count_lang=lang)
            if all(b.full(s, "hard", "csv_dump", N_HARD_DROP // 2 + (lang == "en"), lang) for s in SPLITS):
                break

    # --- other languages (easy drop), Japanese and Korean (hard drop)
    others = other_lang_pool([l for l in S.handbook_langs() if l not in ("en-US", "zh-CN", "zh-TW", "ja-JP", "ko-KR")])
    order = shuffled([(lang, it) for lang in sorted(others) for it in shuffled(others[lang], f"ol:{lang}")[:40]],
                     "other_language")
    for lang, (source, origin, text) in order:
        b.add(text=text, label="drop", set_="easy", category="other_language", source=source, origin=origin,
              lang_gold=lang, n=N_EASY_DROP)
    for lang, hb, gn in (("ja", "ja-JP", "ja"), ("ko", "ko-KR", "ko")):
        pool = shuffled(other_lang_pool([hb])[lang] + gnome_lang_pool(gn), f"cjk:{lang}")
        cat = {"ja": "japanese", "ko": "korean"}[lang]
        for source, origin, text in pool:
            b.add(text=text, label="drop", set_="hard", category=cat, source=source, origin=origin, lang_gold=lang,
                  n=N_HARD_DROP)

    # translit of Russian (the rest of the transliteration category)
    for source, origin, text in shuffled(others.get("ru", []), "translit-ru"):
        b.add(text=cyr_translit(text), label="drop", set_="hard", category="transliteration", source=source,
              origin=origin, lang_gold=None, n=15, transform="cyrillic to latin", count_lang="ru")

    add_python_docs(b)
    add_verse(b)
    add_dialogs(b)
    add_faq(b)
    add_bare_code(b)
    return b


def in_sample_python(b: Builder, key: str) -> bool:
    return f"https://docs.python.org/3.11/{key}" in b.sample_urls


def add_python_docs(b: Builder) -> None:
    """code_prose (tutorial / howto reST sections), nav_boilerplate and
    boilerplate_heavy (the rendered HTML pages' navigation around little text)."""
    for section in ("tutorial", "howto", "extending", "library"):
        for key, rst in S.python_doc_sources(section):
            if not S.is_eval("python3.11-doc", key) or in_sample_python(b, key):
                continue
            parts = re.split(r"\n(?=[^\n]+\n[=\-~^*]{4,}\n)", rst)
            for part in parts:
                part = part.strip()
                has_code = ">>>" in part or "::\n" in part
                prose = [p for p in part.split("\n\n") if p and not p.startswith((" ", ".."))]
                if not has_code or len(prose) < 2 or not 400 <= len(part) <= MAX_CHARS:
                    continue
                b.add(text=part, label="keep", set_="hard", category="code_prose", source="python3.11-doc", origin=key,
                      lang_gold="en", n=N_HARD_KEEP)
    rng = rng_for("boilerplate")
    pages = []
    for section in ("library", "c-api", "reference", "using", "whatsnew", "extending", "distutils"):
        for key, page in S.python_doc_html(section):
            if S.is_eval("python3.11-doc", key) and not in_sample_python(b, key):
                pages.append((key, page))
    for key, page in shuffled(pages, "boilerplate-pages"):
        links = [t for t in S.link_texts(page) if len(t) >= 3 and t != "¶"]
        head = links[:rng.randint(8, 14)]
        tail = links[-rng.randint(6, 12):]
        foot = [ln for ln in (strip for strip in re.findall(r"(?is)<div class=\"footer\">(.*?)</div>", page)) if ln]
        foot = [S.strip_tags(f) for f in foot]
        paras = prose_paragraphs(S.html_blocks(page))
        if len(links) < 20:
            continue
        body = paras[:1]
        heavy = "\n".join(head + body + tail + foot)
        if rng.random() < 0.5 or not paras or sum(map(len, body)) / max(len(heavy), 1) > 0.3 \
                or b.full(split_of("python3.11-doc", key), "hard", "boilerplate_heavy", N_HARD_DROP):
            text = "\n".join(links[:rng.randint(25, 60)])
            cat, set_ = "nav_boilerplate", "easy"
            n = N_EASY_DROP
        else:
            text = heavy
            cat, set_ = "boilerplate_heavy", "hard"
            n = N_HARD_DROP
        # lines of training text out; so are link texts (section titles) that a keep document holds
        lines = [ln for ln in text.split("\n") if (len(S.normalize(ln)) < S.MIN_FINGERPRINT_CHARS
                 or S.normalize(ln) not in b.fp) and not dedup_keys(ln) & b.keep_keys]
        b.add(text="\n".join(lines), label="drop", set_=set_, category=cat, source="python3.11-doc", origin=key,
              lang_gold="en", n=n, transform="page navigation kept")
    # LilyPond manuals' translated pages (bucket 0): a Chinese page inside the
    # site's navigation (links, language menu, table of contents), as a crawl
    # sees it; half as nav_boilerplate (links only), half as boilerplate_heavy
    # (one paragraph of the page between its header and footer links)
    d = S.deb("lilypond-doc-html-zh")
    prefix = "usr/share/doc/lilypond/html/Documentation/"
    lily = [(p[len(prefix):], d.text(p)) for p in d.glob(prefix, ".html")]
    for key, page in shuffled([kp for kp in lily if S.is_eval("lilypond-doc-html-zh", kp[0])], "nav:lilypond"):
        links = [t for t in S.link_texts(page) if len(t) >= 2]
        paras = [t for t in prose_paragraphs(S.html_blocks(page), 20) if S.cjk_share(t) >= 0.5]
        if len(links) < 30:
            continue
        body = paras[:1]
        heavy = "\n".join(links[:rng.randint(10, 18)] + body + links[-rng.randint(12, 24):])
        if rng.random() < 0.8 and body and sum(map(len, body)) / len(heavy) <= 0.3 and \
                not b.full(split_of("lilypond-doc-html-zh", key), "hard", "boilerplate_heavy", N_HARD_DROP):
            b.add(text=heavy, label="drop", set_="hard", category="boilerplate_heavy", source="lilypond-doc-html-zh",
                  origin=key, lang_gold=None, n=N_HARD_DROP, transform="page navigation kept")
        else:
            start = rng.randint(0, max(0, len(links) - 40))
            b.add(text="\n".join(links[start:start + rng.randint(25, 50)]), label="drop", set_="easy",
                  category="nav_boilerplate", source="lilypond-doc-html-zh", origin=key, lang_gold=None,
                  n=N_EASY_DROP, transform="page links only")
    # LibreOffice help pages with many links (bucket 0): the links only
    d = S.deb("libreoffice-help-zh-cn")
    prefix = "usr/share/libreoffice/help/zh-CN/text/"
    lo_pages = [(p[len(prefix):], d.text(p)) for p in d.glob(prefix, ".html")]
    for key, page in shuffled([kp for kp in lo_pages if S.is_eval("libreoffice-help-zh-cn", kp[0])], "nav:lo"):
        links = [t for t in S.link_texts(page) if len(t) >= 2]
        if len(links) >= 20:
            b.add(text="\n".join(links[:60]), label="drop", set_="easy", category="nav_boilerplate",
                  source="libreoffice-help-zh-cn", origin=key, lang_gold="zh", n=N_EASY_DROP,
                  transform="page links only")
    # handbook navigation (Chinese and English) for the rest of nav_boilerplate
    for hb, lang in (("zh-CN", "zh"), ("en-US", "en")):
        for key, page in shuffled(S.handbook_pages(hb), f"nav:{hb}"):
            if not S.is_eval("debian-handbook", key):
                continue
            links = [t for t in S.link_texts(page) if len(t) >= 2]
            if len(links) < 15:
                continue
            start = rng.randint(0, max(0, len(links) - 30))
            b.add(text="\n".join(links[start:start + rng.randint(15, 40)]), label="drop", set_="easy",
                  category="nav_boilerplate", source="debian-handbook", origin=key, lang_gold=lang, n=N_EASY_DROP,
                  transform="page links only")


def collections(poems: list[tuple[str, str]], lang: str) -> list[tuple[str, str]]:
    """(first key, page) of poems laid out as a page of a collection holds
    them: consecutive poems (with their attribution lines) until the page
    reaches Gopher's minimum length with room (1.5x MIN_KEEP). Each poem is on
    one page only."""
    out, cur = [], []
    for key, text in poems:
        cur.append((key, text))
        page = "\n\n".join(t for _, t in cur)
        n = len(CJK_RE.findall(page)) if lang == "zh" else len(re.findall(r"[^\W_]+", page))
        if n >= 1.5 * MIN_KEEP[lang]:
            out.append((cur[0][0], page))
            cur = []
    return out


def add_verse(b: Builder) -> None:
    n_half = N_HARD_KEEP // 2
    zh = []
    for key, text in S.fortunes("fortunes-zh"):
        if not key.startswith("chinese/") or not S.is_eval("fortunes-zh", key):
            continue
        lines = [ln.strip() for ln in text.split("\n") if ln.strip()]
        body = [ln for ln in lines if not ln.startswith("--")]
        if len(body) >= 4 and all(len(ln) <= 24 for ln in body) and sum(bool(CJK_RE.search(ln)) for ln in body) == len(body):
            zh.append((key, text.strip()))
    for key, text in collections(shuffled(zh, "verse-zh"), "zh"):
        b.add(text=text, label="keep", set_="hard", category="verse", source="fortunes-zh", origin=key,
              lang_gold="zh", n=n_half, count_lang="zh")
    en = []
    for pkg in ("fortunes", "fortunes-min"):
        for key, text in S.fortunes(pkg):
            if not key.startswith(("songs-poems/", "love/", "literature/")) or not S.is_eval("fortunes", key):
                continue
            lines = [ln for ln in text.split("\n") if ln.strip()]
            if len(lines) >= 6 and all(len(ln.strip()) <= 60 for ln in lines):
                en.append((key, text.strip("\n")))
    for key, text in collections(shuffled(en, "verse-en"), "en"):
        b.add(text=text, label="keep", set_="hard", category="verse", source="fortunes", origin=key,
              lang_gold="en", n=N_HARD_KEEP - n_half, count_lang="en")


def add_dialogs(b: Builder) -> None:
    rng = rng_for("dialog")
    groups = []
    for path, yml in S.chatterbot_files():
        lang = {"english": "en", "chinese": "zh"}.get(path.split("/")[2])
        if not lang:
            continue
        convs = []
        for i, turns in enumerate(S.chatterbot_conversations(yml)):
            key = f"{path.rsplit('/', 1)[1]}/{lang}/{i}"
            if not S.is_eval("chatterbot-corpus", key):
                continue
            if S.normalize("\n".join(turns)) in b.fp or any(S.normalize(t) in b.fp for t in turns if len(t) >= 60):
                continue
            convs.append((key, turns))
        # a thread: conversations of one topic file (at least 3, more until the
        # page reaches Gopher's minimum length with room: 1.5x MIN_KEEP)
        i = 0
        while i < len(convs):
            k = rng.randint(3, 6)
            grp = convs[i:i + k]
            i += k
            text = lambda g: "\n\n".join("\n".join(f"{'AB'[j % 2]}: {t}" for j, t in enumerate(turns))
                                          for _, turns in g)
            while i < len(convs) and _length(text(grp), lang) < 1.5 * MIN_KEEP[lang]:
                grp.append(convs[i])
                i += 1
            groups.append((lang, grp[0][0], text(grp)))
    for lang, origin, text in shuffled(groups, "dialog-order"):
        b.add(text=text, label="keep", set_="hard", category="dialog", source="chatterbot-corpus", origin=origin,
              lang_gold=lang, n=N_HARD_KEEP // 2, count_lang=lang)


def debian_faq_items() -> list[tuple[str, str, str, str, list[str]]]:
    """(package, page, lang, text, paragraphs) of the Debian FAQ's bucket-0
    question/answer groups that may be faq documents: 2-3 questions (ending
    in ?), each with its first two answer paragraphs."""
    items = []
    for pkg, lang in (("debian-faq", "en"), ("debian-faq-zh-cn", "zh")):
        for key, page in faq_pages(pkg):
            if not S.is_eval(pkg, key):
                continue
            qa, cur = [], None
            for tag, text in S.html_blocks(page, "h2|h3|p"):
                if tag in ("h2", "h3"):
                    q = re.sub(r"^[\d.]+\s*", "", text)
                    cur = [q]
                    qa.append(cur)
                elif cur is not None and len(cur) < 3:
                    cur.append(text)
            qa = [c for c in qa if len(c) >= 2 and c[0].rstrip().endswith(("?", "？"))]
            i = 0
            while i < len(qa):
                grp = qa[i:i + 3]
                i += 3
                text = "\n\n".join("\n".join(c) for c in grp)
                if len(grp) >= 2 and len(text) <= MAX_CHARS:
                    items.append((pkg, key, lang, text, [p for c in grp for p in c]))
    return items


def add_faq(b: Builder) -> None:
    """Question/answer lists: Debian FAQ (en, zh) and Python FAQ pages."""
    items = [it[:4] for it in debian_faq_items()]
    for key, rst in S.python_doc_sources("faq"):
        if not S.is_eval("python3.11-doc", key) or in_sample_python(b, key):
            continue
        parts = re.split(r"\n(?=[^\n]+\?\n-{4,}\n)", rst)
        qs = [p.strip() for p in parts if re.match(r"[^\n]+\?\n-{4,}\n", p.strip())]
        i = 0
        while i < len(qs):
            grp = qs[i:i + 3]
            i += 3
            text = "\n\n".join(grp)
            if len(text) <= MAX_CHARS:
                items.append(("python3.11-doc", key, "en", text))
    for source, origin, lang, text in shuffled(items, "faq-order"):
        b.add(text=text, label="keep", set_="hard", category="faq", source=source, origin=origin, lang_gold=lang,
              n=N_HARD_KEEP)


def add_bare_code(b: Builder) -> None:
    rng = rng_for("bare_code")
    for name, src in S.gensim_python_files():
        if not S.is_eval("gensim-code", name):
            continue
        code = re.sub(r'(?s)("""|\'\'\').*?\1', '""', src)
        lines = [ln for ln in code.split("\n") if ln.strip() and ln.strip() != '""']
        i = 0
        while i + 30 < len(lines):
            k = rng.randint(30, 70)
            chunk = "\n".join(lines[i:i + k])
            i += k + rng.randint(10, 60)
            if len(chunk) > MAX_CHARS:
                chunk = chunk[:MAX_CHARS].rsplit("\n", 1)[0]
            b.add(text=chunk, label="drop", set_="hard", category="bare_code", source="gensim", origin=f"{name}:{i}",
                  lang_gold=None, n=N_HARD_DROP, transform="")


# --------------------------------------------------------------- write --
def write_split(docs: list[dict], path: Path) -> None:
    docs = sorted(docs, key=lambda d: (d["set"], d["category"], d["id"]))
    raw = "".join(json.dumps(d, ensure_ascii=False, sort_keys=False) + "\n" for d in docs).encode("utf-8")
    buf = io.BytesIO()
    with gzip.GzipFile(filename="", mode="wb", fileobj=buf, mtime=0, compresslevel=9) as gz:
        gz.write(raw)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(buf.getvalue())


def counts_table(b: Builder) -> str:
    rows = Counter()
    for split, docs in b.docs.items():
        for d in docs:
            rows[(d["set"], d["label"], d["category"], split)] += 1
    keys = sorted({k[:3] for k in rows})
    out = ["| set | label | category | dev | test |", "|---|---|---|---:|---:|"]
    for k in keys:
        out.append(f"| {k[0]} | {k[1]} | {k[2]} | {rows[k + ('dev',)]} | {rows[k + ('test',)]} |")
    tot = {s: len(b.docs[s]) for s in SPLITS}
    out.append(f"| **total** | | | {tot['dev']} | {tot['test']} |")
    return "\n".join(out)


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--src", default=str(S.SRC_DIR))
    p.add_argument("--out", default=str(REPO / "data" / "eval" / "quality"))
    args = p.parse_args(argv)
    b = build(Path(args.src))
    out = Path(args.out)
    for split in SPLITS:
        write_split(b.docs[split], out / f"{split}.jsonl.gz")
    table = counts_table(b)
    (out / "COUNTS.md").write_text("# data/eval/quality: documents per split and category\n\n"
                                   "Written by infra/eval/quality_set.py.\n\n" + table + "\n", encoding="utf-8")
    print(table)
    return 0


if __name__ == "__main__":
    sys.exit(main())
