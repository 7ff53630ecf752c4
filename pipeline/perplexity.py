"""Perplexity under a per-language KenLM 5-gram model, as cc_net does
(Wenzek et al. 2020, arXiv 1911.00359; Yi §2.1 "perplexity scores").

Text is normalized as cc_net does (lower case, accents and digits folded,
unicode punctuation to ASCII), cut into SentencePiece pieces by a model
trained on the same reference text, and scored line by line; the document's
perplexity is ``10 ** (-sum(log10 p) / #tokens)`` over all its lines, the
end-of-line token included. Low perplexity = close to the reference text
(Wikipedia for English).

The stage writes ``ppl`` and drops a document above the per-language
``max_perplexity`` (config). cc_net's head/middle/tail buckets come from
percentiles of the corpus itself, so they are computed after the cascade
(``bucket_cutoffs`` on the per-language perplexities, ``bucket_of`` per row,
``perplexity_report`` for the histograms and examples).

Training (``train_perplexity``): SentencePiece on the reference text, then
KenLM's ``lmplz -o 5`` on the tokenized text and ``build_binary``; models go
to ``models/perplexity/<lang>.sp.model`` and ``<lang>.arpa.bin``.
"""
from __future__ import annotations

import io
import math
import re
import subprocess
import tempfile
import unicodedata
from pathlib import Path
from typing import ClassVar, Iterable, Mapping, Sequence

from pipeline.config import Configured
from pipeline.document import Document, Stage
from pipeline.scorer_models import cached, models_path, require

# --------------------------------------------------- cc_net normalization --
_UNICODE_PUNCT = {
    "，": ",", "。": ".", "、": ",", "„": '"', "”": '"', "“": '"', "«": '"', "»": '"',
    "１": '"', "」": '"', "「": '"', "《": '"', "》": '"', "´": "'", "∶": ":", "：": ":",
    "？": "?", "！": "!", "（": "(", "）": ")", "；": ";", "–": "-", "—": " - ", "．": ". ",
    "～": "~", "’": "'", "…": "...", "━": "-", "〈": "<", "〉": ">", "【": "[", "】": "]",
    "％": "%", "►": "-",
}
_PUNCT_RE = re.compile("|".join(map(re.escape, _UNICODE_PUNCT)))
_DIGIT_RE = re.compile(r"\d")
_NON_PRINTING_RE = re.compile(f"[{''.join(map(chr, list(range(0, 32)) + list(range(127, 160))))}]")


def normalize_line(line: str) -> str:
    """cc_net's ``normalize``: strip, lower case, accents removed, digits to
    0, unicode punctuation to ASCII, non-printing characters removed."""
    line = line.strip().lower()
    line = "".join(c for c in unicodedata.normalize("NFD", line) if unicodedata.category(c) != "Mn")
    line = _DIGIT_RE.sub("0", line)
    line = _PUNCT_RE.sub(lambda m: _UNICODE_PUNCT[m.group()], line)
    return _NON_PRINTING_RE.sub("", line)


class PerplexityModel:
    """A SentencePiece model and a KenLM model of one language."""

    def __init__(self, sp_path: Path, lm_path: Path):
        import kenlm
        import sentencepiece as spm

        self.sp = cached("sentencepiece", sp_path, lambda p: spm.SentencePieceProcessor(model_file=p))
        self.lm = cached("kenlm", lm_path, kenlm.Model)

    def tokenize(self, line: str) -> list[str]:
        return self.sp.encode(normalize_line(line), out_type=str)

    def log_score(self, text: str) -> tuple[float, int]:
        """(sum of log10 probabilities, number of tokens) over the lines."""
        total, n = 0.0, 0
        for line in text.split("\n"):
            pieces = self.tokenize(line)
            if not pieces:
                continue
            total += self.lm.score(" ".join(pieces), bos=True, eos=True)
            n += len(pieces) + 1  # + </s>
        return total, n

    def perplexity(self, text: str) -> float | None:
        total, n = self.log_score(text)
        return round(10.0 ** (-total / n), 1) if n else None


