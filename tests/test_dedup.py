"""The dedup cascade on real Spark local[2]: planted duplicates from real
text, the ledger invariant, quarantine, connected components, F1 vs exact
Jaccard truth."""
import random

import pytest
from pyspark.sql import functions as F

from jobs.dedup import connected_components, run_dedup
from pipeline.config import load_config
from pipeline.dedup.minhash import MinHasher
from fixtures.planted import planted_set, truth_removed


@pytest.fixture(scope="module")
def planted():
    return planted_set(n_base=300, seed=3)


@pytest.fixture(scope="module")
def cfg():
    return load_config()


def _df(spark, recs):
    return spark.createDataFrame(recs, "id string, text string, lang string, kind string, group long, "
                                       "edit_rate double, quality double")


def test_minhash_stage_f1_against_exact_jaccard(spark, planted, cfg):
    m = cfg.section("dedup.minhash")
    truth = truth_removed(planted, MinHasher(bands=m["bands"], rows=m["rows"], ngram=m["ngram"], seed=m["seed"]), m["threshold"],
                          quality=cfg.get("dedup.quality_column"))
    res = run_dedup(spark, _df(spark, planted), cfg, ["minhash"])
    led = {r["id"]: r for r in res.ledger.collect()}
    assert len(led) == len(planted)
    pred = {i: r["duplicate_of"] for i, r in led.items() if r["decision"] == "rejected"}
    tp = len(set(pred) & set(truth))
    prec, rec = tp / max(len(pred), 1), tp / max(len(truth), 1)
    f1 = 2 * prec * rec / max(prec + rec, 1e-9)
    assert len(truth) > 50
    assert f1 >= 0.99, (prec, rec, len(truth))
    # boilerplate around unrelated documents does not merge them: every
    # boilerplate document removed is a true near-duplicate
    boiler = {r["id"] for r in planted if r["kind"] == "boilerplate"}
    assert len(boiler) > 20
    assert {i for i in pred if i in boiler} <= set(truth)
    # the survivor rule: highest quality in the cluster
    q = {r["id"]: r["quality"] for r in planted}
    for i, d in pred.items():
        assert q[d] >= q[i]


def test_full_cascade_ledger_invariant_and_quarantine(spark, planted, cfg):
    recs = planted + [
        {"id": "bad-null-text", "text": None, "lang": "en", "kind": "bad", "group": -1, "edit_rate": None, "quality": None},
        {"id": "dup-id", "text": "one text " * 60, "lang": "en", "kind": "bad", "group": -2, "edit_rate": None, "quality": None},
        {"id": "dup-id", "text": "another text " * 60, "lang": "en", "kind": "bad", "group": -3, "edit_rate": None, "quality": None},
    ]
    df = _df(spark, recs)
    res = run_dedup(spark, df, cfg)
    assert [c["stage"] for c in res.counts] == ["paragraph_dedup", "minhash_dedup", "exact_dedup", "substring_dedup"]
    for c in res.counts:
        assert c["in"] == c["kept"] + c["rejected"] + c["quarantined"]
    for a, b in zip(res.counts, res.counts[1:]):
        assert a["kept"] == b["in"]
    assert res.counts[0]["in"] == len(recs)
    assert res.counts[0]["quarantined"] == 2
    led = res.ledger.collect()
    assert len(led) == len(recs)
    # duplicate ids (pipeline/decisions.py): the first copy in input order
    # (here, without source_file/offset: by text) keeps the id and is judged,
    # the later one is quarantined
    dup = sorted((r["decision"], r["reason"]) for r in led if r["id"] == "dup-id")
    assert len(dup) == 2 and ("quarantined", "duplicate_id") in dup
    assert [r for r in led if r["id"] == "dup-id" and r["reason"] != "duplicate_id"][0]["decision"] != "quarantined"
    full = res.decided.where(F.col("reason") == "duplicate_id").collect()
    assert [r["text"] for r in full] == ["one text " * 60]
    kept_ids = {r["id"] for r in res.kept.select("id").collect()}
    assert kept_ids == {r["id"] for r in led if r["decision"] == "kept"}
    assert res.counts[-1]["kept"] == len(kept_ids)
    assert res.kept.columns == df.columns
    assert {r["stage"] for r in led if r["decision"] == "kept"} == {""}
    # every stage decided something on this data
    assert all(c["rejected"] > 0 for c in res.counts if c["stage"] != "exact_dedup")
    # shared >= 50-token spans were cut from the pasted copies
    span_ids = [r["id"] for r in planted if r["kind"] == "span"]
    before = {r["id"]: r["text"] for r in planted}
    after = {r["id"]: r["text"] for r in res.kept.where(F.col("id").isin(span_ids)).collect()}
    assert sum(len(after[i]) < len(before[i]) for i in after) >= 0.8 * len(after)
    # unchanged columns carried through
    row = res.kept.where(F.col("kind") == "original").first()
    src = next(r for r in planted if r["id"] == row["id"])
    assert (row["lang"], row["group"], row["quality"]) == (src["lang"], src["group"], src["quality"])


def test_connected_components_match_union_find(spark):
    rnd = random.Random(7)
    nodes = [f"n{i:04d}" for i in range(400)]
    edges = [(rnd.choice(nodes), rnd.choice(nodes)) for _ in range(300)]
    edges += [(nodes[i], nodes[i + 1]) for i in range(300, 399)]  # a long chain
    got = {r["id"]: r["root"] for r in connected_components(
        spark.createDataFrame(edges, "src string, dst string")).collect()}
    parent = {}

    def find(x):
        parent.setdefault(x, x)
        while parent[x] != x:
            x = parent[x]
        return x
    for a, b in edges:
        ra, rb = find(a), find(b)
        if ra != rb:
            parent[max(ra, rb)] = min(ra, rb)
    want = {n: find(n) for e in edges if e[0] != e[1] for n in e}
    assert got == want


@pytest.mark.parametrize("name", ["run#2", "run?x=1", "run 2 ü"])
def test_writer_output_path_is_a_path_not_a_uri(spark, tmp_path, name):
    """'#', '?', spaces and non-ASCII are characters of the directory name:
    nothing is written to (or deleted from) the directory the name starts with."""
    import pyarrow.parquet as pq

    from jobs.common import write_parquet

    sibling = tmp_path / "run"
    (sibling / "sub").mkdir(parents=True)
    (sibling / "sub" / "keep.txt").write_text("x")
    df = spark.createDataFrame([(str(i), f"text {i}") for i in range(10)], "id string, text string")
    assert write_parquet(spark, df, str(tmp_path / name), partitions=2) == 10
    assert (sibling / "sub" / "keep.txt").read_text() == "x" and sorted(p.name for p in sibling.iterdir()) == ["sub"]
    assert pq.read_table(tmp_path / name).num_rows == 10
    assert (tmp_path / name / "_SUCCESS").exists()
