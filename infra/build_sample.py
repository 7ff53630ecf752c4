"""Build the shipped sample corpus (data/sample/) and reference text
(data/reference/) from real text that can be had offline.

  python infra/build_sample.py [--src build/sample-src] [--out data]

--src holds what `make sample` downloaded (the only step that touches the
network): Debian packages in deb/ (`apt-get download`) and PyPI files in pypi/
(`pip download --no-deps`). This script only reads them.

What it writes, and why each part is there:
  sample/warc/*.warc.gz        HTML pages as a crawler stores them (WARC
                               response records) + a few non-HTML records
                               (PNG, PDF, redirect) the reader must skip
  sample/wet/*.warc.wet.gz     plain text as Common Crawl's WET conversion
                               records
  sample/jsonl/*.jsonl.gz|.zst {"id","text","url","source",...}; `lang_gold`
                               is the known language (ISO 639-1) where the
                               source tells it: language-ID ground truth
  sample/parquet/*.parquet     id, text, url, source, lang_gold, crawl_date
  sample/SOURCES.md            provenance, licences, counts
  sample_labels.parquet        one row per record of sample/ (keyed by url):
                               language, junk kind, duplicate-of: ground truth
                               for language ID, heuristics and dedup benches
  reference/{en,zh}.jsonl.gz   "high-quality" text for the perplexity model
                               and the quality classifier; never in sample/
  reference/SOURCES.md

Real crawls hold junk (navigation-only pages, cookie banners, keyword spam,
repeated lines, lorem ipsum, mojibake, very short pages, number tables) and
duplicates; both are made here from the real text, a few % each, so every
filter and dedup stage has something to find.

Deterministic: inputs are enumerated sorted, every random choice comes from
one seeded generator, record ids and WARC ids are hashes of their content
and place, gzip headers carry mtime 0. Two runs give byte-identical files.
"""
from __future__ import annotations

import argparse
import bz2
import datetime as dt
import gzip
import hashlib
import html
import io
import json
import random
import re
import subprocess
import tarfile
import uuid
import zipfile
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import yaml
import zstandard
from lxml import html as lxml_html
from warcio.statusandheaders import StatusAndHeaders
from warcio.warcwriter import WARCWriter

SEED = 20240304  # the Yi paper's arXiv date (2403.04652)
ROOT = Path(__file__).resolve().parent.parent

# How much of each source goes into the sample (the rest is unused or, for
# Wikipedia / debian-reference / manpages-zh, goes to data/reference).
N_FORTUNES_EN = 3300
N_FORTUNES_ZH = 2300
N_PYDOCS = 260
PYDOCS_MAX_BYTES = 120_000
DIALOGS_PER_LANG = {"en": 450, "zh": 320}
DIALOGS_OTHER_CAP = 90
EXACT_DUP_FRACTION = 0.03
NEAR_DUP_FRACTION = 0.03
GBK_FRACTION = 0.2  # of the Chinese HTML pages, served as GBK like many .cn sites

# chatterbot-corpus directory -> ISO 639-1 (hinglish has no code: skipped).
CHATTERBOT_LANGS = {
    "bengali": "bn", "chinese": "zh", "dutch": "nl", "english": "en", "french": "fr",
    "german": "de", "hebrew": "he", "hindi": "hi", "indonesian": "id", "italian": "it",
    "japanese": "ja", "korean": "ko", "marathi": "mr", "oriya": "or", "persian": "fa",
    "portuguese": "pt", "russian": "ru", "spanish": "es", "swedish": "sv", "tamil": "ta",
    "telugu": "te", "thai": "th", "traditionalchinese": "zh", "turkish": "tr",
    "ukrainian": "uk", "urdu": "ur", "yoruba": "yo",
}

DEB_PACKAGES = ("fortunes", "fortunes-min", "fortunes-zh", "python3.11-doc",
                "debian-reference-zh-cn", "manpages-zh")
PYPI_FILES = {"trafilatura": "trafilatura-*.tar.gz", "gensim": "gensim-*.whl",
              "chatterbot-corpus": "chatterbot_corpus-*.whl"}


# ------------------------------------------------------------- records --
@dataclass
class Rec:
    """One sample record before it is written: text (or HTML bytes for WARC),
    its ground truth (lang, kind, dup_of) and where it goes (fmt, file)."""
    url: str
    text: str = ""
    source: str = ""
    lang: str | None = None          # known language; None for junk
    kind: str = "real"               # real | exact_dup | near_dup | junk kind
    dup_of: str | None = None        # url of the original
    html: bytes | None = None        # WARC payload (HTML) when fmt == "warc"
    content_type: str = "text/html; charset=utf-8"
    status: str = "200 OK"
    fmt: str = ""                    # warc | wet | jsonl | parquet
    file: str = ""
    extra: dict = field(default_factory=dict)

    @property
    def id(self) -> str:
        return hashlib.sha1(self.url.encode("utf-8")).hexdigest()[:20]


def stable_fraction(key: str) -> float:
    """A number in [0, 1) fixed by `key` (for splits that must not move when
    other inputs change, e.g. reference vs sample)."""
    return int(hashlib.sha1(key.encode("utf-8")).hexdigest()[:8], 16) / 2**32


# ------------------------------------------------------------- sources --
class DebPackage:
    """The files of one downloaded .deb, read through `dpkg-deb --fsys-tarfile`."""

    def __init__(self, path: Path):
        self.path = path
        name, version, _ = path.name[:-4].split("_")
        self.name, self.version = name, version.replace("%3a", ":")
        tar_bytes = subprocess.run(["dpkg-deb", "--fsys-tarfile", str(path)],
                                   check=True, capture_output=True).stdout
        self.files: dict[str, bytes] = {}
        with tarfile.open(fileobj=io.BytesIO(tar_bytes)) as tf:
            for m in tf.getmembers():
                if m.isfile():
                    self.files[m.name.lstrip("./")] = tf.extractfile(m).read()

    def glob(self, prefix: str, suffix: str = "") -> list[str]:
        return sorted(p for p in self.files if p.startswith(prefix) and p.endswith(suffix))

    def copyright(self) -> str:
        return self.files[f"usr/share/doc/{self.name}/copyright"].decode("utf-8", "replace")


def find_one(folder: Path, pattern: str) -> Path:
    hits = sorted(folder.glob(pattern))
    if len(hits) != 1:
        raise SystemExit(f"expected exactly one {pattern} in {folder}, found {len(hits)}: "
                         f"run `make sample` (it downloads the sources)")
    return hits[0]


def split_fortunes(raw: str) -> list[str]:
    """A fortune file: entries separated by lines holding only `%`."""
    return [e.strip("\n") for e in re.split(r"\n%\n", raw.replace("\r\n", "\n"))
            if e.strip() and e.strip() != "%"]


ANSI = re.compile(r"\x1b\[[0-9;]*[A-Za-z]")


def fortunes_en(debs: dict[str, DebPackage]) -> list[tuple[str, str]]:
    """(collection/index, text) of every English fortune, sorted."""
    out = []
    for pkg in ("fortunes", "fortunes-min"):
        for path in debs[pkg].glob("usr/share/games/fortunes/"):
            name = path.rsplit("/", 1)[1]
            if "." in name:  # .dat indexes, .u8 copies
                continue
            raw = debs[pkg].files[path].decode("utf-8", "replace")
            out += [(f"{name}/{i}", t) for i, t in enumerate(split_fortunes(raw))]
    return out