def model_paths(models_dir: str | Path, lang: str) -> tuple[Path, Path]:
    return (models_path(models_dir, "perplexity", f"{lang}.sp.model"),
            models_path(models_dir, "perplexity", f"{lang}.arpa.bin"))


class PerplexityScorer(Configured, Stage):
    """Score ``ppl`` (KenLM perplexity) for documents of ``languages``; drop
    those above ``max_perplexity[lang]`` with reason ``high_perplexity``.

    models_dir      where ``make scorers`` put the models (relative: from
                    the repository root)
    languages       languages that have a model; others pass unscored
    max_perplexity  per-language drop threshold; a language not in it is
                    scored but never dropped
    """

    name = "perplexity"
    score_columns: ClassVar[tuple[str, ...]] = ("ppl",)

    def __init__(self, *, models_dir: str, languages: Sequence[str], max_perplexity: Mapping[str, float]):
        self.max_perplexity = dict(max_perplexity)
        self.models = {}
        for lang in languages:
            sp_path, lm_path = model_paths(models_dir, lang)
            self.models[lang] = PerplexityModel(require(sp_path, f"SentencePiece ({lang})"),
                                                require(lm_path, f"KenLM ({lang})"))

    def __call__(self, doc: Document) -> str | None:
        model = self.models.get(doc.lang)
        if model is None:
            return None
        ppl = model.perplexity(doc.text)
        if ppl is None:
            return None
        doc.scores["ppl"] = ppl
        limit = self.max_perplexity.get(doc.lang)
        if limit is not None and ppl > limit:
            return "high_perplexity"
        return None


# --------------------------------------------------------------- buckets --
BUCKETS = ("head", "middle", "tail")


def bucket_cutoffs(ppl_by_lang: Mapping[str, Iterable[float]],
                   percentiles: tuple[float, float] = (30.0, 60.0)) -> dict[str, tuple[float, float]]:
    """cc_net's buckets: per language, (head_max, middle_max) = the given
    percentiles of its perplexities (head: the ``percentiles[0]`` % lowest).
    Nulls are ignored; a language with no value gets no cut-offs."""
    import numpy as np

    out = {}
    for lang, values in sorted(ppl_by_lang.items()):
        arr = np.array([v for v in values if v is not None and not math.isnan(v)], dtype=float)
        if arr.size:
            lo, hi = np.percentile(arr, percentiles)
            out[lang] = (float(lo), float(hi))
    return out


def bucket_of(ppl: float | None, cutoffs: tuple[float, float] | None) -> str | None:
    """"head" | "middle" | "tail" for one perplexity (None if unscored)."""
    if ppl is None or cutoffs is None:
        return None
    if ppl <= cutoffs[0]:
        return "head"
    return "middle" if ppl <= cutoffs[1] else "tail"


