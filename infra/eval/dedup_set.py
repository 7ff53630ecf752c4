"""Held-out DEDUP evaluation set: planted duplicates built from real text.

  python infra/eval/dedup_set.py [--src build/dedup-src] [--out data/eval/dedup] [--download]

Writes, per split (``dev``: for tuning; ``test``: reported figures only):
  data/eval/dedup/{split}.parquet         id, text, lang   (the job's input)
  data/eval/dedup/{split}.labels.parquet  the truth, one row per document
and data/eval/dedup/counts.json (documents per split, language, kind) and
data/eval/dedup/SOURCES.md (sources, versions, licences, counts).

Base documents (80-2,000 tokens; a token is a word, or one CJK character,
as in pipeline/dedup/tokens.py) come only from bucket 0 of the shared
sources, with the source names and keys of infra/eval/sources.py
(debian-handbook <lang>/<page>.html, gnome-user-docs <lang>/<page>.page,
python3.11-doc <section>/<page>.html, fortunes / fortunes-zh
<collection>/<index>, gensim-lee <file>/<line>; manpages-zh zh_TW/<page>)
(out/brief12/RULES.md: ``xxhash.xxh64_intdigest(f"{source}:{key}")
% 2 == 0``, the string UTF-8 encoded; key = page / entry name), never from data/sample or
data/reference (a base sharing a line of >= 40 normalized characters with
either is dropped; python docs pages served in data/sample's WARC are
dropped by URL):
  en: debian-handbook en-US sections, python3.11-doc pages (body text, one
      section per document), gensim's Lee news corpus, long fortunes,
      gnome-user-docs (C) pages;
  zh: debian-handbook zh-CN sections, manpages-zh zh_TW pages, long
      fortunes-zh entries, gnome-user-docs zh_CN pages (translated
      paragraphs only).
Bases are split dev/test by ``xxh64(f"dedup-split:{source}:{key}") % 2``
(a page never feeds both splits). Bases are made mutually unrelated first:
a base that shares a normalized line (>= 20 chars) or a 50-token window
with an earlier accepted base is dropped, so every duplicate in the set is
a planted one.

Kinds (each in en and zh). A *group* is the original plus its variants.
Duplicate kinds: all but one member of the group must go (``must_go`` is
set on the variants; a scorer may keep any one member, see bench/dedup.py).
  exact         1-2 byte-identical copies.
  whitespace    a copy differing only in whitespace: CRLF line ends,
                trailing spaces, doubled spaces, extra blank lines.
  edit3         3 % of the tokens edited, scattered (substitution 50 %,
                insertion 25 %, deletion 25 %; substituted / inserted tokens
                drawn from the same split's vocabulary, CJK for CJK).
  edit8_burst   8 % of the tokens replaced in one contiguous burst.
  reorder       two sentences moved to other places in the document.
  nav_added     the original is plain text; the copy has a real navigation
                header and footer (python docs ``related`` bar + footer, or
                debian-handbook's docnav bars, as extracted text) around it.
  nav_removed   the original carries the header/footer; the copy has none.
Kinds that must stay (no member may go):
  edit15, edit25  15 % / 25 % of the tokens edited, scattered: different
                documents (pairs).
  template      3-5 different texts (<= 300 tokens) inside one shared
                template (the same real navigation header and footer, from
                the heavier half of the bars): hard negatives.
  shared_span   2-4 otherwise unrelated documents that each hold the same
                60-100-token span (cut from another real document) inside
                one of their paragraphs. The hosts stay; the span stage may
                cut the span from all but one.
  singleton     plain unrelated documents.

Truth is checked, not assumed: ``jaccard`` is the exact Jaccard similarity
of the variant's and the original's shingle sets (5-token shingles, NFKC +
lower case; word 5-grams, CJK character 5-grams). A duplicate variant must
reach >= 0.75 and a must-stay variant (edit15/edit25) must stay <= 0.55,
both with a margin around the cascade's threshold 0.7; a draw outside its
band is redrawn (up to 30 times, else the next base is tried). So "3 %" is
the edit rate of the draws whose Jaccard stayed >= 0.75. Template members
and span hosts are checked pairwise to stay <= 0.55.

Labels columns: id, lang, kind, group, role (original | variant | member
| host | singleton), must_go, dup_of (the original's id, for variants of
duplicate kinds), edit_rate (edit operations / tokens of the original),
edit_ops, jaccard (to the original; null for originals / singletons),
span (the shared span's text, hosts only), source, source_key, tokens.

Deterministic: fixed seeds, sorted inputs, ids = sha256(kind, group,
member index, text)[:16]; rows sorted by id; Parquet (zstd, no timestamps)
written by pyarrow: the same sources and pyarrow give the same bytes.
"""
from __future__ import annotations

import argparse
import gzip
import hashlib
import io
import json
import random
import re
import subprocess
import sys
import tarfile
import unicodedata
import zipfile
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import xxhash

REPO = Path(__file__).resolve().parents[2]
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))

SRC_DIR = REPO / "build" / "dedup-src"
OUT_DIR = REPO / "data" / "eval" / "dedup"
SEED = 12_2024  # issue 12

DEB_PACKAGES = {
    "debian-handbook": "11.20220922",
    "python3.11-doc": "3.11.2-6+deb12u9",
    "manpages-zh": "1.6.4.0-1",
    "fortunes": "1:1.99.1-7.3",
    "fortunes-min": "1:1.99.1-7.3",
    "fortunes-zh": "2.98",
    "gnome-user-docs": "43.0-2",
}
PYPI_FILES = {"gensim": "4.4.0"}

