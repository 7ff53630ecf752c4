"""End to end: `jobs/filter.py` on real Spark local[2] over the shipped sample."""
import gzip
import hashlib
import json
import os
import subprocess
import sys
from pathlib import Path

import pyarrow as pa
import pyarrow.dataset as ds
import pyarrow.parquet as pq
import pytest

from jobs import filter as corpus_build

REPO = Path(__file__).resolve().parent.parent
SAMPLE = REPO / "data" / "sample"
pytestmark = pytest.mark.slow


def tree_digest(root: Path) -> dict[str, str]:
    return {str(p.relative_to(root)): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(root.rglob("*")) if p.is_file()}


def count_input_records(root: Path) -> int:
    """Count records independently of our readers: JSONL lines, Parquet rows,
    WARC response/conversion records."""
    from warcio.archiveiterator import ArchiveIterator
    import zstandard

    n = 0
    for p in sorted(root.rglob("*")):
        name = p.name
        if name.endswith((".jsonl", ".jsonl.gz", ".jsonl.zst")):
            if name.endswith(".gz"):
                data = gzip.decompress(p.read_bytes())
            elif name.endswith(".zst"):
                data = zstandard.ZstdDecompressor().stream_reader(p.open("rb")).read()
            else:
                data = p.read_bytes()
            n += sum(1 for line in data.splitlines() if line.strip())
        elif name.endswith(".parquet"):
            n += pq.ParquetFile(p).metadata.num_rows
        elif ".warc" in name:
            with p.open("rb") as fh:
                n += sum(1 for r in ArchiveIterator(fh) if r.rec_type in ("response", "conversion"))
    return n


@pytest.fixture(scope="module")
def build(spark, tmp_path_factory):
    out = tmp_path_factory.mktemp("build") / "out"
    assert corpus_build.main(["--input", str(SAMPLE), "--output", str(out)]) == 0
    return out


def test_ledger_accounts_for_every_input_record(build):
    ledger = pq.read_table(build / "ledger").to_pydict()
    records = [i for i, p in zip(ledger["id"], ledger["parent_id"]) if p is None]
    assert len(records) == count_input_records(SAMPLE)
    # documents split at incoherent boundaries: the parent is decided at
    # coherence, its parts are ledger rows of their own that name it
    parents = {i for i, r in zip(ledger["id"], ledger["reason"]) if r == "split_into_parts"}
    parts = {p for p in ledger["parent_id"] if p is not None}
    assert parents and parts == parents
    assert len(set(zip(ledger["id"], ledger["decision"], ledger["stage"]))) == len(ledger["id"])
    assert set(ledger["decision"]) <= {"kept", "rejected", "quarantined"}
    corpus = pq.read_table(build / "corpus", partitioning=None)  # lang is in the files (README)
    kept_ids = {i for i, d in zip(ledger["id"], ledger["decision"]) if d == "kept"}
    assert set(corpus.column("id").to_pylist()) == kept_ids
    assert corpus.num_rows == len(kept_ids) > 0


def independent_funnel(ledger: dict, stages: list[str]) -> dict[tuple[str, str], tuple]:
    """(lang, stage) -> (docs_in, kept, rejected, quarantined, added, chars_in,
    chars_kept), from the ledger rows alone and without subtraction: a row
    enters every stage up to the one that decided it (``output``: all of
    them) and is kept by those before it; a part (parent_id set) exists from
    coherence_split on."""
    pos = {s: i for i, s in enumerate(stages)}
    pos["output"] = len(stages)
    split = pos.get("coherence_split", len(stages))
    parents = ledger.get("parent_id") or [None] * len(ledger["id"])
    out = {}
    rows = list(zip(ledger["lang"], ledger["stage"], ledger["decision"], parents, ledger["n_chars_in"]))
    for lang in {lg or "unknown" for lg, *_ in rows}:
        mine = [(pos[s], d, p is not None, n) for lg, s, d, p, n in rows if (lg or "unknown") == lang]
        for i, stage in enumerate(stages):
            there = [(at, d, n) for at, d, part, n in mine if not part or i >= split]
            entered = [(at, d, n) for at, d, n in there if at >= i]
            kept = [n for at, d, n in entered if at > i]
            out[(lang, stage)] = (
                len(entered), len(kept), sum(at == i and d == "rejected" for at, d, _ in entered),
                sum(at == i and d == "quarantined" for at, d, _ in entered),
                sum(part for _, _, part, _ in mine) if i == split else 0,
                sum(n for *_, n in entered), sum(kept))
    return out


