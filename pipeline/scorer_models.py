"""What the learned scorers share: where their models live, loading each
model once per process, the text form fastText sees, and the training data.

The Spark cascade builds its stages once per partition and Python workers are
reused, so a model is loaded once per worker process through ``cached`` (a
module-level cache keyed by kind and path), never once per row or partition.

Training data (all shipped, nothing downloaded):
  reference   data/reference/<lang>.jsonl.gz: Wikipedia (en), the best
              freely licensed Chinese prose available offline (zh); and
              <lang>-docs.jsonl.gz: bucket-1 pages of the Debian handbook
              and GNOME help (data/reference/SOURCES.md)
  crawl       data/sample/*: raw crawl-like records of every format, read
              by pipeline/readers.py as the corpus build reads them
Every split is by a hash of the document id: deterministic.
"""
from __future__ import annotations

import gzip
import json
import re
import unicodedata
from pathlib import Path
from typing import Any, Callable, Iterable, Iterator, Sequence

import xxhash

from pipeline.config import REPO_ROOT
from pipeline.words import CJK_RANGES, CJK_RE

REFERENCE_DIR = REPO_ROOT / "data" / "reference"
SAMPLE_DIR = REPO_ROOT / "data" / "sample"
# Sources of the reference text: their copies in data/sample are not
# "random crawl" negatives for the quality classifier.
REFERENCE_SOURCES = frozenset({"wikipedia", "manpages-zh", "debian-reference-zh-cn"})

_CACHE: dict[tuple[str, str], Any] = {}


class ModelMissing(FileNotFoundError):
    """A scorer's model file is not there: the message says how to train it."""


def models_path(models_dir: str | Path, *parts: str) -> Path:
    """A path under the models directory; a relative directory is taken from
    the repository root, so Spark workers (another cwd) find the same files."""
    base = Path(models_dir)
    if not base.is_absolute():
        base = REPO_ROOT / base
    return base.joinpath(*parts)


def require(path: Path, what: str) -> Path:
    if not path.is_file():
        raise ModelMissing(f"{what} model not found at {path}: run `make scorers` to train the scorers' models")
    return path


def cached(kind: str, path: Path, loader: Callable[[str], Any]) -> Any:
    """Load ``path`` with ``loader`` once per process."""
    key = (kind, str(path))
    model = _CACHE.get(key)
    if model is None:
        model = _CACHE[key] = loader(str(path))
    return model


def split_of(doc_id: str, heldout_share: float) -> str:
    """"test" for a stable ``heldout_share`` of ids, else "train"."""
    h = xxhash.xxh64_intdigest(doc_id.encode("utf-8")) / 2**64
    return "test" if h < heldout_share else "train"


# ------------------------------------------------------------ text forms --
_FT_TOKEN_RE = re.compile(f"[{CJK_RANGES}]|[^\\W\\d_{CJK_RANGES}]{{1,30}}|\\d+")


def fasttext_tokens(text: str, max_tokens: int = 1000) -> list[str]:
    """NFKC, lower case; words, digits runs (as "0"), one token per CJK
    character (fastText splits on spaces and Chinese has none: with
    ``wordNgrams=2`` the model also sees character bigrams); at most
    ``max_tokens`` (fastText cuts lines at 1024 words)."""
    text = unicodedata.normalize("NFKC", text).lower()
    out = []
    for m in _FT_TOKEN_RE.finditer(text):
        tok = m.group()
        out.append("0" if tok[0].isdigit() else tok)
        if len(out) >= max_tokens:
            break
    return out


def fasttext_line(text: str, max_tokens: int = 1000) -> str:
    return " ".join(fasttext_tokens(text, max_tokens))


def paragraph_chunks(text: str, max_chars: int = 3000) -> list[str]:
    """Consecutive paragraphs grouped into chunks of at most ``max_chars``
    (a longer paragraph is a chunk of its own): long reference documents
    become several training examples of the size of a web page."""
    chunks, cur = [], ""
    for para in text.split("\n"):
        if cur and len(cur) + len(para) + 1 > max_chars:
            chunks.append(cur)
            cur = ""
        cur = f"{cur}\n{para}" if cur else para
    if cur.strip():
        chunks.append(cur)
    return [c for c in chunks if c.strip()]


