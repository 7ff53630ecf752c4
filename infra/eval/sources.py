"""Offline source readers for the held-out evaluation sets (data/eval/).

Everything here reads files already downloaded under ``build/eval-src``
(Debian packages through ``dpkg-deb``, PyPI wheels as zip files): nothing is
fetched at build or test time.

Sharing rule (out/brief12/RULES.md, issue #12): a source that any training
use may also read is split by document,

    bucket(source, key) = xxhash.xxh64_intdigest(f"{source}:{key}".encode("utf-8")) % 2

bucket 0 -> evaluation, bucket 1 -> may be used for training. ``key`` is the
page / chapter / entry name given below for each reader.

``training_fingerprints()`` is the other half of the guarantee: the
normalized text of every document, paragraph and line (>= 60 chars) that the
scorers train on (data/reference, data/sample, read through
pipeline/scorer_models.py so new training sources are followed), so an
evaluation document can be checked to share none of them.
"""
from __future__ import annotations

import html
import io
import re
import subprocess
import tarfile
import unicodedata
import zipfile
from functools import lru_cache
from pathlib import Path

import xxhash

REPO = Path(__file__).resolve().parents[2]
SRC_DIR = REPO / "build" / "eval-src"

# Pinned versions (mk/eval.mk downloads exactly these).
DEB_PACKAGES = {
    "debian-handbook": "11.20220922",
    "gnome-user-docs": "43.0-2",
    "debian-faq": "11.1",
    "debian-faq-zh-cn": "11.1",
    "python3.11-doc": "3.11.2-6+deb12u9",
    "fortunes": "1:1.99.1-7.3",
    "fortunes-min": "1:1.99.1-7.3",
    "fortunes-zh": "2.98",
    # Chinese prose added for clean_zh (issue #12 helper 2): no training use reads them.
    "maint-guide-zh-cn": "1.2.53",
    "maint-guide-zh-tw": "1.2.53",
    "installation-guide-amd64": "20230508+deb12u1",
    "debian-edu-doc-zh-cn": "2.12.23~deb12u1",
    "libreoffice-help-zh-cn": "4:7.4.7-1+deb12u14",
    "kicad-doc-zh": "6.0.11+dfsg-1",
    "lilypond-doc-html-zh": "2.24.1-2",
}
PYPI_FILES = {"gensim": "4.4.0", "chatterbot-corpus": "1.3.3", "pypinyin": "0.55.0"}

MIN_FINGERPRINT_CHARS = 60


def bucket(source: str, key: str) -> int:
    """0 = evaluation, 1 = may be used for training (RULES.md)."""
    return xxhash.xxh64_intdigest(f"{source}:{key}".encode("utf-8")) % 2


def is_eval(source: str, key: str) -> bool:
    """Bucket 0. A zh-TW page of the Debian handbook is the zh-CN page in
    another script: it is evaluation only when its zh-CN twin is too, so that
    no evaluation page has its twin among the training pages
    (infra/reference_docs.py takes zh-TW pages only when both are bucket 1)."""
    if source == "debian-handbook" and key.startswith("zh-TW/"):
        return bucket(source, key) == 0 and bucket(source, "zh-CN/" + key[len("zh-TW/"):]) == 0
    return bucket(source, key) == 0


# ------------------------------------------------------------- packages --
class Deb:
    """The regular files of one downloaded .deb (symlinks resolved inside it)."""

    def __init__(self, path: Path):
        self.path = path
        name, version, _ = path.name[:-4].split("_")
        self.name, self.version = name, version.replace("%3a", ":")
        data = subprocess.run(["dpkg-deb", "--fsys-tarfile", str(path)], check=True, capture_output=True).stdout
        self.files: dict[str, bytes] = {}
        links: dict[str, str] = {}
        with tarfile.open(fileobj=io.BytesIO(data)) as tf:
            for m in tf.getmembers():
                name = m.name.lstrip("./")
                if m.isfile():
                    self.files[name] = tf.extractfile(m).read()
                elif m.issym():
                    links[name] = m.linkname
        for name, target in sorted(links.items()):
            full = str(Path(name).parent / target) if not target.startswith("/") else target.lstrip("/")
            full = str(Path(full)).replace("\\", "/")
            if full in self.files:
                self.files.setdefault(name, self.files[full])

    def glob(self, prefix: str, suffix: str = "") -> list[str]:
        return sorted(p for p in self.files if p.startswith(prefix) and p.endswith(suffix))

    def text(self, path: str) -> str:
        return self.files[path].decode("utf-8", "replace")