def by_value(values) -> dict:
    out: dict = {}
    for v in values:
        out[v] = out.get(v, 0) + 1
    return out


def test_funnel_invariant_per_stage(build):
    """The funnel against counts taken here: input records counted by plain
    readers, decisions counted from the ledger rows by value, and every
    stage's cell recomputed from the ledger without subtraction."""
    funnel = json.loads((build / "report" / "funnel.json").read_text())
    ledger = pq.read_table(build / "ledger").to_pydict()
    t = funnel["total"]
    decisions = by_value(ledger["decision"])
    n_parts = sum(p is not None for p in ledger["parent_id"])
    n_records = count_input_records(SAMPLE)
    assert set(decisions) == {"kept", "rejected", "quarantined"} and n_parts > 0
    assert (t["input"], t["kept"], t["rejected"], t["quarantined"], t["derived"]) == (
        n_records + n_parts, decisions["kept"], decisions["rejected"], decisions["quarantined"],
        n_parts)
    manifest = json.loads((build / "_MANIFEST.json").read_text())["counts"]
    assert manifest["input"] == n_records and manifest["ledger_rows"] == len(ledger["id"])
    stages = funnel["stages"]
    cells = {(r["lang"], r["stage"]): (r["docs_in"], r["docs_kept"], r["docs_rejected"], r["docs_quarantined"],
                                       r["docs_added"], r["chars_in"], r["chars_kept"]) for r in funnel["rows"]}
    assert cells == independent_funnel(ledger, stages)
    assert stages[:2] == ["read", "langid"]
    # every stage of the cascade rejected something on real web text
    rejected = {r["stage"] for r in funnel["rows"] if r["docs_rejected"]}
    assert {"langid", "heuristics"} <= rejected
    assert (build / "report" / "funnel.png").stat().st_size > 10_000
    assert (build / "report" / "examples" / "langid.md").exists()


def test_corpus_is_english_and_chinese_partitioned(build):
    langs = sorted(p.name for p in (build / "corpus").iterdir() if p.is_dir())
    assert langs == ["lang=en", "lang=zh"]
    t = pq.read_table(build / "corpus" / "lang=zh")
    assert t.num_rows > 0 and "meta" in t.column_names and "edits" in t.column_names


def test_second_run_is_byte_identical(build, tmp_path):
    """A second run, in a fresh process through the CLI, writes the same bytes."""
    out2 = tmp_path / "out2"
    env = {**os.environ, "YI_SPARK_MASTER": "local[2]"}
    proc = subprocess.run([sys.executable, str(REPO / "jobs" / "filter.py"), "--input", str(SAMPLE),
                           "--output", str(out2)], env=env, capture_output=True, text=True, timeout=900)
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert "funnel:" in proc.stderr
    for part in ("corpus", "ledger", "quarantine"):
        assert tree_digest(build / part) == tree_digest(out2 / part), part