MIN_TOKENS, MAX_TOKENS = 80, 2000
DUP_MIN_J, NONDUP_MAX_J = 0.75, 0.55
SHINGLE = 5

# Groups per kind for a split with 1,000 "units" per language share; the
# language shares make en ~60 %, zh ~40 % of the documents.
LANG_SHARE = {"en": 0.6, "zh": 0.4}
KIND_GROUPS = {  # kind: (groups per 1,000 documents of a language, members incl. original)
    "exact": (50, None),          # 2 or 3 members
    "whitespace": (45, 2),
    "edit3": (55, 2),
    "edit8_burst": (45, 2),
    "edit15": (30, 2),
    "edit25": (30, 2),
    "reorder": (40, 2),
    "nav_added": (35, 2),
    "nav_removed": (35, 2),
    "template": (18, None),       # 3-5 members
    "shared_span": (16, None),    # 2-4 hosts
}
DUP_KINDS = ("exact", "whitespace", "edit3", "edit8_burst", "reorder", "nav_added", "nav_removed")
STAY_KINDS = ("edit15", "edit25", "template", "shared_span", "singleton")
DOCS_PER_SPLIT = 2000

# ------------------------------------------------------------------ tokens --
_CJK = ("\u3040-\u30ff\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff\uac00-\ud7af"
        "\U00020000-\U0002ebef\U00030000-\U0003134f")
TOKEN_RE = re.compile(rf"[{_CJK}]|[^\W{_CJK}]+")
CJK_RE = re.compile(rf"[{_CJK}]")


def tokens(text: str) -> list[str]:
    """Words, or single CJK characters, of NFKC + lower-cased text (the
    definition of pipeline/dedup/tokens.py, copied so the set does not move
    when the pipeline changes)."""
    return TOKEN_RE.findall(unicodedata.normalize("NFKC", text).lower())


def shingles(text: str, n: int = SHINGLE) -> set[str]:
    t = tokens(text)
    if len(t) < n:
        return {" ".join(t)} if t else set()
    return {" ".join(t[i:i + n]) for i in range(len(t) - n + 1)}


def jaccard(a: set, b: set) -> float:
    return len(a & b) / len(a | b) if a or b else 1.0


def norm_line(line: str) -> str:
    return " ".join(unicodedata.normalize("NFKC", line).lower().split())


def cjk_ratio(text: str) -> float:
    letters = sum(ch.isalpha() for ch in text)
    return len(CJK_RE.findall(text)) / letters if letters else 0.0


def bucket(source: str, key: str) -> int:
    """0 = evaluation, 1 = may be used for training (RULES.md)."""
    return xxhash.xxh64_intdigest(f"{source}:{key}".encode("utf-8")) % 2


def split_of(source: str, key: str) -> str:
    return ("dev", "test")[xxhash.xxh64_intdigest(f"dedup-split:{source}:{key}".encode("utf-8")) % 2]


# ----------------------------------------------------------------- sources --
def download(src: Path = SRC_DIR) -> None:
    """apt-get download / pip download the pinned inputs missing from ``src``."""
    (src / "deb").mkdir(parents=True, exist_ok=True)
    (src / "pypi").mkdir(parents=True, exist_ok=True)
    debs = [f"{k}={v}" for k, v in DEB_PACKAGES.items() if not list((src / "deb").glob(f"{k}_*.deb"))]
    if debs:
        subprocess.run(["apt-get", "download"] + debs, cwd=src / "deb", check=True)
    for k, v in PYPI_FILES.items():
        if not list((src / "pypi").glob(f"{k}-{v}-*.whl")):
            subprocess.run([sys.executable, "-m", "pip", "download", "-q", "--no-deps", "--only-binary=:all:",
                            "--python-version", "3.11", "-d", str(src / "pypi"), f"{k}=={v}"], check=True)


class Deb:
    """Files of one downloaded .deb (dpkg-deb --fsys-tarfile)."""

    def __init__(self, src: Path, name: str):
        hits = sorted((src / "deb").glob(f"{name}_*.deb"))
        if len(hits) != 1:
            raise SystemExit(f"expected one {name}_*.deb in {src / 'deb'} (found {len(hits)}): "
                             f"run with --download")
        self.name, self.version = name, hits[0].name[:-4].split("_")[1].replace("%3a", ":")
        tar = subprocess.run(["dpkg-deb", "--fsys-tarfile", str(hits[0])], check=True, capture_output=True).stdout
        self.files: dict[str, bytes] = {}
        with tarfile.open(fileobj=io.BytesIO(tar)) as tf:
            for m in tf.getmembers():
                if m.isfile():
                    self.files[m.name.lstrip("./")] = tf.extractfile(m).read()

    def glob(self, prefix: str, suffix: str = "") -> list[str]:
        return sorted(p for p in self.files if p.startswith(prefix) and p.endswith(suffix))


BLOCK_TAGS = {"p", "h1", "h2", "h3", "h4", "h5", "h6", "li", "dt", "dd", "pre", "td", "th", "caption", "title"}


def _is_block(el) -> bool:
    if not isinstance(el.tag, str):
        return False
    return el.tag in BLOCK_TAGS or (el.tag == "div" and el.get("class") in ("para", "title"))


def block_text(el) -> str:
    """Plain text of an HTML element, one line per innermost block element."""
    lines = []
    for node in el.iter():
        if not _is_block(node) or any(_is_block(c) for c in node.iterdescendants()):
            continue
        t = node.text_content()
        t = "\n".join(ln.rstrip() for ln in t.strip("\n").split("\n")) if node.tag == "pre" else " ".join(t.split())
        if t.strip():
            lines.append(t)
    return "\n".join(lines)


