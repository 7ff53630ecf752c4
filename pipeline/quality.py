"""The "Wikipedia-like" quality classifier (Yi §2.1 "quality scorer"; the
CCNet/LLaMA reference classifier, Touvron et al. 2023).

A fastText model per language tells reference text (Wikipedia for English,
the best offline Chinese prose for Chinese: positives) from random crawl text
(the shipped sample, without the copies of the reference sources: negatives).
The stage writes ``quality`` = P(reference-like) and drops documents below
``min_score[lang]`` with reason ``low_quality``.

Training (``train_quality``) is seeded and single-threaded, so the same data
gives the same model bytes; documents are split by a hash of their id, and
the held-out split gives precision/recall at several thresholds
(``evaluate_quality``).
"""
from __future__ import annotations

import tempfile
from pathlib import Path
from typing import ClassVar, Mapping, Sequence

from pipeline.config import Configured
from pipeline.document import Document, Stage
from pipeline.scorer_models import cached, fasttext_line, models_path, paragraph_chunks, require

POSITIVE, NEGATIVE = "__label__ref", "__label__crawl"


def model_path(models_dir: str | Path, lang: str) -> Path:
    return models_path(models_dir, "quality", f"{lang}.bin")


def load_fasttext(path: str):
    import fasttext

    fasttext.FastText.eprint = lambda *a, **k: None  # silence the load-time warning
    return fasttext.load_model(path)


def positive_probability(model, line: str, positive: str = POSITIVE) -> float:
    labels, probs = model.predict(line, k=-1, threshold=0.0)
    for lab, p in zip(labels, probs):
        if lab == positive:
            return min(1.0, float(p))
    return 0.0


class QualityClassifier(Configured, Stage):
    """Score ``quality`` (P(reference-like), fastText) for documents of
    ``languages``; drop those below ``min_score[lang]`` (``low_quality``).

    models_dir  where ``make scorers`` put the models
    languages   languages that have a model; others pass unscored
    min_score   per-language drop threshold; absent = never dropped
    max_tokens  tokens of the document the classifier reads (its head)
    """

    name = "quality"
    score_columns: ClassVar[tuple[str, ...]] = ("quality",)

    def __init__(self, *, models_dir: str, languages: Sequence[str], min_score: Mapping[str, float],
                 max_tokens: int):
        self.min_score = dict(min_score)
        self.max_tokens = max_tokens
        self.models = {lang: cached("fasttext", require(model_path(models_dir, lang), f"quality ({lang})"), load_fasttext)
                       for lang in languages}

    def score(self, text: str, lang: str) -> float | None:
        model = self.models.get(lang)
        if model is None:
            return None
        line = fasttext_line(text, self.max_tokens)
        return round(positive_probability(model, line), 4) if line else None

    def __call__(self, doc: Document) -> str | None:
        q = self.score(doc.text, doc.lang)
        if q is None:
            return None
        doc.scores["quality"] = q
        limit = self.min_score.get(doc.lang)
        if limit is not None and q < limit:
            return "low_quality"
        return None


# -------------------------------------------------------------- training --
def _train_in_this_process(train_file: str, out: str, kwargs: dict, tries: int) -> None:
    import fasttext

    seed = kwargs.pop("seed")
    for attempt in range(tries):
        try:
            model = fasttext.train_supervised(input=train_file, seed=seed + attempt, **kwargs)
            break
        except RuntimeError as e:
            if "NaN" not in str(e) or attempt == tries - 1:
                raise
    model.save_model(out)


def train_fasttext(lines: Sequence[str], out: Path, *, epoch: int = 25, lr: float = 0.1,
                   word_ngrams: int = 2, dim: int = 16, loss: str = "softmax", seed: int = 20240304,
                   tries: int = 5) -> Path:
    """Train a supervised fastText model on labelled lines (``__label__x text``),
    seeded and on one thread, and save it.

    fastText 0.10 is deterministic only in a fresh process (a second
    training in the same process gives other weights), so it trains in a
    spawned child. It sometimes stops on small data with "Encountered NaN";
    then the next seed is tried (still deterministic)."""
    import multiprocessing

    out.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.NamedTemporaryFile("w", suffix=".txt", encoding="utf-8", delete=False) as fh:
        fh.write("\n".join(lines) + "\n")
        train_file = fh.name
    kwargs = dict(epoch=epoch, lr=lr, wordNgrams=word_ngrams, dim=dim, loss=loss, minCount=1, bucket=100_000,
                  thread=1, verbose=0, seed=seed)
    try:
        child = multiprocessing.get_context("spawn").Process(
            target=_train_in_this_process, args=(train_file, str(out), kwargs, tries))
        child.start()
        child.join()
        if child.exitcode != 0:
            raise RuntimeError(f"fastText training of {out.name} failed (exit code {child.exitcode}; see above)")
    finally:
        Path(train_file).unlink()
    return out


def quality_examples(positives: Sequence[dict], negatives: Sequence[dict],
                     chunk_chars: int = 3000) -> list[tuple[str, str, str]]:
    """(label, fastText line, text) for every example. Reference documents
    are few and long: each is cut into chunks of paragraphs of at most
    ``chunk_chars`` (the size of a web page), one example each."""
    out = []
    for label, docs in ((POSITIVE, positives), (NEGATIVE, negatives)):
        for d in docs:
            for text in (paragraph_chunks(d["text"], chunk_chars) if label == POSITIVE else [d["text"]]):
                line = fasttext_line(text)
                if line:
                    out.append((label, line, text))
    return out


def train_quality(positives: Sequence[dict], negatives: Sequence[dict], lang: str, models_dir: str | Path) -> Path:
    """Train the quality model of ``lang`` on reference (positive) and crawl
    (negative) documents."""
    lines = [f"{label} {line}" for label, line, _ in quality_examples(positives, negatives)]
    return train_fasttext(lines, model_path(models_dir, lang))


def evaluate_quality(model_file: Path, positives: Sequence[dict], negatives: Sequence[dict],
                     thresholds: Sequence[float] = (0.1, 0.3, 0.5, 0.7, 0.9)) -> dict:
    """Precision/recall of "reference-like" at each threshold on held-out
    documents, and the scored documents (for examples per decile)."""
    model = load_fasttext(str(model_file))
    scored = [(positive_probability(model, line), label == POSITIVE, d)
              for label, line, d in quality_examples(positives, negatives)]
    return {"pr": precision_recall([(s, y) for s, y, _ in scored], thresholds), "scored": scored}


def precision_recall(scored: Sequence[tuple[float, bool]], thresholds: Sequence[float]) -> list[dict]:
    """Precision and recall of ``score >= t`` against the boolean labels."""
    rows = []
    n_pos = sum(1 for _, y in scored if y)
    for t in thresholds:
        tp = sum(1 for s, y in scored if s >= t and y)
        fp = sum(1 for s, y in scored if s >= t and not y)
        rows.append({"threshold": t, "precision": tp / (tp + fp) if tp + fp else 1.0,
                     "recall": tp / n_pos if n_pos else 0.0, "tp": tp, "fp": fp, "fn": n_pos - tp})
    return rows