def _bad_inputs(d: Path) -> None:
    good = [json.dumps({"id": f"g{i}", "text": line}) for i, line in enumerate(
        (SAMPLE.parent.parent / "README.md").read_text().split("\n\n")) if len(line) > 40]
    (d / "good.jsonl").write_text("\n".join(good) + "\n")
    (d / "bad.jsonl").write_bytes(b'{"id": "b1", "text": "caf\xe9 au lait"}\n{"id": "b2", "text": \n'
                                  b'{"id": "b3", "text": null}\n{"id": "b4", "text": "ok fine text here"}\n')
    raw = gzip.compress(("\n".join(good) + "\n").encode())
    (d / "truncated.jsonl.gz").write_bytes(raw[: len(raw) // 2])
    (d / "garbage.jsonl.gz").write_bytes(bytes(range(256)) * 10)
    pq.write_table(pa.table({"id": ["x"], "body": ["no text column"]}), d / "wrong.parquet")


def count_bad_input_records(d: Path, per_file: bool = False):
    """What ``_bad_inputs`` holds, counted with plain gzip / json / pyarrow:
    a JSONL record per non-blank line; a gzip stream cut short: its complete
    lines, plus one row saying the rest is lost; a file that is not what its
    name says: one row."""
    import zlib

    counts = {}
    for p in sorted(d.iterdir()):
        raw = p.read_bytes()
        if p.name.endswith(".parquet"):
            try:
                n = pq.ParquetFile(p).metadata.num_rows if "text" in pq.read_schema(p).names else 1
            except pa.ArrowException:
                n = 1
        elif p.name.endswith(".gz"):
            if raw[:2] != b"\x1f\x8b":
                n = 1
            else:
                z = zlib.decompressobj(wbits=31)
                data = z.decompress(raw)
                whole = z.eof
                if not whole:
                    data = data[: data.rfind(b"\n") + 1]
                n = sum(1 for line in data.splitlines() if line.strip()) + (0 if whole else 1)
        else:
            n = sum(1 for line in raw.splitlines() if line.strip())
        counts[p.name] = n
    return counts if per_file else sum(counts.values())


def test_bad_input_is_quarantined_not_fatal(spark, tmp_path):
    src = tmp_path / "in"
    src.mkdir()
    _bad_inputs(src)
    out = tmp_path / "out"
    assert corpus_build.main(["--input", str(src), "--output", str(out)]) == 0
    q = pq.read_table(out / "quarantine").to_pydict()
    reasons = set(q["reason"])
    assert {"invalid_utf8", "malformed_json", "empty_text", "truncated_gzip"} <= reasons
    unreadable = sorted(Path(f).name for f, r in zip(q["source_file"], q["reason"]) if r.startswith("unreadable_file"))
    assert unreadable == ["garbage.jsonl.gz", "wrong.parquet"]
    funnel = json.loads((out / "report" / "funnel.json").read_text())["total"]
    ledger = pq.read_table(out / "ledger").to_pydict()
    parents = ledger.get("parent_id") or [None] * len(ledger["id"])
    n_parts = sum(p is not None for p in parents)
    decisions = by_value(ledger["decision"])
    assert set(decisions) <= {"kept", "rejected", "quarantined"}
    assert funnel == {"input": count_bad_input_records(src) + n_parts, "kept": decisions.get("kept", 0),
                      "rejected": decisions.get("rejected", 0), "quarantined": decisions.get("quarantined", 0),
                      "derived": n_parts}
    # each file's records in the ledger exactly once (a (file, offset) pair per record)
    records = [(f, o) for f, o, p in zip(ledger["source_file"], ledger["offset"], parents) if p is None]
    assert len(set(records)) == len(records)
    assert {Path(f).name: n for f, n in by_value(f for f, _ in records).items()} == count_bad_input_records(src, True)


def test_strict_fails_on_unreadable_file(spark, tmp_path):
    src = tmp_path / "in"
    src.mkdir()
    _bad_inputs(src)
    with pytest.raises(Exception, match="garbage.jsonl.gz|wrong.parquet"):
        corpus_build.main(["--input", str(src), "--output", str(tmp_path / "out"), "--strict"])


# ------------------------------------------------ every subset of stages runs --
def _subset_input(d: Path) -> None:
    """~300 records of the sample (English and Chinese web text, Wikipedia)
    plus two records that share an id."""
    lines = []
    for name, n in (("web-mixed.jsonl.gz", 150), ("wikipedia-en.jsonl.gz", 100), ("fortunes-zh.jsonl.gz", 50)):
        with gzip.open(SAMPLE / "jsonl" / name, "rt", encoding="utf-8") as fh:
            lines += [line for _, line in zip(range(n), fh)]
    (d / "sample.jsonl").write_text("".join(lines), encoding="utf-8")
    text = (SAMPLE.parent.parent / "README.md").read_text(encoding="utf-8")[:3000]
    (d / "dup.jsonl").write_text(json.dumps({"id": "dup-1", "text": text}) + "\n"
                                 + json.dumps({"id": "dup-1", "text": text[::-1]}) + "\n", encoding="utf-8")


def _defaults():
    from pipeline.config import load_config

    cfg = load_config()
    return (list(cfg.get("cascade.stages")), list(cfg.get("cascade.post_dedup_stages")), list(cfg.get("dedup.stages")))


def _subsets():
    """(label, cascade stages, post-dedup stages, dedup stages, ledger stages
    that must decide nothing): language ID alone, and each stage off alone."""
    cascade, post, dedup = _defaults()
    out = [("langid-only", ["langid"], [], [], cascade[1:] + post + [f"{s}_dedup" for s in dedup]
            + ["coherence_split"])]
    for s in cascade:
        off = [s] + (["coherence_split"] if s == "coherence" else [])
        out.append((f"no-{s}", [c for c in cascade if c != s], post, dedup, off))
    for s in post:
        out.append((f"no-{s}", cascade, [c for c in post if c != s], dedup, [s]))
    for s in dedup:
        out.append((f"no-{s}-dedup", cascade, post, [d for d in dedup if d != s], [f"{s}_dedup"]))
    return out


@pytest.fixture(scope="module")
def subset_input(tmp_path_factory):
    d = tmp_path_factory.mktemp("subset-in")
    _subset_input(d)
    return d


@pytest.mark.parametrize("label,cascade,post,dedup,silent", _subsets(), ids=[s[0] for s in _subsets()])
def test_every_subset_of_stages_runs(spark, subset_input, tmp_path, label, cascade, post, dedup, silent):
    conf = tmp_path / "subset.toml"
    conf.write_text(f"[cascade]\nstages = {json.dumps(cascade)}\npost_dedup_stages = {json.dumps(post)}\n"
                    f"[dedup]\nstages = {json.dumps(dedup)}\n")
    out = tmp_path / "out"
    assert corpus_build.main(["--input", str(subset_input), "--output", str(out), "--config", str(conf)]) == 0
    funnel = json.loads((out / "report" / "funnel.json").read_text())
    ledger = pq.read_table(out / "ledger").to_pydict()
    parents = ledger["parent_id"] if "parent_id" in ledger else [None] * len(ledger["id"])
    n_records, n_parts, decisions = count_input_records(subset_input), sum(p is not None for p in parents), \
        by_value(ledger["decision"])
    assert sum(p is None for p in parents) == n_records
    t = funnel["total"]
    assert (t["input"], t["kept"], t["rejected"], t["quarantined"]) == (
        n_records + n_parts, decisions.get("kept", 0), decisions.get("rejected", 0), decisions.get("quarantined", 0))
    assert {(r["lang"], r["stage"]): (r["docs_in"], r["docs_kept"], r["docs_rejected"], r["docs_quarantined"],
                                      r["docs_added"], r["chars_in"], r["chars_kept"]) for r in funnel["rows"]} \
        == independent_funnel(ledger, funnel["stages"])
    # a stage switched off decides nothing and is not in the funnel
    assert not set(silent) & set(ledger["stage"])
    assert not set(silent) & set(funnel["stages"])
    assert set(ledger["stage"]) <= {"read", "output", *funnel["stages"]}
    # duplicate ids: the first record (by file, offset) goes on, the later one is quarantined at read
    dup = [(s, d, r) for i, s, d, r in zip(ledger["id"], ledger["stage"], ledger["decision"], ledger["reason"])
           if i == "dup-1"]
    assert dup.count(("read", "quarantined", "duplicate_id")) == 1 and len(dup) == 2
    # lang=__HIVE_DEFAULT_PARTITION__ only (no language ID): say the partition type
    hive = ds.partitioning(pa.schema([("lang", pa.string())]), flavor="hive")
    corpus_ids = set(pq.read_table(out / "corpus", partitioning=hive).column("id").to_pylist())
    assert corpus_ids == {i for i, d in zip(ledger["id"], ledger["decision"]) if d == "kept"}


# ------------------------------------------- the job refuses a broken ledger --
class _LoseOne:
    """A step with a bug: it drops a document without a ledger row."""

    name, derived_stage = "lose_one", None

    def run(self, ctx, docs):
        from pyspark.sql import functions as F

        from jobs.steps import StepResult

        return StepResult(docs.filter(docs["offset"] != 1).withColumn("lang", F.lit("en")), None, [])

    def annotate(self, ctx, rows):
        return rows


class _LoseOneDoubleAnother(_LoseOne):
    """A step with two bugs that cancel in the file's count: it drops one
    document, and rejects another while keeping it too."""

    name = "lose_one_double_another"

    def run(self, ctx, docs):
        from pyspark.sql import functions as F

        from jobs.steps import StepResult, decide

        docs = docs.withColumn("lang", F.lit("en"))
        return StepResult(docs.filter(docs["offset"] != 1), decide(docs.filter(docs["offset"] == 2), "rejected",
                                                                   "twice", "oops"), ["twice"])


@pytest.mark.parametrize("step,message", [
    (_LoseOne(), r"the reader yielded 3 records, the ledger holds 2 \(1 lost\)"),
    (_LoseOneDoubleAnother(), r"1 ledger rows repeat an offset already in the ledger")])
def test_a_lost_or_doubled_document_breaks_the_run(spark, tmp_path, monkeypatch, step, message):
    from pipeline.ledger import LedgerBroken

    src = tmp_path / "in"
    src.mkdir()
    (src / "three.jsonl").write_text("".join(json.dumps({"id": f"r{i}", "text": f"record number {i} " * 20}) + "\n"
                                             for i in range(3)))
    monkeypatch.setattr(corpus_build, "STEPS", [step])
    out = tmp_path / "out"
    with pytest.raises(LedgerBroken, match="three.jsonl: " + message):
        corpus_build.main(["--input", str(src), "--output", str(out)])
    assert not (out / "_MANIFEST.json").exists()
