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

    def measures(self, text: str, long_line_tokens: int) -> dict[str, float | int | None]:
        """What the stage writes (None where there is nothing to measure):

        ppl              perplexity over every line (cc_net's; the buckets)
        ppl_gain         context gain: mean log10 probability of a
                         word-initial token under the 5-gram minus under the
                         model's unigrams (KenLM's probability from an empty
                         context), over every line: how much the word order
                         helps the model. Real text gains (0.3-0.6 on
                         reference text); word salad (real words in random
                         order) gains nothing or less, even when its words are
                         common, which perplexity alone cannot tell from
                         rare-word prose. Word-initial: a SentencePiece piece
                         that starts a word (or </s>, or any non-ASCII piece):
                         the pieces inside a word are predictable in salad too.
        ppl_long, ppl_long_gain, ppl_long_tokens
                         the same over lines of at least ``long_line_tokens``
                         pieces only (prose lines), and their token count: an
                         n-gram verdict on short lines (verse, dialog turns,
                         menus) rests on a few tokens after <s> and is not
                         confident.
        """
        import kenlm

        null, out = kenlm.State(), kenlm.State()
        self.lm.NullContextWrite(null)
        base = self.lm.BaseScore
        # [all lines, long lines]: sum log10 p, tokens, sum gain, gain tokens
        acc = [[0.0, 0, 0.0, 0], [0.0, 0, 0.0, 0]]
        for line in text.split("\n"):
            pieces = self.tokenize(line)
            if not pieces:
                continue
            parts = (acc[0], acc[1]) if len(pieces) >= long_line_tokens else (acc[0],)
            for (lp, _, _), w in zip(self.lm.full_scores(" ".join(pieces), bos=True, eos=True), pieces + ["</s>"]):
                initial = w[0] == "\u2581" or w == "</s>" or not w.isascii()
                g = lp - base(null, w, out) if initial else 0.0
                for a in parts:
                    a[0] += lp
                    a[1] += 1
                    if initial:
                        a[2] += g
                        a[3] += 1

        def ppl(a):
            return round(10.0 ** (-a[0] / a[1]), 1) if a[1] else None

        def gain(a):
            return round(a[2] / a[3], 4) if a[3] else None

        return {"ppl": ppl(acc[0]), "ppl_gain": gain(acc[0]), "ppl_long": ppl(acc[1]),
                "ppl_long_gain": gain(acc[1]), "ppl_long_tokens": acc[1][1]}


    def order_gain(self, text: str, long_line_tokens: int, lang: str, shuffles: int = 2) -> float | None:
        """``ppl_long_order``: on prose lines, the mean log10 probability per
        token of the line minus that of the same line with its words in
        random order (mean of ``shuffles`` orders; words: jieba words, HMM on,
        punctuation included, for Chinese; whitespace words otherwise; the
        random order is seeded by the line, so the value is deterministic),
        weighted by the line's tokens. Each document is its own baseline: real
        text loses probability when its words are shuffled, word salad
        (already a random order of its words) loses nothing, however rare
        its words are to the model; where the model knows a script poorly
        (traditional characters, a small zh reference) the context gain
        ``ppl_long_gain`` cannot tell salad from prose, this can."""
        import random
        import zlib

        if lang == "zh":
            import rjieba

            cut, sep = (lambda x: list(rjieba.cut(x, True))), ""
        else:
            cut, sep = (lambda x: x.split()), " "
        diff, n = 0.0, 0
        for line in text.split("\n"):
            pieces = self.tokenize(line)
            if len(pieces) < long_line_tokens:
                continue
            own = self.lm.score(" ".join(pieces), bos=True, eos=True) / (len(pieces) + 1)
            words, rng, other = cut(line), random.Random(zlib.crc32(line.encode("utf-8"))), 0.0
            for _ in range(shuffles):
                rng.shuffle(words)
                p = self.tokenize(sep.join(words))
                other += self.lm.score(" ".join(p), bos=True, eos=True) / (len(p) + 1)
            diff += (own - other / shuffles) * (len(pieces) + 1)
            n += len(pieces) + 1
        return round(diff / n, 4) if n else None


def thresholds_path(models_dir: str | Path) -> Path:
    """Per-language thresholds calibrated by ``make scorers`` (``calibrate``)."""
    return models_path(models_dir, "perplexity", "thresholds.json")


def load_thresholds(path: str) -> dict:
    import json

    return json.loads(Path(path).read_text(encoding="utf-8"))


def write_thresholds(models_dir: str | Path, per_lang: Mapping[str, dict]) -> Path:
    import json

    path = thresholds_path(models_dir)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps({"languages": dict(per_lang)}, indent=1, sort_keys=True) + "\n", encoding="utf-8")
    return path


def model_paths(models_dir: str | Path, lang: str) -> tuple[Path, Path]:
    return (models_path(models_dir, "perplexity", f"{lang}.sp.model"),
            models_path(models_dir, "perplexity", f"{lang}.arpa.bin"))


