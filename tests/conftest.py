import os
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))
os.environ.setdefault("SPARK_LOCAL_IP", "127.0.0.1")
os.environ.setdefault("PYSPARK_PYTHON", sys.executable)
os.environ.setdefault("PYSPARK_DRIVER_PYTHON", sys.executable)
os.environ.setdefault("PYTHONHASHSEED", "0")

SAMPLE = REPO / "data" / "sample"


@pytest.fixture(scope="module")
def spark():
    """One real Spark local[2] session per test module (start-up is ~10 s)."""
    from jobs.common import spark_session

    s = spark_session("yi-tests", master="local[2]", conf={"spark.sql.shuffle.partitions": "4"})
    yield s
    s.stop()


@pytest.fixture(scope="session")
def repo() -> Path:
    return REPO