def _find_one(folder: Path, pattern: str) -> Path:
    hits = sorted(folder.glob(pattern))
    if len(hits) != 1:
        raise SystemExit(f"expected exactly one {pattern} in {folder}, found {len(hits)}: "
                         f"run `make eval-src` (it downloads the sources)")
    return hits[0]


@lru_cache(maxsize=None)
def deb(name: str, src: Path = SRC_DIR) -> Deb:
    return Deb(_find_one(Path(src) / "deb", f"{name}_*.deb"))


@lru_cache(maxsize=None)
def wheel(name: str, src: Path = SRC_DIR) -> zipfile.ZipFile:
    return zipfile.ZipFile(_find_one(Path(src) / "pypi", f"{name.replace('-', '_')}-*.whl"))


# ---------------------------------------------------------------- HTML --
_TAG = re.compile(r"<[^>]+>")
_WS = re.compile(r"[ \t\r\f\v\u00a0]+")


def strip_tags(fragment: str) -> str:
    text = _TAG.sub("", fragment)
    text = html.unescape(text)
    return _WS.sub(" ", text.replace("\n", " ")).strip()


def html_blocks(page: str, tags: str = "p|li|h1|h2|h3|dt|dd") -> list[tuple[str, str]]:
    """(tag, text) of the prose blocks of a page, in order (nested lists give
    their innermost text only once: a block holding another block is skipped)."""
    body = re.sub(r"(?is)<(script|style|pre)\b.*?</\1>", " ", page)
    out = []
    for m in re.finditer(rf"(?is)<({tags})\b[^>]*>(.*?)</\1>", body):
        inner = m.group(2)
        if re.search(rf"(?i)<({tags})\b", inner):
            continue
        text = strip_tags(inner)
        if text:
            out.append((m.group(1).lower(), text))
    return out


def link_texts(page: str) -> list[str]:
    """The text of every link of a page (its navigation, table of contents...)."""
    return [t for t in (strip_tags(m) for m in re.findall(r"(?is)<a\b[^>]*>(.*?)</a>", page)) if t]


# ------------------------------------------------------------- readers --
def handbook_pages(lang: str) -> list[tuple[str, str]]:
    """(key, html) of the Debian Administrator's Handbook pages of ``lang``
    (e.g. en-US, zh-CN, ja-JP); key = "<lang>/<page>.html"."""
    d = deb("debian-handbook")
    prefix = f"usr/share/doc/debian-handbook/html/{lang}/"
    return [(p[len("usr/share/doc/debian-handbook/html/"):], d.text(p)) for p in d.glob(prefix, ".html")]


def handbook_paragraphs(page: str) -> list[str]:
    """The prose paragraphs (``<div class="para">`` without nested blocks) of a handbook page."""
    body = re.sub(r"(?is)<(script|style|pre)\b.*?</\1>", " ", page)
    out = []
    for m in re.finditer(r'(?is)<div class="para">(.*?)</div>', body):
        if re.search(r"(?i)<(div|table|pre)\b", m.group(1)):
            continue
        text = strip_tags(m.group(1))
        if text:
            out.append(text)
    return out


def handbook_langs() -> list[str]:
    d = deb("debian-handbook")
    return sorted({p.split("/")[5] for p in d.glob("usr/share/doc/debian-handbook/html/", ".html")})


def gnome_pages(lang: str) -> list[tuple[str, str]]:
    """(key, page xml) of gnome-help (Mallard) in ``lang`` (C = English,
    zh_CN, ja, ko, ...); key = "<lang>/<page>.page"."""
    d = deb("gnome-user-docs")
    prefix = f"usr/share/help/{lang}/gnome-help/"
    return [(f"{lang}/{p[len(prefix):]}", d.text(p)) for p in d.glob(prefix, ".page")]


def gnome_langs() -> list[str]:
    d = deb("gnome-user-docs")
    return sorted({p.split("/")[3] for p in d.glob("usr/share/help/", ".page")})


def mallard_paragraphs(page: str) -> list[str]:
    """The <p> texts of a Mallard page outside its <info> block."""
    page = re.sub(r"(?is)<info>.*?</info>", " ", page)
    page = re.sub(r"(?is)<(code|screen|media|cmd)\b.*?</\1>", lambda m: strip_tags(m.group(0)), page)
    return [t for _, t in html_blocks(page, "p|title")]


def python_doc_sources(section: str) -> list[tuple[str, str]]:
    """(key, reST text) of python3.11-doc's _sources/<section>/*.rst.txt;
    key = "<section>/<page>.html" (the page's own name)."""
    d = deb("python3.11-doc")
    prefix = f"usr/share/doc/python3.11/html/_sources/{section}/"
    return [(p[len(prefix) - len(section) - 1:].replace(".rst.txt", ".html"), d.text(p))
            for p in d.glob(prefix, ".rst.txt")]


