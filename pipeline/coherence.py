"""Document coherence (Yi §2.1: "document coherence scorer" finds documents
whose parts do not belong together: unrelated pages glued together, spam
injected into an article).

At every paragraph break, the TF-IDF cosine of the text just before
(``context_chars``) and just after is the break's similarity; TF-IDF weights
are learned on the reference text of the language. A break is judged only
with enough evidence on both sides (``min_side_tokens`` tokens, a third of
``window_chars`` characters). Judged breaks whose similarity is below the
learned ``threshold`` (and lowest within ``window_chars``) are incoherent
boundaries. Decision:

  no incoherent boundary            keep
  1 .. max_breaks-1 boundaries      keep; ``coh_split_char`` = offset of the
                                    weakest boundary; ``split_document``
                                    cuts the text at every such boundary
                                    (each part then goes back through the
                                    length rules, in the job)
  >= max_breaks boundaries          drop, reason ``incoherent`` (a page of
                                    unrelated snippets)

Scores: ``coh_min_sim``, ``coh_mean_sim`` (over the breaks), ``coh_breaks``
(incoherent boundaries), ``coh_split_char``. Documents with no break that
has a third of a window on both sides are not scored (too short to judge).

Training (``train_coherence``) counts document frequencies on reference
chunks, then sets ``threshold`` so that 1% of the reference documents have
a judged break under it (a per-document rate: a long document has many
breaks, and one wrong break loses the whole document), and records how many
junctions of two different reference documents fall under it
(``calibration.glued_detected``).
"""
from __future__ import annotations

import gzip
import json
import math
import random
import re
from collections import Counter
from itertools import chain
from pathlib import Path
from typing import ClassVar, Sequence

from pipeline.config import Configured
from pipeline.document import Document, Stage
from pipeline.scorer_models import cached, models_path, paragraph_chunks, require
from pipeline.words import CJK_RANGES

_WORD_RE = re.compile(f"[^\\W\\d_{CJK_RANGES}]{{2,}}")
_CJK_RUN_RE = re.compile(f"[{CJK_RANGES}]+")


def coherence_tokens(text: str) -> list[str]:
    """Lower-cased words (2+ letters) and CJK character bigrams (a cheap,
    segmenter-free stand-in for Chinese words)."""
    text = text.lower()
    toks = _WORD_RE.findall(text)
    for run in _CJK_RUN_RE.findall(text):
        toks.extend(run[i:i + 2] for i in range(len(run) - 1)) if len(run) > 1 else toks.append(run)
    return toks


def model_path(models_dir: str | Path, lang: str) -> Path:
    return models_path(models_dir, "coherence", f"{lang}.json.gz")


def load_model(path: str) -> dict:
    with gzip.open(path, "rt", encoding="utf-8") as fh:
        return json.load(fh)


class TfIdf:
    """Sublinear TF-IDF vectors and their cosine; unseen tokens get the
    largest IDF (rare)."""

    def __init__(self, idf: dict[str, float], unseen_idf: float):
        self.idf, self.unseen = idf, unseen_idf

    def weights(self, counts: Counter) -> tuple[dict[str, float], float]:
        """Unnormalized weights (in ``counts``' order) and their L2 norm."""
        get, unseen, log_tf = self.idf.get, self.unseen, _LOG_TF
        vec = {t: (log_tf[c] if c < _N_LOG_TF else 1.0 + math.log(c)) * get(t, unseen) for t, c in counts.items()}
        return vec, math.sqrt(sum(v * v for v in vec.values())) or 1.0

    def vector(self, counts: Counter) -> dict[str, float]:
        vec, norm = self.weights(counts)
        return {t: v / norm for t, v in vec.items()}

    def cosine(self, a: Counter, b: Counter) -> float:
        """Dot product of the normalized vectors, summed in the order of the
        shorter one. Terms of tokens the longer one lacks are 0.0 and not
        added (all terms are >= 0, so the sum is the same float); the longer
        vector is never normalized whole."""
        (wa, na), (wb, nb) = self.weights(a), self.weights(b)
        if len(wa) > len(wb):
            (wa, na), (wb, nb) = (wb, nb), (wa, na)
        return sum(((v / na) * (wb[t] / nb) for t, v in wa.items() if t in wb), 0.0)


