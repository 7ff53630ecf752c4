"""Spark plumbing shared by every job: session, shipping our code to the
executors, deterministic Parquet writes, progress lines, and the output
directory (refused before any work when unsafe; a run is staged inside it
and published at the end with ``_MANIFEST.json`` written last).

Run a job either way:
  spark-submit [--master spark://...] jobs/filter.py --input IN --output OUT
  python jobs/filter.py --input IN --output OUT          # local[*]
"""
from __future__ import annotations

import hashlib
import json
import os
import shutil
import sys
import tempfile
import time
import zipfile
from pathlib import Path
from typing import Callable, Iterable

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


def local_heap() -> str:
    """The JVM heap when we start Spark ourselves (``python jobs/x.py``, local
    mode: driver and executors share this one heap). ``YI_SPARK_DRIVER_MEMORY``
    (e.g. ``12g``) wins; else 40 % of the machine's memory, between 2 and 16
    GiB. A fixed 2g made the 10x-sample build (60 MB of input) fail in
    substring dedup with "Not enough memory to build and broadcast the table"
    (bench/cascade.py); the 30x build peaks at 6.1 GB of JVM. Under
    spark-submit the heap is spark-submit's ``--driver-memory``."""
    env = os.environ.get("YI_SPARK_DRIVER_MEMORY", "").strip()
    if env:
        return env
    try:
        total = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    except (ValueError, OSError, AttributeError):
        return "2g"
    return f"{max(2, min(16, int(total * 0.4) >> 30))}g"


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
        "spark.driver.memory": local_heap(),
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


class _HashingStream:
    """A write-only file for pyarrow's ParquetWriter that hashes what it
    writes: the task that writes a file also gives its sha256 and size (the
    manifest needs them; the driver never reads the data back)."""

    def __init__(self, raw):
        self.raw, self.sha, self.size, self.closed = raw, hashlib.sha256(), 0, False

    def write(self, data) -> int:
        data = memoryview(data)
        self.sha.update(data)
        self.size += data.nbytes
        self.raw.write(data)
        return data.nbytes

    def tell(self) -> int:
        return self.size

    def flush(self) -> None:
        self.raw.flush()

    def close(self) -> None:
        if not self.closed:
            self.raw.close()
            self.closed = True

    def writable(self) -> bool:
        return True

    def seekable(self) -> bool:
        return False