def python_doc_html(section: str) -> list[tuple[str, str]]:
    d = deb("python3.11-doc")
    prefix = f"usr/share/doc/python3.11/html/{section}/"
    return [(p[len("usr/share/doc/python3.11/html/"):], d.text(p)) for p in d.glob(prefix, ".html")]


def split_fortunes(raw: str) -> list[str]:
    return [e.strip("\n") for e in re.split(r"\n%\n", raw.replace("\r\n", "\n")) if e.strip() and e.strip() != "%"]


_ANSI = re.compile(r"\x1b\[[0-9;]*[A-Za-z]")


def fortunes(package: str) -> list[tuple[str, str]]:
    """(key, entry) of a fortune package; key = "<collection>/<index>" (as
    infra/sample numbers them)."""
    d = deb(package)
    out = []
    for path in d.glob("usr/share/games/fortunes/"):
        name = path.rsplit("/", 1)[1]
        if "." in name:
            continue
        raw = _ANSI.sub("", d.text(path))
        out += [(f"{name}/{i}", t) for i, t in enumerate(split_fortunes(raw))]
    return out


def lee_corpus() -> list[tuple[str, str]]:
    """(key, text) of gensim's Lee news corpus (lee_background.cor: one
    document a line; lee.cor); key = "<file>/<line>"."""
    z = wheel("gensim")
    out = []
    for name in ("lee_background.cor", "lee.cor"):
        raw = z.read(f"gensim/test/test_data/{name}").decode("utf-8", "replace")
        out += [(f"{name}/{i}", ln.strip()) for i, ln in enumerate(raw.splitlines()) if ln.strip()]
    return out


def gensim_python_files() -> list[tuple[str, str]]:
    z = wheel("gensim")
    return [(n, z.read(n).decode("utf-8", "replace")) for n in sorted(z.namelist())
            if n.endswith(".py") and "/test/" not in n]


def chatterbot_files() -> list[tuple[str, str]]:
    """(path, yaml text) of chatterbot-corpus's conversation files."""
    z = wheel("chatterbot-corpus")
    return [(n, z.read(n).decode("utf-8", "replace")) for n in sorted(z.namelist()) if n.endswith(".yml")]


def chatterbot_conversations(yml: str) -> list[list[str]]:
    """The conversations of one chatterbot yml file (turns in order), read
    with yaml.safe_load (block scalars ``|`` included). A turn that is not a
    string, or an empty one, ends the conversation there."""
    import yaml

    data = yaml.safe_load(yml) or {}
    clean = []
    for conv in data.get("conversations") or []:
        if not isinstance(conv, list):
            continue
        turns = []
        for t in conv:
            if not isinstance(t, (str, int, float)) or not str(t).strip():
                break
            turns.append(str(t).strip())
        if len(turns) >= 2:
            clean.append(turns)
    return clean


CJK_CHAR_RE = re.compile("[\u3400-\u4dbf\u4e00-\u9fff]")


def cjk_share(text: str) -> float:
    """CJK characters among the letters (CJK + Latin) of ``text``."""
    cjk = len(CJK_CHAR_RE.findall(text))
    return cjk / max(cjk + len(re.findall(r"[A-Za-z]", text)), 1)


def html_sections(page: str) -> list[tuple[str, list[str]]]:
    """(section id, <p> paragraph texts) of an HTML page cut at its h1-h4
    headings; the id is the heading's anchor (or its position)."""
    body = re.sub(r"(?is)<(script|style|pre|table)\b.*?</\1>", " ", page)
    cuts = list(re.finditer(r"(?is)<h[1-4]\b[^>]*>(.*?)</h[1-4]>", body))
    out = []
    for i, m in enumerate(cuts):
        end = cuts[i + 1].start() if i + 1 < len(cuts) else len(body)
        anchor = re.search(r'(?i)(?:id|name)="([^"]+)"', m.group(0))
        sid = anchor.group(1) if anchor else f"s{i}"
        paras = [t for tag, t in html_blocks(body[m.end():end], "p") if tag == "p"]
        if paras:
            out.append((sid, paras))
    return out


