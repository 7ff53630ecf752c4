"""Same results before and after a change: the corpus build and the demo
training of an earlier commit next to this working tree's, on the shipped
sample, from scratch on both sides.

    python bench/same_results.py --base e36dbc7 [--out out/same-results]

For each side (the ``--base`` commit in a temporary git worktree, and this
tree) it trains the scorers into its own ``models/``, runs
``jobs/filter.py --input data/sample``, then ``make demo-train`` on its own
corpus. It prints the sha256 of every file under ``corpus/`` and ``ledger/``
side by side, and compares every ``loss`` and ``eval_loss`` of the two
``run/log.jsonl`` exactly. Exit status 1 when anything differs.

Each side runs its own code: ``PYTHONPATH`` is its root, so Spark's Python
workers import it too. Both share this tree's ``.venv`` and KenLM build
(``make scorers`` first).
"""
from __future__ import annotations

import argparse
import hashlib
import json
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent


def run(cmd: list[str], cwd: Path, log: Path) -> float:
    env = {**os.environ, "PYTHONPATH": str(cwd), "PYTHONHASHSEED": "0", "SPARK_LOCAL_IP": "127.0.0.1",
           "PYSPARK_PYTHON": str(REPO / ".venv/bin/python"), "PYSPARK_DRIVER_PYTHON": str(REPO / ".venv/bin/python")}
    t = time.time()
    with open(log, "a") as fh:
        r = subprocess.run(cmd, cwd=cwd, env=env, stdout=fh, stderr=subprocess.STDOUT)
    if r.returncode:
        sys.exit(f"{' '.join(cmd)} failed in {cwd} (rc {r.returncode}); see {log}")
    return time.time() - t


def side(root: Path, out: Path) -> dict:
    """Scorers, corpus build, demo training of the code in ``root``."""
    out.mkdir(parents=True, exist_ok=True)
    log, py = out / "log.txt", str(REPO / ".venv/bin/python")
    secs = {
        "scorers": run([py, "-m", "pipeline.train_scorers", "--models", str(root / "models"),
                        "--kenlm-bin", str(REPO / "tools/kenlm/bin")], root, log),
        "corpus build": run([py, "jobs/filter.py", "--input", "data/sample", "--output", str(out / "build")], root, log),
        "demo training": run(["make", "--no-print-directory", "demo-train",
                              f"CORPUS={out / 'build' / 'corpus'}", f"TRAIN_OUT={out / 'train'}"], root, log),
    }
    build = out / "build"
    hashes = {str(p.relative_to(build)): hashlib.sha256(p.read_bytes()).hexdigest()
              for d in ("corpus", "ledger") for p in sorted((build / d).rglob("*")) if p.is_file()}
    recs = [json.loads(line) for line in (out / "train" / "run" / "log.jsonl").read_text().splitlines()]
    losses = [(r["step"], r.get("loss"), r.get("eval_loss")) for r in recs]
    return {"hashes": hashes, "losses": losses, "seconds": secs}


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--base", required=True, help="the commit to compare with (e.g. the one before a refactor)")
    ap.add_argument("--out", default="out/same-results", help="working directory (replaced)")
    args = ap.parse_args(argv)
    out = (REPO / args.out).resolve()
    if out.exists():
        shutil.rmtree(out)
    out.mkdir(parents=True)
    wt = out / "base-tree"
    subprocess.run(["git", "worktree", "add", "--detach", "-q", str(wt), args.base], cwd=REPO, check=True)
    try:
        (wt / ".venv").symlink_to(REPO / ".venv")
        (wt / "tools").symlink_to(REPO / "tools")
        # The shared .venv is set up: an old pyproject.toml keeps make from
        # reinstalling it (editable) for the temporary tree.
        os.utime(wt / "pyproject.toml", (0, 0))
        before = side(wt, out / "before")
        after = side(REPO, out / "after")
    finally:
        subprocess.run(["git", "worktree", "remove", "--force", str(wt)], cwd=REPO, check=False)

    files = sorted(set(before["hashes"]) | set(after["hashes"]))
    same_files = sum(before["hashes"].get(f) == after["hashes"].get(f) for f in files)
    print(f"corpus/ and ledger/ of `jobs/filter.py --input data/sample`: {args.base} vs this tree")
    print(f"{'file':<46} {'before':<18} {'after':<18}")
    for f in files:
        b, a = before["hashes"].get(f, "-"), after["hashes"].get(f, "-")
        print(f"{f:<46} {b[:16]:<18} {a[:16]:<18} {'same' if a == b else 'DIFFERENT'}")
    print(f"files identical: {same_files}/{len(files)}")
    lb, la = before["losses"], after["losses"]
    diff = sum(x != y for x, y in zip(lb, la)) + abs(len(lb) - len(la))
    n_loss = sum(1 for r in la if r[1] is not None)
    n_eval = sum(1 for r in la if r[2] is not None)
    print(f"demo training log.jsonl: {len(la)} records ({n_loss} train losses, {n_eval} eval losses), "
          f"{diff} differ (exact float comparison)")
    if la:
        print(f"  first loss {la[0][1]!r}, last eval loss {[r[2] for r in la if r[2] is not None][-1:]}")
    for name in before["seconds"]:
        b, a = before["seconds"][name], after["seconds"][name]
        print(f"{name:<14} before {b:6.1f} s   after {a:6.1f} s   ratio {a / b:.2f}")
    return 0 if same_files == len(files) and not diff else 1


if __name__ == "__main__":
    sys.exit(main())
