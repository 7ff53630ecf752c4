"""English Wikipedia (gensim's test dump) → plain text; one third to the
sample, the rest to the reference."""
from __future__ import annotations

import bz2
import html
import re
import zipfile
from pathlib import Path

from .records import Rec, stable_fraction


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


def add_wikipedia(gensim_wheel: Path, recs: list[Rec], ref_en: list[dict]) -> None:
    for title, text in wikipedia_articles(gensim_wheel):
        slug = title.replace(" ", "_")
        if stable_fraction("enwiki/" + title) < 2 / 3:
            ref_en.append({"id": f"enwiki/{slug}", "text": text, "source": "wikipedia", "title": title})
        else:
            recs.append(Rec(url=f"https://en.wikipedia.org/wiki/{slug}", text=text, source="wikipedia",
                            lang="en", fmt="jsonl", file="wikipedia-en.jsonl.gz", extra={"title": title}))