def script_lang(text: str, min_cjk_share: float = 0.3) -> str:
    """"zh" when CJK characters are at least ``min_cjk_share`` of the
    non-space characters, else "en" (only for training data without a label)."""
    n = sum(1 for c in text if not c.isspace())
    return "zh" if n and len(CJK_RE.findall(text)) / n >= min_cjk_share else "en"


# --------------------------------------------------------- training data --
def reference_files(lang: str, reference_dir: Path = REFERENCE_DIR) -> list[Path]:
    """``<lang>.jsonl.gz`` and every ``<lang>-<more>.jsonl.gz`` beside it
    (data/reference/SOURCES.md), in name order."""
    base = Path(reference_dir)
    path = base / f"{lang}.jsonl.gz"
    if not path.is_file():
        raise FileNotFoundError(f"reference text {path} is missing (it ships with the repository)")
    return [path] + sorted(base.glob(f"{lang}-*.jsonl.gz"))


def reference_docs(lang: str, reference_dir: Path = REFERENCE_DIR) -> list[dict]:
    """The reference documents of ``lang`` (``id``, ``text``, ``source``)."""
    out = []
    for path in reference_files(lang, reference_dir):
        with gzip.open(path, "rt", encoding="utf-8") as fh:
            out += [json.loads(line) for line in fh if line.strip()]
    return out


SAMPLE_LABELS = REPO_ROOT / "data" / "sample_labels.parquet"


def sample_origins(labels: Path = SAMPLE_LABELS) -> dict[str, str]:
    """url -> the real source of each data/sample record (the ground truth
    beside the sample): a WET or WARC record's file-level source ("wet",
    "warc") hides that it is a Chinese man page or a Debian Reference
    section, the very kinds of text data/reference holds."""
    import pyarrow.parquet as pq

    if not Path(labels).is_file():
        return {}
    t = pq.read_table(labels, columns=["url", "source"]).to_pydict()
    return {u: s for u, s in zip(t["url"], t["source"]) if u and s}


def crawl_docs(sample_dir: Path = SAMPLE_DIR) -> Iterator[dict]:
    """Every text record of the crawl-like sample (a directory or one file), read by the project's own
    readers, with its language (``lang_gold`` where the input has one, else
    the script) and ``origin`` (its real source, ``sample_origins``; the
    reader's ``source`` when unknown), sorted by file name so the order is
    stable."""
    from pipeline.config import load_config
    from pipeline.decisions import KEPT
    from pipeline.readers import list_inputs, read_file

    files, _ = list_inputs(str(sample_dir))
    read_cfg = load_config().section("read")
    origins = sample_origins()
    for path in sorted(files):
        for batch in read_file(path, read_cfg):
            for row in batch.to_pylist():
                if row["decision"] != KEPT or not row["text"]:
                    continue
                meta = json.loads(row["meta"]) if row["meta"] else {}
                lang = meta.get("lang_gold") or script_lang(row["text"])
                yield {"id": row["id"], "text": row["text"], "source": row["source"], "lang": lang,
                       "origin": origins.get(row.get("url") or "", row["source"])}


def quality_docs(lang: str, crawl: Iterable[dict], refs: Sequence[dict]) -> tuple[list[dict], list[dict]]:
    """(positives, negatives) of the quality classifier of ``lang``: the
    reference documents plus the sample's records whose real source is a
    reference source (the other half of the same man pages and Debian
    Reference sections: as negatives they were label noise, 16 of the 21
    false positives of the zh held-out report), against the rest of the
    sample (random crawl)."""
    crawl = [d for d in crawl if d["lang"] == lang]
    pos = list(refs) + [d for d in crawl if d.get("origin", d["source"]) in REFERENCE_SOURCES]
    neg = [d for d in crawl if d.get("origin", d["source"]) not in REFERENCE_SOURCES
           and d["source"] not in REFERENCE_SOURCES]
    return pos, neg
