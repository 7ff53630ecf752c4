"""Add bucket-1 pages of Debian/GNOME manuals to the reference text.

  apt-get download debian-handbook=11.20220922 gnome-user-docs=43.0-2   # into build/scorers/
  make eval-src                          # the Chinese manuals, into build/eval-src/deb/
  python infra/reference_docs.py

Writes data/reference/{en,zh}-docs.jsonl.gz (handbook + GNOME help) and
data/reference/zh-manuals.jsonl.gz (the Chinese manuals the evaluation set
reads through infra/eval/sources.py: New Maintainers' Guide zh-cn/zh-tw,
Installation Guide zh_CN, Debian Edu manual zh-cn, LibreOffice help zh-CN,
and the zh-TW handbook), read by pipeline/scorer_models.py
``reference_docs`` beside <lang>.jsonl.gz.

Sharing rule (out/brief12/RULES.md): the handbook is also an evaluation
source, split by page: bucket = xxh64_intdigest(f"debian-handbook:{key}") % 2
with key = "<lang>/<page>.html" (the key infra/eval uses); only bucket 1 is
written here. Text: the paragraphs of each page (<div class="para">; no headings,
code, tables, navigation), one per line; pages with under 400
characters of prose are left out. Deterministic (pages in name order).
"""
from __future__ import annotations

import argparse
import gzip
import html
import io
import json
import re
import subprocess
import sys
import tarfile
from pathlib import Path

import xxhash

HERE = Path(__file__).resolve().parent
REPO = HERE.parent
OUT = REPO / "data" / "reference"
SOURCE = "debian-handbook"
VERSION = "11.20220922"
LANGS = {"en": "en-US", "zh": "zh-CN"}
MIN_CHARS = {"en": 400, "zh": 60}
GNOME = "gnome-user-docs"
GNOME_VERSION = "43.0-2"
GNOME_LANGS = {"en": "C", "zh": "zh_CN"}
DEFAULT_DEB = REPO / "build" / "scorers" / f"debian-handbook_{VERSION}_all.deb"


def bucket(key: str, source: str = SOURCE) -> int:
    return xxhash.xxh64_intdigest(f"{source}:{key}".encode("utf-8")) % 2


_TAG = re.compile(r"<[^>]+>")
_WS = re.compile(r"[ \t\r\f\v\u00a0]+")


def prose(page: str) -> str:
    """The paragraphs of a Publican page (<div class="para">), code and
    tables removed, one paragraph per line."""
    body = re.sub(r"(?is)<(script|style|pre|table)\b.*?</\1>", " ", page)
    lines = []
    for m in re.finditer(r'(?is)<div class="para"[^>]*>(.*?)</div>', body):
        text = _WS.sub(" ", html.unescape(_TAG.sub("", m.group(1))).replace("\n", " ")).strip()
        if text:
            lines.append(text)
    return "\n".join(lines)


def pages(deb: Path, prefix: str, suffix: str, key_from: str) -> list[tuple[str, str]]:
    """(key, text) of the files ``prefix*suffix`` (not in sub-folders) of a
    .deb; key = the path after ``key_from``."""
    data = subprocess.run(["dpkg-deb", "--fsys-tarfile", str(deb)], check=True, capture_output=True).stdout
    out = []
    with tarfile.open(fileobj=io.BytesIO(data)) as tf:
        for m in tf.getmembers():
            name = m.name.lstrip("./")
            if m.isfile() and name.startswith(prefix) and name.endswith(suffix) and "/" not in name[len(prefix):]:
                out.append((name[len(key_from):], tf.extractfile(m).read().decode("utf-8")))
    return sorted(out)


def mallard(page: str) -> str:
    """The <p> paragraphs of a Mallard page outside its <info> block."""
    page = re.sub(r"(?is)<info>.*?</info>", " ", page)
    page = re.sub(r"(?is)<(screen|media|code)\b.*?</\1>", " ", page)
    lines = []
    for m in re.finditer(r"(?is)<p\b[^>]*>(.*?)</p>", page):
        text = _WS.sub(" ", html.unescape(_TAG.sub("", m.group(1))).replace("\n", " ")).strip()
        if text:
            lines.append(text)
    return "\n".join(lines)