class PerplexityScorer(Configured, Stage):
    """Score ``ppl`` and the other measures of ``PerplexityModel.measures``
    for documents of ``languages``, and drop

      high_perplexity  ``ppl`` above ``max_perplexity[lang]``
      word_salad       at least ``salad_min_tokens`` tokens on prose lines,
                       and there ``ppl_long_gain`` below ``salad_max_gain[lang]``
                       or ``ppl_long`` above ``salad_min_perplexity[lang]``:
                       real words whose order the 5-gram finds absurd;
                       or ``ppl_long_order`` (``order_gain``) below
                       ``salad_max_order[lang]``: an order no more probable
                       than a random order of the same words

    models_dir            where ``make scorers`` put the models (relative:
                          from the repository root)
    languages             languages that have a model; others pass unscored
    max_perplexity, salad_max_gain, salad_min_perplexity, salad_max_order
                          per-language thresholds; a language missing from
                          one takes the value calibrated by ``make scorers``
                          (models/perplexity/thresholds.json, ``calibrate``);
                          ``false`` for a language switches that test off
    long_line_tokens      pieces that make a line a prose line
    salad_min_tokens_lang per-language ``salad_min_tokens`` (a language left
                          out takes ``salad_min_tokens``)
    salad_min_tokens      fewer prose-line tokens: never called word salad
    """

    name = "perplexity"
    score_columns: ClassVar[tuple[str, ...]] = ("ppl", "ppl_gain", "ppl_long", "ppl_long_gain", "ppl_long_tokens",
                                                "ppl_long_order")
    integer_scores: ClassVar[tuple[str, ...]] = ("ppl_long_tokens",)
    THRESHOLDS = ("max_perplexity", "salad_max_gain", "salad_min_perplexity", "salad_max_order")

    def __init__(self, *, models_dir: str, languages: Sequence[str], max_perplexity: Mapping[str, float],
                 salad_max_gain: Mapping[str, float], salad_min_perplexity: Mapping[str, float],
                 salad_max_order: Mapping[str, float], long_line_tokens: int, salad_min_tokens: int,
                 salad_min_tokens_lang: Mapping[str, int] | None = None):
        self.models = {}
        for lang in languages:
            sp_path, lm_path = model_paths(models_dir, lang)
            self.models[lang] = PerplexityModel(require(sp_path, f"SentencePiece ({lang})"),
                                                require(lm_path, f"KenLM ({lang})"))
        given = {"max_perplexity": dict(max_perplexity), "salad_max_gain": dict(salad_max_gain),
                 "salad_min_perplexity": dict(salad_min_perplexity), "salad_max_order": dict(salad_max_order)}
        calibrated: dict = {}
        if any(lang not in given[k] for k in self.THRESHOLDS for lang in languages):
            calibrated = cached("ppl-thresholds", require(thresholds_path(models_dir), "perplexity thresholds"),
                                load_thresholds)["languages"]
        # threshold name -> lang -> value (None: that test is off)
        self.thresholds: dict[str, dict[str, float | None]] = {}
        for k in self.THRESHOLDS:
            per = {}
            for lang in languages:
                v = given[k][lang] if lang in given[k] else calibrated.get(lang, {}).get(k)
                if v is None and lang not in given[k]:
                    raise ValueError(f"no {k} for {lang!r} in [perplexity] nor in {thresholds_path(models_dir)}: "
                                     "run `make scorers`")
                per[lang] = None if v is False else float(v)
            self.thresholds[k] = per
        self.long_line_tokens, self.salad_min_tokens = long_line_tokens, salad_min_tokens
        self.salad_min_tokens_lang = {k: int(v) for k, v in (salad_min_tokens_lang or {}).items()}

    def __call__(self, doc: Document) -> str | None:
        model = self.models.get(doc.lang)
        if model is None:
            return None
        m = model.measures(doc.text, self.long_line_tokens)
        if m["ppl"] is None:
            return None
        doc.scores.update({k: v for k, v in m.items() if v is not None})
        t = {k: v[doc.lang] for k, v in self.thresholds.items()}
        if t["max_perplexity"] is not None and m["ppl"] > t["max_perplexity"]:
            return "high_perplexity"
        if m["ppl_long_tokens"] < self.salad_min_tokens_lang.get(doc.lang, self.salad_min_tokens):
            return None
        if ((t["salad_max_gain"] is not None and m["ppl_long_gain"] < t["salad_max_gain"])
                or (t["salad_min_perplexity"] is not None and m["ppl_long"] > t["salad_min_perplexity"])):
            return "word_salad"
        if t["salad_max_order"] is not None:
            order = model.order_gain(doc.text, self.long_line_tokens, doc.lang)
            doc.scores["ppl_long_order"] = order
            if order < t["salad_max_order"]:
                return "word_salad"
        return None


