"""Recall of the whole dedup cascade in Yi's order (paragraph, MinHash,
exact, substring) on real text from data/sample (English Wikipedia
articles, Chinese man pages), real Spark local[2], one run shared by the
module.

Each duplicate must be decided as a duplicate of its cluster's survivor
(``duplicate_of``), whatever paragraph dedup cut first, and the survivor
keeps its full text; paragraph dedup still removes a paragraph repeated in
unrelated documents, the span stage still cuts a shared 60-token span, and
hard negatives (different text inside one template) are kept. The survivor
rule is [dedup] quality_column (highest), then length, then id: the
sources here have the higher quality and the *larger* id.
"""
import gzip
import json

import pandas as pd
import pytest
from pyspark.sql import functions as F

from jobs.dedup import run_dedup
from pipeline.config import load_config
from pipeline.dedup.tokens import tokens
from pipeline.document import content_hash

from conftest import SAMPLE
from test_dedup import independent_counts

# Sphinx navigation and footer of the Python 3.11 docs (python3.11-doc, the
# pages in data/sample/warc): a real header/footer template.
NAV = ["Navigation", "index", "modules |", "next |", "previous |",
       "Python » 3.11.2 Documentation » The Python Standard Library »",
       "Quick search", "Theme Auto Light Dark |"]
FOOTER = ["© Copyright 2001-2023, Python Software Foundation.",
          "This page is licensed under the Python Software Foundation License Version 2.",
          "Examples, recipes, and other code in the documentation are additionally licensed under the Zero Clause BSD "
          "License.", "See History and License for more information."]


def _en_paragraphs() -> list[str]:
    out = []
    with gzip.open(SAMPLE / "jsonl" / "wikipedia-en.jsonl.gz", "rt") as fh:
        for line in fh:
            text = json.loads(line)["text"]
            out += [p.strip() for p in text.split("\n") if 60 <= len(tokens(p)) <= 120]
    return out


def _zh_paragraphs() -> list[str]:
    d = pd.read_parquet(SAMPLE / "parquet" / "web-text-00000.parquet")
    out = []
    for t in d[d.source == "manpages-zh"].sort_values("id").text:
        out += [p.strip() for p in t.split("\n") if 40 <= len(tokens(p)) <= 150
                and sum("\u4e00" <= c <= "\u9fff" for c in p) >= 30]
    return out


