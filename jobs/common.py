"""Spark plumbing shared by every job: session, shipping our code to the
executors, deterministic Parquet writes, progress lines.

Run a job either way:
  spark-submit [--master spark://...] jobs/filter.py --input IN --output OUT
  python jobs/filter.py --input IN --output OUT          # local[*]
"""
from __future__ import annotations

import os
import sys
import tempfile
import time
import zipfile
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parent.parent

os.environ.setdefault("SPARK_LOCAL_IP", "127.0.0.1")
os.environ.setdefault("PYSPARK_PYTHON", sys.executable)
os.environ.setdefault("PYSPARK_DRIVER_PYTHON", sys.executable)

_T0 = time.time()


def log(msg: str) -> None:
    """One concise progress line, timestamped from job start."""
    print(f"[{time.time() - _T0:7.1f}s] {msg}", file=sys.stderr, flush=True)


def _code_zip() -> str:
    """Zip pipeline/ and jobs/ so executors on other machines import the same code."""
    path = Path(tempfile.gettempdir()) / f"yi-pipeline-code-{os.getpid()}.zip"
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as zf:
        for pkg in ("pipeline", "jobs"):
            for f in sorted((REPO_ROOT / pkg).rglob("*.py")):
                zf.write(f, f.relative_to(REPO_ROOT).as_posix())
    return str(path)


def spark_session(app: str, master: str | None = None, conf: dict | None = None):
    """Get (or create) the SparkSession. Without spark-submit and without a
    master, runs on local[*]. Ships our code to executors."""
    from pyspark.sql import SparkSession

    builder = SparkSession.builder.appName(app)
    if master:
        builder = builder.master(master)
    elif "SPARK_SUBMIT" not in os.environ and not os.environ.get("MASTER") and "spark.master" not in (conf or {}):
        # spark-submit sets spark.master in the JVM; plain python gets local.
        builder = builder.master(os.environ.get("YI_SPARK_MASTER", "local[*]"))
    defaults = {
        "spark.sql.session.timeZone": "UTC",
        "spark.sql.execution.arrow.pyspark.enabled": "true",
        "spark.sql.shuffle.partitions": "8",
        "spark.ui.showConsoleProgress": "false",
        "spark.driver.memory": "2g",
        # The dedup cascade builds deep plans; printing them whole for the SQL
        # UI can exhaust the driver heap. Cap the plan string.
        "spark.sql.maxPlanStringLength": "65536",
    }
    log4j = REPO_ROOT / "infra" / "spark" / "log4j2.properties"
    if "SPARK_SUBMIT" not in os.environ and log4j.exists():
        # Plain `python jobs/x.py`: quiet Spark's own warnings (spark-submit
        # users pass their own logging config).
        defaults["spark.driver.extraJavaOptions"] = f"-Dlog4j2.configurationFile=file:{log4j}"
    for k, v in {**defaults, **(conf or {})}.items():
        builder = builder.config(k, v)
    spark = builder.getOrCreate()
    spark.sparkContext.setLogLevel("ERROR")
    if spark.sparkContext.master.startswith(("spark://", "yarn", "k8s")):
        spark.sparkContext.addPyFile(_code_zip())
    return spark


def _partition_dir(keys: tuple) -> str:
    return "/".join(f"{k}={'__HIVE_DEFAULT_PARTITION__' if v is None else v}" for k, v in keys)


