"""The whole corpus job at scale: documents/s and MB/s per core for every
stage and in total, peak memory, CPU-hours per TB of raw text.

    python bench/cascade.py --scales 1 3 10 [--small-files 500] [--out out/bench/cascade]
    python bench/cascade.py --scales 30 100 --skip-stages   # only the big whole-job runs

Three measurements:

1. Row-local stages, one core, in process: every record of data/sample is
   read with pipeline/readers (``read`` per format), then each stage of
   ``[cascade] stages`` (and the post-dedup ``safety``) runs alone over
   Arrow batches (pipeline/cascade.run_batch) on the documents the stages
   before it kept, as the job runs them. Models are loaded before the clock
   starts. This is the per-core cost of each stage, free of Spark.
2. The whole job (``python jobs/filter.py``, every stage, dedup included,
   local[*]) on N x the sample for each ``--scales`` N: wall time, CPU
   seconds of the driver, JVM and Python workers (sampled per process with
   psutil: rusage misses the JVM, which py4j never reaps; the larger of the
   two is reported), peak RSS of the tree (sampled every
   0.25 s with psutil: JVM, Python workers, driver), and the phase times
   from the job's own timestamped progress lines (jobs/common.log): read,
   row cascade, coherence split, each dedup stage, safety, perplexity
   buckets, write + report. A phase's core-seconds are its wall seconds x
   the cores the job used (an upper bound: a phase may not keep every core busy).
3. ``--small-files K``: the 1x sample's JSONL and Parquet records split into
   K small JSONL files, against the same records in one file: the per-file
   overhead of the read stage (Spark tasks, reader set-up).

Scaled inputs (out/bench/data/copy-<k>/): copy 0 is data/sample itself;
copy k >= 1 rewrites every file of it with fresh ids (JSONL/Parquet ``id``
+ ``-c<k>``, new WARC-Record-IDs, file names with ``-c<k>``) and text that
is not a near-duplicate of the original: each Latin word of 4+ letters is
replaced by a word of the same length from the sample's vocabulary, each
Chinese character (but the function characters the heuristics count) by a
frequent sample character, both by a fixed function of (word, k), so word
lengths, line structure, languages, stop words and scripts stay, and
shingles change. Why not plain copies: 10x copies of every page would be
a crawl of near-duplicates; paragraph dedup would cut 90% of the input and
the later dedup stages (and everything they cost at scale) would see 1x.
Real crawls do repeat themselves, so ``near_dup_share`` (5%) of each
copy's documents keep their text with two words changed: near-duplicates
that dedup must find. WARC HTML is rewritten between tags only, in the
page's own charset. Copies are generated once and reused.

CPU-hours per TB: CPU seconds of the whole job / UTF-8 bytes of the text
the readers produced (extracted main text: what "raw text" is for a text
pipeline), and also per TB of input file bytes (compressed WARC/JSONL).
Anchor: Dolma reports 122 CPU-hours per TB for language ID plus the C4
rules alone; the aim is the whole cascade under 100.

Writes out/bench/cascade/report.{json,md,png}; prints the tables.
"""
from __future__ import annotations

import argparse
import gzip
import io
import json
import os
import re
import resource
import shutil
import subprocess
import sys
import threading
import time
import uuid
from collections import Counter
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))
SAMPLE = REPO / "data" / "sample"
PY = sys.executable
DOLMA_CPU_H_PER_TB = 122.0
AIM_CPU_H_PER_TB = 100.0
NEAR_DUP_SHARE = 0.05

# ---------------------------------------------------------------- copies --
WORD_RE = re.compile(r"(?<![&#\w])[A-Za-z]{4,}(?!\w)")
CJK_RE = re.compile("[\u4e00-\u9fff]")
TAG_TEXT_RE = re.compile(r">([^<]+)<")


def _h(s: str, k: int) -> int:
    import xxhash

    return xxhash.xxh64_intdigest(s.encode("utf-8", "surrogatepass"), seed=k)