def zh_doc_sections() -> list[tuple[str, str, list[str]]]:
    """(source, key, Chinese paragraphs) of the Chinese Debian manuals that
    no training use reads: the New Maintainers' Guide (zh-cn / zh-tw: one
    text in two scripts, so the key names the section, not the script, and
    each section is taken in one script only), the Installation Guide
    (zh_CN), the Debian Edu manual (zh-cn) and the KiCad manuals (zh) and the LilyPond
    manuals' translated pages (zh), key = "<page>#<section>"; the
    LibreOffice help (zh-CN), key = its page path under text/. Paragraphs
    that are mostly Latin (untranslated) are left out."""
    out = []
    for src, lang_dir, prefix in (("installation-guide-amd64", "zh_CN", "usr/share/doc/installation-guide-amd64/zh_CN/"),
                                  ("debian-edu-doc-zh-cn", "zh-cn", "usr/share/doc/debian-edu-doc-zh-cn/"),
                                  ("kicad-doc-zh", "zh", "usr/share/doc/kicad/help/zh/"),
                                  ("lilypond-doc-html-zh", "zh", "usr/share/doc/lilypond/html/Documentation/")):
        d = deb(src)
        for path in d.glob(prefix, ".html"):
            page = path[len(prefix):]
            for sid, paras in html_sections(d.text(path)):
                zh = [p for p in paras if cjk_share(p) >= 0.3]
                if zh:
                    out.append((src, f"{lang_dir}/{page}#{sid}", zh))
    d = deb("libreoffice-help-zh-cn")
    prefix = "usr/share/libreoffice/help/zh-CN/text/"
    for path in d.glob(prefix, ".html"):
        page = re.sub(r"(?is)<(header|aside)\b.*?</\1>", " ", d.text(path))
        paras = [t for tag, t in html_blocks(page, "p") if not t.endswith(("...", "…"))]
        zh = [p for p in paras if cjk_share(p) >= 0.3]
        if zh:
            out.append(("libreoffice-help-zh-cn", path[len(prefix):], zh))
    cn, tw = deb("maint-guide-zh-cn"), deb("maint-guide-zh-tw")
    for path in cn.glob("usr/share/doc/maint-guide-zh-cn/html/", ".html"):
        page = path.rsplit("/", 1)[1].replace(".zh-cn.html", "")
        tw_path = f"usr/share/doc/maint-guide-zh-tw/html/{page}.zh-tw.html"
        secs = {"zh-cn": dict(html_sections(cn.text(path))),
                "zh-tw": dict(html_sections(tw.text(tw_path))) if tw_path in tw.files else {}}
        for sid in secs["zh-cn"]:
            key = f"{page}#{sid}"
            script = "zh-tw" if sid in secs["zh-tw"] and xxhash.xxh64_intdigest(f"script:{key}".encode()) % 2 else "zh-cn"
            zh = [p for p in secs[script][sid] if cjk_share(p) >= 0.3]
            if zh:
                out.append((f"maint-guide-{script}", key, zh))
    return out


# ------------------------------------------------------- fingerprints --
def normalize(text: str) -> str:
    """NFKC, lower case, whitespace runs to one space, stripped."""
    return " ".join(unicodedata.normalize("NFKC", text).lower().split())


def pieces(text: str, min_chars: int = MIN_FINGERPRINT_CHARS) -> set[str]:
    """The normalized document, and each normalized paragraph (blank-line
    separated) and line of at least ``min_chars`` characters."""
    out = {normalize(text)}
    for part in re.split(r"\n\s*\n", text) + text.split("\n"):
        n = normalize(part)
        if len(n) >= min_chars:
            out.add(n)
    return out


def training_texts():
    """(origin, text) of every text the scorers train on, read through the
    scorers' own functions (pipeline/scorer_models.py), so that a source they
    add is followed here."""
    from pipeline import scorer_models as sm

    for lang in ("en", "zh"):
        for d in sm.reference_docs(lang):
            yield f"reference/{lang}", d["text"]
    for d in sm.crawl_docs():
        yield f"sample/{d['source']}", d["text"]
    extra = getattr(sm, "training_sources", None)  # a scorer helper's added sources, if any
    if callable(extra):
        for origin, text in extra():
            yield origin, text


@lru_cache(maxsize=1)
def training_fingerprints() -> frozenset[str]:
    out: set[str] = set()
    for _, text in training_texts():
        out |= pieces(text)
    return frozenset(out)


def sample_texts_raw() -> list[str]:
    """Every record's raw text in data/sample's jsonl files (what the readers
    see after extraction is covered by training_fingerprints)."""
    import gzip
    import json

    out = []
    for p in sorted((REPO / "data" / "sample" / "jsonl").glob("*.jsonl.gz")):
        with gzip.open(p, "rt", encoding="utf-8") as fh:
            out += [json.loads(ln)["text"] for ln in fh if ln.strip()]
    return out