def write_parquet(spark, df, path: str, *, partition_by: list[str] | None = None,
                  sort_by: list[str] | None = None, partitions: int | None = None,
                  max_records_per_file: int | None = None, compression: str = "zstd") -> int:
    """Deterministic Parquet write: the same rows give the same files, byte
    for byte, in every run and process.

    Rows are hash-partitioned and sorted by ``sort_by`` (default: id); each
    Spark task writes its own files with pyarrow, named by partition number
    (``[lang=xx/]part-00003-000.zstd.parquet``), cut every
    ``max_records_per_file`` rows. Spark's own writer is not used because its
    file names carry a per-run UUID and parquet-mr writes footer fields in a
    per-JVM order. A failed or speculative task attempt writes under a
    temporary name that is renamed only when its file is complete.
    Returns the number of rows written.
    """
    import pyarrow as pa

    sort_by = sort_by or ["id"]
    partition_by = partition_by or []
    if partitions:
        df = df.repartition(partitions, *sort_by)
    df = df.sortWithinPartitions(*(partition_by + sort_by))
    from pipeline.readers.streams import filesystem

    target = path if "://" in path else os.path.abspath(path)  # executors resolve the same place
    fs, root = filesystem(target)
    fs.create_dir(root)
    fs.delete_dir_contents(root)  # mode "overwrite": no file of an earlier run survives
    max_rows = int(max_records_per_file or 0)
    ext = {"none": "", "uncompressed": ""}.get(compression, f".{compression}")

    def write_partition(batches):
        import pyarrow.parquet as pq
        from pyspark import TaskContext

        from pipeline.readers.streams import filesystem

        ctx = TaskContext.get()
        pid, attempt = ctx.partitionId(), ctx.attemptNumber()
        wfs, wroot = filesystem(target)
        state = {"key": None, "writer": None, "tmp": None, "final": None, "rows": 0, "n": 0}
        written: list[tuple[str, int]] = []

        def close():
            if state["writer"] is not None:
                state["writer"].close()
                wfs.move(state["tmp"], state["final"])
                written.append((state["final"][len(wroot) + 1:], state["rows"]))
                state.update(writer=None, rows=0)

        def open_file(key, schema):
            d = wroot + ("/" + _partition_dir(tuple(zip(partition_by, key))) if partition_by else "")
            wfs.create_dir(d)
            if key != state["key"]:
                state.update(key=key, n=0)
            final = f"{d}/part-{pid:05d}-{state['n']:03d}{ext}.parquet"
            state.update(final=final, tmp=f"{final}.tmp-{attempt}", n=state["n"] + 1)
            state["writer"] = pq.ParquetWriter(wfs.open_output_stream(state["tmp"]), schema,
                                               compression=None if not ext else compression)

        for b in batches:
            if b.num_rows == 0:
                continue
            keys = list(zip(*[b.column(c).to_pylist() for c in partition_by])) if partition_by else [()] * b.num_rows
            data = b.drop_columns(partition_by) if partition_by else b
            start = 0
            while start < b.num_rows:
                key = keys[start]
                end = start
                while end < b.num_rows and keys[end] == key:
                    end += 1
                pos = start
                while pos < end:
                    if state["writer"] is None or key != state["key"] or (max_rows and state["rows"] >= max_rows):
                        close()
                        open_file(key, data.schema)
                    take = end - pos if not max_rows else min(end - pos, max_rows - state["rows"])
                    state["writer"].write_batch(data.slice(pos, take))
                    state["rows"] += take
                    pos += take
                start = end
        close()
        yield pa.RecordBatch.from_pydict({"file": [w[0] for w in written], "rows": [w[1] for w in written]})

    files = df.mapInArrow(write_partition, "file string, rows long").collect()
    with fs.open_output_stream(f"{root}/_SUCCESS"):
        pass
    return sum(f.rows for f in files)


def split_duplicate_ids(df):
    """pipeline/decisions.py's rule for ids that repeat: ``(first, later)``,
    the first record of each id in input order (``source_file``, ``offset``
    where the input has them, then ``text``) and every later one, which the
    caller quarantines as ``duplicate_id``."""
    from pyspark.sql import Window
    from pyspark.sql import functions as F

    order = [c for c in ("source_file", "offset") if c in df.columns] + ["text"]
    ranked = df.withColumn("_rn", F.row_number().over(Window.partitionBy("id").orderBy(*order)))
    return ranked.where(F.col("_rn") == 1).drop("_rn"), ranked.where(F.col("_rn") > 1).drop("_rn")
