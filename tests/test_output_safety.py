"""The jobs' output directory (issue 11, items 1 and 3): an output that
overlaps an input, or a non-empty directory the job did not write, is refused
before any work (exit 2); a run is staged inside OUT and published at the
end, with OUT/_MANIFEST.json written last, so a crashed rerun leaves the old
run exactly as it was; Parquet row groups are sized by bytes; ``lang`` is a
column of the corpus files as well as the ``lang=xx`` folder name.

Real Spark local[2], real subprocesses, real kill -9; tiny JSONL inputs."""
import gzip
import hashlib
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pyarrow as pa
import pyarrow.dataset as ds
import pyarrow.parquet as pq
import pytest

from jobs import filter as corpus_build
from jobs.common import MANIFEST, verify_output

REPO = Path(__file__).resolve().parent.parent
SAMPLE = REPO / "data" / "sample"


def _lines(name: str, n: int, skip: int = 0) -> list[str]:
    with gzip.open(SAMPLE / "jsonl" / name, "rt", encoding="utf-8") as fh:
        return [line for i, line in zip(range(skip + n), fh) if i >= skip]


def _tiny_input(d: Path, extra: int = 0) -> Path:
    """~60 records of the sample (English Wikipedia, web pages, Chinese);
    ``extra`` more web records make a different input."""
    d.mkdir(parents=True, exist_ok=True)
    (d / "a.jsonl").write_text("".join(_lines("wikipedia-en.jsonl.gz", 30) + _lines("fortunes-zh.jsonl.gz", 15)),
                               encoding="utf-8")
    (d / "b.jsonl").write_text("".join(_lines("web-mixed.jsonl.gz", 15 + extra)), encoding="utf-8")
    return d


def _digest(root: Path) -> dict[str, str]:
    """sha256 of every published file (the staging area and lock excluded)."""
    return {str(p.relative_to(root)): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(root.rglob("*")) if p.is_file()
            and not p.relative_to(root).parts[0].startswith((".staging-", ".old-", ".lock"))}


def _env(**extra) -> dict:
    return {**os.environ, "YI_SPARK_MASTER": "local[2]", "PYTHONHASHSEED": "0", **extra}


def _job(script: str, *args, env=None, timeout=120):
    return subprocess.run([sys.executable, str(REPO / "jobs" / script), *map(str, args)], cwd=REPO,
                          env=env or _env(), capture_output=True, text=True, timeout=timeout)


def _no_java_env() -> dict:
    """An environment in which Spark cannot start: a job that answers before
    any work exits 2 with its message; one that starts Spark fails otherwise."""
    path = os.pathsep.join(p for p in os.environ.get("PATH", "").split(os.pathsep)
                           if not (Path(p) / "java").exists())
    return _env(JAVA_HOME="/nonexistent-java", PATH=path)


# ------------------------------------------------------ refused before work --
def _overlaps(tmp: Path):
    src = _tiny_input(tmp / "in")
    (tmp / "link").symlink_to(src)
    return {
        "inside-input": (src, src / "out"),
        "same-dir": (src, src),
        "input-inside-output": (src / "a.jsonl", src),
        "symlink-to-input": (src, tmp / "link"),
        "inside-input-via-symlink": (src, tmp / "link" / "out"),
        "input-file-via-symlink": (tmp / "link" / "b.jsonl", src),
    }


@pytest.mark.parametrize("case", ["inside-input", "same-dir", "input-inside-output", "symlink-to-input",
                                  "inside-input-via-symlink", "input-file-via-symlink"])
def test_output_overlapping_an_input_is_refused_before_spark(tmp_path, case):
    inp, out = _overlaps(tmp_path)[case]
    before = _digest(tmp_path / "in")
    for extra in ([], ["--overwrite"]):
        t0 = time.time()
        proc = _job("filter.py", "--input", inp, "--output", out, *extra, env=_no_java_env())
        assert proc.returncode == 2, proc.stderr[-2000:]
        assert "overlaps the input" in proc.stderr and time.time() - t0 < 60
        assert _digest(tmp_path / "in") == before
        assert not list((tmp_path / "in").rglob(".staging-*"))