@dataclass
class Base:
    source: str
    key: str        # page / entry: the bucket and split key
    sub: str        # section within the page
    lang: str
    text: str


@dataclass
class Nav:
    """A real page's navigation chrome, as extracted text."""
    source: str
    key: str
    lang: str
    header: str
    footer: str


CHUNK_TOKENS = {"en": 800, "zh": 400}  # zh pages are fewer: shorter documents


def _chunks(lines: list[str], max_tokens: int) -> list[str]:
    """Consecutive whole lines, cut into documents of <= max_tokens tokens
    (a single longer line is one document of its own, kept if <= MAX_TOKENS)."""
    out, cur, n = [], [], 0
    for line in lines:
        k = len(tokens(line))
        if cur and n + k > max_tokens:
            out.append("\n".join(cur))
            cur, n = [], 0
        cur.append(line)
        n += k
    if cur:
        out.append("\n".join(cur))
    return out


def handbook(deb: Deb, lang_dir: str, lang: str) -> tuple[list[Base], list[Nav]]:
    from lxml import html as lh
    prefix = f"usr/share/doc/debian-handbook/html/{lang_dir}/"
    bases, navs = [], []
    for path in deb.glob(prefix, ".html"):
        page = path[len(prefix):]
        if "/" in page or page == "index.html":
            continue
        doc = lh.fromstring(deb.files[path])
        docnav = doc.find_class("docnav")
        if len(docnav) >= 2:
            navs.append(Nav("debian-handbook", page, lang, block_text_inline(docnav[0]),
                            block_text_inline(docnav[-1])))
        roots = [e for e in doc.iter("div", "section") if (e.get("class") or "") in
                 ("section", "chapter", "preface", "appendix")]
        if not roots:
            continue
        root = roots[0]
        subs = [c for c in root if c.tag in ("div", "section") and c.get("class") == "section"]
        for c in subs:
            root.remove(c)
        parts = [("intro", root)] + [(c.get("id") or f"s{i}", c) for i, c in enumerate(subs)]
        for sub, el in parts:
            bases.append(Base("debian-handbook", f"{lang_dir}/{page}", sub, lang, block_text(el)))
    return bases, navs


def block_text_inline(el) -> str:
    """Navigation bar text: one line per link / list item."""
    items = [" ".join(li.text_content().split()) for li in el.iter("li")]
    items = [i for i in items if i]
    return "\n".join(items) if items else " ".join(el.text_content().split())


def python_docs(deb: Deb, sample_urls: set[str]) -> tuple[list[Base], list[Nav]]:
    from lxml import html as lh
    prefix = "usr/share/doc/python3.11/html/"
    bases, navs = [], []
    for path in deb.glob(prefix, ".html"):
        rel = path[len(prefix):]
        if rel.startswith(("_", "genindex", "py-modindex", "search")) or f"docs.python.org/3.11/{rel}" in sample_urls:
            continue
        doc = lh.fromstring(deb.files[path])
        rel_bars = doc.find_class("related")
        foot = doc.find_class("footer")
        if rel_bars and foot:
            navs.append(Nav("python3.11-doc", rel, "en", block_text(rel_bars[0]),
                            block_text(rel_bars[-1]) + "\n" + " ".join(foot[0].text_content().split())))
        body = doc.find_class("body")
        if not body:
            continue
        body = body[0]
        top = [c for c in body.iter("section", "div") if c.get("class") == "section" or c.tag == "section"]
        if not top:
            continue
        root = top[0]
        subs = [c for c in root if (c.tag == "section") or (c.tag == "div" and c.get("class") == "section")]
        for c in subs:
            root.remove(c)
        parts = [("intro", root)] + [(c.get("id") or f"s{i}", c) for i, c in enumerate(subs)]
        for sub, el in parts:
            text = block_text(el).replace("¶", "")
            bases.append(Base("python3.11-doc", rel, sub, "en", text))
    return bases, navs


def lee(src: Path) -> list[Base]:
    hits = sorted((src / "pypi").glob("gensim-*.whl"))
    if len(hits) != 1:
        raise SystemExit(f"expected one gensim wheel in {src / 'pypi'}: run with --download")
    out = []
    with zipfile.ZipFile(hits[0]) as z:
        for name in ("lee_background.cor", "lee.cor"):
            raw = z.read(f"gensim/test/test_data/{name}").decode("utf-8", "replace")
            for i, line in enumerate(raw.splitlines()):
                if line.strip():
                    out.append(Base("gensim-lee", f"{name}/{i}", "", "en", " ".join(line.split())))
    return out


def _split_fortunes(raw: str) -> list[str]:
    return [e.strip("\n") for e in re.split(r"\n%\n", raw.replace("\r\n", "\n")) if e.strip() and e.strip() != "%"]


ANSI = re.compile(r"\x1b\[[0-9;]*[A-Za-z]")


def fortunes(deb: Deb, lang: str) -> list[Base]:
    out = []
    for path in deb.glob("usr/share/games/fortunes/"):
        name = path.rsplit("/", 1)[1]
        if "." in name:
            continue
        raw = ANSI.sub("", deb.files[path].decode("utf-8", "replace"))
        for i, t in enumerate(_split_fortunes(raw)):
            out.append(Base("fortunes-zh" if lang == "zh" else "fortunes", f"{name}/{i}", "", lang, t))
    return out


