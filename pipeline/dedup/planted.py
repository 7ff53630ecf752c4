"""A planted-duplicate set built from real text, seeded, with its truth.

Base documents are real English and Chinese text: ``data/sample`` when it
holds documents, else Debian's copyright files (English licences and notices)
and the ``fortunes-zh`` Chinese collection (``make dedup-data`` installs it).
On top of distinct base documents the generator plants:

  exact copies                  edit_rate 0.0
  near-duplicates               token substitutions / deletions / insertions
                                at each rate of ``edit_rates``
  shared boilerplate            the same header and footer lines around
                                unrelated documents (must NOT merge them)
  shared spans                  a >= ``span_tokens``-token passage of one
                                document pasted into an unrelated one

Every record has id, text, lang, quality and the planted facts
(kind, group, edit_rate). The truth of removal decisions is exact: all-pairs
exact Jaccard (``jaccard.all_pairs_jaccard``) at the threshold, connected
components, survivor by the job's own rule (quality, length, id).
"""
from __future__ import annotations

import glob
import json
import re
from pathlib import Path
from typing import Iterable

import numpy as np
import xxhash

from pipeline.config import REPO_ROOT
from pipeline.dedup.tokens import tokens
from pipeline.document import content_hash

ZH_FORTUNES = "/usr/share/games/fortunes/chinese"
_ANSI = re.compile(r"\x1b\[[0-9;]*m")
_CJK_CHAR = re.compile(r"[\u4e00-\u9fff]")


def _chunks(paragraphs: Iterable[str], lo: int, hi: int, measure) -> list[str]:
    """Greedy: consecutive paragraphs joined until ``lo`` <= size <= ``hi``."""
    out, cur, size = [], [], 0
    for p in paragraphs:
        p = p.strip()
        if not p:
            continue
        cur.append(p)
        size += measure(p)
        if size >= lo:
            if size <= hi:
                out.append("\n".join(cur))
            cur, size = [], 0
    return out


def english_texts() -> list[str]:
    paras = []
    for f in sorted(glob.glob("/usr/share/doc/*/copyright")):
        paras += Path(f).read_text(errors="ignore").split("\n\n")
    return _chunks(paras, 120, 600, lambda p: len(p.split()))


def chinese_texts() -> list[str]:
    if not Path(ZH_FORTUNES).is_file():
        return []
    entries = _ANSI.sub("", Path(ZH_FORTUNES).read_text(errors="ignore")).split("\n%\n")
    return _chunks(entries, 150, 900, lambda p: len(_CJK_CHAR.findall(p)))


def sample_texts() -> list[tuple[str, str]]:
    """(text, lang) from data/sample (JSONL or Parquet with ``text``), if any."""
    root = REPO_ROOT / "data" / "sample"
    out: list[tuple[str, str]] = []
    for f in sorted(root.rglob("*.jsonl")):
        for line in f.read_text(errors="ignore").splitlines():
            try:
                rec = json.loads(line)
            except ValueError:
                continue
            if isinstance(rec, dict) and isinstance(rec.get("text"), str):
                out.append((rec["text"], rec.get("lang") or _lang(rec["text"])))
    return out


def _lang(text: str) -> str:
    return "zh" if len(_CJK_CHAR.findall(text)) > 0.3 * max(len(text), 1) else "en"


def base_texts(min_tokens: int = 80) -> list[tuple[str, str]]:
    """Distinct real documents (text, lang), English and Chinese, in a fixed order."""
    cands = sample_texts() + [(t, "en") for t in english_texts()] + [(t, "zh") for t in chinese_texts()]
    seen, out = set(), []
    for t, lang in cands:
        h = content_hash(t)
        if h not in seen and len(tokens(t)) >= min_tokens:
            seen.add(h)
            out.append((t, lang))
    return out


def perturb(text: str, rate: float, rng: np.random.Generator, lang: str) -> str:
    """Substitute, delete or insert a token (word; CJK character) at ``rate``."""
    if rate <= 0:
        return text
    units = list(text) if lang == "zh" else text.split(" ")
    vocab = units[:]
    out = []
    for u in units:
        r = rng.random()
        if r < rate / 3:
            out.append(vocab[rng.integers(len(vocab))])            # substitute
        elif r < 2 * rate / 3:
            continue                                               # delete
        elif r < rate:
            out.extend([u, vocab[rng.integers(len(vocab))]])       # insert
        else:
            out.append(u)
    return ("" if lang == "zh" else " ").join(out)