def fortunes_zh(deb: DebPackage) -> list[tuple[str, str]]:
    out = []
    for path in deb.glob("usr/share/games/fortunes/"):
        name = path.rsplit("/", 1)[1]
        if "." in name:
            continue
        raw = ANSI.sub("", deb.files[path].decode("utf-8", "replace"))
        out += [(f"{name}/{i}", t) for i, t in enumerate(split_fortunes(raw))]
    return out


# -- manpages-zh: roff -> text
ROFF_ESCAPES = [
    (re.compile(r"\\f(\[[^\]]*\]|\(..|.)"), ""), (re.compile(r"\\s[+-]?\d+"), ""),
    (re.compile(r"\\\(em"), "—"), (re.compile(r"\\\(en"), "–"), (re.compile(r"\\\(lq"), "“"),
    (re.compile(r"\\\(rq"), "”"), (re.compile(r"\\\(bu"), "•"), (re.compile(r"\\\(co"), "©"),
    (re.compile(r"\\\(..|\\\*\(..|\\\*."), ""), (re.compile(r"\\[-]"), "-"),
    (re.compile(r"\\[hvlLDwoxbHSXZ]'[^']*'"), ""), (re.compile(r"\\[kn](\(..|\[[^\]]*\]|.)"), ""),
    (re.compile(r"\\c"), ""), (re.compile(r"\\[&,/%:|^]"), ""), (re.compile(r"\\ "), " "),
    (re.compile(r"\\e"), "\\\\"), (re.compile(r"(?<=\S) {2,}(?=\S)"), " "),
]
ROFF_FONT_MACROS = {"B", "I", "BR", "RB", "BI", "IB", "IR", "RI", "SM", "SB"}
ROFF_BREAKS = {"PP", "LP", "P", "sp", "br", "TP", "IP", "RS", "RE", "nf", "fi", "HP", "TQ", "EX", "EE"}


def roff_inline(s: str) -> str:
    for rx, rep in ROFF_ESCAPES:
        s = rx.sub(rep, s)
    return s


def roff_to_text(src: str) -> list[tuple[str, str]]:
    """Man page source -> [(section heading, section text)]; enough of roff
    (man macros, font escapes) for readable prose, not a typesetter."""
    sections: list[tuple[str, list[str]]] = [("", [])]
    skip_until = None  # macro definitions (.de … ..) and conditional blocks (\{ … \})
    for line in src.splitlines():
        if skip_until:
            if skip_until in line if skip_until == "\\}" else line.startswith(skip_until):
                skip_until = None
            continue
        if line.startswith((".de ", ".am ", ".ig")):
            skip_until = ".."
            continue
        if line.startswith((".", "'")) and "\\{" in line:
            skip_until = "\\}"
            continue
        if line.startswith(('.\\"', "'\\\"", '.\\}')) or line in (".", ""):
            continue
        if line.startswith((".", "'")):
            macro, _, arg = line[1:].partition(" ")
            arg = roff_inline(arg.strip()).replace('"', "").strip()
            if macro in ("SH", "SS"):
                sections.append((arg, []))
            elif macro in ROFF_FONT_MACROS and arg:
                sections[-1][1].append(arg)
            elif macro in ROFF_BREAKS:
                if macro == "IP" and arg and arg not in ("•", "*", "-"):
                    sections[-1][1].append("")
                    sections[-1][1].append(arg)
                else:
                    sections[-1][1].append("")
            continue
        sections[-1][1].append(roff_inline(line))
    out = []
    for head, lines in sections:
        body = re.sub(r"\n{3,}", "\n\n", "\n".join(lines)).strip()
        if body:
            out.append((head, body))
    return out


CJK = re.compile(r"[\u3400-\u9fff\uf900-\ufaff]")


def cjk_ratio(text: str) -> float:
    letters = sum(ch.isalpha() for ch in text)
    return len(CJK.findall(text)) / letters if letters else 0.0


def manpages_zh(deb: DebPackage) -> list[tuple[str, list[tuple[str, str]]]]:
    """(name.section, roff sections) of every Simplified-Chinese man page
    (zh_TW holds script conversions of the same pages: left out)."""
    out = []
    for path in deb.glob("usr/share/man/zh_CN/", ".gz"):
        name = path.rsplit("/", 1)[1][:-3]
        src = gzip.decompress(deb.files[path]).decode("utf-8", "replace")
        secs = roff_to_text(src)
        if secs:
            out.append((name, secs))
    return out


# -- debian-reference-zh-cn: chapters -> one page per top-level section
def debref_sections(deb: DebPackage) -> list[tuple[str, str, str, str]]:
    """(page name, title, page html, section plain text) for each top-level
    section of each chapter, the chapter's own navigation kept around it as
    DocBook's chunked output (chNNsMM.html) would."""
    out = []
    for path in deb.glob("usr/share/debian-reference/", ".zh-cn.html"):
        chap = path.rsplit("/", 1)[1].split(".")[0]
        if not chap.startswith("ch"):
            continue
        doc = lxml_html.fromstring(deb.files[path])
        title = doc.findtext(".//title") or ""
        nav_head = doc.find_class("navheader")
        nav_foot = doc.find_class("navfooter")
        chapter = doc.find_class("chapter")[0]
        sections = [d for d in chapter if d.tag.endswith("div") and d.get("class") == "section"]
        for i, sec in enumerate(sections, 1):
            h2 = sec.find(".//h2")
            sec_title = " ".join(h2.text_content().split()) if h2 is not None else title
            parts = [lxml_html.tostring(x, encoding="unicode") for x in nav_head[:1]]
            parts.append(lxml_html.tostring(sec, encoding="unicode"))
            parts += [lxml_html.tostring(x, encoding="unicode") for x in nav_foot[:1]]
            page = ("<!DOCTYPE html>\n<html><head><meta charset=\"UTF-8\"/>"
                    f"<title>{html.escape(sec_title)}</title></head><body>\n"
                    + "\n".join(parts) + "\n</body></html>\n")
            out.append((f"{chap}s{i:02d}", sec_title, page, block_text(sec)))
    return out


BLOCK_TAGS = {"p", "h1", "h2", "h3", "h4", "h5", "li", "dt", "dd", "pre", "td", "th", "caption", "title"}


def block_text(el) -> str:
    """Plain text of an HTML element, one line per innermost block element."""
    lines = []
    for node in el.iter():
        if not isinstance(node.tag, str) or node.tag not in BLOCK_TAGS:
            continue
        if any(isinstance(c.tag, str) and c.tag in BLOCK_TAGS for c in node.iterdescendants()):
            continue
        t = node.text_content()
        t = t if node.tag == "pre" else " ".join(t.split())
        if t.strip():
            lines.append(t.strip("\n"))
    return "\n".join(lines)


# -- Wikipedia XML (gensim's test dump) -> plain text
WIKI_NS = "{http://www.mediawiki.org/xml/export-0.10/}"


def _strip_nested(text: str, open_: str, close: str) -> str:
    out, depth, i = [], 0, 0
    while i < len(text):
        if text.startswith(open_, i):
            depth += 1
            i += len(open_)
        elif depth and text.startswith(close, i):
            depth -= 1
            i += len(close)
        else:
            if not depth:
                out.append(text[i])
            i += 1
    return "".join(out)


WIKI_LINK = re.compile(r"\[\[([^\[\]|]*)(?:\|([^\[\]]*))?\]\]")
WIKI_DROP_LINK = re.compile(r"^(file|image|category|media|[a-z]{2,3}(-[a-z]+)?):", re.I)