def manpages_tw(deb: Deb) -> list[Base]:
    from infra.sample.manpages import roff_to_text
    out = []
    for path in deb.glob("usr/share/man/zh_TW/", ".gz"):
        name = path.rsplit("/", 1)[1][:-3]
        secs = roff_to_text(gzip.decompress(deb.files[path]).decode("utf-8", "replace"))
        text = "\n".join(f"{h}\n{b}" if h else b for h, b in secs)
        text = re.sub(r"\n{2,}", "\n", text)
        out.append(Base("manpages-zh", f"zh_TW/{name}", "", "zh", text))
    return out


MAL = "{http://projectmallard.org/1.0/}"


def gnome(deb: Deb, loc: str, lang: str) -> list[Base]:
    from lxml import etree
    out = []
    for path in deb.glob(f"usr/share/help/{loc}/gnome-help/", ".page"):
        page = path.rsplit("/", 1)[1]
        try:
            root = etree.fromstring(deb.files[path])
        except etree.XMLSyntaxError:
            continue
        lines = []
        for el in root.iter(f"{MAL}title", f"{MAL}p"):
            if any(a.tag == f"{MAL}info" for a in el.iterancestors()):
                continue
            t = " ".join("".join(el.itertext()).split())
            if t and (lang == "en" or cjk_ratio(t) >= 0.3):
                lines.append(t)
        out.append(Base("gnome-user-docs", f"{loc}/{page}", "", lang, "\n".join(lines)))
    return out


def sample_lines_and_urls() -> tuple[set[str], set[str]]:
    """Normalized lines (>= 40 chars) of every text in data/sample and
    data/reference, and the WARC target URLs of data/sample."""
    import pyarrow.parquet as pq
    import zstandard
    lines: set[str] = set()
    urls: set[str] = set()

    def add(text):
        for ln in (text or "").split("\n"):
            n = norm_line(ln)
            if len(n) >= 40:
                lines.add(n)
    for p in sorted((REPO / "data").glob("sample/jsonl/*")) + sorted((REPO / "data").glob("reference/*.jsonl.gz")):
        raw = gzip.decompress(p.read_bytes()) if p.suffix == ".gz" else \
            zstandard.ZstdDecompressor().stream_reader(io.BytesIO(p.read_bytes())).read()
        for line in raw.decode("utf-8").split("\n"):
            if line.strip():
                rec = json.loads(line)
                add(rec.get("text"))
                if isinstance(rec.get("messages"), list):
                    for m in rec["messages"]:
                        add(m.get("content") if isinstance(m, dict) else None)
    for p in sorted((REPO / "data" / "sample" / "parquet").glob("*.parquet")):
        for t in pq.read_table(p, columns=["text"]).column("text").to_pylist():
            add(t)
    for p in sorted((REPO / "data" / "sample").glob("w*/*.gz")):
        raw = gzip.decompress(p.read_bytes()).decode("utf-8", "replace")
        urls.update(re.findall(r"WARC-Target-URI: (\S+)", raw))
        if "wet" in p.name:
            add(raw)
    urls = {u.split("://", 1)[-1] for u in urls}
    return lines, urls


def load_bases(src: Path) -> tuple[list[Base], list[Nav], dict[str, str]]:
    """Every candidate base and navigation chrome (bucket 0 only), and the
    source versions."""
    seen_lines, sample_urls = sample_lines_and_urls()
    debs = {n: Deb(src, n) for n in DEB_PACKAGES}
    versions = {n: d.version for n, d in debs.items()}
    versions["gensim"] = PYPI_FILES["gensim"]
    bases: list[Base] = []
    navs: list[Nav] = []
    for lang_dir, lang in (("en-US", "en"), ("zh-CN", "zh"), ("zh-TW", "zh")):
        b, n = handbook(debs["debian-handbook"], lang_dir, lang)
        bases += b
        navs += n
    b, n = python_docs(debs["python3.11-doc"], sample_urls)
    bases += b
    navs += n
    bases += lee(src)
    bases += fortunes(debs["fortunes"], "en") + fortunes(debs["fortunes-min"], "en")
    bases += fortunes(debs["fortunes-zh"], "zh")
    bases += manpages_tw(debs["manpages-zh"])
    bases += gnome(debs["gnome-user-docs"], "C", "en") + gnome(debs["gnome-user-docs"], "zh_CN", "zh")
    out = []
    for b in bases:
        if bucket(b.source, b.key) != 0:
            continue
        lines = [ln.rstrip() for ln in b.text.replace("\r", "").split("\n") if ln.strip()]
        if any(norm_line(ln) in seen_lines for ln in lines):
            continue
        for k, chunk in enumerate(_chunks(lines, CHUNK_TOKENS[b.lang])):
            n_tok = len(tokens(chunk))
            if not MIN_TOKENS <= n_tok <= MAX_TOKENS:
                continue
            if b.lang == "zh" and cjk_ratio(chunk) < 0.4:
                continue
            if b.lang == "en" and cjk_ratio(chunk) > 0:
                continue
            out.append(Base(b.source, b.key, f"{b.sub}/{k}" if b.sub else str(k), b.lang, chunk))
    navs = [n for n in navs if bucket(n.source, n.key) == 0 and n.header.strip() and n.footer.strip()]
    return out, navs, versions


def window_hashes(text: str, w: int = 50) -> set[int]:
    t = tokens(text)
    return {xxhash.xxh64_intdigest(" ".join(t[i:i + w]).encode("utf-8")) for i in range(max(0, len(t) - w + 1))}


