#!/usr/bin/env bash
# Submit jobs/dedup.py to Kubernetes. The image must contain this repository
# at /opt/yi with its venv (.venv) built from pyproject.toml, e.g.:
#   FROM apache/spark:4.0.0-python3  (Python 3.11 + Java 17), COPY . /opt/yi,
#   RUN cd /opt/yi && python3.11 -m venv .venv && .venv/bin/pip install -e .
# Usage: infra/spark/k8s-submit.sh IMAGE s3a://bucket/in s3a://bucket/out
set -euo pipefail
IMAGE=$1 IN=$2 OUT=$3
K8S=${K8S_API:-https://kubernetes.default.svc}
exec spark-submit \
  --master "k8s://$K8S" --deploy-mode cluster --name yi-dedup \
  --properties-file "$(dirname "$0")/spark-defaults.k8s.conf" \
  --conf spark.kubernetes.container.image="$IMAGE" \
  local:///opt/yi/jobs/dedup.py --input "$IN" --output "$OUT"