def _edit(text: str, every: int, word: str) -> str:
    """Replace every ``every``-th word of the *first line* by ``word``."""
    first, *rest = text.split("\n")
    w = first.split(" ")
    for i in range(every // 2, len(w), every):
        w[i] = word
    return "\n".join([" ".join(w)] + rest)


def _rec(i, text, q):
    return {"id": i, "text": text, "quality": q}


@pytest.fixture(scope="module")
def data():
    en, zh = _en_paragraphs(), _zh_paragraphs()
    assert len(en) >= 40 and len(zh) >= 12
    doc = lambda k: "\n".join(en[3 * k:3 * k + 3])  # noqa: E731  3 paragraphs, 180-360 words
    zdoc = "\n".join(zh[0:6])
    span = " ".join(en[39].split(" ")[:60])          # >= 60 tokens shared by two unrelated docs
    assert len(tokens(span)) >= 58
    shared = en[38]                                   # one paragraph repeated in two unrelated docs
    s1, s2 = doc(8).split("\n"), doc(9).split("\n")
    s1[1] = s1[1] + " " + span + " " + s1[1]          # mid-line: paragraph dedup cannot see it
    s2[1] = s2[1] + " " + span
    recs = [
        # exact copy with a lower id than its source
        _rec("e2-src", doc(0), 0.9), _rec("e1-copy", doc(0), 0.1),
        # near-duplicate: one word in 25 of the first paragraph replaced
        _rec("n2-src", doc(1), 0.9), _rec("n1-near", _edit(doc(1), 25, "however"), 0.2),
        # whitespace / CRLF-only variant
        _rec("w2-src", doc(2), 0.9), _rec("w1-ws", "  " + doc(2).replace("\n", " \r\n\r\n").replace(". ", ".  "), 0.3),
        # copy with a navigation header and footer added
        _rec("h2-src", doc(3), 0.9), _rec("h1-nav", "\n".join(NAV + [doc(3)] + FOOTER), 0.4),
        # Chinese near-duplicate: a few characters replaced in the first line
        _rec("z2-src", zdoc, 0.9), _rec("z1-near", zdoc.replace("的", "地", 3), 0.2),
        # a paragraph repeated in two unrelated documents
        _rec("p1-low", doc(4) + "\n" + shared, 0.2), _rec("p2-high", doc(5) + "\n" + shared, 0.9),
        # template hard negatives: different text in one shared template
        _rec("t1", "\n".join(NAV + [en[18], en[19]] + FOOTER), 0.5),
        _rec("t2", "\n".join(NAV + [en[20], en[21]] + FOOTER), 0.5),
        # span hosts: unrelated documents sharing a 60-token span
        _rec("s1-low", "\n".join(s1), 0.2), _rec("s2-high", "\n".join(s2), 0.9),
        # unrelated fillers
        _rec("u1", doc(10), 0.5), _rec("u2", doc(11), 0.5),
    ]
    return {"recs": recs, "shared": shared, "span": span}


@pytest.fixture(scope="module")
def result(spark, data):
    cfg = load_config()
    df = spark.createDataFrame(data["recs"], "id string, text string, quality double")
    res = run_dedup(spark, df, cfg)
    led = {r["id"]: r.asDict() for r in res.ledger.collect()}
    kept = {r["id"]: r["text"] for r in res.kept.collect()}
    return {"res": res, "ledger": led, "kept": kept, "src": {r["id"]: r["text"] for r in data["recs"]}}


def _assert_duplicate(result, dup, survivor):
    led, kept, src = result["ledger"], result["kept"], result["src"]
    r = led[dup]
    assert (r["decision"], r["reason"], r["duplicate_of"]) in {
        ("rejected", "near_duplicate", survivor), ("rejected", "exact_duplicate", survivor)}, r
    assert led[survivor]["decision"] == "kept", led[survivor]
    assert kept[survivor] == src[survivor]  # the survivor keeps its full text


def test_exact_copy_with_lower_id(result):
    _assert_duplicate(result, "e1-copy", "e2-src")


def test_near_duplicate_with_a_few_edits(result):
    _assert_duplicate(result, "n1-near", "n2-src")


def test_whitespace_crlf_variant(result, data):
    _assert_duplicate(result, "w1-ws", "w2-src")
    ws = next(r["text"] for r in data["recs"] if r["id"] == "w1-ws")
    assert content_hash(ws) == content_hash(result["src"]["w2-src"])


def test_copy_with_navigation_added(result):
    _assert_duplicate(result, "h1-nav", "h2-src")


def test_chinese_near_duplicate(result):
    _assert_duplicate(result, "z1-near", "z2-src")


def test_paragraph_repeated_in_unrelated_docs_removed_from_the_worse(result, data):
    kept, shared = result["kept"], data["shared"]
    assert {"p1-low", "p2-high"} <= set(kept)
    assert shared in kept["p2-high"].split("\n")       # the higher-quality document (larger id) keeps it
    assert shared not in kept["p1-low"].split("\n")    # the other loses it
    assert kept["p1-low"].split("\n") == result["src"]["p1-low"].split("\n")[:-1]


def test_span_stage_cuts_shared_60_token_span(result, data):
    kept, span = result["kept"], data["span"]
    assert {"s1-low", "s2-high"} <= set(kept)
    assert span in kept["s2-high"]                      # the higher-quality host (larger id) keeps it
    assert span not in kept["s1-low"]
    assert len(kept["s1-low"]) < len(result["src"]["s1-low"]) - len(span) + 5


def test_template_hard_negatives_kept(result):
    led, kept = result["ledger"], result["kept"]
    assert led["t1"]["decision"] == "kept" and led["t2"]["decision"] == "kept"
    # the template's long lines stay in one of them only
    assert sum(FOOTER[1] in kept[i] for i in ("t1", "t2")) == 1


def test_ledger_and_counts_coherent(result, data):
    res, led = result["res"], result["ledger"]
    assert len(led) == len(data["recs"])
    # counts taken independently (input rows, ledger rows by decision, output rows), not
    # in == kept + rejected + quarantined, which holds by construction of _stage_counts
    names = ["paragraph_dedup", "minhash_dedup", "exact_dedup", "substring_dedup"]
    assert res.counts == independent_counts([r["id"] for r in data["recs"]], list(led.values()),
                                            list(result["kept"]), names)
    assert res.kept.columns == ["id", "text", "quality"]
    # decided rows carry the input text as given
    dec = {r["id"]: r["text"] for r in res.decided.where(F.col("decision") == "rejected").collect()}
    assert all(dec[i] == result["src"][i] for i in dec)