def unrelated(bases: list[Base]) -> list[Base]:
    """Greedy, in a fixed order: a line (>= 20 normalized chars) already in
    an accepted base is dropped from a later one; then a base still sharing
    a 50-token window with an accepted one, whose Jaccard with one reaches
    0.3, or that fell under MIN_TOKENS, is dropped."""
    lines: set[str] = set()
    wins: set[int] = set()
    sh_index: dict[str, list[int]] = {}
    sets: list[set] = []
    out = []
    for b in sorted(bases, key=lambda b: hashlib.sha256(f"{b.source}:{b.key}:{b.sub}".encode()).hexdigest()):
        keep, ls = [], set()
        for ln in b.text.split("\n"):
            n = norm_line(ln)
            if len(n) >= 20 and (n in lines or n in ls):
                continue
            keep.append(ln)
            if len(n) >= 20:
                ls.add(n)
        text = "\n".join(keep)
        if len(tokens(text)) < MIN_TOKENS:
            continue
        wh = window_hashes(text)
        if wh & wins:
            continue
        s = shingles(text)
        hits: dict[int, int] = {}
        for g in s:
            for j in sh_index.get(g, ()):
                hits[j] = hits.get(j, 0) + 1
        if any(c / (len(s) + len(sets[j]) - c) >= 0.3 for j, c in hits.items()):
            continue
        lines |= ls
        wins |= wh
        for g in s:
            sh_index.setdefault(g, []).append(len(sets))
        sets.append(s)
        out.append(Base(b.source, b.key, b.sub, b.lang, text))
    return out


# ------------------------------------------------------------------- edits --
def token_spans(text: str) -> list[tuple[int, int]]:
    return [m.span() for m in TOKEN_RE.finditer(text)]


def _rand_token(rng: random.Random, vocab: dict[str, list[str]], like: str) -> str:
    return rng.choice(vocab["cjk"] if CJK_RE.fullmatch(like) else vocab["word"])


def edit_scattered(text: str, rate: float, rng: random.Random, vocab) -> tuple[str, int]:
    """Edit round(rate * tokens) scattered tokens: substitution 50 %,
    insertion 25 %, deletion 25 %."""
    spans = token_spans(text)
    n = max(1, round(rate * len(spans)))
    pos = sorted(rng.sample(range(len(spans)), n))
    out, last = [], 0
    for p in pos:
        s, e = spans[p]
        tok = text[s:e]
        op = rng.random()
        out.append(text[last:s])
        if op < 0.5:
            out.append(_rand_token(rng, vocab, tok[0]))
        elif op < 0.75:
            new = _rand_token(rng, vocab, tok[0])
            out.append(tok + (new if CJK_RE.fullmatch(new) and CJK_RE.fullmatch(tok[-1]) else " " + new))
        else:
            if e < len(text) and text[e] == " " and not CJK_RE.fullmatch(tok[0]):
                e += 1
        last = e
    out.append(text[last:])
    return "".join(out), n


def edit_burst(text: str, rate: float, rng: random.Random, vocab) -> tuple[str, int]:
    """Replace a contiguous run of round(rate * tokens) tokens."""
    spans = token_spans(text)
    n = max(1, round(rate * len(spans)))
    start = rng.randrange(0, len(spans) - n + 1)
    out, last = [], 0
    for p in range(start, start + n):
        s, e = spans[p]
        out.append(text[last:s])
        out.append(_rand_token(rng, vocab, text[s]))
        last = e
    out.append(text[last:])
    return "".join(out), n


def whitespace_variant(text: str, rng: random.Random) -> str:
    lines = text.split("\n")
    out = []
    for ln in lines:
        r = rng.random()
        if r < 0.3:
            ln = ln + " " * rng.randint(1, 3)
        elif r < 0.5:
            ln = re.sub(" ", "  ", ln, count=rng.randint(1, 3))
        elif r < 0.55:
            ln = "\t" + ln
        out.append(ln)
        if rng.random() < 0.15:
            out.append("")
    return "\r\n".join(out) + "\r\n"


SENT_EN = re.compile(r"(?<=[.!?])\s+(?=[A-Z\"“(])")
SENT_ZH = re.compile(r"(?<=[。！？])")


def reorder(text: str, lang: str, rng: random.Random) -> tuple[str, int] | None:
    """Move two sentences to other places (sentence = a line split at . ! ?
    or 。！？; a moved sentence keeps its trailing separator)."""
    units: list[str] = []
    for li, line in enumerate(text.split("\n")):
        parts = [p for p in (SENT_ZH.split(line) if lang == "zh" else SENT_EN.split(line)) if p.strip()]
        for k, p in enumerate(parts):
            last = k == len(parts) - 1
            units.append(p.strip() + ("\n" if last else ("" if lang == "zh" else " ")))
    if len(units) < 6:
        return None
    for _ in range(2):
        i = rng.randrange(len(units))
        u = units.pop(i)
        j = rng.randrange(len(units) + 1)
        while j == i:
            j = rng.randrange(len(units) + 1)
        if not u.endswith("\n"):
            u = u.rstrip() + ("" if lang == "zh" else " ")
        units.insert(j, u)
    out = "".join(units)
    out = re.sub(r" +\n", "\n", out).strip("\n")
    return (out, 2) if out != text else None


def with_nav(text: str, nav: Nav) -> str:
    return f"{nav.header}\n{text}\n{nav.footer}"


def take_span(text: str, rng: random.Random) -> str | None:
    """60-100 consecutive tokens of one line of ``text`` (whole tokens)."""
    cands = [ln for ln in text.split("\n") if len(token_spans(ln)) >= 60]
    if not cands:
        return None
    line = rng.choice(cands)
    sp = token_spans(line)
    n = rng.randint(60, min(100, len(sp)))
    s = rng.randrange(0, len(sp) - n + 1)
    return line[sp[s][0]:sp[s + n - 1][1]]