def wiki_to_text(src: str) -> str:
    """MediaWiki markup -> plain text: templates, tables, refs, files and
    categories dropped; links, bold/italic and headings reduced to their text."""
    t = re.sub(r"<!--.*?-->", "", src, flags=re.S)
    t = re.sub(r"<ref[^>/]*/>", "", t)
    t = re.sub(r"<ref[^>]*>.*?</ref>", "", t, flags=re.S)
    t = _strip_nested(t, "{{", "}}")
    t = _strip_nested(t, "{|", "|}")
    while True:  # innermost links first: captions of files hold links
        new = WIKI_LINK.sub(lambda m: "" if WIKI_DROP_LINK.match(m.group(1))
                            else (m.group(2) or m.group(1)), t)
        if new == t:
            break
        t = new
    t = re.sub(r"\[https?://\S+ ([^\]]*)\]", r"\1", t)
    t = re.sub(r"\[https?://\S+\]", "", t)
    t = re.sub(r"<[^>]+>", "", t)
    t = re.sub(r"'{2,}", "", t)
    t = re.sub(r" ?\([\s,;]*\)", "", t)  # "Alberta ()": what removed templates leave
    t = re.sub(r"^=+\s*(.*?)\s*=+\s*$", r"\1", t, flags=re.M)
    t = re.sub(r"^[*#:;]+\s*", "", t, flags=re.M)
    t = html.unescape(t).replace("\xa0", " ")
    lines = [ln.rstrip() for ln in t.splitlines()]
    t = "\n".join(ln for ln in lines if not re.fullmatch(r"\s*[|!}{].*", ln))
    return re.sub(r"\n{3,}", "\n\n", t).strip()


def wikipedia_articles(wheel: Path) -> list[tuple[str, str]]:
    """(title, text) of the main-namespace, non-redirect articles."""
    import xml.etree.ElementTree as ET

    with zipfile.ZipFile(wheel) as z:
        raw = bz2.decompress(z.read(
            "gensim/test/test_data/enwiki-latest-pages-articles1.xml-p000000010p000030302-shortened.bz2"))
    out = []
    for page in ET.fromstring(raw).iter(f"{WIKI_NS}page"):
        if page.findtext(f"{WIKI_NS}ns") != "0" or page.find(f"{WIKI_NS}redirect") is not None:
            continue
        wikitext = page.findtext(f"{WIKI_NS}revision/{WIKI_NS}text") or ""
        if wikitext.lstrip().upper().startswith("#REDIRECT"):
            continue
        text = wiki_to_text(wikitext)
        if len(text) >= 500:
            out.append((page.findtext(f"{WIKI_NS}title"), text))
    return sorted(out)


def chatterbot_dialogs(wheel: Path) -> list[tuple[str, str, str]]:
    """(lang, topic/index, text) of each conversation: its turns, one a line."""
    out = []
    with zipfile.ZipFile(wheel) as z:
        for name in sorted(n for n in z.namelist() if n.endswith(".yml")):
            lang_dir, topic = name.split("/")[-2], name.split("/")[-1][:-4]
            lang = CHATTERBOT_LANGS.get(lang_dir)
            if lang is None:
                continue
            data = yaml.safe_load(z.read(name).decode("utf-8")) or {}
            for i, conv in enumerate(data.get("conversations") or []):
                turns = [str(x).strip() for x in (conv if isinstance(conv, list) else [conv])]
                text = "\n".join(t for t in turns if t)
                if text:
                    out.append((lang, f"{lang_dir}/{topic}/{i}", text))
    return out


# ---------------------------------------------------------------- junk --
NAV_EN = ["Home", "About us", "Products", "Services", "Solutions", "Pricing", "Blog", "News",
          "Careers", "Contact", "Support", "FAQ", "Login", "Sign up", "My account", "Cart",
          "Privacy Policy", "Terms of Use", "Sitemap", "Press", "Partners", "Investors",
          "Events", "Downloads", "Documentation", "Community", "Shop", "Gift cards", "Help"]
NAV_ZH = ["首页", "关于我们", "产品中心", "新闻动态", "解决方案", "客户案例", "联系我们", "在线留言",
          "人才招聘", "网站地图", "企业文化", "荣誉资质", "技术支持", "下载中心", "常见问题",
          "登录", "注册", "购物车", "帮助中心", "隐私政策", "服务条款", "投资者关系"]
COOKIE_EN = [
    "We use cookies to improve your experience on our website. By continuing to browse, you agree to our use of cookies.",
    "This website uses cookies to ensure you get the best experience. Learn more. Got it!",
    "We and our partners use cookies and similar technologies to personalise content and ads, to provide social media features and to analyse our traffic. Accept all / Reject all / Manage preferences",
    "By clicking \"Accept All Cookies\", you agree to the storing of cookies on your device to enhance site navigation, analyze site usage, and assist in our marketing efforts.",
]
COOKIE_ZH = [
    "本网站使用Cookie以提升您的浏览体验。继续浏览即表示您同意我们使用Cookie。",
    "我们使用 Cookie 来改善您的体验并分析网站流量。点击“接受”即表示您同意。接受 拒绝 设置",
]
SPAM_EN = ["cheap flights", "best hotels", "casino bonus", "free download", "replica watches",
           "payday loans", "online casino", "buy followers", "weight loss pills", "cheap insurance",
           "free movies online", "crypto signals", "seo services", "best vpn", "discount shoes",
           "make money fast", "work from home", "cheap hosting", "free iphone", "bitcoin doubler"]
SPAM_ZH = ["网站优化", "SEO排名", "代开发票", "快速排名", "百度推广", "网络营销", "低价出售", "免费下载",
           "高清电影", "彩票平台", "网赚项目", "刷单兼职", "减肥药", "整形医院", "代写论文", "信用卡套现"]
SHORT_PAGES = ["404 Not Found", "Loading...", "Please enable JavaScript to view this page.",
               "Access denied", "Coming soon!", "Under construction", "Home | Login", "Redirecting…",
               "页面不存在", "正在加载…", "登录", "该页面已被删除", "请开启JavaScript", "网站建设中"]
LOREM = ("lorem ipsum dolor sit amet consectetur adipiscing elit sed do eiusmod tempor incididunt ut "
         "labore et dolore magna aliqua ut enim ad minim veniam quis nostrud exercitation ullamco "
         "laboris nisi ut aliquip ex ea commodo consequat duis aute irure dolor in reprehenderit in "
         "voluptate velit esse cillum dolore eu fugiat nulla pariatur excepteur sint occaecat "
         "cupidatat non proident sunt in culpa qui officia deserunt mollit anim id est laborum").split()
SHARE_EN = ["Share this: Facebook Twitter Email Print", "Posted in Uncategorized | Leave a comment",
            "Related posts:", "Read more »", "Tags: life, quotes, humor"]
SHARE_ZH = ["分享到：微信 微博 QQ空间", "来源：网络 转载请注明出处", "责任编辑：小编", "阅读全文 »", "相关阅读："]