def keep_lang(text: str, lang: str) -> str:
    """Chinese pages keep only their Chinese paragraphs (untranslated
    English ones are left out)."""
    if lang != "zh":
        return text
    sys.path.insert(0, str(REPO))
    from pipeline.scorer_models import script_lang

    return "\n".join(line for line in text.split("\n") if script_lang(line) == "zh")


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--deb", default=str(DEFAULT_DEB))
    ap.add_argument("--gnome-deb", default=str(DEFAULT_DEB.parent / f"gnome-user-docs_{GNOME_VERSION}_all.deb"))
    args = ap.parse_args(argv)
    deb = Path(args.deb)
    if not deb.is_file():
        raise SystemExit(f"{deb} not found: `cd build/scorers && apt-get download debian-handbook={VERSION}`")
    gnome = Path(args.gnome_deb)
    if not gnome.is_file():
        raise SystemExit(f"{gnome} not found: `cd build/scorers && apt-get download gnome-user-docs={GNOME_VERSION}`")
    for lang, lang_dir in LANGS.items():
        rows = []
        sources = [(SOURCE, deb, f"usr/share/doc/debian-handbook/html/{lang_dir}/", ".html",
                    "usr/share/doc/debian-handbook/html/", prose),
                   (GNOME, gnome, f"usr/share/help/{GNOME_LANGS[lang]}/gnome-help/", ".page",
                    "usr/share/help/", mallard)]
        for source, path, prefix, suffix, key_from, extract in sources:
            for key, page in pages(path, prefix, suffix, key_from):
                if source == GNOME:
                    key = key.replace("/gnome-help/", "/")
                if bucket(key, source) != 1:
                    continue
                text = keep_lang(extract(page), lang)
                if len(text) >= MIN_CHARS[lang]:
                    rows.append({"id": f"{source}/{key}", "text": text, "source": source})
        write(OUT / f"{lang}-docs.jsonl.gz", rows)
    write(OUT / "zh-manuals.jsonl.gz", zh_manuals(deb))
    return 0


def write(path: Path, rows: list[dict]) -> None:
    with open(path, "wb") as raw, gzip.GzipFile(fileobj=raw, mode="wb", mtime=0, filename="") as gz:
        for r in rows:
            gz.write((json.dumps(r, ensure_ascii=False, sort_keys=True) + "\n").encode("utf-8"))
    print(f"{path.name}: {len(rows)} pages, {sum(len(r['text']) for r in rows):,} chars", file=sys.stderr)


# Sources of zh_doc_sections that go into zh-manuals (KiCad and LilyPond: no).
ZH_MANUALS = ("maint-guide-zh-cn", "maint-guide-zh-tw", "installation-guide-amd64",
              "debian-edu-doc-zh-cn", "libreoffice-help-zh-cn")


def zh_manuals(handbook_deb: Path) -> list[dict]:
    """Bucket-1 sections of the Chinese manuals, read and keyed exactly as
    infra/eval/quality_set.py reads them (its ``bucket_source``: the two
    scripts of the New Maintainers' Guide hash as one text, so a section is
    in one bucket in both), plus the zh-TW handbook's bucket-1 pages whose
    zh-CN page is bucket 1 too (the two are translations of one page; the
    evaluation set takes both scripts). Mostly Latin paragraphs are left out."""
    sys.path.insert(0, str(REPO))
    from infra.eval import sources as S
    from infra.eval.quality_set import bucket_source

    rows = []
    sections = S.zh_doc_sections()
    # a paragraph that also stands in a bucket-0 section (LibreOffice help
    # repeats paragraphs across pages) belongs to the evaluation side: out
    evaluation = {S.normalize(p) for source, key, paras in sections
                  if S.bucket(bucket_source(source), key) == 0 for p in paras}
    for source, key, paras in sections:
        if source in ZH_MANUALS and S.bucket(bucket_source(source), key) == 1:
            text = "\n".join(p for p in paras if S.normalize(p) not in evaluation)
            if len(text) >= MIN_CHARS["zh"]:
                rows.append({"id": f"{source}/{key}", "text": text, "source": source})
    for key, page in pages(handbook_deb, "usr/share/doc/debian-handbook/html/zh-TW/", ".html",
                           "usr/share/doc/debian-handbook/html/"):
        if bucket(key) == 1 and bucket(key.replace("zh-TW/", "zh-CN/", 1)) == 1:
            text = keep_lang(prose(page), "zh")
            if len(text) >= MIN_CHARS["zh"]:
                rows.append({"id": f"{SOURCE}/{key}", "text": text, "source": SOURCE})
    return rows


if __name__ == "__main__":
    sys.exit(main())
