"""Mutation testing: plant small bugs one at a time and check the tests catch them.

    python tests/mutations/run.py                       # every tests/mutations/mutants_*.toml
    python tests/mutations/run.py --file tests/mutations/mutants_dedup.toml --only minhash
    make mutate                                         # the same as the first line

Each mutant (a ``[[mutant]]`` table) names a file, an exact ``find`` text that
occurs exactly once in it, its ``replace``ment, and the ``tests`` (pytest node
ids) that should fail when it is planted. ``equivalent = "why"`` marks a
mutant that provably cannot change behaviour: it is still run, but a survivor
with a reason is reported as equivalent and left out of the kill rate.

Why a curated list and not mutmut/cosmic-ray: both generate thousands of
mutants and run the tests for each; our tests start Spark and megatron-core,
so a full run would take days on two cores. A hand-written list of bugs of
the kind real changes introduce (``<`` for ``<=``, a dropped branch, a
skipped call, a wrong key) runs in under an hour and each mutant says what
it stands for.

The repository is copied (tracked and untracked-not-ignored files; ``models/``
``build/`` and ``tools/`` (lmplz) are linked) into a temporary directory, so the working tree is
never touched. First the union of all selected tests runs on the unmutated
copy: a test that fails there would "kill" every mutant, so the run stops.
Then each mutant is planted, its tests run (``-x``: the first failure is
enough), and the file is restored. A run that exceeds ``--timeout`` counts as
killed (the bug made the tests hang), reported as such.

Output: a table, the kill rate, the survivors; ``out/mutate/report.json`` and
``report.md``. Exit status 0 when the kill rate is at least ``--goal``.
"""
from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
import tomllib
from dataclasses import dataclass, field
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
HERE = Path(__file__).resolve().parent
LINKED = ("models", "build", "tools")  # built/large, read-only for tests (scorers, sources, lmplz): linked, not copied


@dataclass
class Mutant:
    id: str
    file: str
    find: str
    replace: str
    tests: list[str]
    why: str = ""
    equivalent: str = ""
    source: str = ""
    status: str = ""  # killed | survived | timeout | equivalent
    seconds: float = 0.0
    detail: str = field(default="", repr=False)
    killed_by: str = ""  # pytest's first FAILED/ERROR line: what caught it


def load(files: list[Path]) -> list[Mutant]:
    """Read and validate the mutant tables; a stale ``find`` is an error."""
    out: list[Mutant] = []
    seen: set[str] = set()
    problems: list[str] = []
    for f in files:
        with open(f, "rb") as fh:
            data = tomllib.load(fh)
        for i, m in enumerate(data.get("mutant", [])):
            missing = {"id", "file", "find", "replace", "tests"} - set(m)
            if missing:
                problems.append(f"{f.name} mutant #{i}: missing {sorted(missing)}")
                continue
            mu = Mutant(id=m["id"], file=m["file"], find=m["find"], replace=m["replace"],
                        tests=list(m["tests"]), why=m.get("why", ""), equivalent=m.get("equivalent", ""),
                        source=f.name)
            if mu.id in seen:
                problems.append(f"{f.name}: duplicate mutant id {mu.id!r}")
            seen.add(mu.id)
            target = REPO / mu.file
            if not target.is_file():
                problems.append(f"{mu.id}: no file {mu.file}")
                continue
            n = target.read_text(encoding="utf-8").count(mu.find)
            if n != 1:
                problems.append(f"{mu.id}: `find` occurs {n} times in {mu.file} (must be exactly once)")
            if mu.find == mu.replace:
                problems.append(f"{mu.id}: find == replace")
            if not mu.tests:
                problems.append(f"{mu.id}: no tests")
            out.append(mu)
    if problems:
        raise SystemExit("mutants are stale or malformed:\n  " + "\n  ".join(problems))
    return out


def copy_repo(dst: Path) -> None:
    """Copy what ``git`` knows of (tracked + untracked, not ignored) into ``dst``."""
    listing = subprocess.run(["git", "ls-files", "-co", "--exclude-standard", "-z"], cwd=REPO,
                             check=True, capture_output=True).stdout.decode().split("\0")
    for rel in filter(None, listing):
        src = REPO / rel
        if not src.is_file() or rel.split("/", 1)[0] in LINKED:
            continue
        (dst / rel).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(src, dst / rel)
    for name in LINKED:
        if (REPO / name).exists():
            (dst / name).symlink_to(REPO / name)


