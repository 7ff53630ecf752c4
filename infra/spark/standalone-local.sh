#!/usr/bin/env bash
# A throw-away standalone cluster on this machine (master + 2 workers on
# 127.0.0.1, from the pip-installed Spark), as tests/test_dedup_cluster.py does.
#   infra/spark/standalone-local.sh start|stop
# then: spark-submit --master spark://127.0.0.1:7077 jobs/dedup.py --input IN --output OUT
set -euo pipefail
cd "$(dirname "$0")/../.."
BIN=.venv/lib/python3.11/site-packages/pyspark/bin
RUN=${YI_SPARK_RUN:-/tmp/yi-spark-standalone}
export SPARK_LOCAL_IP=127.0.0.1 PYSPARK_PYTHON=$PWD/.venv/bin/python SPARK_WORKER_DIR=$RUN/work
case ${1:-start} in
  start)
    mkdir -p "$RUN"
    nohup "$BIN/spark-class" org.apache.spark.deploy.master.Master --host 127.0.0.1 --port 7077 \
      --webui-port 8080 >"$RUN/master.log" 2>&1 & echo $! >"$RUN/master.pid"
    sleep 5
    for i in 1 2; do
      nohup "$BIN/spark-class" org.apache.spark.deploy.worker.Worker --host 127.0.0.1 --cores 1 \
        --memory 1g --webui-port $((8080 + i)) spark://127.0.0.1:7077 >"$RUN/worker$i.log" 2>&1 &
      echo $! >"$RUN/worker$i.pid"
    done
    echo "master spark://127.0.0.1:7077 (UI http://127.0.0.1:8080)";;
  stop)
    for f in "$RUN"/*.pid; do kill "$(cat "$f")" 2>/dev/null || true; rm -f "$f"; done;;
esac
