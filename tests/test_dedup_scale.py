"""Skew and memory safety of `spark-submit jobs/dedup.py`, in a low-memory
setting (512 MB JVM, local[2]):

* 12,000 documents built on one real-text template (menu-like short lines
  plus a unique tail): every LSH band is one bucket of 12,000 documents and
  they form one cluster of 12,000;
* ~1,300 unrelated real (Chinese) documents sharing two English boilerplate
  paragraphs: one paragraph group of ~1,300, removed from all but the first,
  and the shared boilerplate must not merge them;
* one 1 MB Chinese document.
"""
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from pipeline.dedup.jaccard import jaccard
from pipeline.dedup.minhash import MinHasher
from fixtures.planted import ZH_FORTUNES, chinese_texts, english_texts

REPO = Path(__file__).resolve().parent.parent
SPARK_BIN = Path(sys.executable).parent.parent / "lib" / "python3.11" / "site-packages" / "pyspark" / "bin"
BOILER = ["Home | News | Downloads | Documentation | Community | About us | Contact",
          "Copyright the site authors. All rights reserved. Terms of use | Privacy policy"]


def _input(path: Path) -> dict:
    rng = np.random.default_rng(11)
    en = english_texts()
    words = " ".join(en).split()
    template = [w for w in words if len(w) < 12][:260]  # menu-like lines, too short for paragraph dedup
    template_text = "\n".join(template)
    vocab = sorted(set(words))
    recs = []
    for i in range(12_000):
        tail = " ".join(vocab[j] for j in rng.integers(len(vocab), size=6))
        recs.append({"id": f"a{i:05d}", "text": f"{template_text}\n{tail}", "family": "template"})
    for i, body in enumerate(chinese_texts()):
        recs.append({"id": f"b{i:05d}", "text": f"{BOILER[0]}\n{body}\n{BOILER[1]}", "family": "boilerplate"})
    zh = Path(ZH_FORTUNES).read_text(errors="ignore") if Path(ZH_FORTUNES).is_file() else "汉字" * 100
    recs.append({"id": "zh-1mb", "text": (zh * (1 + 1_000_000 // len(zh)))[:1_000_000], "family": "long"})
    pq.write_table(pa.Table.from_pylist(recs), path / "in.parquet")
    return {r["id"]: r for r in recs}


@pytest.fixture
def workdir():
    """Own temp dir: pytest's shared base is pruned by concurrent runs."""
    d = Path(tempfile.mkdtemp(prefix="yi-dedup-scale-"))
    yield d
    shutil.rmtree(d, ignore_errors=True)


def _errors(stderr: str) -> str:
    return "\n".join(line for line in stderr.splitlines() if " INFO " not in line)[-3000:]


@pytest.mark.slow
def test_giant_buckets_and_long_document_in_512mb(workdir):
    # `make test` installs it (mk/dedup.mk): a missing file is a set-up bug.
    assert Path(ZH_FORTUNES).is_file(), f"{ZH_FORTUNES} missing: run `make dedup-data` (Debian fortunes-zh)"
    tmp_path = workdir
    recs = _input(tmp_path)
    env = dict(os.environ, SPARK_LOCAL_IP="127.0.0.1", PYSPARK_PYTHON=sys.executable,
               PYSPARK_DRIVER_PYTHON=sys.executable, PYTHONHASHSEED="0")
    cmd = [str(SPARK_BIN / "spark-submit"), "--master", "local[2]", "--driver-memory", "512m",
           "--conf", "spark.sql.shuffle.partitions=4", str(REPO / "jobs" / "dedup.py"),
           "--input", str(tmp_path / "in.parquet"), "--output", str(tmp_path / "out")]
    p = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=600, cwd=REPO)
    assert p.returncode == 0, _errors(p.stderr)
    led = pq.read_table(tmp_path / "out" / "ledger").to_pylist()
    assert len(led) == len(recs)
    kept = {r["id"]: r for r in pq.read_table(tmp_path / "out" / "corpus").to_pylist()}
    clusters = pq.read_table(tmp_path / "out" / "clusters").to_pylist()
    # the template family is one cluster of 12,000 with one survivor
    tmpl = [c for c in clusters if c["id"].startswith("a") and c["stage"] == "minhash_dedup"]
    assert len(tmpl) == 12_000 and {c["cluster_size"] for c in tmpl} == {12_000}
    assert sum(i.startswith("a") for i in kept) == 1
    # shared boilerplate around unrelated documents: kept once, and it merges nothing
    b_kept = [r for i, r in kept.items() if i.startswith("b")]
    n_b = sum(i.startswith("b") for i in recs)
    assert sum(BOILER[0] in r["text"] for r in b_kept) == 1
    h = MinHasher(bands=14, rows=9, ngram=5, seed=42)
    body = {i: "\n".join(r["text"].split("\n")[1:-1]) for i, r in recs.items() if i.startswith("b")}
    merged = [r for r in led if r["id"].startswith("b") and r["stage"] == "minhash_dedup"]
    assert len(merged) < 0.02 * n_b  # the fortune collection has a few real near-duplicates
    for r in merged:  # ... and only those: their bodies alone are near-duplicates
        assert jaccard(h.shingle_set(body[r["id"]]), h.shingle_set(body[r["duplicate_of"]])) >= 0.6
    assert len(b_kept) > 0.95 * n_b
    # the 1 MB document went through every stage; the passages it shares with
    # the Chinese documents (same fortune collection) were cut from it
    assert "zh-1mb" in kept and 100_000 < len(kept["zh-1mb"]["text"]) < 1_000_000