def pytest(copy: Path, tests: list[str], timeout: float) -> tuple[str, float, str]:
    """Run ``tests`` in ``copy``: ('pass' | 'fail' | 'timeout', seconds, tail of output)."""
    env = dict(os.environ)
    env["PYTHONPATH"] = str(copy)
    env.setdefault("PYTHONHASHSEED", "0")
    cmd = [sys.executable, "-m", "pytest", "-x", "-q", "-p", "no:cacheprovider", "--no-header", *tests]
    t0 = time.monotonic()
    try:
        r = subprocess.run(cmd, cwd=copy, env=env, capture_output=True, text=True, timeout=timeout)
    except subprocess.TimeoutExpired as e:
        out = (e.stdout or b"")
        out = out.decode(errors="replace") if isinstance(out, bytes) else out
        return "timeout", time.monotonic() - t0, out[-1500:]
    dt = time.monotonic() - t0
    out = r.stdout + r.stderr
    if r.returncode == 5:  # no tests collected: a typo in a node id, not a kill
        raise SystemExit(f"no tests collected for {tests}:\n{out[-1500:]}")
    return ("pass" if r.returncode == 0 else "fail"), dt, out[-1500:]


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--file", action="append", type=Path, help="mutant TOML file (default: all mutants_*.toml)")
    ap.add_argument("--only", action="append", default=[], help="run mutants whose id contains this")
    ap.add_argument("--timeout", type=float, default=900, help="seconds per mutant run (default 900)")
    ap.add_argument("--goal", type=float, default=0.90, help="kill rate to reach (default 0.90)")
    ap.add_argument("--no-baseline", action="store_true", help="skip the unmutated run (when you just did it)")
    ap.add_argument("--out", type=Path, default=REPO / "out" / "mutate")
    ap.add_argument("--list", action="store_true", help="list the mutants and exit")
    a = ap.parse_args(argv)

    files = [f.resolve() for f in a.file] if a.file else sorted(HERE.glob("mutants_*.toml"))
    mutants = load(files)
    if a.only:
        mutants = [m for m in mutants if any(s in m.id for s in a.only)]
    if not mutants:
        raise SystemExit("no mutants selected")
    if a.list:
        for m in mutants:
            print(f"{m.id:45s} {m.file:32s} {m.why}")
        return 0

    t_start = time.monotonic()
    with tempfile.TemporaryDirectory(prefix="yi-mutate-") as tmp:
        copy = Path(tmp) / "repo"
        copy.mkdir()
        copy_repo(copy)
        print(f"[mutate] {len(mutants)} mutants from {', '.join(f.name for f in files)}; copy in {copy}", flush=True)
        if not a.no_baseline:
            union = sorted({t for m in mutants for t in m.tests})
            print(f"[mutate] baseline: {len(union)} test targets on the unmutated copy ...", flush=True)
            st, dt, tail = pytest(copy, union, a.timeout * 2)
            if st != "pass":
                print(tail)
                raise SystemExit(f"[mutate] the tests fail ({st}) without any mutant: fix them first")
            print(f"[mutate] baseline passes ({dt:.0f} s)", flush=True)
        for i, m in enumerate(mutants, 1):
            target = copy / m.file
            original = target.read_text(encoding="utf-8")
            target.write_text(original.replace(m.find, m.replace, 1), encoding="utf-8")
            try:
                st, m.seconds, m.detail = pytest(copy, m.tests, a.timeout)
            finally:
                target.write_text(original, encoding="utf-8")
            if st == "fail":
                m.status = "killed"
                m.killed_by = next((ln for ln in m.detail.splitlines() if ln.startswith(("FAILED ", "ERROR "))), "")[:300]
            elif st == "timeout":
                m.status = "timeout"
            else:
                m.status = "equivalent" if m.equivalent else "survived"
            print(f"[mutate] {i:3d}/{len(mutants)} {m.status:10s} {m.seconds:6.1f}s  {m.id}", flush=True)

    counted = [m for m in mutants if m.status != "equivalent"]
    killed = [m for m in counted if m.status in ("killed", "timeout")]
    survivors = [m for m in counted if m.status == "survived"]
    rate = len(killed) / len(counted) if counted else 1.0
    minutes = (time.monotonic() - t_start) / 60
    by_file: dict[str, list[int]] = {}
    for m in counted:
        k = by_file.setdefault(m.file, [0, 0])
        k[0] += m.status != "survived"
        k[1] += 1

    lines = [f"# Mutation run: {len(killed)}/{len(counted)} killed = {rate:.3f} (goal {a.goal:.2f})", "",
             f"{len(mutants)} mutants, {sum(m.status == 'equivalent' for m in mutants)} equivalent "
             f"(explained, not counted), {sum(m.status == 'timeout' for m in mutants)} timeouts (counted as killed); "
             f"{minutes:.1f} min.", "", "| module | killed | mutants |", "|---|---:|---:|"]
    lines += [f"| {f} | {k} | {n} |" for f, (k, n) in sorted(by_file.items())]
    lines += ["", "## Survivors", ""]
    lines += [f"- `{m.id}` ({m.file}): {m.why}" for m in survivors] or ["none"]
    lines += ["", "## Equivalent (explained)", ""]
    lines += [f"- `{m.id}` ({m.file}): {m.equivalent}" for m in mutants if m.status == "equivalent"] or ["none"]
    wrong = [m for m in mutants if m.equivalent and m.status != "equivalent"]
    if wrong:
        lines += ["", "## Marked equivalent but killed (the mark is wrong)", ""]
        lines += [f"- `{m.id}`" for m in wrong]
    a.out.mkdir(parents=True, exist_ok=True)
    (a.out / "report.md").write_text("\n".join(lines) + "\n", encoding="utf-8")
    (a.out / "report.json").write_text(json.dumps(
        {"kill_rate": rate, "killed": len(killed), "counted": len(counted), "minutes": round(minutes, 1),
         "mutants": [{k: getattr(m, k) for k in ("id", "file", "source", "status", "seconds", "killed_by", "why", "equivalent")}
                     for m in mutants]}, indent=1) + "\n", encoding="utf-8")
    print()
    print("\n".join(lines))
    print(f"\nkill rate {rate:.3f} ({len(killed)}/{len(counted)})  report: {a.out / 'report.md'}")
    return 0 if rate >= a.goal else 1


if __name__ == "__main__":
    sys.exit(main())