def test_dedup_output_overlapping_its_input_is_refused(tmp_path):
    src = tmp_path / "in"
    src.mkdir()
    pq.write_table(pa.table({"id": ["a"], "text": ["x"]}), src / "part.parquet")
    proc = _job("dedup.py", "--input", src, "--output", src / "out", env=_no_java_env())
    assert proc.returncode == 2 and "overlaps the input" in proc.stderr, proc.stderr[-2000:]
    assert sorted(p.name for p in src.iterdir()) == ["part.parquet"]


@pytest.mark.parametrize("script,extra", [("shards.py", ["--tokenizer", "tok.model"]), ("train_tokenizer.py", [])])
def test_shards_and_tokenizer_output_overlapping_input_is_refused(tmp_path, script, extra):
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    pq.write_table(pa.table({"id": ["a"], "text": ["x"]}), corpus / "part.parquet")
    proc = _job(script, "--input", corpus, "--output", corpus / "out", *extra, env=_no_java_env())
    assert proc.returncode == 2 and "overlaps the input" in proc.stderr, proc.stderr[-2000:]
    assert sorted(p.name for p in corpus.iterdir()) == ["part.parquet"]


@pytest.mark.parametrize("script", ["filter.py", "dedup.py"])
def test_foreign_non_empty_output_is_refused_without_overwrite(tmp_path, script):
    src = _tiny_input(tmp_path / "in")
    if script == "dedup.py":
        src = tmp_path / "in.parquet"
        pq.write_table(pa.table({"id": ["a"], "text": ["x"]}), src)
    out = tmp_path / "mine"
    (out / "photos").mkdir(parents=True)
    (out / "photos" / "cat.jpg").write_bytes(b"meow")
    (out / "notes.txt").write_text("keep me")
    before = _digest(out)
    proc = _job(script, "--input", src, "--output", out, env=_no_java_env())
    assert proc.returncode == 2, proc.stderr[-2000:]
    assert "not empty" in proc.stderr and "--overwrite" in proc.stderr and "notes.txt" in proc.stderr
    assert _digest(out) == before and sorted(p.name for p in out.iterdir()) == ["notes.txt", "photos"]


def test_output_that_holds_the_working_directory_or_the_code_is_refused(tmp_path):
    src = _tiny_input(tmp_path / "in")
    for out in (REPO, REPO.parent, Path("/")):
        proc = _job("filter.py", "--input", src, "--output", out, "--overwrite", env=_no_java_env())
        assert proc.returncode == 2 and "refusing" in proc.stderr, proc.stderr[-2000:]
    assert (REPO / "jobs" / "filter.py").exists()


def test_output_with_glob_characters_is_refused_before_spark(tmp_path):
    """Spark reads the job's intermediates back by a path it treats as a glob:
    ``run[1]`` or ``run*`` would read a sibling's files."""
    src = _tiny_input(tmp_path / "in")
    for name in ("run[1]", "run*", "run{a,b}"):
        proc = _job("filter.py", "--input", src, "--output", tmp_path / name, env=_no_java_env())
        assert proc.returncode == 2 and "glob" in proc.stderr, proc.stderr[-2000:]
        assert not (tmp_path / name).exists()


def test_missing_input_is_a_clear_error(tmp_path):
    proc = _job("filter.py", "--input", tmp_path / "nope", "--output", tmp_path / "out", env=_no_java_env())
    assert proc.returncode == 2 and "input not found" in proc.stderr, proc.stderr[-2000:]
    assert not (tmp_path / "out").exists()


# ----------------------------------------------------- staged, published, kept --
@pytest.fixture(scope="module")
def first(spark, tmp_path_factory):
    """A good output of the tiny input A, built in-process."""
    root = tmp_path_factory.mktemp("safety")
    src = _tiny_input(root / "in-a")
    out = root / "out"
    assert corpus_build.main(["--input", str(src), "--output", str(out)]) == 0
    return root, src, out


def test_output_has_a_manifest_written_last_listing_every_file(first):
    _, _, out = first
    man = json.loads((out / MANIFEST).read_text())
    assert man["job"] == "corpus-build" and man["complete"] is True
    files = {str(p.relative_to(out)) for p in out.rglob("*") if p.is_file()} - {MANIFEST, ".lock"}
    assert set(man["files"]) == files
    for rel, f in man["files"].items():
        data = (out / rel).read_bytes()
        assert f["bytes"] == len(data) and f["sha256"] == hashlib.sha256(data).hexdigest()
    rows = sum(f["rows"] for rel, f in man["files"].items() if rel.startswith("ledger/") and "rows" in f)
    assert rows == pq.read_table(out / "ledger").num_rows == man["counts"]["ledger_rows"]
    assert not [p for p in out.iterdir() if p.name.startswith((".staging-", ".old-"))]
    assert verify_output(out) == []
    (out / "ledger" / "extra.parquet").write_bytes(b"x")
    try:
        assert verify_output(out) == ["ledger/extra.parquet: not in the manifest"]
    finally:
        (out / "ledger" / "extra.parquet").unlink()