def word_salad(text: str, lang: str, rng) -> str:
    """The words of ``text`` in random order, each line keeping its number
    of words (Chinese: jieba words, joined without spaces): what a spammer's
    generator or a broken extractor produces; used to calibrate."""
    if lang == "zh":
        from pipeline.words import chinese_words

        lines = [chinese_words(x) for x in text.split("\n") if x.strip()]
        sep = ""
    else:
        lines = [x.split() for x in text.split("\n") if x.strip()]
        sep = " "
    words = [w for line in lines for w in line]
    rng.shuffle(words)
    out, i = [], 0
    for line in lines:
        out.append(sep.join(words[i:i + len(line)]))
        i += len(line)
    return "\n".join(out)


# Calibration (``calibrate``): documented here, figures in thresholds.json.
CALIBRATION = {
    "chunk_chars": 2000,       # held-out reference cut into page-sized chunks
    "clean_percentile": 1.0,   # the clean side: 1st percentile of gain, 99th of perplexity
    "salad_percentile": 99.0,  # the salad side: 99th percentile of gain, 1st of perplexity
    "max_perplexity_factor": 5.0,  # high_perplexity: this x the 99th percentile of clean ppl
    # Where a word-salad threshold lies in the gap between the two sides,
    # from the salad side (0: at the salad percentile; 0.5: halfway, log
    # scale for perplexity). Reference chunks are cleaner than real pages:
    # bench/scorers.py --eval dev, en: halfway (0.064) cut keep-labelled
    # pages (gain down to 0.010); a quarter (-0.020) keeps them all and still
    # drops every word salad (gain -0.23 .. -0.09).
    "gap_share": 0.25,
}


def calibrate(model: PerplexityModel, texts: Sequence[str], lang: str, long_line_tokens: int,
              min_tokens: int, seed: int = 0) -> dict:
    """Thresholds of one language from held-out reference ``texts`` (never
    trained on): each is cut into chunks (``CALIBRATION``), each chunk is
    measured as is (clean) and as word salad of its own words. The word-salad
    thresholds lie in the gap between the clean and the salad side (gain: the
    1st percentile of clean vs the 99th of salad; perplexity: the 99th of
    clean vs the 1st of salad), ``gap_share`` of the way from the salad side,
    or ``False`` (the test is off) when the two sides overlap; ``max_perplexity`` is a
    multiple of the clean 99th percentile (text far from any reference).
    Returns the thresholds and the figures they came from."""
    import random

    import numpy as np

    from pipeline.scorer_models import paragraph_chunks

    rng = random.Random(seed)
    clean, salad = [], []
    for t in texts:
        for chunk in paragraph_chunks(t, CALIBRATION["chunk_chars"]):
            c = model.measures(chunk, long_line_tokens)
            salad_text = word_salad(chunk, lang, rng)
            s = model.measures(salad_text, long_line_tokens)
            if c["ppl_long_tokens"] >= min_tokens and s["ppl_long_tokens"] >= min_tokens:
                c["order"] = model.order_gain(chunk, long_line_tokens, lang)
                s["order"] = model.order_gain(salad_text, long_line_tokens, lang)
                clean.append(c)
                salad.append(s)
    if len(clean) < 20:
        raise ValueError(f"{lang}: {len(clean)} held-out reference chunks with {min_tokens}+ prose tokens; "
                         "need 20 to calibrate")
    lo, hi = CALIBRATION["clean_percentile"], CALIBRATION["salad_percentile"]
    pct = lambda rows, key, q: float(np.percentile([r[key] for r in rows], q))  # noqa: E731
    clean_gain, salad_gain = pct(clean, "ppl_long_gain", lo), pct(salad, "ppl_long_gain", hi)
    clean_ppl, salad_ppl = pct(clean, "ppl_long", 100 - lo), pct(salad, "ppl_long", 100 - hi)
    clean_ppl_all = pct(clean, "ppl", 99.0)
    clean_order, salad_order = pct(clean, "order", lo), pct(salad, "order", hi)
    share = CALIBRATION["gap_share"]
    # A test whose two sides overlap on held-out text would drop clean text: off.
    return {
        "max_perplexity": round(CALIBRATION["max_perplexity_factor"] * clean_ppl_all, 1),
        "salad_max_gain": round(salad_gain + share * (clean_gain - salad_gain), 4)
        if clean_gain > salad_gain else False,
        "salad_min_perplexity": round(salad_ppl * (clean_ppl / salad_ppl) ** share, 1)
        if clean_ppl < salad_ppl else False,
        "salad_max_order": round(salad_order + share * (clean_order - salad_order), 4)
        if clean_order > salad_order else False,
        "figures": {f"clean_order_p{lo:g}": round(clean_order, 4), f"salad_order_p{hi:g}": round(salad_order, 4),"chunks": len(clean), f"clean_gain_p{lo:g}": round(clean_gain, 4),
                    f"salad_gain_p{hi:g}": round(salad_gain, 4), f"clean_ppl_long_p{100 - lo:g}": round(clean_ppl, 1),
                    f"salad_ppl_long_p{100 - hi:g}": round(salad_ppl, 1), "clean_ppl_p99": round(clean_ppl_all, 1),
                    **CALIBRATION},
    }


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