# 1 + ln(c) for the common small counts (the same floats as computing it).
_N_LOG_TF = 1024
_LOG_TF = [0.0] + [1.0 + math.log(c) for c in range(1, _N_LOG_TF)]


def paragraphs(text: str, min_para_chars: int) -> list[tuple[int, str]]:
    """(start offset, text) of paragraphs (lines), short lines merged into
    the next one so that a poem's lines or a list's items move together."""
    out, start, buf = [], None, ""
    pos = 0
    for line in text.split("\n"):
        if line.strip():
            if start is None:
                start = pos
            buf = f"{buf}\n{line}" if buf else line
            if len(buf) >= min_para_chars:
                out.append((start, buf))
                start, buf = None, ""
        pos += len(line) + 1
    if buf:
        if out:
            out[-1] = (out[-1][0], out[-1][1] + "\n" + buf)
        else:
            out.append((start, buf))
    return out


def break_similarities(text: str, tfidf: TfIdf, window_chars: int, min_side_chars: int,
                       min_para_chars: int, min_side_tokens: int = 0) -> list[tuple[int, float]]:
    """(offset, similarity) of every paragraph break with at least
    ``min_side_chars`` of text and ``min_side_tokens`` tokens (within
    ``window_chars``) on both sides: a break with less evidence on a side is
    not judged (a verse's stanza, a table's border, a one-line FAQ answer)."""
    paras = paragraphs(text, min_para_chars)
    toks = [coherence_tokens(p) for _, p in paras]
    lengths = [len(p) for _, p in paras]
    total = sum(lengths)
    out, before = [], 0
    for i in range(1, len(paras)):
        before += lengths[i - 1]
        if before < min_side_chars or total - before < min_side_chars:
            continue
        # Each window counts its paragraphs' tokens outwards from the break
        # (left: i-1, i-2, ...; right: i, i+1, ...), first-seen order.
        n, j = 0, i - 1
        while j >= 0 and n < window_chars:
            n += lengths[j]
            j -= 1
        left = Counter(chain.from_iterable(toks[k] for k in range(i - 1, j, -1)))
        n, j = 0, i
        while j < len(paras) and n < window_chars:
            n += lengths[j]
            j += 1
        right = Counter(chain.from_iterable(toks[i:j]))
        if min(sum(left.values()), sum(right.values())) < min_side_tokens:
            continue
        out.append((paras[i][0], tfidf.cosine(left, right)))
    return out


