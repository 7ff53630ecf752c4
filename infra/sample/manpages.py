"""manpages-zh: roff → text; half the pages to the sample (WET), the
DESCRIPTION of the other half to the reference."""
from __future__ import annotations

import gzip
import re

from .records import Rec, stable_fraction
from .sources import DebPackage


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


def add_manpages(deb: DebPackage, recs: list[Rec], ref_zh: list[dict]) -> None:
    for name, secs in manpages_zh(deb):
        text = "\n\n".join(f"{h}\n{b}" if h else b for h, b in secs)
        if stable_fraction("manpages-zh/" + name) < 0.5:
            desc = [b for h, b in secs if h in ("描述", "说明", "描述 DESCRIPTION", "DESCRIPTION")]
            if desc and cjk_ratio(desc[0]) >= 0.3 and len(desc[0]) >= 200:
                ref_zh.append({"id": f"manpages-zh/{name}", "text": desc[0], "source": "manpages-zh"})
        elif cjk_ratio(text) >= 0.15 and len(text) >= 200:
            recs.append(Rec(url=f"https://manpages.debian.org/bookworm/manpages-zh/{name}.zh_CN.html",
                            text=text, source="manpages-zh", lang="zh", fmt="wet"))