def perplexity_report(ppl_by_lang: Mapping[str, Sequence[float]], cutoffs: Mapping[str, tuple[float, float]],
                      examples: Mapping[str, Mapping[str, Sequence[str]]], out_dir: str | Path,
                      max_example_chars: int = 300) -> list[Path]:
    """Write ``perplexity_<lang>.png`` (histogram, log x axis, cut-offs as
    lines) for each language and ``perplexity_examples.md`` (examples per
    bucket: ``examples[lang][bucket]`` = texts). Returns the files written."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    import numpy as np

    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    written = []
    for lang, values in sorted(ppl_by_lang.items()):
        arr = np.array([v for v in values if v is not None and v > 0], dtype=float)
        if not arr.size:
            continue
        fig, ax = plt.subplots(figsize=(7, 3.5))
        bins = np.logspace(np.log10(arr.min()), np.log10(arr.max()) + 1e-9, 50)
        ax.hist(arr, bins=bins, color="#4878a8")
        ax.set_xscale("log")
        for cut, label, y in zip(cutoffs.get(lang, ()), ("head | middle", "middle | tail"), (0.9, 0.7)):
            ax.axvline(cut, color="#c03030", ls="--")
            ax.text(cut, ax.get_ylim()[1] * y, f" {label}\n {cut:.0f}", color="#c03030", fontsize=8,
                    backgroundcolor="white")
        ax.set_xlabel("KenLM perplexity (log scale)")
        ax.set_ylabel("documents")
        ax.set_title(f"{lang}: perplexity of {arr.size} documents")
        fig.tight_layout()
        path = out_dir / f"perplexity_{lang}.png"
        fig.savefig(path, dpi=100)
        plt.close(fig)
        written.append(path)
    md = ["# Perplexity buckets (cc_net head / middle / tail)", ""]
    for lang in sorted(examples):
        cut = cutoffs.get(lang)
        if cut:
            md.append(f"## {lang}: head <= {cut[0]:.1f} < middle <= {cut[1]:.1f} < tail")
        for bucket in BUCKETS:
            md.append(f"### {lang} / {bucket}")
            for text in examples[lang].get(bucket, []):
                md.append("- " + " ".join(text[:max_example_chars].split()))
            md.append("")
    path = out_dir / "perplexity_examples.md"
    path.write_text("\n".join(md), encoding="utf-8")
    written.append(path)
    return written


# -------------------------------------------------------------- training --
def train_perplexity(texts: Sequence[str], lang: str, models_dir: str | Path, kenlm_bin: str | Path,
                     vocab_size: int = 8000, order: int = 5, memory: str = "1G") -> tuple[Path, Path]:
    """Train the SentencePiece + KenLM models of ``lang`` on ``texts``
    (deterministic: single-threaded SentencePiece, input in given order)."""
    import sentencepiece as spm

    kenlm_bin = Path(kenlm_bin)
    if not kenlm_bin.is_absolute():
        kenlm_bin = models_path(".", str(kenlm_bin))
    lmplz, build_binary = kenlm_bin / "lmplz", kenlm_bin / "build_binary"
    for tool in (lmplz, build_binary):
        if not tool.is_file():
            raise FileNotFoundError(f"{tool} not found: run `make kenlm` (or `make scorers`) to build KenLM's tools")
    sp_path, lm_path = model_paths(models_dir, lang)
    sp_path.parent.mkdir(parents=True, exist_ok=True)
    lines = [n for t in texts for n in (normalize_line(x) for x in t.split("\n")) if n]
    with tempfile.TemporaryDirectory() as tmp:
        # From an iterator into memory: the model then stores no file paths
        # (a path would make the bytes differ from one run to the next).
        buf = io.BytesIO()
        spm.SentencePieceTrainer.train(
            sentence_iterator=iter(lines), model_writer=buf, vocab_size=vocab_size,
            model_type="unigram", character_coverage=0.9995 if lang == "zh" else 1.0,
            hard_vocab_limit=False, num_threads=1, shuffle_input_sentence=False,
            input_sentence_size=0, minloglevel=2, seed_sentencepiece_size=200_000)
        sp_path.write_bytes(buf.getvalue())
        sp = spm.SentencePieceProcessor(model_file=str(sp_path))
        tok = Path(tmp) / "tok.txt"
        tok.write_text("\n".join(" ".join(sp.encode(x, out_type=str)) for x in lines) + "\n", encoding="utf-8")
        arpa = Path(tmp) / "lm.arpa"
        with open(tok, "rb") as fin, open(arpa, "wb") as fout:
            subprocess.run([str(lmplz), "-o", str(order), "-S", memory, "-T", tmp, "--discount_fallback"],
                           stdin=fin, stdout=fout, stderr=subprocess.PIPE, check=True)
        subprocess.run([str(build_binary), str(arpa), str(lm_path)], stdout=subprocess.PIPE,
                       stderr=subprocess.PIPE, check=True)
    return sp_path, lm_path
