"""The shipped held-out dedup set (data/eval/dedup, infra/eval/dedup_set.py):
truth consistent with its definition, bucket 0 only, splits disjoint, no
text from data/sample or data/reference. Reads files only (no Spark)."""
from __future__ import annotations

import collections
from pathlib import Path

import pyarrow.parquet as pq
import pytest

from infra.eval import dedup_set as ds

DATA = Path(__file__).resolve().parents[1] / "data" / "eval" / "dedup"
SPLITS = ("dev", "test")


@pytest.fixture(scope="module")
def sets():
    out = {}
    for s in SPLITS:
        docs = {r["id"]: r for r in pq.read_table(DATA / f"{s}.parquet").to_pylist()}
        labels = pq.read_table(DATA / f"{s}.labels.parquet").to_pylist()
        out[s] = (docs, labels)
    return out


def check_split(docs: dict, labels: list[dict]) -> list[str]:
    """Every inconsistency between the documents and their truth."""
    errs = []
    if sorted(docs) != sorted(r["id"] for r in labels) or len(docs) != len(labels):
        errs.append("documents and labels differ")
    groups = collections.defaultdict(list)
    for r in labels:
        groups[r["group"]].append(r)
    for g, rows in groups.items():
        kind = rows[0]["kind"]
        if {r["kind"] for r in rows} != {kind}:
            errs.append(f"{g}: mixed kinds")
        must = sum(r["must_go"] for r in rows)
        if kind in ds.DUP_KINDS:
            if must != len(rows) - 1 or len(rows) < 2:
                errs.append(f"{g}: {must} must go of {len(rows)}")
            orig = [r for r in rows if r["role"] == "original"]
            if len(orig) != 1:
                errs.append(f"{g}: {len(orig)} originals")
                continue
            o = docs[orig[0]["id"]]["text"]
            for r in rows:
                if r["role"] != "variant":
                    continue
                t = docs[r["id"]]["text"]
                j = ds.jaccard(ds.shingles(o), ds.shingles(t))
                if r["dup_of"] != orig[0]["id"] or j < ds.DUP_MIN_J:
                    errs.append(f"{g}: variant {r['id']} Jaccard {j:.3f}")
                if kind == "exact" and t != o:
                    errs.append(f"{g}: exact copy differs")
                if kind == "whitespace" and (t == o or t.split() != o.split()):
                    errs.append(f"{g}: not a whitespace-only variant")
        elif must:
            errs.append(f"{g}: {kind} has documents that must go")
        if kind in ("edit15", "edit25"):
            a, b = (ds.shingles(docs[r["id"]]["text"]) for r in rows)
            if ds.jaccard(a, b) > ds.NONDUP_MAX_J:
                errs.append(f"{g}: must-stay pair too similar")
        if kind == "shared_span":
            span = rows[0]["span"]
            if len(ds.tokens(span)) < 60 or any(span not in docs[r["id"]]["text"] for r in rows):
                errs.append(f"{g}: span missing or short")
    for r in labels:
        n = len(ds.tokens(docs[r["id"]]["text"]))
        if n < (0.9 * ds.MIN_TOKENS if r["role"] == "variant" else ds.MIN_TOKENS):  # deletions shorten variants
            errs.append(f"{r['id']}: {n} tokens")
    return errs


def test_truth_is_consistent(sets):
    for s in SPLITS:
        docs, labels = sets[s]
        assert check_split(docs, labels) == [], s


def test_check_catches_a_wrong_label(sets):
    docs, labels = sets["dev"]
    labels = [dict(r) for r in labels]
    v = next(r for r in labels if r["kind"] == "edit3" and r["role"] == "variant")
    docs = dict(docs)
    docs[v["id"]] = {**docs[v["id"]], "text": ds.edit_scattered(docs[v["id"]]["text"], 0.3,
                                                                 __import__("random").Random(0),
                                                                 {"word": ["zzq"], "cjk": ["丁"]})[0]}
    assert any("Jaccard" in e for e in check_split(docs, labels))
    labels[0]["must_go"] = not labels[0]["must_go"]
    assert len(check_split(sets["dev"][0], labels)) >= 1


def test_kinds_languages_and_size(sets):
    for s in SPLITS:
        docs, labels = sets[s]
        assert 1800 <= len(docs) <= 2200
        langs = collections.Counter(r["lang"] for r in labels)
        assert 0.55 <= langs["en"] / len(labels) <= 0.65
        kinds = {(r["kind"], r["lang"]) for r in labels}
        for k in ds.DUP_KINDS + ds.STAY_KINDS:
            assert (k, "en") in kinds and (k, "zh") in kinds, (s, k)


def test_bucket_zero_and_disjoint_splits(sets):
    keys = {}
    for s in SPLITS:
        _, labels = sets[s]
        keys[s] = {(r["source"], r["source_key"].split("#")[0]) for r in labels}
        for src, key in keys[s]:
            assert ds.bucket(src, key) == 0, (src, key)
            assert ds.split_of(src, key) == s, (src, key)
    assert not keys["dev"] & keys["test"]
    texts = {s: {d["text"] for d in sets[s][0].values()} for s in SPLITS}
    assert not texts["dev"] & texts["test"]


def test_no_line_of_sample_or_reference(sets):
    seen, _ = ds.sample_lines_and_urls()
    assert seen
    for s in SPLITS:
        for d in sets[s][0].values():
            hits = [ln for ln in d["text"].replace("\r", "").split("\n") if ds.norm_line(ln) in seen]
            assert not hits, (s, d["id"], hits[:1])


def _bench():
    import importlib.util
    path = Path(__file__).resolve().parents[1] / "bench" / "dedup.py"
    spec = importlib.util.spec_from_file_location("bench_dedup", path)
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def test_bench_scores_groups():
    """bench/dedup.py: n - 1 of a duplicate group must go, any of them; a
    whole group removed is one false positive; a must-stay removal is one."""
    score = _bench().score
    labels = [{"id": "a", "group": "g1", "must_go": False, "kind": "exact", "lang": "en"},
              {"id": "b", "group": "g1", "must_go": True, "kind": "exact", "lang": "en"},
              {"id": "c", "group": "g2", "must_go": False, "kind": "edit15", "lang": "zh"},
              {"id": "d", "group": "g2", "must_go": False, "kind": "edit15", "lang": "zh"}]
    assert score(labels, {"a"})["all"] == {"docs": 4, "must_go": 1, "removed": 1, "tp": 1, "fp": 0, "fn": 0,
                                           "precision": 1.0, "recall": 1.0, "f1": 1.0}
    a = score(labels, {"a", "b", "c"})["all"]
    assert (a["tp"], a["fp"], a["fn"]) == (1, 2, 0)
    a = score(labels, set(), key=lambda r: r["kind"])
    assert a["exact"]["fn"] == 1 and a["exact"]["recall"] == 0.0 and a["edit15"]["f1"] == 1.0


def test_baselines_find_planted_copies():
    """The datasketch baselines remove an exact copy and a 2-word edit of a
    long text, and keep an unrelated one."""
    bench = _bench()
    words = [f"w{i}" for i in range(300)]
    base = " ".join(words)
    edited = " ".join(words[:100] + ["zz"] + words[101:200] + ["yy"] + words[201:])
    docs = [{"id": "1", "text": base}, {"id": "2", "text": base}, {"id": "3", "text": edited},
            {"id": "4", "text": " ".join(reversed(words))}]
    assert bench.baseline_removed(docs, 0.5, 0.7) == {"2", "3"}
    assert bench.baseline_removed(docs, 0.7, None) == {"2", "3"}