def test_lang_is_a_column_of_the_files_and_every_reader_agrees(spark, first):
    _, _, out = first
    corpus = out / "corpus"
    for f in corpus.rglob("*.parquet"):
        t = pq.read_table(f)  # a copied file keeps its language
        assert t.schema.field("lang").type == pa.string()
        assert set(t.column("lang").to_pylist()) == {f.parent.name.split("=", 1)[1]}
    by_ds = ds.dataset(corpus, partitioning="hive").to_table(columns=["id", "lang"]).to_pydict()
    by_file = ds.dataset(corpus).to_table(columns=["id", "lang"]).to_pydict()
    by_pq = pq.read_table(corpus, partitioning=None, columns=["id", "lang"]).to_pydict()
    by_spark = {(r.id, r.lang) for r in spark.read.parquet(str(corpus)).select("id", "lang").collect()}
    want = set(zip(by_ds["id"], by_ds["lang"]))
    assert want and set(zip(by_file["id"], by_file["lang"])) == want == set(zip(by_pq["id"], by_pq["lang"])) == by_spark
    assert [c for c in spark.read.parquet(str(corpus)).columns if c == "lang"] == ["lang"]


def _newer(p: Path, t: float) -> bool:
    try:
        return p.stat().st_mtime >= t
    except FileNotFoundError:   # a task's temporary file, renamed meanwhile
        return False


def _kill_when_writing(cmd, out: Path, start: float, env) -> int:
    """Start the job; kill -9 its whole process group (driver JVM and Python
    workers) as soon as it has written a corpus file (the cascade has run;
    ledger, quarantine and report come next): where the old code left the
    new corpus beside the old ledger."""
    proc = subprocess.Popen(cmd, cwd=REPO, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                            start_new_session=True)
    try:
        deadline = time.time() + 600
        while time.time() < deadline and proc.poll() is None:
            if any(_newer(Path(d) / n, start) for d, _, names in os.walk(out) if "corpus" in Path(d).parts
                   for n in names if n.startswith("part-") and ".zstd.parquet" in n):
                os.killpg(proc.pid, signal.SIGKILL)
                break
            time.sleep(0.05)
        proc.wait(timeout=60)
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
    return proc.returncode


def test_killed_rerun_leaves_the_old_run_exactly_and_a_rerun_succeeds(first):
    root, _, out = first
    before = _digest(out)
    src_b = _tiny_input(root / "in-b", extra=10)  # a different input: a mix would show
    start = time.time() - 1
    cmd = [sys.executable, str(REPO / "jobs" / "filter.py"), "--input", str(src_b), "--output", str(out)]
    rc = _kill_when_writing(cmd, out, start, _env())
    assert rc == -signal.SIGKILL
    assert _digest(out) == before
    assert verify_output(out) == []
    proc = subprocess.run(cmd, cwd=REPO, env=_env(), capture_output=True, text=True, timeout=900)
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert verify_output(out) == [] and _digest(out) != before
    assert not [p for p in out.iterdir() if p.name.startswith((".staging-", ".old-"))]
    man = json.loads((out / MANIFEST).read_text())
    assert man["inputs"]["files"] == 2 and man["counts"]["input"] == 70