class CoherenceScorer(Configured, Stage):
    """Score adjacent-text similarity at paragraph breaks (TF-IDF cosine),
    mark incoherent boundaries, drop documents with ``max_breaks`` or more.

    models_dir      where ``make scorers`` put the models
    languages       languages that have a model; others pass unscored
    window_chars    per-language override of a break's resolution (absent:
                    the model's, set in training): boundaries are at least
                    this far apart, and a break needs a third of it on both
                    sides to be judged
    context_chars   per-language override of the text compared on each side
                    of a break (absent: the model's; older models:
                    ``CONTEXT_FACTOR`` windows)
    min_side_tokens a break needs this many tokens within the context on
                    both sides to be judged (absent: the model's)
    min_para_chars  shorter lines are merged with the next (poems, lists)
    max_breaks      this many incoherent boundaries or more: drop
    threshold       per-language override of the learned similarity
                    threshold (absent: the one stored with the model)

    Only confident breaks count: a wrong split costs a good document, a
    missed glued page costs little, so both sides must carry evidence
    (``min_side_tokens``) and the threshold is set so that about 1% of
    clean documents get a boundary (``train_coherence``; config overrides
    cite bench/coherence.py on dev data).
    """

    name = "coherence"
    score_columns: ClassVar[tuple[str, ...]] = ("coh_min_sim", "coh_mean_sim", "coh_breaks", "coh_split_char")
    integer_scores: ClassVar[tuple[str, ...]] = ("coh_breaks", "coh_split_char")

    def __init__(self, *, models_dir: str, languages: Sequence[str], min_para_chars: int, max_breaks: int,
                 window_chars: dict[str, int] | None = None, threshold: dict[str, float] | None = None,
                 context_chars: dict[str, int] | None = None, min_side_tokens: dict[str, int] | None = None):
        self.min_para_chars, self.max_breaks = min_para_chars, max_breaks
        # lang -> (tfidf, threshold, window (resolution), context, min side tokens)
        self.models: dict[str, tuple[TfIdf, float, int, int, int]] = {}
        for lang in languages:
            m = cached("coherence", require(model_path(models_dir, lang), f"coherence ({lang})"), load_model)
            window = (window_chars or {}).get(lang, m["window_chars"])
            self.models[lang] = (TfIdf(m["idf"], m["unseen_idf"]), (threshold or {}).get(lang, m["threshold"]),
                                 window,
                                 (context_chars or {}).get(lang, m.get("context_chars", CONTEXT_FACTOR * window)),
                                 (min_side_tokens or {}).get(lang, m.get("min_side_tokens", MIN_SIDE_TOKENS)))

    def breaks(self, text: str, lang: str | None) -> tuple[list[tuple[int, float]], list[tuple[int, float]]] | None:
        """(all judged breaks, incoherent boundaries sorted by offset), or
        None when the language has no model."""
        if lang not in self.models:
            return None
        tfidf, threshold, window, context, min_tokens = self.models[lang]
        sims = break_similarities(text, tfidf, context, window // 3, self.min_para_chars, min_tokens)
        chosen: list[tuple[int, float]] = []
        for off, sim in sorted(sims, key=lambda x: (x[1], x[0])):
            if sim >= threshold:
                break
            if all(abs(off - o) >= window for o, _ in chosen):
                chosen.append((off, sim))
        return sims, sorted(chosen)

    def __call__(self, doc: Document) -> str | None:
        found = self.breaks(doc.text, doc.lang)
        if not found or not found[0]:
            return None
        sims, bad = found
        values = [s for _, s in sims]
        doc.scores["coh_min_sim"] = round(min(values), 4)
        doc.scores["coh_mean_sim"] = round(sum(values) / len(values), 4)
        doc.scores["coh_breaks"] = len(bad)
        if bad:
            doc.scores["coh_split_char"] = min(bad, key=lambda x: (x[1], x[0]))[0]
        return "incoherent" if len(bad) >= self.max_breaks else None


def split_document(doc: Document, scorer: CoherenceScorer) -> list[str]:
    """The parts of ``doc.text`` cut at every incoherent boundary (one part,
    the whole text, when there is none). Engine-free: the job applies it to
    the documents whose ``coh_breaks`` > 0 and sends each part back through
    the length rules."""
    found = scorer.breaks(doc.text, doc.lang)
    if not found or not found[1]:
        return [doc.text]
    cuts = [0] + [off for off, _ in found[1]] + [len(doc.text)]
    return [doc.text[a:b].strip("\n") for a, b in zip(cuts, cuts[1:]) if doc.text[a:b].strip()]


# -------------------------------------------------------------- training --
def glue(a: str, b: str) -> tuple[str, int]:
    """``a`` then ``b`` as one document, and the offset where ``b`` starts."""
    return a + "\n" + b, len(a) + 1


def junction_samples(texts: Sequence[str], tfidf: TfIdf, seed: int, window_chars: int = 600,
                     min_side_chars: int = 200, min_para_chars: int = 80, context_chars: int | None = None,
                     min_side_tokens: int = 0) -> tuple[list[float], list[float]]:
    """Per document, the lowest similarity of its judged paragraph breaks
    (coherent: a document is split when this one falls under the threshold),
    and the similarity at the junction of two ``context_chars`` chunks of
    different documents (glued; junctions without enough evidence on a side
    are left out)."""
    context = context_chars or window_chars
    rng = random.Random(seed)
    coherent, glued = [], []
    chunks = [(i, c) for i, t in enumerate(texts) for c in paragraph_chunks(t, context)]
    for t in texts:
        sims = break_similarities(t, tfidf, context, min_side_chars, min_para_chars, min_side_tokens)
        if sims:
            coherent.append(min(s for _, s in sims))
    for k in range(len(chunks)):
        (i, a), (j, b) = chunks[k], chunks[rng.randrange(len(chunks))]
        if i == j:
            continue
        text, at = glue(a, b)
        for off, s in break_similarities(text, tfidf, context, min_side_chars, min_para_chars, min_side_tokens):
            if off == at:
                glued.append(s)
    return coherent, glued


def false_split_threshold(coherent: Sequence[float], max_false_split_rate: float) -> float:
    """The similarity below which only ``max_false_split_rate`` of the
    coherent documents have a break (a quantile of their lowest break
    similarities)."""
    ordered = sorted(coherent)
    return round(ordered[min(len(ordered) - 1, int(max_false_split_rate * len(ordered)))], 4)


# Characters compared on each side
# of a break: ~200 words of English; a Chinese character carries more, so
# half as many. This is the resolution of a break; the evidence compared is
# CONTEXT_FACTOR windows on each side, and a break is judged only with
# MIN_SIDE_TOKENS tokens on both sides (bench/coherence.py, dev: with the
# window alone and no token minimum, 11% of clean en and 24% of clean zh
# data/sample documents were split, zh verse and tables at similarity 0.0).
WINDOW_CHARS = {"en": 1200, "zh": 600}
CONTEXT_FACTOR = 4
MIN_SIDE_TOKENS = 100


def train_coherence(texts: Sequence[str], lang: str, models_dir: str | Path, seed: int = 20240304,
                    chunk_chars: int = 1000, min_df: int = 2, max_false_split_rate: float = 0.01) -> Path:
    """Learn IDF on ``chunk_chars`` chunks of the reference texts, then the
    similarity threshold under which only ``max_false_split_rate`` of the
    reference documents have a (judged) break; report how many glued
    junctions fall under it."""
    chunks = [c for t in texts for c in paragraph_chunks(t, chunk_chars)]
    df: Counter = Counter()
    for c in chunks:
        df.update(set(coherence_tokens(c)))
    n = len(chunks)
    idf = {t: round(math.log((1 + n) / (1 + d)) + 1.0, 4) for t, d in sorted(df.items()) if d >= min_df}
    unseen = round(math.log(1 + n) + 1.0, 4)
    window = WINDOW_CHARS.get(lang, 1000)
    context = CONTEXT_FACTOR * window
    coherent, glued = junction_samples(texts, TfIdf(idf, unseen), seed, window, window // 3,
                                       context_chars=context, min_side_tokens=MIN_SIDE_TOKENS)
    if not coherent or not glued:
        raise ValueError(f"coherence ({lang}): reference text too short to calibrate a threshold")
    threshold = false_split_threshold(coherent, max_false_split_rate)
    model = {"lang": lang, "idf": idf, "unseen_idf": unseen, "threshold": threshold, "window_chars": window,
             "context_chars": context, "min_side_tokens": MIN_SIDE_TOKENS,
             "calibration": {"coherent_documents": len(coherent), "glued_junctions": len(glued),
                             "false_split_rate": max_false_split_rate,
                             "glued_detected": round(sum(1 for g in glued if g < threshold) / len(glued), 4)}}
    path = model_path(models_dir, lang)
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "wb") as raw, gzip.GzipFile(fileobj=raw, mode="wb", mtime=0) as fh:
        fh.write(json.dumps(model, sort_keys=True, ensure_ascii=False).encode("utf-8"))
    return path
