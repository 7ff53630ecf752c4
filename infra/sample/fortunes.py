"""English fortunes (fortunes, fortunes-min) and Chinese ones (fortunes-zh)."""
from __future__ import annotations

import random
import re

from .records import N_FORTUNES_EN, N_FORTUNES_ZH, Rec
from .sources import DebPackage


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


def add_fortunes_en(rng: random.Random, debs: dict[str, DebPackage], recs: list[Rec]) -> list[str]:
    """English fortunes to jsonl / parquet / wet; returns the lines (> 30
    chars) of every English fortune, the junk generators' material."""
    f_en = fortunes_en(debs)
    chosen = rng.sample(f_en, N_FORTUNES_EN)
    en_lines = [ln.strip() for _, t in f_en for ln in t.split("\n") if len(ln.strip()) > 30]
    for i, (key, text) in enumerate(chosen):
        fmt = "jsonl" if i < 2000 else ("parquet" if i < 2800 else "wet")
        coll = key.split("/")[0]
        recs.append(Rec(url=f"https://fortunes.example.org/{key}.html", text=text, source="fortunes",
                        lang="en", fmt=fmt, file="fortunes-en.jsonl.gz" if fmt == "jsonl" else "",
                        extra={"collection": coll} if fmt == "jsonl" else {}))
    return en_lines


def add_fortunes_zh(rng: random.Random, deb: DebPackage, recs: list[Rec]) -> list[str]:
    """Chinese fortunes to jsonl / parquet (all poems to parquet); returns the
    lines (> 12 chars) of every Chinese fortune."""
    f_zh = fortunes_zh(deb)
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
    return zh_lines
