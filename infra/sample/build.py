"""Build data/sample and data/reference: every source in a fixed order (the
order of the draws from the one seeded generator), then junk, duplicates,
the writers."""
from __future__ import annotations

import argparse
import random
import re
from collections import Counter
from pathlib import Path

from lxml import html as lxml_html

from . import __doc__ as DOC
from .debref import add_debref
from .dialogs import add_dialogs
from .fortunes import add_fortunes_en, add_fortunes_zh
from .junk import junk_records, non_html_records, page_duplicates, text_duplicates
from .manpages import add_manpages
from .pythondocs import add_mozilla, add_pydocs
from .records import SEED, Rec
from .sources import load_sources
from .sources_md import write_sources_md
from .wikipedia import add_wikipedia
from .writers import clear_sample_dirs, write_jsonl_files, write_labels, write_parquet_file, write_reference, write_warc_files


ROOT = Path(__file__).resolve().parent.parent.parent


def build(src: Path, out: Path) -> None:
    rng = random.Random(SEED)
    debs, pypi = load_sources(src)
    recs: list[Rec] = []
    ref_en: list[dict] = []
    ref_zh: list[dict] = []
    en_lines = add_fortunes_en(rng, debs, recs)
    zh_lines = add_fortunes_zh(rng, debs["fortunes-zh"], recs)
    add_manpages(debs["manpages-zh"], recs, ref_zh)
    add_debref(rng, debs["debian-reference-zh-cn"], recs, ref_zh)
    add_pydocs(rng, debs["python3.11-doc"], recs)
    add_mozilla(pypi["trafilatura"], recs)
    add_wikipedia(pypi["gensim"], recs, ref_en)
    add_dialogs(rng, pypi["chatterbot-corpus"], recs)
    junk = junk_records(rng, recs, en_lines, zh_lines)
    dups = text_duplicates(rng, recs) + page_duplicates(rng, recs)
    all_recs = recs + junk + dups + non_html_records(rng)
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


def write_outputs(out: Path, recs, ref_en, ref_zh, rng, debs, pypi) -> None:
    sample = out / "sample"
    clear_sample_dirs(sample)
    rng.shuffle(recs)  # order inside each file: a fixed shuffle, so languages and kinds mix
    write_warc_files(sample, recs, rng)
    write_jsonl_files(sample, recs)
    write_parquet_file(sample, recs, rng)
    write_labels(out, recs)
    write_reference(out, ref_en, ref_zh)
    write_sources_md(out, recs, ref_en, ref_zh, debs, pypi)
    sizes = sum(p.stat().st_size for p in sample.rglob("*") if p.is_file())
    print(f"[sample] {len(recs)} records -> {sample} ({sizes / 1e6:.1f} MB), "
          f"reference en {len(ref_en)} / zh {len(ref_zh)} docs", flush=True)


def main(argv=None) -> None:
    p = argparse.ArgumentParser(description=DOC, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--src", default=str(ROOT / "build" / "sample-src"), help="downloaded sources")
    p.add_argument("--out", default=str(ROOT / "data"), help="writes OUT/sample, OUT/reference")
    a = p.parse_args(argv)
    build(Path(a.src), Path(a.out))