class Scrambler:
    """The per-copy text rewrite (see the module docstring)."""

    def __init__(self, texts):
        from pipeline.heuristics import ZH_STOP_WORDS

        words, chars = Counter(), Counter()
        for t in texts:
            words.update(w.lower() for w in WORD_RE.findall(t))
            chars.update(CJK_RE.findall(t))
        self.pool: dict[int, list[str]] = {}
        for w, n in sorted(words.items()):
            if n >= 2:
                self.pool.setdefault(len(w), []).append(w)
        keep = set("".join(ZH_STOP_WORDS))
        self.cjk = [c for c, n in sorted(chars.items()) if n >= 5 and c not in keep]
        self.keep = keep

    def _word(self, k: int):
        def sub(m):
            w = m.group(0)
            pool = self.pool.get(len(w))
            if not pool:
                return w
            new = pool[_h(w.lower(), k) % len(pool)]
            return new.capitalize() if w[0].isupper() else new
        return sub

    def _char(self, k: int):
        def sub(m):
            c = m.group(0)
            return c if c in self.keep or not self.cjk else self.cjk[_h(c, k) % len(self.cjk)]
        return sub

    def text(self, text: str, k: int, key: str) -> str:
        if k == 0:
            return text
        if _h(key, k) % 10_000 < NEAR_DUP_SHARE * 10_000:  # a near-duplicate: two words changed
            n = [0]

            def two(m):
                n[0] += 1
                return self._word(k)(m) if n[0] in (3, 7) else m.group(0)
            return WORD_RE.sub(two, text)
        return CJK_RE.sub(self._char(k), WORD_RE.sub(self._word(k), text))

    def html(self, html: str, k: int, key: str) -> str:
        return TAG_TEXT_RE.sub(lambda m: ">" + self.text(m.group(1), k, key) + "<", html)


def _copy_name(name: str, k: int) -> str:
    stem, dot, ext = name.partition(".")
    return f"{stem}-c{k}{dot}{ext}"


def _jsonl_open(path: Path, mode: str):
    if path.name.endswith(".gz"):
        return gzip.open(path, mode + "t", encoding="utf-8")
    if path.name.endswith(".zst"):
        import zstandard

        if mode == "r":
            return io.TextIOWrapper(zstandard.ZstdDecompressor().stream_reader(path.open("rb")), encoding="utf-8")
        return io.TextIOWrapper(zstandard.ZstdCompressor(level=3).stream_writer(path.open("wb")), encoding="utf-8")
    return path.open(mode, encoding="utf-8")


def _copy_jsonl(src: Path, dst: Path, k: int, sc: Scrambler) -> None:
    with _jsonl_open(src, "r") as fi, _jsonl_open(dst, "w") as fo:
        for i, line in enumerate(fi):
            try:
                obj = json.loads(line)
            except ValueError:
                fo.write(line)
                continue
            key = f"{src.name}:{i}"
            if isinstance(obj, dict):
                if isinstance(obj.get("text"), str):
                    obj["text"] = sc.text(obj["text"], k, key)
                if obj.get("id") is not None:
                    obj["id"] = f"{obj['id']}-c{k}"
            fo.write(json.dumps(obj, ensure_ascii=False) + "\n")


def _copy_parquet(src: Path, dst: Path, k: int, sc: Scrambler) -> None:
    import pyarrow as pa
    import pyarrow.parquet as pq

    t = pq.read_table(src)
    texts = [None if x is None else sc.text(x, k, f"{src.name}:{i}") for i, x in enumerate(t.column("text").to_pylist())]
    t = t.set_column(t.schema.get_field_index("text"), "text", pa.array(texts, pa.string()))
    if "id" in t.schema.names:
        ids = [None if x is None else f"{x}-c{k}" for x in t.column("id").to_pylist()]
        t = t.set_column(t.schema.get_field_index("id"), "id", pa.array(ids, pa.string()))
    pq.write_table(t, dst, compression="zstd")


