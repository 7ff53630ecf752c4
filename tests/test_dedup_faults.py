"""Fault tolerance and determinism: the same input twice, once with the first
attempt of a task failing (Spark retries it), gives byte-identical output
and a correct ledger."""
import hashlib
import shutil
import tempfile
from pathlib import Path

import pytest
from pyspark import TaskContext
from pyspark.sql import functions as F

from jobs.dedup import run_dedup, write_outputs
from pipeline.config import load_config
from fixtures.planted import planted_set
from test_dedup import independent_counts


@pytest.fixture(scope="module")
def spark_retry():
    """local[2,3]: two threads, up to 3 attempts per task (local[N] allows 1)."""
    from jobs.common import spark_session
    from pyspark.sql import SparkSession

    if SparkSession.getActiveSession():
        SparkSession.getActiveSession().stop()
    s = spark_session("yi-tests-faults", master="local[2,3]", conf={"spark.sql.shuffle.partitions": "4"})
    yield s
    s.stop()


@pytest.fixture
def workdir():
    d = Path(tempfile.mkdtemp(prefix="yi-dedup-faults-"))
    yield d
    shutil.rmtree(d, ignore_errors=True)


def _digest(root: Path) -> dict[str, str]:
    return {str(p.relative_to(root)): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(root.rglob("*")) if p.is_file() and p.suffix in (".parquet", ".json")}


@pytest.mark.slow
def test_injected_task_failure_gives_identical_output(spark_retry, workdir):
    spark, cfg = spark_retry, load_config()
    recs = planted_set(n_base=150, seed=5)
    df = spark.createDataFrame(recs, "id string, text string, lang string, kind string, group long, "
                                     "edit_rate double, quality double").repartition(3, "id")
    write_outputs(spark, run_dedup(spark, df, cfg), str(workdir / "clean"), cfg)

    markers = workdir / "markers"
    markers.mkdir()
    mdir = str(markers)

    @F.udf("string")
    def fail_first_attempt(text):
        ctx = TaskContext.get()
        marker = Path(mdir) / f"stage{ctx.stageId()}-part{ctx.partitionId()}"
        if ctx.partitionId() == 0 and ctx.attemptNumber() == 0 and not marker.exists():
            marker.touch()
            raise RuntimeError("injected failure on the first attempt")
        return text

    faulty = df.withColumn("text", fail_first_attempt("text"))
    res = run_dedup(spark, faulty, cfg)
    write_outputs(spark, res, str(workdir / "faulty"), cfg)
    assert list(markers.iterdir()), "no failure was injected"
    clean, after = _digest(workdir / "clean"), _digest(workdir / "faulty")
    assert clean and clean == after
    # counts taken independently: input rows, ledger rows by decision, output rows
    names = ["paragraph_dedup", "minhash_dedup", "exact_dedup", "substring_dedup"]
    kept_ids = [r["id"] for r in res.kept.select("id").collect()]
    assert res.counts == independent_counts([r["id"] for r in recs], res.ledger.collect(), kept_ids, names)
    assert res.counts[1]["rejected"] > 0 and res.counts[0]["rejected"] > 0
