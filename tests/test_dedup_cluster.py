"""`spark-submit jobs/dedup.py` on a real Spark standalone cluster (a master
and two 1-core workers on 127.0.0.1, from the pip-installed Spark) writes
the same files, rows and bytes of data as `python jobs/dedup.py` on local mode: catches driver-local
paths, code not shipped to executors and closures that do not serialize."""
import hashlib
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from fixtures.planted import planted_set

REPO = Path(__file__).resolve().parent.parent
SPARK_BIN = Path(sys.executable).parent.parent / "lib" / "python3.11" / "site-packages" / "pyspark" / "bin"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _wait_port(port: int, timeout: float = 90) -> None:
    end = time.time() + timeout
    while time.time() < end:
        with socket.socket() as s:
            if s.connect_ex(("127.0.0.1", port)) == 0:
                return
        time.sleep(0.5)
    raise TimeoutError(f"nothing listening on 127.0.0.1:{port}")


def _digest(root: Path) -> dict[str, str]:
    """sha256 of every Parquet and JSON file's bytes (jobs.common.write_parquet
    writes the same bytes in any process, local or on a cluster)."""
    return {str(p.relative_to(root)): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(root.rglob("*")) if p.suffix in (".json", ".parquet")}


def _errors(stderr: str) -> str:
    return "\n".join(line for line in stderr.splitlines() if " INFO " not in line)[-3000:]


@pytest.fixture
def workdir():
    d = Path(tempfile.mkdtemp(prefix="yi-dedup-cluster-"))
    yield d
    if not os.environ.get("YI_KEEP"):
        shutil.rmtree(d, ignore_errors=True)


@pytest.mark.slow
def test_standalone_cluster_equals_local(workdir):
    pq.write_table(pa.Table.from_pylist(planted_set(n_base=200, seed=9)), workdir / "in.parquet")
    env = dict(os.environ, SPARK_LOCAL_IP="127.0.0.1", PYSPARK_PYTHON=sys.executable,
               PYSPARK_DRIVER_PYTHON=sys.executable, PYTHONHASHSEED="0",
               SPARK_WORKER_DIR=str(workdir / "work"), SPARK_LOCAL_DIRS=str(workdir / "tmp"))
    args = ["--input", str(workdir / "in.parquet")]
    local = subprocess.run([sys.executable, str(REPO / "jobs" / "dedup.py"), *args, "--output",
                            str(workdir / "local"), "--master", "local[2]"],
                           env=env, capture_output=True, text=True, timeout=400, cwd=REPO)
    assert local.returncode == 0, _errors(local.stderr)

    port = _free_port()
    procs = []
    try:
        procs.append(subprocess.Popen(
            [str(SPARK_BIN / "spark-class"), "org.apache.spark.deploy.master.Master", "--host", "127.0.0.1",
             "--port", str(port), "--webui-port", str(_free_port())],
            env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True))
        _wait_port(port)
        for _ in range(2):
            procs.append(subprocess.Popen(
                [str(SPARK_BIN / "spark-class"), "org.apache.spark.deploy.worker.Worker", "--host", "127.0.0.1",
                 "--cores", "1", "--memory", "1g", "--webui-port", str(_free_port()), f"spark://127.0.0.1:{port}"],
                env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True))
        cluster = subprocess.run(
            [str(SPARK_BIN / "spark-submit"), "--master", f"spark://127.0.0.1:{port}",
             "--driver-memory", "512m", "--executor-memory", "512m", "--total-executor-cores", "2",
             "--conf", f"spark.pyspark.python={sys.executable}", str(REPO / "jobs" / "dedup.py"),
             *args, "--output", str(workdir / "cluster")],
            env=env, capture_output=True, text=True, timeout=400, cwd=workdir)
        assert cluster.returncode == 0, _errors(cluster.stderr)
    finally:
        for p in procs:
            try:
                os.killpg(p.pid, signal.SIGTERM)
                p.wait(timeout=20)
            except (ProcessLookupError, subprocess.TimeoutExpired):
                os.killpg(p.pid, signal.SIGKILL)
    a, b = _digest(workdir / "local"), _digest(workdir / "cluster")
    assert len(a) >= 13 and a == b