def _copy_archive(src: Path, dst: Path, k: int, sc: Scrambler) -> None:
    """WARC responses (HTML rewritten between tags in its charset) and WET
    conversions (text rewritten); other records are not documents: left out."""
    from warcio.archiveiterator import ArchiveIterator
    from warcio.statusandheaders import StatusAndHeaders
    from warcio.warcwriter import WARCWriter

    from pipeline.readers import html_charset

    with src.open("rb") as fi, dst.open("wb") as fo:
        writer = WARCWriter(fo, gzip=True)
        for rec in ArchiveIterator(fi):
            if rec.rec_type not in ("response", "resource", "conversion"):
                continue
            rid = rec.rec_headers.get_header("WARC-Record-ID") or ""
            payload = rec.content_stream().read()
            key = f"{src.name}:{rid}"
            http = rec.http_headers if rec.rec_type == "response" else None
            if rec.rec_type == "conversion":
                try:
                    payload = sc.text(payload.decode("utf-8"), k, key).encode("utf-8")
                except UnicodeDecodeError:
                    pass
            else:
                ctype = (http.get_header("Content-Type") if http else None) or rec.rec_headers.get_header("Content-Type")
                cs = html_charset(ctype, payload)
                try:
                    payload = sc.html(payload.decode(cs), k, key).encode(cs, "xmlcharrefreplace")
                except (UnicodeDecodeError, LookupError):
                    pass
            if http is not None:
                hh = [(n, v) for n, v in http.headers
                      if n.lower() not in ("content-length", "content-encoding", "transfer-encoding")]
                hh.append(("Content-Length", str(len(payload))))
                http = StatusAndHeaders(http.statusline, hh, protocol=http.protocol)
            keep = {"content-length", "warc-record-id", "warc-block-digest", "warc-payload-digest", "warc-type"}
            wh = {n: v for n, v in rec.rec_headers.headers if n.lower() not in keep}
            wh["WARC-Record-ID"] = f"<urn:uuid:{uuid.uuid5(uuid.NAMESPACE_URL, f'{rid}|{k}')}>"
            new = writer.create_warc_record(rec.rec_headers.get_header("WARC-Target-URI") or "", rec.rec_type,
                                            payload=io.BytesIO(payload), length=len(payload),
                                            http_headers=http, warc_headers_dict=wh)
            writer.write_record(new)


def sample_files() -> list[Path]:
    from pipeline.readers import list_inputs

    return [Path(f) for f in list_inputs([str(SAMPLE)])[0]]


def make_copies(n: int, root: Path, texts) -> list[Path]:
    """Input dirs for n x the sample: copy 0 is data/sample."""
    dirs = [SAMPLE]
    sc = None
    for k in range(1, n):
        d = root / f"copy-{k}"
        dirs.append(d)
        done = root / f"copy-{k}.done"  # outside the input dir (not an input format)
        if done.exists():
            continue
        sc = sc or Scrambler(texts())
        if d.exists():
            shutil.rmtree(d)
        for f in sample_files():
            out = d / f.relative_to(SAMPLE).parent / _copy_name(f.name, k)
            out.parent.mkdir(parents=True, exist_ok=True)
            if ".jsonl" in f.name:
                _copy_jsonl(f, out, k, sc)
            elif f.name.endswith(".parquet"):
                _copy_parquet(f, out, k, sc)
            else:
                _copy_archive(f, out, k, sc)
        done.write_text("")
    return dirs


