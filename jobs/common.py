"""Spark plumbing shared by every job: session, shipping our code to the
executors, deterministic Parquet writes, progress lines.

Run a job either way:
  spark-submit [--master spark://...] jobs/filter.py --input IN --output OUT
  python jobs/filter.py --input IN --output OUT          # local[*]
"""
from __future__ import annotations

import os
import re
import sys
import tempfile
import time
import zipfile
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parent.parent
if str(REPO_ROOT) not in sys.path:  # `spark-submit jobs/x.py` puts jobs/ first
    sys.path.insert(0, str(REPO_ROOT))

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


_PART_RE = re.compile(r"^(part-\d{5})-[0-9a-f-]{36}(-c\d{3})?(\..*)$")


def deterministic_names(spark, path: str) -> None:
    """Spark names part files with a per-run UUID; drop it so a rerun writes
    the same file names as well as the same bytes (part-00000-c000.zstd.parquet).
    Works on any Hadoop file system."""
    jvm = spark._jvm
    hpath = jvm.org.apache.hadoop.fs.Path(path)
    fs = hpath.getFileSystem(spark._jsc.hadoopConfiguration())
    it = fs.listFiles(hpath, True)
    while it.hasNext():
        st = it.next().getPath()
        m = _PART_RE.match(st.getName())
        if m:
            new = f"{m.group(1)}{m.group(2) or ''}{m.group(3)}"
            fs.rename(st, jvm.org.apache.hadoop.fs.Path(st.getParent(), new))


def write_parquet(spark, df, path: str, *, partition_by: list[str] | None = None,
                  sort_by: list[str] | None = None, partitions: int | None = None,
                  max_records_per_file: int | None = None, compression: str = "zstd") -> None:
    """Deterministic Parquet write: rows hash-partitioned and sorted by
    ``sort_by`` (default: id), UUID-free file names, no .crc files."""
    sort_by = sort_by or ["id"]
    jvm = spark._jvm
    fs = jvm.org.apache.hadoop.fs.Path(path).getFileSystem(spark._jsc.hadoopConfiguration())
    fs.setWriteChecksum(False)  # no .crc sidecars next to the Parquet files (local FS)
    if partitions:
        df = df.repartition(partitions, *sort_by)
    df = df.sortWithinPartitions(*((partition_by or []) + sort_by))
    w = df.write.mode("overwrite").option("compression", compression)
    if max_records_per_file:
        w = w.option("maxRecordsPerFile", int(max_records_per_file))
    if partition_by:
        w = w.partitionBy(*partition_by)
    w.parquet(path)
    deterministic_names(spark, path)
