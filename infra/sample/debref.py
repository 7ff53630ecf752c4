"""debian-reference-zh-cn: chapters → one HTML page per top-level section;
half to the sample (WARC, some served as GBK), half to the reference."""
from __future__ import annotations

import html
import random

from lxml import html as lxml_html

from .records import GBK_FRACTION, Rec, stable_fraction
from .sources import DebPackage


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


def add_debref(rng: random.Random, deb: DebPackage, recs: list[Rec], ref_zh: list[dict]) -> None:
    for page, title, page_html, text in debref_sections(deb):
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