def insert_span(text: str, span: str, lang: str, rng: random.Random) -> str:
    """The span inside the longest-but-random line, at a token boundary."""
    lines = text.split("\n")
    idx = [i for i, ln in enumerate(lines) if len(token_spans(ln)) >= 6] or [0]
    i = rng.choice(idx)
    sp = token_spans(lines[i])
    if len(sp) < 2:
        lines[i] = lines[i] + ("" if lang == "zh" else " ") + span
    else:
        cut = sp[rng.randrange(1, len(sp))][0]
        sep = "" if lang == "zh" else " "
        lines[i] = lines[i][:cut].rstrip() + sep + span + sep + lines[i][cut:].lstrip()
    return "\n".join(lines)


# ------------------------------------------------------------------- build --
def doc_id(kind: str, group: str, member: int, text: str) -> str:
    return hashlib.sha256(f"{kind}\0{group}\0{member}\0{text}".encode("utf-8")).hexdigest()[:16]


def build_split(bases: list[Base], navs: list[Nav], split: str, n_docs: int = DOCS_PER_SPLIT) -> list[dict]:
    rows: list[dict] = []
    for lang in ("en", "zh"):
        pool = [b for b in bases if b.lang == lang]
        rng = random.Random(f"{SEED}:{split}:{lang}")
        rng.shuffle(pool)
        lnavs = sorted((n for n in navs if n.lang == lang), key=lambda n: (n.source, n.key))
        vocab = {"word": sorted({w for b in pool for w in re.findall(r"[A-Za-z]{3,}", b.text)}),
                 "cjk": sorted({c for b in pool for c in CJK_RE.findall(b.text)})}
        if not vocab["cjk"]:
            vocab["cjk"] = sorted({c for b in bases for c in CJK_RE.findall(b.text)})
        rows += build_lang(pool, lnavs, vocab, lang, rng, round(n_docs * LANG_SHARE[lang]))
    return sorted(rows, key=lambda r: r["id"])