def test_rerun_leaves_no_stale_file_and_overwrite_replaces_a_foreign_dir(spark, first, tmp_path):
    """A stale report file of an earlier run does not survive; ``--overwrite``
    replaces a foreign directory's contents (and nothing beside it); the same
    input gives the same bytes in another directory."""
    root, src, out = first
    reference = tmp_path / "ref"
    assert corpus_build.main(["--input", str(src), "--output", str(reference)]) == 0
    stale = reference / "report" / "dedup" / "old-stage.md"
    stale.parent.mkdir(parents=True, exist_ok=True)
    stale.write_text("from an earlier run")
    man = json.loads((reference / MANIFEST).read_text())
    assert corpus_build.main(["--input", str(src), "--output", str(reference)]) == 0
    assert not stale.exists()
    assert json.loads((reference / MANIFEST).read_text()) == man

    foreign = tmp_path / "foreign"
    (foreign / "photos").mkdir(parents=True)
    (foreign / "photos" / "cat.jpg").write_bytes(b"meow")
    (tmp_path / "beside.txt").write_text("beside")
    assert corpus_build.main(["--input", str(src), "--output", str(foreign)]) == 2
    assert (foreign / "photos" / "cat.jpg").exists()
    assert corpus_build.main(["--input", str(src), "--output", str(foreign), "--overwrite"]) == 0
    assert not (foreign / "photos").exists() and (tmp_path / "beside.txt").read_text() == "beside"
    a, b = _digest(reference), _digest(foreign)
    assert a == b and any(k.startswith("corpus/") for k in a) and any(k.startswith("ledger/") for k in a)


def test_keep_work_publishes_the_intermediates(spark, first, tmp_path):
    _, src, _ = first
    out = tmp_path / "out"
    assert corpus_build.main(["--input", str(src), "--output", str(out), "--keep-work"]) == 0
    assert (out / "_work").is_dir() and any((out / "_work").iterdir())
    assert verify_output(out) == []


# -------------------------------------------------------------- row groups --
def test_row_groups_are_sized_by_bytes(spark, tmp_path):
    from jobs.common import write_parquet

    text = (SAMPLE.parent.parent / "README.md").read_text(encoding="utf-8")
    rows = [(f"{i:04d}", text[i: i + 2000], "en" if i % 3 else "zh") for i in range(600)]
    df = spark.createDataFrame(rows, "id string, text string, lang string")
    for budget, want in ((64 * 1024, lambda n: n > 1), (1 << 30, lambda n: n == 1)):
        out = tmp_path / f"b{budget}"
        write_parquet(spark, df, str(out), partition_by=["lang"], partitions=1, row_group_bytes=budget)
        files = sorted(out.rglob("*.parquet"))
        assert len(files) == 2
        for f in files:
            md = pq.ParquetFile(f).metadata
            assert want(md.num_row_groups), (budget, f, md.num_row_groups)
            if budget < 1 << 20:
                assert all(md.row_group(i).total_byte_size <= 4 * budget for i in range(md.num_row_groups))


def test_corpus_and_ledger_row_groups_hold_every_row_of_a_small_file(first):
    _, _, out = first
    for f in list((out / "corpus").rglob("*.parquet")) + list((out / "ledger").rglob("*.parquet")):
        assert pq.ParquetFile(f).metadata.num_row_groups == 1, f


def test_publish_cut_between_its_renames_is_rolled_back_to_the_previous_run(tmp_path):
    """kill -9 inside publish, after the previous run was moved aside and
    before the new manifest: the next run finds no manifest, a half-moved new
    entry and the previous run in .old-<run>. It must restore the previous
    run (not delete it as a leftover), then work as usual."""
    from jobs.common import OLD_PREFIX, StagedOutput, check_output

    out = tmp_path / "out"
    old = out / f"{OLD_PREFIX}20260101T000000-1"
    (old / "corpus").mkdir(parents=True)
    (old / "corpus" / "part-0.parquet").write_bytes(b"previous run")
    (old / "report").mkdir()
    (old / MANIFEST).write_text(json.dumps({"job": corpus_build.JOB, "complete": True,
                                            "entries": ["corpus", "report", MANIFEST]}))
    (out / "corpus").mkdir()
    (out / "corpus" / "part-0.parquet").write_bytes(b"new run, never committed")
    check_output(str(out), [], job=corpus_build.JOB)  # ours: not refused as a foreign directory
    staged = StagedOutput(str(out), corpus_build.JOB).open()
    try:
        assert (out / "corpus" / "part-0.parquet").read_bytes() == b"previous run"
        assert (out / "report").is_dir() and (out / MANIFEST).is_file()
        assert not [e for e in os.listdir(out) if e.startswith(OLD_PREFIX)]
    finally:
        staged.close()
    assert sorted(os.listdir(out)) == sorted(["corpus", "report", MANIFEST, ".lock"])