class Junk:
    """Generators of the junk real crawls hold; each returns (text, html page).
    `rng` is the build's one generator."""

    def __init__(self, rng: random.Random, en_lines: list[str], zh_lines: list[str]):
        self.rng, self.en_lines, self.zh_lines = rng, en_lines, zh_lines

    def _page(self, title: str, body: str, lang: str) -> bytes:
        return (f"<!DOCTYPE html>\n<html lang=\"{lang}\"><head><meta charset=\"utf-8\">"
                f"<title>{html.escape(title)}</title></head>\n<body>\n{body}\n</body></html>\n").encode()

    def nav_only(self):
        zh = self.rng.random() < 0.4
        items = self.rng.sample(NAV_ZH if zh else NAV_EN, self.rng.randint(8, 18))
        links = "\n".join(f'<li><a href="/{i}/">{html.escape(x)}</a></li>' for i, x in enumerate(items))
        foot = ("版权所有 © 2023 京ICP备%08d号" % self.rng.randrange(10**8) if zh
                else f"© {self.rng.randint(2015, 2024)} All rights reserved.")
        body = f"<header><nav><ul>\n{links}\n</ul></nav></header>\n<footer>{foot}</footer>"
        return "\n".join(items + [foot]), self._page(items[0], body, "zh" if zh else "en")

    def cookie_banner(self):
        zh = self.rng.random() < 0.4
        banner = self.rng.choice(COOKIE_ZH if zh else COOKIE_EN)
        line = self.rng.choice(self.zh_lines if zh else self.en_lines)
        body = f'<div class="cookie-banner">{html.escape(banner)}</div>\n<p>{html.escape(line)}</p>'
        return f"{banner}\n{line}", self._page("Welcome", body, "zh" if zh else "en")

    def keyword_spam(self):
        zh = self.rng.random() < 0.4
        words = SPAM_ZH if zh else SPAM_EN
        kws = [self.rng.choice(words) for _ in range(self.rng.randint(40, 160))]
        sep = "，" if zh else ", "
        text = sep.join(kws)
        body = "<p>" + html.escape(text) + "</p>"
        return text, self._page(kws[0], body, "zh" if zh else "en")

    def repeated_lines(self):
        zh = self.rng.random() < 0.4
        pool = self.zh_lines if zh else self.en_lines
        block = [self.rng.choice(pool) for _ in range(self.rng.randint(1, 3))]
        lines = block * self.rng.randint(8, 30)
        body = "\n".join(f"<p>{html.escape(x)}</p>" for x in lines)
        return "\n".join(lines), self._page(block[0][:40], body, "zh" if zh else "en")

    def lorem_ipsum(self):
        paras = []
        for _ in range(self.rng.randint(2, 6)):
            words = [self.rng.choice(LOREM) for _ in range(self.rng.randint(30, 90))]
            paras.append(" ".join(words).capitalize() + ".")
        body = "\n".join(f"<p>{p}</p>" for p in paras)
        return "\n\n".join(paras), self._page("Lorem ipsum", body, "la")

    def very_short(self):
        t = self.rng.choice(SHORT_PAGES)
        return t, self._page(t, f"<p>{html.escape(t)}</p>", "en")

    def number_table(self):
        day = dt.date(2023, 1, 2) + dt.timedelta(days=self.rng.randrange(300))
        price = self.rng.uniform(5, 500)
        rows = []
        for _ in range(self.rng.randint(15, 60)):
            o = price
            price *= 1 + self.rng.gauss(0, 0.02)
            hi, lo = max(o, price) * 1.01, min(o, price) * 0.99
            rows.append([day.isoformat(), f"{o:.2f}", f"{hi:.2f}", f"{lo:.2f}", f"{price:.2f}",
                         f"{self.rng.randrange(10**4, 10**7):,}"])
            day += dt.timedelta(days=1)
        text = "\n".join("  ".join(r) for r in rows)
        body = "<table>\n" + "\n".join(
            "<tr>" + "".join(f"<td>{c}</td>" for c in r) + "</tr>" for r in rows) + "\n</table>"
        return text, self._page("Historical prices", body, "en")

    def mojibake(self, text: str):
        """Real text, UTF-8 bytes read as cp1252 (undefined bytes as latin-1)
        or as latin-1: what a wrong charset guess makes of it."""
        b = text.encode("utf-8")
        if self.rng.random() < 0.5:
            return b.decode("latin-1")
        return "".join(bytes([x]).decode("cp1252", errors="ignore") or chr(x) for x in b)

    KINDS = ("nav_only", "cookie_banner", "keyword_spam", "repeated_lines", "lorem_ipsum",
             "very_short", "number_table")