def make_small_files(k: int, root: Path) -> tuple[Path, Path]:
    """(K small JSONL files, the same records in one file): the JSONL and
    Parquet records of the sample."""
    import pyarrow.parquet as pq

    many, one = root / f"small-{k}", root / f"small-{k}-one"
    done = root / f"small-{k}.done"
    if not done.exists():
        for d in (many, one):
            shutil.rmtree(d, ignore_errors=True)
            d.mkdir(parents=True)
        recs = []
        for f in sorted((SAMPLE / "jsonl").iterdir()):
            with _jsonl_open(f, "r") as fh:
                recs += [line if line.endswith("\n") else line + "\n" for line in fh if line.strip()]
        for f in sorted((SAMPLE / "parquet").glob("*.parquet")):
            recs += [json.dumps({c: r[c] for c in ("id", "text", "url", "source")}, ensure_ascii=False) + "\n"
                     for r in pq.read_table(f).to_pylist()]
        (one / "all.jsonl").write_text("".join(recs), encoding="utf-8")
        per = -(-len(recs) // k)
        for i in range(k):
            (many / f"part-{i:05d}.jsonl").write_text("".join(recs[i * per:(i + 1) * per]), encoding="utf-8")
        done.write_text("")
    return many, one


# ------------------------------------------------------ in-process stages --
def stage_costs() -> dict:
    """Read every sample file, then each row-local stage alone, one core."""
    import pyarrow as pa
    import pyarrow.compute as pc

    from pipeline.cascade import build_stages, output_schema, run_batch, stage_class
    from pipeline.config import load_config
    from pipeline.decisions import DECISION_COLUMNS, KEPT
    from pipeline.readers import detect_format, read_or_quarantine

    cfg = load_config()
    read_cfg = cfg.section("read")
    rows, batches = [], []
    for f in sample_files():
        t0 = time.process_time()
        got = list(read_or_quarantine(str(f), read_cfg))
        secs = time.process_time() - t0
        tab = pa.Table.from_batches(got) if got else None
        n = tab.num_rows if tab is not None else 0
        text_bytes = sum(len(x.encode("utf-8")) for x in tab.column("text").to_pylist() if x) if n else 0
        rows.append({"stage": f"read:{detect_format(str(f))[0]}", "file": f.name, "docs": n, "file_bytes": f.stat().st_size,
                     "text_bytes": text_bytes, "cpu_s": secs})
        batches += got
    table = pa.Table.from_batches(batches)
    table = table.filter(pc.equal(table.column("decision"), KEPT))
    total_text = sum(r["text_bytes"] for r in rows)
    by_fmt: dict[str, dict] = {}
    for r in rows:
        a = by_fmt.setdefault(r["stage"], {"stage": r["stage"], "docs": 0, "file_bytes": 0, "text_bytes": 0, "cpu_s": 0.0})
        for c in ("docs", "file_bytes", "text_bytes", "cpu_s"):
            a[c] += r[c]
    out = list(by_fmt.values())
    names = list(cfg.get("cascade.stages")) + list(cfg.get("cascade.post_dedup_stages"))
    for name in names:
        (stage,) = build_stages([name], cfg)
        docs = table.drop_columns([c for c in DECISION_COLUMNS if c in table.column_names])
        schema = output_schema(docs.schema, [stage_class(name)])
        text_bytes = sum(len(x.encode("utf-8")) for x in docs.column("text").to_pylist())
        t0 = time.process_time()
        res = [run_batch(b, [stage], schema) for b in docs.to_batches(max_chunksize=256)]
        secs = time.process_time() - t0
        table = pa.Table.from_batches(res, schema=schema)
        n_in = docs.num_rows
        table = table.filter(pc.equal(table.column("decision"), KEPT))
        out.append({"stage": name, "docs": n_in, "docs_kept": table.num_rows, "text_bytes": text_bytes, "cpu_s": secs})
    for r in out:
        r["docs_per_s"] = r["docs"] / r["cpu_s"] if r["cpu_s"] else None
        r["mb_per_s"] = r["text_bytes"] / 1e6 / r["cpu_s"] if r["cpu_s"] else None
        # this stage's share of the CPU-hours per TB of the text read
        r["cpu_h_per_tb_raw"] = r["cpu_s"] / 3600 / (total_text / 1e12)
    return {"rows": out, "text_bytes_read": total_text}


# ------------------------------------------------------------- whole job --
LOG_RE = re.compile(r"^\[\s*([\d.]+)s\] (.*)$")
PHASES = [  # (phase, regex of the progress line that ends it)
    ("start", r"^read: \d+ files"), ("read", r"^read: [\d,]+ records"),
    ("row cascade", r"^  coherence "), ("coherence split", r"^  coherence_split"),
    ("paragraph dedup", r"^dedup paragraph_dedup"), ("minhash dedup", r"^dedup minhash_dedup"),
    ("exact dedup", r"^dedup exact_dedup"), ("substring dedup", r"^dedup substring_dedup"),
    ("safety", r"^  safety "), ("perplexity buckets", r"^perplexity buckets"),
    ("write + report", r"^done:"),
]


def phases(log_lines: list[str]) -> dict[str, float]:
    stamps = [(float(m.group(1)), m.group(2)) for m in map(LOG_RE.match, log_lines) if m]
    out, prev = {}, 0.0
    for name, pat in PHASES:
        hit = [t for t, msg in stamps if re.search(pat, msg)]
        if hit:
            out[name] = round(hit[-1] - prev, 2)
            prev = hit[-1]
    return out


class TreeSampler(threading.Thread):
    """Peak RSS (sum over the process tree; JVM; Python workers) and CPU
    seconds per pid, sampled every ``every`` seconds."""

    def __init__(self, pid: int, every: float = 0.25):
        super().__init__(daemon=True)
        self.pid, self.every = pid, every
        self.peak = {"tree": 0, "jvm": 0, "python_workers": 0, "driver": 0}
        self.cpu: dict[int, float] = {}
        self.stop = threading.Event()

    def run(self):
        import psutil

        try:
            root = psutil.Process(self.pid)
        except psutil.Error:
            return
        while not self.stop.is_set():
            try:
                procs = [root] + root.children(recursive=True)
            except psutil.Error:
                break
            tot = jvm = workers = driver = 0
            for p in procs:
                try:
                    rss = p.memory_info().rss
                    name = p.name()
                    t = p.cpu_times()
                    self.cpu[p.pid] = t.user + t.system + t.children_user + t.children_system
                except psutil.Error:
                    continue
                tot += rss
                if p.pid == self.pid:
                    driver = rss
                elif "java" in name:
                    jvm += rss
                else:
                    workers += rss
            for k, v in (("tree", tot), ("jvm", jvm), ("python_workers", workers), ("driver", driver)):
                self.peak[k] = max(self.peak[k], v)
            self.stop.wait(self.every)


def run_job(inputs: list[Path], out: Path, log_path: Path, driver_memory: str | None = None) -> dict:
    shutil.rmtree(out, ignore_errors=True)
    env = {**os.environ, "PYTHONHASHSEED": "0", "SPARK_LOCAL_IP": "127.0.0.1", "PYSPARK_PYTHON": PY,
           "PYSPARK_DRIVER_PYTHON": PY, "PYTHONPATH": str(REPO)}
    if driver_memory:  # spark-submit's --driver-memory wins over the job's spark.driver.memory
        env["PYSPARK_SUBMIT_ARGS"] = f"--driver-memory {driver_memory} pyspark-shell"
    cmd = [PY, "jobs/filter.py", "--input", *map(str, inputs), "--output", str(out)]
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    t0 = time.time()
    with log_path.open("w") as fh:
        proc = subprocess.Popen(cmd, cwd=REPO, env=env, stdout=fh, stderr=subprocess.STDOUT)
        sampler = TreeSampler(proc.pid)
        sampler.start()
        rc = proc.wait()
        sampler.stop.set()
        sampler.join()
    wall = time.time() - t0
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    if rc:
        sys.exit(f"{' '.join(cmd)} failed (rc {rc}); see {log_path}")
    cpu_rusage = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    funnel = json.loads((out / "report" / "funnel.json").read_text())
    return {"wall_s": round(wall, 2), "cpu_s": round(max(cpu_rusage, sum(sampler.cpu.values())), 2),
            "cpu_s_rusage": round(cpu_rusage, 2), "cpu_s_sampled": round(sum(sampler.cpu.values()), 2),
            "peak_rss_mb": {k: round(v / 2**20) for k, v in sampler.peak.items()},
            "phases_s": phases(log_path.read_text(errors="replace").splitlines()),
            "funnel_total": funnel["total"],
            "docs_in_by_stage": _docs_in(funnel)}


def _docs_in(funnel: dict) -> dict[str, int]:
    out: dict[str, int] = {}
    for r in funnel["rows"]:
        out[r["stage"]] = out.get(r["stage"], 0) + r["docs_in"]
    return out


def input_bytes(dirs: list[Path]) -> int:
    from pipeline.readers import list_inputs

    return sum(os.path.getsize(f) for f in list_inputs([str(d) for d in dirs])[0])


# ----------------------------------------------------------------- report --
PHASE_STAGES = {"paragraph dedup": "paragraph_dedup", "minhash dedup": "minhash_dedup",
                "exact dedup": "exact_dedup", "substring dedup": "substring_dedup", "safety": "safety",
                "row cascade": "langid", "coherence split": "coherence_split"}


def job_rows(scale: int, job: dict, text_bytes: float, file_bytes: int, cores: int) -> list[dict]:
    rows = []
    for ph, secs in job["phases_s"].items():
        docs = job["docs_in_by_stage"].get(PHASE_STAGES.get(ph, ""), None)
        if ph == "read":
            docs = job["funnel_total"]["input"] - job["funnel_total"]["derived"]
        core_s = secs * cores
        rows.append({"scale": scale, "phase": ph, "wall_s": secs, "core_s": round(core_s, 1), "docs": docs,
                     "docs_per_core_s": round(docs / core_s, 1) if docs and core_s else None,
                     "raw_mb_per_core_s": round(text_bytes / 1e6 / core_s, 3) if core_s else None})
    return rows


def write_report(out: Path, res: dict) -> None:
    out.mkdir(parents=True, exist_ok=True)
    (out / "report.json").write_text(json.dumps(res, indent=1, sort_keys=True))
    L = ["# Corpus job at scale (bench/cascade.py)", "",
         f"Machine: {res['cores']} cores; commit {res.get('commit', '?')}. Text = UTF-8 bytes of the extracted "
         "text the readers produce (per TB of it: CPU-hours); file = input file bytes (compressed). CPU s: "
         "driver + JVM + Python workers, sampled per process. Peak RSS: sum over the job's process tree "
         "(local[*]: executors live in the driver's JVM).", ""]
    if res.get("stages"):
        L += ["## Row-local stages, one core, in process (1x sample)", "",
              "| stage | docs in | docs/s | MB/s (its input text) | CPU-h per TB of raw text |", "|---|---:|---:|---:|---:|"]
        for r in res["stages"]["rows"]:
            L.append(f"| {r['stage']} | {r['docs']:,} | {r['docs_per_s'] or 0:,.0f} | {r['mb_per_s'] or 0:.3f} | "
                     f"{r['cpu_h_per_tb_raw']:.1f} |")
        tot = sum(r["cpu_h_per_tb_raw"] for r in res["stages"]["rows"])
        L += ["", f"Sum of row-local stages incl. read: {tot:.0f} CPU-hours per TB of raw text.", ""]
    if res.get("jobs"):
        L += ["## Whole job (python jobs/filter.py, local[*], every stage)", "",
              "| scale | docs | text MB | file MB | wall s | CPU s | docs/s/core | text MB/s/core | "
              "CPU-h/TB text | CPU-h/TB files | peak RSS MB (tree / JVM / py workers) |",
              "|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|"]
        for j in res["jobs"]:
            p = j["peak_rss_mb"]
            L.append(f"| {j['scale']}x | {j['docs']:,} | {j['text_bytes'] / 1e6:.0f} | {j['file_bytes'] / 1e6:.0f} | "
                     f"{j['wall_s']:.0f} | {j['cpu_s']:.0f} | {j['docs_per_core_s']:.1f} | {j['mb_per_core_s']:.3f} | "
                     f"{j['cpu_h_per_tb_text']:.0f} | {j['cpu_h_per_tb_files']:.0f} | {p['tree']} / {p['jvm']} / {p['python_workers']} |")
        L += ["", f"Anchor: Dolma {DOLMA_CPU_H_PER_TB:.0f} CPU-hours per TB for language ID + C4 rules alone; "
              f"aim: whole cascade under {AIM_CPU_H_PER_TB:.0f}.", "",
              "### Phases (wall seconds from the job's progress lines; core-s = wall x cores)", "",
              "| scale | phase | wall s | docs in | docs/core-s | raw text MB/core-s |", "|---:|---|---:|---:|---:|---:|"]
        for j in res["jobs"]:
            for r in j["phase_rows"]:
                L.append(f"| {r['scale']}x | {r['phase']} | {r['wall_s']:.1f} | {r['docs'] if r['docs'] is not None else ''} | "
                         f"{r['docs_per_core_s'] or ''} | {r['raw_mb_per_core_s'] or ''} |")
    if res.get("small_files"):
        s = res["small_files"]
        L += ["", "## Small files", "",
              f"{s['files']} JSONL files ({s['docs']:,} records) vs the same records in 1 file: read phase "
              f"{s['read_s_many']:.1f} s vs {s['read_s_one']:.1f} s, whole job {s['wall_s_many']:.0f} s vs "
              f"{s['wall_s_one']:.0f} s: {s['per_file_ms']:.0f} ms of read-phase wall time per extra file."]
    (out / "report.md").write_text("\n".join(L) + "\n")
    print("\n".join(L))
    _plot(out, res)


def _save(out: Path, res: dict) -> None:
    (out / "report.json").write_text(json.dumps(res, indent=1, sort_keys=True))


def _plot(out: Path, res: dict) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, 2, figsize=(12, 4.5))
    if res.get("stages"):
        rows = res["stages"]["rows"]
        axes[0].barh([r["stage"] for r in rows], [r["cpu_h_per_tb_raw"] for r in rows], color="tab:blue")
        axes[0].invert_yaxis()
        axes[0].set_xlabel("CPU-hours per TB of raw text (1 core, in process)")
        axes[0].set_title("row-local stages")
    if res.get("jobs"):
        jobs = res["jobs"]
        names = [ph for ph, _ in PHASES]
        bottom = [0.0] * len(jobs)
        for ph in names:
            vals = [j["phases_s"].get(ph, 0) * res["cores"] / 3600 / (j["text_bytes"] / 1e12) for j in jobs]
            axes[1].bar([f"{j['scale']}x" for j in jobs], vals, bottom=bottom, label=ph)
            bottom = [b + v for b, v in zip(bottom, vals)]
        axes[1].axhline(DOLMA_CPU_H_PER_TB, color="k", ls="--", lw=1, label="Dolma langid+C4 (122)")
        axes[1].axhline(AIM_CPU_H_PER_TB, color="r", ls=":", lw=1, label="aim (100)")
        axes[1].set_ylabel("core-hours per TB of raw text (wall x cores)")
        axes[1].set_title("whole job by phase")
        axes[1].legend(fontsize=7)
    fig.tight_layout()
    fig.savefig(out / "report.png", dpi=110)
    plt.close(fig)


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--scales", type=int, nargs="*", default=[10, 30, 100], help="whole-job runs on N x the sample")
    ap.add_argument("--small-files", type=int, default=0, help="also run K small JSONL files vs one file")
    ap.add_argument("--skip-stages", action="store_true", help="skip the in-process per-stage costs")
    ap.add_argument("--data", default=str(REPO / "out" / "bench" / "data"), help="where the scaled copies go")
    ap.add_argument("--out", default=str(REPO / "out" / "bench" / "cascade"))
    ap.add_argument("--keep-runs", action="store_true", help="keep each run's output directory")
    ap.add_argument("--driver-memory", help="e.g. 6g: the JVM heap of local[*] (driver and executors in one "
                    "JVM); default: the job's own (jobs/common.py)")
    args = ap.parse_args(argv)
    out, data = Path(args.out), Path(args.data)
    out.mkdir(parents=True, exist_ok=True)
    data.mkdir(parents=True, exist_ok=True)
    cores = os.cpu_count() or 1
    prev = json.loads((out / "report.json").read_text()) if (out / "report.json").exists() else {}
    res = {"cores": cores, "commit": subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=REPO,
                                                    capture_output=True, text=True).stdout.strip()}
    if not args.skip_stages:
        print("row-local stages, one core, in process ...", file=sys.stderr)
        res["stages"] = stage_costs()
    elif prev.get("stages"):
        res["stages"] = prev["stages"]
    jobs = {j["scale"]: j for j in prev.get("jobs", [])}
    text_1x = res.get("stages", {}).get("text_bytes_read")

    def texts():
        import pyarrow as pa

        from pipeline.config import load_config
        from pipeline.readers import read_or_quarantine

        cfg = load_config().section("read")
        for f in sample_files():
            for b in read_or_quarantine(str(f), cfg):
                yield from (x for x in pa.Table.from_batches([b]).column("text").to_pylist() if x)

    if text_1x is None and args.scales:
        text_1x = sum(len(t.encode("utf-8")) for t in texts())
    for n in args.scales:
        print(f"{n}x: copies ...", file=sys.stderr)
        dirs = make_copies(n, data, texts)
        print(f"{n}x: python jobs/filter.py ...", file=sys.stderr)
        run_out = out / f"run-{n}x"
        job = run_job(dirs, run_out, out / f"job-{n}x.log", args.driver_memory)
        job["driver_memory"] = args.driver_memory or "job default"
        if not args.keep_runs:
            shutil.rmtree(run_out, ignore_errors=True)
        docs = job["funnel_total"]["input"] - job["funnel_total"]["derived"]
        tb, fb = text_1x * n, input_bytes(dirs)  # copies keep the text size within a few %
        job.update(scale=n, docs=docs, text_bytes=tb, file_bytes=fb,
                   docs_per_core_s=docs / job["cpu_s"], mb_per_core_s=tb / 1e6 / job["cpu_s"],
                   cpu_h_per_tb_text=job["cpu_s"] / 3600 / (tb / 1e12),
                   cpu_h_per_tb_files=job["cpu_s"] / 3600 / (fb / 1e12))
        job["phase_rows"] = job_rows(n, job, tb, fb, cores)
        jobs[n] = job
        print(f"{n}x: {job['wall_s']:.0f} s wall, {job['cpu_s']:.0f} CPU s, {job['cpu_h_per_tb_text']:.0f} CPU-h/TB",
              file=sys.stderr)
        res["jobs"] = [jobs[k] for k in sorted(jobs)]
        _save(out, {**prev, **res})  # a long series keeps what it measured so far
    res["jobs"] = [jobs[k] for k in sorted(jobs)]
    if args.small_files:
        many, one = make_small_files(args.small_files, data)
        r_many = run_job([many], out / "run-small", out / "job-small-many.log")
        r_one = run_job([one], out / "run-small-one", out / "job-small-one.log")
        for d in ("run-small", "run-small-one"):
            shutil.rmtree(out / d, ignore_errors=True)
        k = args.small_files
        res["small_files"] = {
            "files": k, "docs": r_many["funnel_total"]["input"] - r_many["funnel_total"]["derived"],
            "read_s_many": r_many["phases_s"].get("read", 0), "read_s_one": r_one["phases_s"].get("read", 0),
            "wall_s_many": r_many["wall_s"], "wall_s_one": r_one["wall_s"],
            "per_file_ms": 1000 * (r_many["phases_s"].get("read", 0) - r_one["phases_s"].get("read", 0)) / (k - 1),
            "phases_many": r_many["phases_s"], "phases_one": r_one["phases_s"]}
    elif prev.get("small_files"):
        res["small_files"] = prev["small_files"]
    write_report(out, res)
    return 0


if __name__ == "__main__":
    sys.exit(main())