def write_parquet(spark, df, path: str, *, partition_by: list[str] | None = None,
                  sort_by: list[str] | None = None, partitions: int | None = None,
                  max_records_per_file: int | None = None, compression: str = "zstd",
                  row_group_bytes: int | None = None, files_out: list | None = None) -> int:
    """Deterministic Parquet write: the same rows give the same files, byte
    for byte, in every run and process.

    Rows are hash-partitioned and sorted by ``sort_by`` (default: id); each
    Spark task writes its own files with pyarrow, named by partition number
    (``[lang=xx/]part-00003-000.zstd.parquet``), cut every
    ``max_records_per_file`` rows. Partition columns stay in the files as
    well as in the ``key=value`` folder names (a copied file keeps them).
    Row groups are cut by size: a task buffers its rows until they hold
    ``row_group_bytes`` of Arrow data (default: ``[output] row_group_bytes``)
    and writes them as one row group. Spark's own writer is not used because
    its file names carry a per-run UUID and parquet-mr writes footer fields in
    a per-JVM order. A failed or speculative task attempt writes under a
    temporary name that is renamed only when its file is complete.

    ``path`` is replaced: whatever is in it is deleted first (give it a new
    or staged directory, see ``StagedOutput``). Returns the number of rows
    written; ``files_out`` (a list) gets one dict per file: ``file`` (path
    relative to ``path``), ``rows``, ``bytes``, ``sha256``.
    """
    import pyarrow as pa

    if row_group_bytes is None:
        from pipeline.config import load_config

        row_group_bytes = load_config().get("output.row_group_bytes")
    rg_bytes = int(row_group_bytes)
    if rg_bytes <= 0:
        raise ValueError(f"row_group_bytes must be positive, not {row_group_bytes}")
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
        state = {"key": None, "writer": None, "stream": None, "tmp": None, "final": None, "rows": 0, "n": 0,
                 "buf": [], "buf_bytes": 0}
        written: list[tuple[str, int, int, str]] = []

        def flush(final: bool):
            """Write the buffered rows as row groups of about ``rg_bytes``
            each; unless ``final``, keep the rows of a last, partial group."""
            if not state["buf"]:
                return
            table = pa.Table.from_batches(state["buf"])
            per_group = max(1, rg_bytes * table.num_rows // max(1, table.nbytes))
            n = table.num_rows if final else table.num_rows // per_group * per_group
            if n:
                state["writer"].write_table(table.slice(0, n), row_group_size=per_group)
            rest = table.slice(n)
            state.update(buf=rest.to_batches() if rest.num_rows else [], buf_bytes=rest.nbytes if rest.num_rows else 0)

        def close():
            if state["writer"] is not None:
                flush(final=True)
                state["writer"].close()
                state["stream"].close()
                wfs.move(state["tmp"], state["final"])
                written.append((state["final"][len(wroot) + 1:], state["rows"], state["stream"].size,
                                state["stream"].sha.hexdigest()))
                state.update(writer=None, stream=None, rows=0)

        def open_file(key, schema):
            d = wroot + ("/" + _partition_dir(tuple(zip(partition_by, key))) if partition_by else "")
            wfs.create_dir(d)
            if key != state["key"]:
                state.update(key=key, n=0)
            final = f"{d}/part-{pid:05d}-{state['n']:03d}{ext}.parquet"
            state.update(final=final, tmp=f"{final}.tmp-{attempt}", n=state["n"] + 1)
            state["stream"] = _HashingStream(wfs.open_output_stream(state["tmp"]))
            state["writer"] = pq.ParquetWriter(state["stream"], schema, compression=None if not ext else compression)

        for b in batches:
            if b.num_rows == 0:
                continue
            keys = list(zip(*[b.column(c).to_pylist() for c in partition_by])) if partition_by else [()] * b.num_rows
            data = b
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
                    part = data.slice(pos, take)
                    state["buf"].append(part)
                    state["buf_bytes"] += part.nbytes
                    if state["buf_bytes"] >= rg_bytes:
                        flush(final=False)
                    state["rows"] += take
                    pos += take
                start = end
        close()
        yield pa.RecordBatch.from_pydict({"file": [w[0] for w in written], "rows": [w[1] for w in written],
                                          "bytes": [w[2] for w in written], "sha256": [w[3] for w in written]})

    files = df.mapInArrow(write_partition, "file string, rows long, bytes long, sha256 string").collect()
    with fs.open_output_stream(f"{root}/_SUCCESS"):
        pass
    if files_out is not None:
        files_out.extend(sorted((f.asDict() for f in files), key=lambda f: f["file"]))
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


# ------------------------------------------------------- the output directory --
MANIFEST = "_MANIFEST.json"
STAGING_PREFIX = ".staging-"
OLD_PREFIX = ".old-"
LOCK = ".lock"
WORK = "_work"
# Characters Hadoop expands when Spark reads a path (globs) or cannot keep in
# a local path: an output holding one would make the job read the wrong files.
GLOB_CHARS = "*?[]{}\\"


class OutputError(Exception):
    """An output directory the job refuses; the job prints it and exits 2."""


def _internal(name: str) -> bool:
    """A top-level name the staging machinery itself creates inside OUT."""
    return name.startswith((STAGING_PREFIX, OLD_PREFIX)) or name == LOCK


def _is_remote(path: str) -> bool:
    return "://" in str(path) and not str(path).startswith("file://")


def _local(path: str) -> str:
    """A local path, resolved: symlinks followed (also of a path that does not
    exist yet: its existing part), ``file://`` URIs read as paths."""
    path = str(path)
    if path.startswith("file://"):
        from pyarrow import fs as pafs

        path = pafs.FileSystem.from_uri(path)[1]
    return os.path.realpath(os.path.abspath(os.path.expanduser(path)))


def _within(child: str, parent: str) -> bool:
    """``child`` is ``parent`` or inside it (resolved paths or URIs)."""
    child, parent = child.rstrip("/") or "/", parent.rstrip("/") or "/"
    return child == parent or child.startswith(parent if parent.endswith("/") else parent + "/")


def _remote_key(uri: str) -> str:
    scheme, rest = str(uri).split("://", 1)
    scheme = {"s3a": "s3", "s3n": "s3"}.get(scheme, scheme)
    return f"{scheme}://{os.path.normpath('/' + rest).lstrip('/')}"


def read_manifest(out: str | Path) -> dict | None:
    """OUT/_MANIFEST.json as a dict, or None when absent or unreadable."""
    try:
        return json.loads((Path(_local(str(out))) / MANIFEST).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None


def check_output(out: str, inputs: Iterable[str], *, job: str, overwrite: bool = False,
                 own_names: Callable[[str], bool] | None = None, spark_paths: bool = False) -> str:
    """Refuse, before any work, an output directory the job must not write:
    one that overlaps an input (inside it, holding it, the same; symlinks
    resolved), one that holds the current directory, the code or a home
    directory, one that is not a directory, and (unless ``overwrite``) a
    non-empty directory this job did not write. A directory is this job's
    when its ``_MANIFEST.json`` names ``job`` and lists every top-level entry
    (or, with ``own_names``, when every entry's name is one the job writes).
    ``spark_paths``: Spark itself writes and reads back paths inside OUT, so
    glob characters are refused too. Raises OutputError; returns OUT."""
    out = str(out).strip()
    if not out:
        raise OutputError("the output path is empty")
    inputs = [str(i) for i in inputs]
    if _is_remote(out):
        key = _remote_key(out)
        for inp in inputs:
            if _is_remote(inp) and (_within(key, _remote_key(inp)) or _within(_remote_key(inp), key)):
                raise OutputError(f"{out}: the output overlaps the input {inp}; choose an output outside every input")
        return out
    real = _local(out)
    if spark_paths and any(c in real for c in GLOB_CHARS):
        raise OutputError(f"{out}: the output path has a glob character ({' '.join(c for c in GLOB_CHARS if c in real)}); "
                          "Spark expands it when it reads the job's intermediates back and could read another "
                          "directory's files: choose a name without * ? [ ] { } \\")
    for what, path in (("the current directory", os.getcwd()), ("this code", str(REPO_ROOT)),
                       ("a home directory", os.path.expanduser("~"))):
        if _within(os.path.realpath(path), real) and (what != "a home directory" or real == os.path.realpath(path)):
            raise OutputError(f"refusing to write into {out}: it holds {what} ({path}), and a job replaces the "
                              "contents of its output directory; choose a new directory")
    if real == "/":
        raise OutputError(f"refusing to write into {out}: it is the file-system root")
    for inp in inputs:
        if _is_remote(inp):
            continue
        rin = _local(inp)
        if _within(real, rin) or _within(rin, real):
            how = "is" if real == rin else ("is inside" if _within(real, rin) else "holds")
            raise OutputError(f"{out}: the output overlaps the input {inp} (it {how} it, symlinks resolved); "
                              "choose an output directory outside every input")
    if os.path.lexists(real) and not os.path.isdir(real):
        raise OutputError(f"{out} exists and is not a directory")
    if not os.path.isdir(real):
        return out
    entries = sorted(e for e in os.listdir(real) if not _internal(e))
    if not entries or overwrite:
        return out
    if own_names is None and _interrupted_publish(real) is not None:
        return out  # StagedOutput.open restores the previous run first, under the lock
    if own_names is not None:
        foreign = [e for e in entries if not own_names(e)]
    else:
        man = read_manifest(real)
        if man is not None and man.get("job") not in (None, job):
            raise OutputError(f"{out} holds the output of another job ({man.get('job')}); choose another directory, "
                              "or pass --overwrite to replace its contents")
        ours = set(man.get("entries", [])) | {MANIFEST} if man else set()
        foreign = [e for e in entries if e not in ours]
    if foreign:
        shown = ", ".join(foreign[:5]) + (f" and {len(foreign) - 5} more" if len(foreign) > 5 else "")
        raise OutputError(f"{out} is not empty and not an output of {job}: {shown}; pass --overwrite to "
                          "replace its contents, or choose a new or empty directory")
    return out


def check_inputs_complete(paths: Iterable[str]) -> None:
    """A reader's check: an input inside a job output (``OUT/corpus``) must
    belong to a published run, i.e. OUT's manifest lists exactly its files
    with their sizes. Inputs not inside a job output are not checked.
    Raises OutputError naming the problems."""
    for p in paths:
        if _is_remote(p):
            continue
        real = Path(_local(p))
        for root in (real, *real.parents[:2]):
            if (root / MANIFEST).exists() or any(_internal(e.name) and e.name != LOCK for e in root.glob(".*")):
                rel = real.relative_to(root)
                problems = verify_output(root, under=str(rel) if str(rel) != "." else "", sha256=False)
                if problems:
                    raise OutputError(f"{p} is part of {root}, which is not a complete published run: "
                                      + "; ".join(problems[:5]))
                break


def verify_output(out: str | Path, *, under: str = "", sha256: bool = True) -> list[str]:
    """Check a published output against its manifest: every listed file
    present with its size (and sha256), no Parquet or report file that the
    manifest does not list. ``under`` limits the check to one entry
    (``corpus``). Returns the problems ([] when the output is complete)."""
    root = Path(_local(str(out)))
    man = read_manifest(root)
    if man is None or not man.get("complete"):
        return [f"{root / MANIFEST}: missing or incomplete (the run was not published)"]
    listed = {k: v for k, v in man.get("files", {}).items() if not under or _within(k, under)}
    problems = []
    for rel, f in sorted(listed.items()):
        p = root / rel
        if not p.is_file():
            problems.append(f"{rel}: missing")
        elif p.stat().st_size != f["bytes"]:
            problems.append(f"{rel}: {p.stat().st_size} bytes, the manifest says {f['bytes']}")
        elif sha256 and _sha256_file(p) != f["sha256"]:
            problems.append(f"{rel}: sha256 differs from the manifest")
    base = root / under if under else root
    for p in sorted(base.rglob("*")) if base.is_dir() else []:
        rel = p.relative_to(root).as_posix()
        if p.is_file() and rel not in listed and rel != MANIFEST and not _internal(rel.split("/")[0]) \
                and rel.split("/")[0] != WORK:
            problems.append(f"{rel}: not in the manifest")
    return problems


def _sha256_file(path: Path) -> str:
    with open(path, "rb") as fh:
        return hashlib.file_digest(fh, "sha256").hexdigest()


def _remove_inside(path: str, root: str) -> None:
    """Delete ``path`` (a directory or file) only if it lies strictly inside
    ``root``, symlinks resolved: the one place the staging code deletes."""
    real, rroot = os.path.realpath(path), os.path.realpath(root)
    if real == rroot or not _within(real, rroot):
        raise RuntimeError(f"refusing to delete {path}: not inside the output directory {root}")
    if os.path.isdir(real) and not os.path.islink(path):
        shutil.rmtree(real)
    elif os.path.lexists(path):
        os.unlink(path)


def _interrupted_publish(root: str) -> str | None:
    """The ``.old-<run>`` folder of a publish that was cut between moving
    the previous run aside and committing the new manifest (OUT then has no
    manifest, the previous run's complete manifest is in that folder), else None."""
    if os.path.lexists(os.path.join(root, MANIFEST)):
        return None
    olds = sorted(e for e in os.listdir(root) if e.startswith(OLD_PREFIX)
                  and os.path.isfile(os.path.join(root, e, MANIFEST)))
    return os.path.join(root, olds[-1]) if olds else None


def roll_back_interrupted_publish(root: str) -> bool:
    """Put the previous run back when a publish was interrupted (see
    ``_interrupted_publish``): the half-moved new entries are deleted (they
    were never committed), the previous run's entries and manifest return.
    Call with OUT's lock held. True when something was rolled back."""
    old = _interrupted_publish(root)
    if old is None:
        return False
    log(f"output: a publish into {root} was interrupted; restoring the previous run from {os.path.basename(old)}")
    for e in sorted(os.listdir(root)):
        if not _internal(e):
            _remove_inside(os.path.join(root, e), root)
    for e in sorted(os.listdir(old)):
        if e != MANIFEST:
            os.replace(os.path.join(old, e), os.path.join(root, e))
    os.replace(os.path.join(old, MANIFEST), os.path.join(root, MANIFEST))  # commit the previous run again
    os.rmdir(old)
    return True


class StagedOutput:
    """A local output directory written as one run: the job writes
    everything under ``OUT/.staging-<run>/`` (``path(...)``), and ``publish``
    moves the previous run's entries to ``OUT/.old-<run>/``, the new ones
    into OUT, then ``_MANIFEST.json`` (written last: the commit mark), and
    deletes the old run. Until publish OUT holds the previous run exactly;
    the publish itself is a few renames within one directory (milliseconds)
    during which OUT has no manifest, so a reader that checks it never uses a
    mix. Staging lives inside OUT, not beside it: OUT may be a mount point or
    sit in a directory we may not write, and nothing is ever created or
    deleted outside what the user named. A lock file (``OUT/.lock``, flock)
    keeps two runs from writing one OUT; leftovers of a killed run are
    removed by the next one."""

    def __init__(self, out: str, job: str):
        self.out, self.job = out, job
        self.root = _local(out)
        self.run = f"{time.strftime('%Y%m%dT%H%M%S', time.gmtime())}-{os.getpid()}"
        self.staging = os.path.join(self.root, STAGING_PREFIX + self.run)
        self._lock = None
        self.published = False

    def open(self) -> "StagedOutput":
        import fcntl

        os.makedirs(self.root, exist_ok=True)
        fd = os.open(os.path.join(self.root, LOCK), os.O_CREAT | os.O_RDWR, 0o644)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            os.close(fd)
            raise OutputError(f"{self.out}: another run is writing this output directory") from None
        self._lock = fd
        roll_back_interrupted_publish(self.root)
        for e in os.listdir(self.root):
            if e.startswith((STAGING_PREFIX, OLD_PREFIX)):
                log(f"output: removing {e}, left by an interrupted run")
                _remove_inside(os.path.join(self.root, e), self.root)
        os.makedirs(self.staging)
        return self

    def path(self, *parts: str) -> str:
        return os.path.join(self.staging, *parts)

    def publish(self, manifest: dict, parquet_files: dict[str, dict] | None = None, keep_work: bool = False) -> dict:
        """Write the manifest (``files``: every file with bytes and sha256,
        rows for Parquet; sizes and hashes of ``parquet_files`` come from the
        tasks that wrote them) and swap the staged run in."""
        work = self.path(WORK)
        if not keep_work and os.path.lexists(work):
            _remove_inside(work, self.staging)
        known = parquet_files or {}
        files = {}
        for dirpath, dirs, names in os.walk(self.staging):
            dirs.sort()
            for n in sorted(names):
                p = os.path.join(dirpath, n)
                rel = os.path.relpath(p, self.staging).replace(os.sep, "/")
                if rel.split("/")[0] == WORK:
                    continue
                size = os.path.getsize(p)
                if rel in known and known[rel]["bytes"] == size:
                    files[rel] = {"bytes": size, "sha256": known[rel]["sha256"], "rows": known[rel]["rows"]}
                else:
                    files[rel] = {"bytes": size, "sha256": _sha256_file(Path(p))}
        manifest = {**manifest, "job": self.job, "complete": True,
                    "entries": sorted(os.listdir(self.staging)) + [MANIFEST], "files": files}
        tmp = self.path(MANIFEST)
        with open(tmp, "w", encoding="utf-8") as fh:
            fh.write(json.dumps(manifest, indent=1, sort_keys=True) + "\n")
            fh.flush()
            os.fsync(fh.fileno())
        old = os.path.join(self.root, OLD_PREFIX + self.run)
        os.makedirs(old)
        if os.path.lexists(os.path.join(self.root, MANIFEST)):   # un-commit the previous run first
            os.replace(os.path.join(self.root, MANIFEST), os.path.join(old, MANIFEST))
        for e in sorted(os.listdir(self.root)):
            if not _internal(e):
                os.replace(os.path.join(self.root, e), os.path.join(old, e))
        for e in sorted(os.listdir(self.staging)):
            if e != MANIFEST:
                os.replace(os.path.join(self.staging, e), os.path.join(self.root, e))
        os.replace(tmp, os.path.join(self.root, MANIFEST))          # commit
        dfd = os.open(self.root, os.O_RDONLY)
        try:
            os.fsync(dfd)
        finally:
            os.close(dfd)
        self.published = True
        _remove_inside(old, self.root)
        os.rmdir(self.staging)
        return manifest

    def close(self, keep: bool = False) -> None:
        """Release the lock; an unpublished staging area is deleted unless
        ``keep`` (``--keep-work`` after a failure: its intermediates stay)."""
        if not self.published and not keep and os.path.isdir(self.staging):
            _remove_inside(self.staging, self.root)
        if self._lock is not None:
            os.close(self._lock)
            self._lock = None


def config_sha256(cfg) -> str:
    """sha256 of the merged configuration (canonical JSON)."""
    return hashlib.sha256(json.dumps(cfg.data, sort_keys=True, default=str).encode()).hexdigest()


def inputs_summary(args: list[str], files: list[str]) -> dict:
    """The manifest's ``inputs``: the arguments, the number of files, their
    total size and a sha256 over the sorted (path, size) list."""
    sizes = [(f, os.path.getsize(f) if not _is_remote(f) and os.path.exists(f) else None) for f in sorted(files)]
    h = hashlib.sha256("\n".join(f"{f}\t{s}" for f, s in sizes).encode()).hexdigest()
    return {"args": list(args), "files": len(sizes), "bytes": sum(s or 0 for _, s in sizes), "listing_sha256": h}


if __name__ == "__main__":   # python -m jobs.common verify OUT
    if len(sys.argv) == 3 and sys.argv[1] == "verify":
        found = verify_output(sys.argv[2])
        for line in found:
            print(line, file=sys.stderr)
        print(f"{sys.argv[2]}: {'complete' if not found else f'{len(found)} problems'}")
        sys.exit(1 if found else 0)
    sys.exit("usage: python -m jobs.common verify OUT")