BOILERPLATE_HEAD = ("Home | News | Downloads | Documentation | Community | About us | Contact\n"
                    "You are here: Home > Archive > Articles > Licences and notices")
BOILERPLATE_FOOT = ("Copyright the site authors. All rights reserved. Terms of use | Privacy policy | Cookie settings\n"
                    "Follow us on social media and subscribe to our newsletter for the latest updates and releases")


def planted_set(n_base: int = 600, edit_rates=(0.0, 0.01, 0.02, 0.03, 0.05, 0.1, 0.2),
                dup_fraction: float = 0.5, boilerplate_fraction: float = 0.15,
                span_pairs: int = 40, span_tokens: int = 60, seed: int = 0) -> list[dict]:
    """Records (dicts) of the planted set; see the module docstring."""
    rng = np.random.default_rng(seed)
    bases = base_texts()
    if len(bases) < n_base:
        raise RuntimeError(f"only {len(bases)} distinct real base documents; need {n_base}")
    pick = rng.choice(len(bases), size=n_base, replace=False)
    recs: list[dict] = []

    def add(text, lang, kind, group, rate):
        rid = xxhash.xxh3_64_hexdigest(f"{kind}\x00{group}\x00{len(recs)}\x00{text}".encode())
        recs.append({"id": rid, "text": text, "lang": lang, "kind": kind, "group": group,
                     "edit_rate": rate, "quality": float(np.round(rng.random(), 3))})

    originals = []
    for g, i in enumerate(pick):
        text, lang = bases[i]
        if rng.random() < boilerplate_fraction:
            text = f"{BOILERPLATE_HEAD}\n{text}\n{BOILERPLATE_FOOT}"
            add(text, lang, "boilerplate", g, None)
        else:
            add(text, lang, "original", g, None)
        originals.append((text, lang, g))
    for text, lang, g in originals:
        if rng.random() < dup_fraction:
            rate = float(edit_rates[rng.integers(len(edit_rates))])
            add(perturb(text, rate, rng, lang), lang, "exact" if rate == 0 else "near", g, rate)
    # shared spans: a passage of document a pasted into unrelated document b
    for _ in range(span_pairs):
        (ta, la, ga), (tb, lb, gb) = (originals[j] for j in rng.choice(len(originals), 2, replace=False))
        sep = "" if la == "zh" else " "
        units = list(ta) if la == "zh" else ta.split(" ")
        n = span_tokens * (2 if la == "zh" else 1)
        start = int(rng.integers(0, max(1, len(units) - n)))
        passage = sep.join(units[start : start + n])
        add(f"{tb}\n{passage}", lb, "span", gb, None)
    return recs


def removals(recs: list[dict], pairs: Iterable[tuple[int, int]], quality: str = "quality") -> dict[str, str]:
    """Union-find over duplicate index ``pairs``: id -> survivor id for every
    member of a group but its survivor (highest ``quality``, then longest,
    then smallest id: the rule of jobs/dedup.py)."""
    parent = list(range(len(recs)))

    def find(x):
        while parent[x] != x:
            parent[x] = parent[parent[x]]
            x = parent[x]
        return x

    for i, j in pairs:
        ri, rj = find(i), find(j)
        if ri != rj:
            parent[max(ri, rj)] = min(ri, rj)
    groups: dict[int, list[int]] = {}
    for i in range(len(recs)):
        groups.setdefault(find(i), []).append(i)
    removed = {}
    for members in groups.values():
        if len(members) < 2:
            continue
        best = min(members, key=lambda i: (-(recs[i].get(quality) if recs[i].get(quality) is not None else float("-inf")),
                                           -len(recs[i]["text"]), recs[i]["id"]))
        for i in members:
            if i != best:
                removed[recs[i]["id"]] = recs[best]["id"]
    return removed


def truth_removed(recs: list[dict], hasher, threshold: float = 0.7, quality: str = "quality") -> dict[str, str]:
    """Exact truth of near-dup removal: id -> survivor id, for every record a
    correct MinHash stage removes (exact Jaccard >= threshold, transitively)."""
    from pipeline.dedup.jaccard import all_pairs_jaccard

    texts = [r["text"] for r in recs]
    return removals(recs, [(i, j) for i, j, _ in all_pairs_jaccard(texts, hasher, threshold)], quality)