def build_lang(pool: list[Base], navs: list[Nav], vocab, lang: str, rng: random.Random, n_docs: int) -> list[dict]:
    rows: list[dict] = []
    used: set[int] = set()
    sh_cache: dict[int, set] = {}

    def sh(i: int) -> set:
        if i not in sh_cache:
            sh_cache[i] = shingles(pool[i].text)
        return sh_cache[i]

    def ntok(i: int) -> int:
        return len(tokens(pool[i].text))

    def take(pred=lambda i: True) -> int | None:
        for i in range(len(pool)):
            if i not in used and pred(i):
                used.add(i)
                return i
        return None

    def row(kind, group, member, text, b: Base, role, must_go, dup_of=None, rate=None, ops=None, j=None, span=None):
        r = {"id": doc_id(kind, group, member, text), "text": text, "lang": lang, "kind": kind, "group": group,
             "role": role, "must_go": must_go, "dup_of": dup_of, "edit_rate": rate, "edit_ops": ops,
             "jaccard": None if j is None else round(j, 4), "span": span, "source": b.source,
             "source_key": f"{b.key}#{b.sub}" if b.sub else b.key, "tokens": len(tokens(text))}
        rows.append(r)
        return r

    # templates use the heavier half of the navigation bars (more shared text: harder negatives)
    heavy_navs = sorted(navs, key=lambda n: (-len(tokens(n.header + "\n" + n.footer)), n.source, n.key))
    heavy_navs = heavy_navs[:max(1, len(heavy_navs) // 2)]
    scale = n_docs / 1000
    for kind, (per1000, size) in KIND_GROUPS.items():
        n_groups = round(per1000 * scale)
        for g in range(n_groups):
            group = f"{lang}-{kind}-{g:03d}"
            if kind == "exact":
                i = take()
                if i is None:
                    break
                b = pool[i]
                o = row(kind, group, 0, b.text, b, "original", False)
                for m in range(1, 2 + (rng.random() < 0.4)):
                    row(kind, group, m, b.text, b, "variant", True, o["id"], 0.0, 0, 1.0)
            elif kind == "whitespace":
                i = take()
                if i is None:
                    break
                b = pool[i]
                o = row(kind, group, 0, b.text, b, "original", False)
                v = whitespace_variant(b.text, rng)
                row(kind, group, 1, v, b, "variant", True, o["id"], 0.0, 0, jaccard(sh(i), shingles(v)))
            elif kind in ("edit3", "edit8_burst", "edit15", "edit25"):
                rate = {"edit3": 0.03, "edit8_burst": 0.08, "edit15": 0.15, "edit25": 0.25}[kind]
                dup = kind in DUP_KINDS
                fn = edit_burst if kind == "edit8_burst" else edit_scattered
                done = False
                while not done:
                    i = take(lambda i: ntok(i) >= (100 if dup else MIN_TOKENS))
                    if i is None:
                        break
                    b = pool[i]
                    for _ in range(30):
                        v, ops = fn(b.text, rate, rng, vocab)
                        j = jaccard(sh(i), shingles(v))
                        if (j >= DUP_MIN_J) if dup else (j <= NONDUP_MAX_J):
                            o = row(kind, group, 0, b.text, b, "original", False)
                            row(kind, group, 1, v, b, "variant", dup, o["id"] if dup else None,
                                round(ops / len(token_spans(b.text)), 4), ops, j)
                            done = True
                            break
                if not done:
                    break
            elif kind == "reorder":
                done = False
                while not done:
                    i = take(lambda i: ntok(i) >= 120)
                    if i is None:
                        break
                    b = pool[i]
                    for _ in range(30):
                        res = reorder(b.text, lang, rng)
                        if res is None:
                            break
                        v, ops = res
                        j = jaccard(sh(i), shingles(v))
                        if j >= DUP_MIN_J:
                            o = row(kind, group, 0, b.text, b, "original", False)
                            row(kind, group, 1, v, b, "variant", True, o["id"], None, ops, j)
                            done = True
                            break
                if not done:
                    break
            elif kind in ("nav_added", "nav_removed"):
                done = False
                while not done:
                    i = take(lambda i: ntok(i) >= 150)
                    if i is None:
                        break
                    b = pool[i]
                    for _ in range(30):
                        nav = rng.choice(navs)
                        nv = with_nav(b.text, nav)
                        j = jaccard(sh(i), shingles(nv))
                        if j >= DUP_MIN_J:
                            first, second = (b.text, nv) if kind == "nav_added" else (nv, b.text)
                            o = row(kind, group, 0, first, b, "original", False)
                            r = row(kind, group, 1, second, b, "variant", True, o["id"], None, None, j)
                            r["span"] = f"{nav.source}:{nav.key}"
                            done = True
                            break
                if not done:
                    break
            elif kind == "template":
                nav = rng.choice(heavy_navs)
                members = []
                for _ in range(rng.randint(3, 5)):
                    i = take(lambda i: ntok(i) <= 300)
                    if i is None:
                        break
                    members.append(i)
                texts = [with_nav(pool[i].text, nav) for i in members]
                sets = [shingles(t) for t in texts]
                worst = max((jaccard(sets[a], sets[c]) for a in range(len(sets)) for c in range(a)), default=0.0)
                if len(members) < 2 or worst > NONDUP_MAX_J:
                    continue
                for m, (i, t) in enumerate(zip(members, texts)):
                    r = row(kind, group, m, t, pool[i], "member", False, j=worst)
                    r["span"] = f"{nav.source}:{nav.key}"
            elif kind == "shared_span":
                si = take(lambda i: any(len(token_spans(ln)) >= 60 for ln in pool[i].text.split("\n")))
                if si is None:
                    break
                span = take_span(pool[si].text, rng)
                hosts = [take() for _ in range(rng.randint(2, 4))]
                hosts = [h for h in hosts if h is not None]
                if len(hosts) < 2:
                    break
                for m, h in enumerate(hosts):
                    t = insert_span(pool[h].text, span, lang, rng)
                    row(kind, group, m, t, pool[h], "host", False, span=span)
    g = 0
    while len(rows) < n_docs:
        i = take()
        if i is None:
            break
        row("singleton", f"{lang}-singleton-{g:04d}", 0, pool[i].text, pool[i], "singleton", False)
        g += 1
    return rows


def write_split(rows: list[dict], out: Path, split: str) -> None:
    import pyarrow as pa
    import pyarrow.parquet as pq
    docs = pa.Table.from_pylist([{k: r[k] for k in ("id", "text", "lang")} for r in rows],
                                schema=pa.schema([("id", pa.string()), ("text", pa.string()), ("lang", pa.string())]))
    lab_schema = pa.schema([("id", pa.string()), ("lang", pa.string()), ("kind", pa.string()), ("group", pa.string()),
                            ("role", pa.string()), ("must_go", pa.bool_()), ("dup_of", pa.string()),
                            ("edit_rate", pa.float64()), ("edit_ops", pa.int32()), ("jaccard", pa.float64()),
                            ("span", pa.string()), ("source", pa.string()), ("source_key", pa.string()),
                            ("tokens", pa.int32())])
    labels = pa.Table.from_pylist([{f.name: r[f.name] for f in lab_schema} for r in rows], schema=lab_schema)
    for name, t in ((f"{split}.parquet", docs), (f"{split}.labels.parquet", labels)):
        pq.write_table(t, out / name, compression="zstd", row_group_size=1_000_000, write_statistics=False)


def counts(rows: list[dict]) -> dict:
    c: dict = {}
    for r in rows:
        k = c.setdefault(r["kind"], {"en": [0, 0], "zh": [0, 0]})
        k[r["lang"]][0] += 1
        k[r["lang"]][1] += int(r["must_go"])
    return {kind: {lang: {"docs": v[0], "must_go": v[1]} for lang, v in d.items()} for kind, d in sorted(c.items())}


LICENCES = {
    "debian-handbook": ("Debian `debian-handbook`", "GPL-2.0+ or CC-BY-SA-3.0 (Debian copyright file)",
                        "en-US, zh-CN and zh-TW HTML: one document per section (intro or sub-section), "
                        "docnav bars as navigation chrome"),
    "python3.11-doc": ("Debian `python3.11-doc`", "PSF License Version 2 (Debian copyright file)",
                    "HTML pages not in data/sample: body text per section; `related` bars + footer as "
                    "navigation chrome"),
    "gensim-lee": ("PyPI `gensim` wheel, test_data/lee_background.cor + lee.cor", "LGPL-2.1 (the package's test data)",
                 "Lee news corpus (Lee, Pincombe & Welsh 2005), one article per document"),
    "fortunes": ("Debian `fortunes`, `fortunes-min`", "BSD (4.4BSD licence with the advertising clause deleted; "
                 "Debian copyright file)", "entries of >= 80 words"),
    "fortunes-zh": ("Debian `fortunes-zh`", "GPL-3.0+ (Debian copyright file)", "entries of >= 80 CJK characters, "
                    "ANSI colour codes stripped"),
    "manpages-zh": ("Debian `manpages-zh`", "GFDL-1.2+ (Debian copyright file; a few pages GPL-2.0)",
                    "zh_TW man pages, roff to text (infra/sample/manpages.py), cut into <= 400-token documents"),
    "gnome-user-docs": ("Debian `gnome-user-docs`", "CC-BY-SA-3.0 (Debian copyright file)",
                        "Mallard pages of gnome-help: C (en) and zh_CN (translated "
                        "paragraphs only)"),
}


def sources_md(meta: dict) -> str:
    v = meta["versions"]
    ver = {"debian-handbook": v["debian-handbook"], "python3.11-doc": v["python3.11-doc"], "gensim-lee": v["gensim"],
           "fortunes": v["fortunes"], "fortunes-zh": v["fortunes-zh"], "manpages-zh": v["manpages-zh"],
           "gnome-user-docs": v["gnome-user-docs"]}
    splits = sorted(meta["splits"])
    L = ["# data/eval/dedup: held-out dedup evaluation set", "",
         "Built by `python infra/eval/dedup_set.py --download` (sources under build/dedup-src; seed "
         f"{meta['seed']}); byte-identical from one build to the next. Kinds and the truth are defined in the "
         "module docstring; `bench/dedup.py --split dev|test` scores jobs/dedup.py and datasketch on it. "
         "Tune on `dev`, report `test`.", "",
         "Only bucket-0 documents (`xxh64(f\"{source}:{key}\") % 2 == 0`, key = page / entry) of each source; "
         "no line of data/sample or data/reference (tests/test_eval_dedup.py).", "",
         "| source | version | licence | used as | " + " | ".join(f"{s} docs" for s in splits) + " |",
         "|---|---|---|---|" + "---:|" * len(splits)]
    for src, (name, lic, use) in LICENCES.items():
        L.append(f"| {name} | {ver[src]} | {lic} | {use} | "
                 + " | ".join(str(meta["splits"][s]["by_source"].get(src, 0)) for s in splits) + " |")
    L += ["", "Documents (must go) per kind and language:", "",
          "| kind | " + " | ".join(f"{s} en | {s} zh" for s in splits) + " |",
          "|---|" + "---:|" * (2 * len(splits))]
    kinds = list(DUP_KINDS) + list(STAY_KINDS)
    for k in kinds:
        cells = []
        for s in splits:
            for lang in ("en", "zh"):
                c = meta["splits"][s]["by_kind"].get(k, {}).get(lang, {"docs": 0, "must_go": 0})
                cells.append(f"{c['docs']} ({c['must_go']})")
        L.append(f"| {k} | " + " | ".join(cells) + " |")
    L.append("| all | " + " | ".join(
        f"{sum(meta['splits'][s]['by_kind'][k][lang]['docs'] for k in meta['splits'][s]['by_kind'] if lang in meta['splits'][s]['by_kind'][k])}"
        f" ({sum(meta['splits'][s]['by_kind'][k][lang]['must_go'] for k in meta['splits'][s]['by_kind'] if lang in meta['splits'][s]['by_kind'][k])})"
        for s in splits for lang in ("en", "zh")) + " |")
    L += ["", "Files: `{split}.parquet` (id, text, lang: the job's input) and `{split}.labels.parquet` (id, lang, "
          "kind, group, role, must_go, dup_of, edit_rate, edit_ops, jaccard, span, source, source_key, tokens).", ""]
    return "\n".join(L)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--src", type=Path, default=SRC_DIR)
    ap.add_argument("--out", type=Path, default=OUT_DIR)
    ap.add_argument("--download", action="store_true", help="fetch the pinned packages missing from --src first")
    ap.add_argument("--splits", nargs="+", default=["dev", "test"], choices=["dev", "test"])
    args = ap.parse_args(argv)
    if args.download:
        download(args.src)
    bases, navs, versions = load_bases(args.src)
    print(f"[dedup-set] {len(bases)} bucket-0 candidate bases, {len(navs)} navigation bars", flush=True)
    bases = unrelated(bases)
    print(f"[dedup-set] {len(bases)} mutually unrelated bases", flush=True)
    args.out.mkdir(parents=True, exist_ok=True)
    meta = {"versions": versions, "seed": SEED, "splits": {}}
    cpath = args.out / "counts.json"
    if cpath.exists():
        meta["splits"] = json.loads(cpath.read_text()).get("splits", {})
    for split in args.splits:
        sb = [b for b in bases if split_of(b.source, b.key) == split]
        sn = [n for n in navs if split_of(n.source, n.key) == split]
        rows = build_split(sb, sn, split)
        write_split(rows, args.out, split)
        c = counts(rows)
        by_src: dict = {}
        for r in rows:
            by_src[r["source"]] = by_src.get(r["source"], 0) + 1
        meta["splits"][split] = {"docs": len(rows), "must_go": sum(r["must_go"] for r in rows),
                                 "groups": len({r["group"] for r in rows}), "by_kind": c,
                                 "by_source": dict(sorted(by_src.items()))}
        print(f"[dedup-set] {split}: {len(rows)} docs, {meta['splits'][split]['must_go']} must go, "
              f"{meta['splits'][split]['groups']} groups", flush=True)
    cpath.write_text(json.dumps(meta, indent=1, sort_keys=True, ensure_ascii=False) + "\n")
    (args.out / "SOURCES.md").write_text(sources_md(meta))
    return 0


if __name__ == "__main__":
    sys.exit(main())
