"""English HTML pages: Python's documentation and one real web page from
trafilatura's tests."""
from __future__ import annotations

import random
import tarfile
from pathlib import Path

from .records import N_PYDOCS, PYDOCS_MAX_BYTES, Rec
from .sources import DebPackage


def add_pydocs(rng: random.Random, pyd: DebPackage, recs: list[Rec]) -> None:
    prefix = "usr/share/doc/python3.11/html/"
    pages = [p for p in pyd.glob(prefix, ".html") if len(pyd.files[p]) <= PYDOCS_MAX_BYTES]
    for p in sorted(rng.sample(pages, N_PYDOCS)):
        rel = p[len(prefix):]
        recs.append(Rec(url=f"https://docs.python.org/3.11/{rel}", source="python-docs", lang="en",
                        fmt="warc", html=pyd.files[p]))


def add_mozilla(trafilatura_sdist: Path, recs: list[Rec]) -> None:
    """mozilla.org's Firefox Developer Edition page (CC BY-SA content)."""
    with tarfile.open(trafilatura_sdist) as tf:
        moz = next(m for m in tf.getmembers() if m.name.endswith("tests/resources/mozilla.org.firefox.developer.html"))
        recs.append(Rec(url="https://www.mozilla.org/en-US/firefox/developer/", source="mozilla.org",
                        lang="en", fmt="warc", html=tf.extractfile(moz).read()))