def near_duplicate(rng: random.Random, text: str, lang: str | None) -> str:
    """A near copy as crawls hold them: a share/boilerplate line added, a few
    words swapped for others of the same text, spacing changed."""
    zh = lang == "zh"
    lines = text.split("\n")
    op = rng.randrange(3)
    if op == 0:
        extra = rng.choice(SHARE_ZH if zh else SHARE_EN)
        lines = lines + [extra] if rng.random() < 0.5 else [extra] + lines
    elif op == 1 and not zh:
        words = text.split(" ")
        for _ in range(max(1, len(words) // 40)):
            i, j = rng.randrange(len(words)), rng.randrange(len(words))
            words[i] = words[j]
        lines = " ".join(words).split("\n")
    elif op == 1:
        chars = list(text)
        for _ in range(max(1, len(chars) // 60)):
            i, j = rng.randrange(len(chars)), rng.randrange(len(chars))
            if not chars[i].isspace() and not chars[j].isspace():
                chars[i] = chars[j]
        lines = "".join(chars).split("\n")
    else:
        lines = [ln.replace(" ", "  ", 1) if i % 2 else ln.rstrip() + " " for i, ln in enumerate(lines)]
        lines.append(rng.choice(SHARE_ZH if zh else SHARE_EN))
    return "\n".join(lines)


def near_duplicate_page(rng: random.Random, page: Rec) -> bytes:
    """The same page as a scraper site serves it: its own banner on top, a
    share line and a date at the bottom, the main content untouched."""
    zh = page.lang == "zh"
    charset = "gbk" if "GBK" in page.content_type else "utf-8"
    top = ('<div class="site-banner">' + ("转载自网络，仅供学习交流" if zh else "Reposted for reference only")
           + "</div>").encode(charset)
    day = (dt.date(2023, 9, 1) + dt.timedelta(days=rng.randrange(200))).isoformat()
    bottom = (f'<div class="share">{rng.choice(SHARE_ZH if zh else SHARE_EN)} · {day}</div>').encode(charset)
    head, body = page.html.split(b"<body", 1)
    open_tag, rest = body.split(b">", 1)
    rest = rest.replace(b"</body>", bottom + b"</body>")
    return head + b"<body" + open_tag + b">" + top + rest


# ------------------------------------------------------------- writers --
def crawl_date(rng: random.Random) -> dt.datetime:
    return dt.datetime(2023, 9, 1) + dt.timedelta(seconds=rng.randrange(200 * 86400))


def warc_id(*parts: str) -> str:
    return f"<urn:uuid:{uuid.UUID(bytes=hashlib.sha1(chr(0).join(parts).encode()).digest()[:16])}>"


def write_warc(path: Path, recs: list[Rec], rng: random.Random, wet: bool = False) -> None:
    """WARC (or WET) file: a warcinfo record, then per record a request +
    response (WARC) or a conversion record (WET). Every id and date is fixed."""
    buf = io.BytesIO()
    writer = WARCWriter(buf, gzip=True)
    date0 = "2023-12-01T00:00:00Z"
    info = (f"software: infra/build_sample.py (yi-pipeline)\nformat: WARC File Format 1.0\n"
            f"description: sample crawl built from Debian/PyPI text, seed {SEED}\n"
            f"isPartOf: YI-SAMPLE-2023-50\n").encode()
    writer.write_record(writer.create_warc_record(
        path.name, "warcinfo", payload=io.BytesIO(info), warc_content_type="application/warc-fields",
        warc_headers_dict={"WARC-Record-ID": warc_id(path.name, "warcinfo"), "WARC-Date": date0,
                           "WARC-Filename": path.name}))
    for r in recs:
        date = crawl_date(rng).strftime("%Y-%m-%dT%H:%M:%SZ")
        if wet:
            body = r.text.encode("utf-8")
            writer.write_record(writer.create_warc_record(
                r.url, "conversion", payload=io.BytesIO(body), length=len(body),
                warc_content_type="text/plain",
                warc_headers_dict={"WARC-Record-ID": warc_id(r.url, "conversion"), "WARC-Date": date,
                                   "WARC-Refers-To": warc_id(r.url, "response")}))
            continue
        host = r.url.split("/")[2]
        req = (f"GET /{r.url.split('/', 3)[3] if r.url.count('/') >= 3 else ''} HTTP/1.1\r\nHost: {host}\r\n"
               "User-Agent: yi-sample-crawler/1.0\r\nAccept: text/html,*/*\r\n\r\n").encode()
        writer.write_record(writer.create_warc_record(
            r.url, "request", payload=io.BytesIO(req), length=len(req),
            warc_content_type="application/http; msgtype=request",
            warc_headers_dict={"WARC-Record-ID": warc_id(r.url, "request"), "WARC-Date": date,
                               "WARC-Concurrent-To": warc_id(r.url, "response")}))
        headers = [("Date", dt.datetime.strptime(date, "%Y-%m-%dT%H:%M:%SZ").strftime("%a, %d %b %Y %H:%M:%S GMT")),
                   ("Server", "nginx"), ("Content-Type", r.content_type),
                   ("Content-Length", str(len(r.html)))]
        if r.status.startswith("301"):
            headers.append(("Location", r.extra["location"]))
        writer.write_record(writer.create_warc_record(
            r.url, "response", payload=io.BytesIO(r.html), length=None,
            http_headers=StatusAndHeaders(r.status, headers, protocol="HTTP/1.1"),
            warc_headers_dict={"WARC-Record-ID": warc_id(r.url, "response"), "WARC-Date": date,
                               "WARC-IP-Address": "192.0.2.%d" % (int(hashlib.sha1(host.encode()).hexdigest()[:2], 16) % 250 + 1)}))
    path.write_bytes(buf.getvalue())


def gzip_bytes(data: bytes) -> bytes:
    out = io.BytesIO()
    with gzip.GzipFile(filename="", mode="wb", fileobj=out, mtime=0, compresslevel=9) as g:
        g.write(data)
    return out.getvalue()


def jsonl_bytes(rows: list[dict]) -> bytes:
    return "".join(json.dumps(r, ensure_ascii=False, sort_keys=False) + "\n" for r in rows).encode()


def rec_row(r: Rec) -> dict:
    """A JSONL row: `lang_gold` only where the language is known."""
    row = {"id": r.id, "text": r.text, "url": r.url, "source": r.source}
    if r.lang is not None:
        row["lang_gold"] = r.lang
    row.update(r.extra)
    return row


# --------------------------------------------------------------- build --
def build(src: Path, out: Path) -> None:
    rng = random.Random(SEED)
    debs = {}
    for name in DEB_PACKAGES:
        debs[name] = DebPackage(find_one(src / "deb", f"{name}_*.deb"))
    pypi = {k: find_one(src / "pypi", v) for k, v in PYPI_FILES.items()}
    print(f"[sample] sources: {', '.join(f'{d.name} {d.version}' for d in debs.values())}, "
          + ", ".join(p.name for p in pypi.values()), flush=True)

    recs: list[Rec] = []
    ref_en: list[dict] = []
    ref_zh: list[dict] = []

    # English: fortunes (jsonl / parquet / wet)
    f_en = fortunes_en(debs)
    chosen = rng.sample(f_en, N_FORTUNES_EN)
    en_lines = [ln.strip() for _, t in f_en for ln in t.split("\n") if len(ln.strip()) > 30]
    for i, (key, text) in enumerate(chosen):
        fmt = "jsonl" if i < 2000 else ("parquet" if i < 2800 else "wet")
        coll = key.split("/")[0]
        recs.append(Rec(url=f"https://fortunes.example.org/{key}.html", text=text, source="fortunes",
                        lang="en", fmt=fmt, file="fortunes-en.jsonl.gz" if fmt == "jsonl" else "",
                        extra={"collection": coll} if fmt == "jsonl" else {}))

    # Chinese: fortunes-zh (jsonl / parquet)
    f_zh = fortunes_zh(debs["fortunes-zh"])
    zh_lines = [ln.strip() for _, t in f_zh for ln in t.split("\n") if len(ln.strip()) > 12]
    chinese = [x for x in f_zh if x[0].startswith("chinese/")]
    poems = [x for x in f_zh if not x[0].startswith("chinese/")]
    for i, (key, text) in enumerate(rng.sample(chinese, N_FORTUNES_ZH)):
        fmt = "jsonl" if i < 1600 else "parquet"
        recs.append(Rec(url=f"https://fortunes.example.org/zh/{key}.html", text=text, source="fortunes-zh",
                        lang="zh", fmt=fmt, file="fortunes-zh.jsonl.gz" if fmt == "jsonl" else "",
                        extra={"collection": key.split("/")[0]} if fmt == "jsonl" else {}))
    for key, text in poems:
        recs.append(Rec(url=f"https://fortunes.example.org/zh/{key}.html", text=text, source="fortunes-zh",
                        lang="zh", fmt="parquet"))

    # Chinese: manpages-zh (half to wet, half's DESCRIPTION to reference)
    for name, secs in manpages_zh(debs["manpages-zh"]):
        text = "\n\n".join(f"{h}\n{b}" if h else b for h, b in secs)
        if stable_fraction("manpages-zh/" + name) < 0.5:
            desc = [b for h, b in secs if h in ("描述", "说明", "描述 DESCRIPTION", "DESCRIPTION")]
            if desc and cjk_ratio(desc[0]) >= 0.3 and len(desc[0]) >= 200:
                ref_zh.append({"id": f"manpages-zh/{name}", "text": desc[0], "source": "manpages-zh"})
        elif cjk_ratio(text) >= 0.15 and len(text) >= 200:
            recs.append(Rec(url=f"https://manpages.debian.org/bookworm/manpages-zh/{name}.zh_CN.html",
                            text=text, source="manpages-zh", lang="zh", fmt="wet"))

    # Chinese: debian-reference sections (half to warc as HTML, half to reference)
    for page, title, page_html, text in debref_sections(debs["debian-reference-zh-cn"]):
        if stable_fraction("debref/" + page) < 0.5:
            if len(text) >= 200:
                ref_zh.append({"id": f"debian-reference/{page}", "text": text, "source": "debian-reference-zh-cn"})
            continue
        r = Rec(url=f"https://www.debian.org/doc/manuals/debian-reference/{page}.zh-cn.html", text=text,
                source="debian-reference-zh-cn", lang="zh", fmt="warc", html=page_html.encode("utf-8"))
        if rng.random() < GBK_FRACTION:  # characters GBK lacks become &#NNN; as servers do
            r.html = page_html.replace('charset="UTF-8"', 'charset="gbk"').encode("gbk", "xmlcharrefreplace")
            r.content_type = "text/html; charset=GBK"
        recs.append(r)

    # English: Python docs HTML
    pyd = debs["python3.11-doc"]
    prefix = "usr/share/doc/python3.11/html/"
    pages = [p for p in pyd.glob(prefix, ".html") if len(pyd.files[p]) <= PYDOCS_MAX_BYTES]
    for p in sorted(rng.sample(pages, N_PYDOCS)):
        rel = p[len(prefix):]
        recs.append(Rec(url=f"https://docs.python.org/3.11/{rel}", source="python-docs", lang="en",
                        fmt="warc", html=pyd.files[p]))

    # English: one real web page from trafilatura's tests (CC BY-SA content)
    with tarfile.open(pypi["trafilatura"]) as tf:
        moz = next(m for m in tf.getmembers() if m.name.endswith("tests/resources/mozilla.org.firefox.developer.html"))
        recs.append(Rec(url="https://www.mozilla.org/en-US/firefox/developer/", source="mozilla.org",
                        lang="en", fmt="warc", html=tf.extractfile(moz).read()))

    # English: Wikipedia (one third to sample, the rest to reference)
    for title, text in wikipedia_articles(pypi["gensim"]):
        slug = title.replace(" ", "_")
        if stable_fraction("enwiki/" + title) < 2 / 3:
            ref_en.append({"id": f"enwiki/{slug}", "text": text, "source": "wikipedia", "title": title})
        else:
            recs.append(Rec(url=f"https://en.wikipedia.org/wiki/{slug}", text=text, source="wikipedia",
                            lang="en", fmt="jsonl", file="wikipedia-en.jsonl.gz", extra={"title": title}))

    # Dialogs in many languages (jsonl.zst)
    dialogs = chatterbot_dialogs(pypi["chatterbot-corpus"])
    by_lang: dict[str, list] = {}
    for d in dialogs:
        by_lang.setdefault(d[0], []).append(d)
    for lang in sorted(by_lang):
        cap = DIALOGS_PER_LANG.get(lang, DIALOGS_OTHER_CAP)
        items = by_lang[lang]
        for lang_, key, text in sorted(rng.sample(items, min(cap, len(items)))):
            recs.append(Rec(url=f"https://github.com/gunthercox/chatterbot-corpus/blob/master/"
                                f"chatterbot_corpus/data/{key.rsplit('/', 1)[0]}.yml#L{key.rsplit('/', 1)[1]}",
                            text=text, source="chatterbot-corpus", lang=lang_, fmt="jsonl",
                            file="dialogs.jsonl.zst", extra={"topic": key.split("/")[1]}))

    # Junk
    junk = Junk(rng, en_lines, zh_lines)
    n_real = len(recs)
    junk_recs = []
    for i in range(int(n_real * 0.025)):  # HTML junk pages in the WARC
        kind = Junk.KINDS[i % len(Junk.KINDS)]
        text, page = getattr(junk, kind)()
        junk_recs.append(Rec(url=f"https://{junk_host(rng)}/{kind.replace('_', '-')}/{i}.html", text=text,
                             source="web", lang=None, kind=kind, fmt="warc", html=page))
    for i in range(int(n_real * 0.03)):  # text junk in wet/jsonl/parquet
        kind = Junk.KINDS[i % len(Junk.KINDS)]
        text, _ = getattr(junk, kind)()
        fmt = ("wet", "jsonl", "parquet")[i % 3]
        junk_recs.append(Rec(url=f"https://{junk_host(rng)}/{kind.replace('_', '-')}/t{i}", text=text,
                             source="web", lang=None, kind=kind, fmt=fmt,
                             file="web-mixed.jsonl.gz" if fmt == "jsonl" else ""))
    long_real = [r for r in recs if r.fmt != "warc" and r.lang in ("en", "zh") and len(r.text) >= 120]
    for i, orig in enumerate(rng.sample(long_real, int(n_real * 0.015))):
        text = junk.mojibake(orig.text)
        fmt = ("jsonl", "parquet")[i % 2]
        junk_recs.append(Rec(url=f"https://{junk_host(rng)}/post/{i}.php", text=text, source="web",
                             lang=None, kind="mojibake", fmt=fmt,
                             file="web-mixed.jsonl.gz" if fmt == "jsonl" else ""))

    # Duplicates: exact copies and near copies of real records, at new urls
    dup_recs = []
    textual = [r for r in recs if r.fmt != "warc" and r.source != "chatterbot-corpus"]
    for i, orig in enumerate(rng.sample(textual, int(n_real * EXACT_DUP_FRACTION))):
        fmt = rng.choice(("jsonl", "parquet", "wet"))
        dup_recs.append(Rec(url=mirror_url(orig.url, i), text=orig.text, source=orig.source, lang=orig.lang,
                            kind="exact_dup", dup_of=orig.url, fmt=fmt,
                            file="web-mixed.jsonl.gz" if fmt == "jsonl" else ""))
    long_text = [r for r in textual if len(r.text) >= 400]
    for i, orig in enumerate(rng.sample(long_text, min(len(long_text), int(n_real * NEAR_DUP_FRACTION)))):
        fmt = rng.choice(("jsonl", "parquet", "wet"))
        dup_recs.append(Rec(url=mirror_url(orig.url, 10_000 + i), text=near_duplicate(rng, orig.text, orig.lang),
                            source=orig.source, lang=orig.lang, kind="near_dup", dup_of=orig.url, fmt=fmt,
                            file="web-mixed.jsonl.gz" if fmt == "jsonl" else ""))
    html_pages = [r for r in recs if r.fmt == "warc"]
    for i, orig in enumerate(rng.sample(html_pages, max(4, len(html_pages) // 30))):
        dup_recs.append(Rec(url=orig.url + ("?utm_source=feed" if i % 2 else "?ref=home"), text=orig.text,
                            source=orig.source, lang=orig.lang, kind="exact_dup", dup_of=orig.url,
                            fmt="warc", html=orig.html, content_type=orig.content_type))
    real_pages = [r for r in html_pages if r.html.count(b"</body>") == 1]
    for i, orig in enumerate(rng.sample(real_pages, max(4, len(html_pages) // 30))):
        dup_recs.append(Rec(url=mirror_url(orig.url, 20_000 + i), text=orig.text, source=orig.source,
                            lang=orig.lang, kind="near_dup", dup_of=orig.url, fmt="warc",
                            html=near_duplicate_page(rng, orig), content_type=orig.content_type))

    # Non-HTML responses a crawl holds
    other = [
        Rec(url="https://www.example.com/images/logo.png", kind="non_text", fmt="warc",
            html=b"\x89PNG\r\n\x1a\n" + rng.randbytes(3000), content_type="image/png"),
        Rec(url="https://static.example.net/img/banner.png", kind="non_text", fmt="warc",
            html=b"\x89PNG\r\n\x1a\n" + rng.randbytes(5000), content_type="image/png"),
        Rec(url="https://files.example.org/report-2023.pdf", kind="non_text", fmt="warc",
            html=b"%PDF-1.4\n" + rng.randbytes(4000), content_type="application/pdf"),
        Rec(url="http://docs.python.org/3.11/index.html", kind="non_text", fmt="warc",
            html=b"<html><body>Moved Permanently</body></html>", status="301 Moved Permanently",
            extra={"location": "https://docs.python.org/3.11/index.html"}),
    ]
    all_recs = recs + junk_recs + dup_recs + other
    ref_en, ref_zh = drop_shared_lines(ref_en, all_recs), drop_shared_lines(ref_zh, all_recs)
    urls = Counter(r.url for r in all_recs)
    assert max(urls.values()) == 1, [u for u, n in urls.items() if n > 1][:5]
    write_outputs(out, all_recs, ref_en, ref_zh, rng, debs, pypi)


def line_key(line: str) -> str:
    """What makes two lines "the same text": their first 32 non-space chars."""
    return re.sub(r"\s+", "", line)[:32]


def drop_shared_lines(ref: list[dict], recs: list[Rec]) -> list[dict]:
    """Reference docs minus every line that the sample also holds (commands,
    sources.list lines, option texts repeated across man pages): reference
    and sample must share no text."""
    seen = {k for r in recs for ln in r.text.split("\n") if len(k := line_key(ln)) == 32}
    for r in recs:  # and every text node of the HTML pages
        if r.html is not None and r.content_type.startswith("text/html"):
            for node in lxml_html.fromstring(r.html).itertext():
                if len(k := line_key(node)) == 32:
                    seen.add(k)
    out = []
    for doc in ref:
        lines = [ln for ln in doc["text"].split("\n") if line_key(ln) not in seen]
        text = "\n".join(lines).strip()
        if len(text) >= 200:
            out.append({**doc, "text": text})
    return out


JUNK_WORDS = ["best", "cheap", "top", "deals", "news", "daily", "shop", "info", "online", "hub", "zone", "world"]


def junk_host(rng: random.Random) -> str:
    return f"www.{rng.choice(JUNK_WORDS)}-{rng.choice(JUNK_WORDS)}{rng.randrange(100)}.example.com"


def mirror_url(url: str, i: int) -> str:
    """Where a copied page lives: another site (mirrors, scrapers, aggregators)."""
    host = ("mirror", "archive", "blog", "bbs", "news")[i % 5]
    return f"https://{host}{i % 37}.example.net/{hashlib.sha1(url.encode()).hexdigest()[:10]}/{i}"


def write_outputs(out: Path, recs, ref_en, ref_zh, rng, debs, pypi) -> None:
    sample = out / "sample"
    for sub in ("warc", "wet", "jsonl", "parquet"):
        (sample / sub).mkdir(parents=True, exist_ok=True)
        for old in (sample / sub).iterdir():
            old.unlink()
    # order inside each file: a fixed shuffle, so languages and kinds mix
    rng.shuffle(recs)

    warc = [r for r in recs if r.fmt == "warc"]
    half = len(warc) // 2
    for i, part in enumerate((warc[:half], warc[half:])):
        name = f"YI-SAMPLE-2023-50-{i:05d}.warc.gz"
        for r in part:
            r.file = f"warc/{name}"
        write_warc(sample / "warc" / name, part, rng)
    wet = [r for r in recs if r.fmt == "wet"]
    name = "YI-SAMPLE-2023-50-00000.warc.wet.gz"
    for r in wet:
        r.file = f"wet/{name}"
    write_warc(sample / "wet" / name, wet, rng, wet=True)

    jsonl: dict[str, list[Rec]] = {}
    for r in recs:
        if r.fmt == "jsonl":
            jsonl.setdefault(r.file, []).append(r)
    for name, rs in sorted(jsonl.items()):
        data = jsonl_bytes([rec_row(r) for r in rs])
        payload = zstandard.ZstdCompressor(level=12).compress(data) if name.endswith(".zst") else gzip_bytes(data)
        (sample / "jsonl" / name).write_bytes(payload)
        for r in rs:
            r.file = f"jsonl/{name}"

    pq_recs = [r for r in recs if r.fmt == "parquet"]
    name = "web-text-00000.parquet"
    table = pa.table({
        "id": pa.array([r.id for r in pq_recs], pa.string()),
        "text": pa.array([r.text for r in pq_recs], pa.string()),
        "url": pa.array([r.url for r in pq_recs], pa.string()),
        "source": pa.array([r.source for r in pq_recs], pa.string()),
        "lang_gold": pa.array([r.lang for r in pq_recs], pa.string()),
        "crawl_date": pa.array([crawl_date(rng).date() for r in pq_recs], pa.date32()),
    })
    pq.write_table(table, sample / "parquet" / name, compression="zstd", row_group_size=2000)
    for r in pq_recs:
        r.file = f"parquet/{name}"

    # ground truth, one row per record, sorted by url
    recs_sorted = sorted(recs, key=lambda r: r.url)
    labels = pa.table({
        "url": [r.url for r in recs_sorted],
        "file": [r.file for r in recs_sorted],
        "format": [r.fmt for r in recs_sorted],
        "source": [r.source or None for r in recs_sorted],
        "lang": pa.array([r.lang for r in recs_sorted], pa.string()),
        "kind": [r.kind for r in recs_sorted],
        "dup_of": pa.array([r.dup_of for r in recs_sorted], pa.string()),
    })
    pq.write_table(labels, out / "sample_labels.parquet", compression="zstd")

    ref = out / "reference"
    ref.mkdir(parents=True, exist_ok=True)
    for lang, rows in (("en", ref_en), ("zh", ref_zh)):
        (ref / f"{lang}.jsonl.gz").write_bytes(gzip_bytes(jsonl_bytes(sorted(rows, key=lambda x: x["id"]))))

    write_sources_md(out, recs, ref_en, ref_zh, debs, pypi)
    sizes = sum(p.stat().st_size for p in sample.rglob("*") if p.is_file())
    print(f"[sample] {len(recs)} records -> {sample} ({sizes / 1e6:.1f} MB), "
          f"reference en {len(ref_en)} / zh {len(ref_zh)} docs", flush=True)


LICENCES = {
    "fortunes": "BSD (4.4BSD licence with the advertising clause deleted), \"Copyright (c) 1991 The "
                "Regents of the University of California\" (Debian copyright file); quotations collected "
                "by the fortune-mod authors, distributed in Debian main",
    "fortunes-min": "as fortunes (same source package fortune-mod)",
    "fortunes-zh": "GPL-3.0+ (Debian copyright file)",
    "python3.11-doc": "PSF License Version 2 (Python and its documentation; Debian copyright file)",
    "debian-reference-zh-cn": "GPL-2+ (Debian copyright file; translators licensed the same)",
    "manpages-zh": "GFDL-1.2+ for the translations (Debian copyright file; a few pages GPL-2.0/2.0+)",
    "trafilatura": "Apache-2.0 (the package); the one page used, mozilla.org's Firefox Developer Edition "
                   "page, says \"Content available under a Creative Commons license\" (mozilla.org: CC BY-SA)",
    "gensim": "LGPL-2.1 (the package); its test data is a shortened English Wikipedia dump: "
              "CC BY-SA 3.0 / GFDL (Wikipedia's licence)",
    "chatterbot-corpus": "BSD (the wheel's metadata: classifier \"License :: OSI Approved :: BSD "
                         "License\"; the wheel ships no licence text)",
}
USE = {
    "fortunes": "%d English fortunes drawn at random (all collections, `%%`-separated entries)",
    "fortunes-min": "pooled with fortunes",
    "fortunes-zh": "%d entries of `chinese` drawn at random + all of `tang300`/`song100`; ANSI colour codes stripped",
    "python3.11-doc": "%d HTML pages (<= 120 kB) drawn at random, stored as they are (Sphinx navigation and all)",
    "debian-reference-zh-cn": "chapters cut into one page per top-level section (chapter navigation kept); "
                              "half the sections (by hash of the page name) here, the other half in "
                              "data/reference; ~20%% of the pages here served as GBK",
    "manpages-zh": "zh_CN pages, roff turned into text by a small converter; half the pages (by hash of the "
                   "name) here as WET records, the DESCRIPTION of the other half in data/reference",
    "trafilatura": "tests/resources/mozilla.org.firefox.developer.html only (other test pages: "
                   "copyright unclear, left out)",
    "gensim": "enwiki test dump: main-namespace, non-redirect articles, wiki markup stripped; one third "
              "(by hash of the title) here, two thirds in data/reference",
    "chatterbot-corpus": "one record per conversation (turns one a line); up to 450 en, 320 zh "
                         "(simplified + traditional), 90 per other language; hinglish left out (no ISO code)",
}


def label(r: Rec) -> str:
    if r.kind == "non_text":
        return "non_text"
    if r.lang is None:
        return "junk"
    return r.lang if r.lang in ("en", "zh") else "other"


def counts_table(recs: list[Rec]) -> list[str]:
    cols = ("en", "zh", "other", "junk", "non_text")
    by_file: dict[str, Counter] = {}
    for r in recs:
        by_file.setdefault(r.file, Counter())[label(r)] += 1
    total = Counter()
    lines = ["| file | records | " + " | ".join(cols) + " |", "|---|---:|" + "---:|" * len(cols)]
    for f, c in sorted(by_file.items()):
        total.update(c)
        lines.append(f"| {f} | {sum(c.values())} | " + " | ".join(str(c[k]) for k in cols) + " |")
    lines.append(f"| **total** | {sum(total.values())} | " + " | ".join(str(total[k]) for k in cols) + " |")
    return lines


def write_sources_md(out: Path, recs, ref_en, ref_zh, debs, pypi) -> None:
    """SOURCES.md of data/sample and data/reference: provenance, licences,
    what was done, counts (the counts table is what tests/test_sample.py checks)."""
    n_py = sum(r.source == "python-docs" and r.kind == "real" for r in recs)
    use = dict(USE)
    use["fortunes"] %= N_FORTUNES_EN
    use["fortunes-zh"] %= N_FORTUNES_ZH
    use["python3.11-doc"] %= n_py
    use["debian-reference-zh-cn"] = use["debian-reference-zh-cn"].replace("%%", "%")
    src_rows = [f"| Debian `{d.name}` | {d.version} | {LICENCES[d.name]} | {use[d.name]} |" for d in debs.values()]
    src_rows += [f"| PyPI `{k}` ({p.name}) | {p.name.split('-')[1].removesuffix('.tar.gz')} | {LICENCES[k]} | {use[k]} |"
                 for k, p in pypi.items()]
    kinds = Counter(r.kind for r in recs)
    text_recs = [r for r in recs if r.kind != "non_text"]
    mix = Counter(label(r) for r in text_recs)
    other_langs = Counter(r.lang for r in text_recs if label(r) == "other")
    md = [
        "# data/sample: the shipped sample corpus",
        "",
        "Built by `make sample` (`python infra/build_sample.py`) from the Debian and PyPI files below; "
        f"seed {SEED}. Every file is byte-identical from one build to the next (sorted inputs, one seeded "
        "generator, ids from hashes, gzip mtime 0): checked by building twice and comparing sha256.",
        "",
        "## Sources",
        "",
        "| source | version | licence (as its package states it) | what was taken / done |",
        "|---|---|---|---|",
        *src_rows,
        "",
        "Synthetic parts (made here from the real text above, seeded): junk pages and texts "
        "(navigation-only, cookie banner, keyword spam, repeated lines, lorem ipsum, very short, number "
        "tables), mojibake (real en/zh text, UTF-8 bytes decoded as latin-1 or cp1252), exact duplicates "
        "(same text at another url, possibly another format; HTML pages again at `?utm_source=`-style urls) "
        "and near duplicates (a share line added, a few words or characters swapped, spacing changed; "
        "HTML pages with a scraper's banner and footer added), WARC non-HTML records (PNG and PDF of random "
        "bytes, a 301 redirect) that the reader must skip.",
        "",
        "## Formats",
        "",
        "- `warc/*.warc.gz`: warcinfo, then a request + response record per page (HTTP headers, "
        "`Content-Type`; some Chinese pages `charset=GBK`).",
        "- `wet/*.warc.wet.gz`: warcinfo, then `conversion` records (text/plain), as Common Crawl's WET.",
        "- `jsonl/*.jsonl.gz`, `jsonl/dialogs.jsonl.zst`: `id`, `text`, `url`, `source`, `lang_gold` "
        "(only where the language is known: absent on junk), plus per-file extra fields "
        "(`collection`, `title`, `topic`) that the pipeline must carry through.",
        "- `parquet/*.parquet`: `id`, `text`, `url`, `source`, `lang_gold` (null on junk), `crawl_date` (date).",
        "- `../sample_labels.parquet` (outside sample/, so the pipeline never reads it): one row per "
        "record, keyed by `url`: `file`, `format`, `source`, `lang`, `kind` (real, exact_dup, near_dup, "
        "a junk kind, non_text), `dup_of` (url of the original). Ground truth for benches.",
        "",
        "## Counts",
        "",
        "Per file, by gold label (en, zh, other = another language, junk = no language, "
        "non_text = WARC records with no text):",
        "",
        *counts_table(recs),
        "",
        f"Text records: {len(text_recs)}; " + ", ".join(
            f"{k} {mix[k]} ({100 * mix[k] / len(text_recs):.1f}%)" for k in ("en", "zh", "other", "junk")) + ".",
        "",
        "Other languages: " + ", ".join(f"{k} {v}" for k, v in sorted(other_langs.items())) + ".",
        "",
        "Kinds: " + ", ".join(f"{k} {v}" for k, v in sorted(kinds.items())) + ".",
        "",
        "Bad input (invalid UTF-8, truncated gzip, ...) is not shipped: tests make it in tmp dirs.",
        "",
    ]
    (out / "sample" / "SOURCES.md").write_text("\n".join(md), encoding="utf-8")

    ref_md = [
        "# data/reference: high-quality reference text",
        "",
        "For the KenLM perplexity model and the quality classifier (positives). Built by "
        "`infra/build_sample.py` with data/sample; no document text here is in data/sample "
        "(split by hash of the article / page name; checked by tests/test_sample.py).",
        "",
        "| file | docs | chars | source | licence |",
        "|---|---:|---:|---|---|",
        f"| en.jsonl.gz | {len(ref_en)} | {sum(len(x['text']) for x in ref_en)} | English Wikipedia articles "
        f"(gensim {pypi['gensim'].name.split('-')[1]} test dump), markup stripped | {LICENCES['gensim']} |",
        f"| zh.jsonl.gz | {len(ref_zh)} | {sum(len(x['text']) for x in ref_zh)} | "
        f"{sum(x['source'] == 'debian-reference-zh-cn' for x in ref_zh)} debian-reference-zh-cn sections "
        f"({debs['debian-reference-zh-cn'].version}) as text + "
        f"{sum(x['source'] == 'manpages-zh' for x in ref_zh)} manpages-zh DESCRIPTION sections "
        f"({debs['manpages-zh'].version}) | GPL-2+ / GFDL-1.2+ |",
        "",
        "Rows: `id` (source/page), `text`, `source` (+ `title` for Wikipedia).",
        "",
        "Limits: both are small (a language model on this is a toy, fine for tests and relative scores). "
        "English is encyclopaedic (Wikipedia, as Yi and CCNet use). The Chinese is technical "
        "documentation (Debian manual, man pages) full of commands, paths and English option names: "
        "it is the best freely licensed Chinese prose available offline, but it is not news or "
        "encyclopaedia text, so a perplexity model built on it favours technical Chinese.",
        "",
    ]
    (out / "reference" / "SOURCES.md").write_text("\n".join(ref_md), encoding="utf-8")


def main(argv=None) -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--src", default=str(ROOT / "build" / "sample-src"), help="downloaded sources")
    p.add_argument("--out", default=str(ROOT / "data"), help="writes OUT/sample, OUT/reference")
    a = p.parse_args(argv)
    build(Path(a.src), Path(a.out))


if __name__ == "__main__":
    import sys

    sys.path.insert(0, str(ROOT))
    main()
