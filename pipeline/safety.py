"""Safety scorer (Yi §2.1 "safety": pornography, gambling, violence, hate),
for English and Chinese; runs after dedup.

Two signals per category:
  lexicon     the shipped weighted lexicon (data/lexicon/, SOURCES.md there):
              weighted hits per 1000 characters (a short page counts as
              ``min_chars`` long), squashed to [0, 1): 1 - exp(-density / scale)
  classifier  a fastText one-vs-all model trained on real text weakly
              labelled by the lexicon (``train_safety``): it also scores
              pages that use other words of the same topics
The score of a category is the larger of the two; the classifier is used
only for categories with at least ``min_positives`` weak positives in its
training data (recorded in ``safety.json`` beside the model): with fewer,
its probabilities are noise and the lexicon alone scores. ``safety_<category>`` is
written for all four; ``safety_flag`` is 1.0 when any category reaches its
threshold, and the document is dropped with reason ``unsafe:<category>``
(the highest-scoring category over its threshold).
"""
from __future__ import annotations

import json
import math
import re
from pathlib import Path
from typing import ClassVar, Iterable, Mapping, Sequence

from pipeline.config import REPO_ROOT, Configured
from pipeline.document import Document, Stage
from pipeline.scorer_models import cached, fasttext_line, models_path, require

CATEGORIES = ("porn", "gambling", "violence", "hate")
SAFE = "safe"
DEFAULT_LEXICON_DIR = "data/lexicon"


def read_lexicon(lexicon_dir: str | Path = DEFAULT_LEXICON_DIR) -> dict[str, tuple[str, int]]:
    """term (lower case, single spaces) -> (category, weight), from every
    ``safety_*.tsv`` of the directory."""
    base = Path(lexicon_dir)
    if not base.is_absolute():
        base = REPO_ROOT / base
    files = sorted(base.glob("safety_*.tsv"))
    if not files:
        raise FileNotFoundError(f"no safety_*.tsv lexicon in {base}")
    terms = {}
    for f in files:
        for n, line in enumerate(f.read_text(encoding="utf-8").splitlines(), 1):
            if not line.strip() or line.startswith("#"):
                continue
            parts = line.split("\t")
            if len(parts) != 3 or parts[1] not in CATEGORIES or not parts[2].isdigit():
                raise ValueError(f"{f}:{n}: expected term<TAB>category<TAB>weight with category in {CATEGORIES}")
            terms[" ".join(parts[0].lower().split())] = (parts[1], int(parts[2]))
    return terms


class Lexicon:
    """Weighted term matcher, case-insensitive: Latin-script terms match
    whole words (a phrase: consecutive words), CJK terms match substrings."""

    _WORD_RE = re.compile(r"\w+")

    def __init__(self, terms: Mapping[str, tuple[str, int]]):
        self.words = {tuple(t.split()): v for t, v in terms.items() if t.isascii()}
        self.substrings = sorted((t, v) for t, v in terms.items() if not t.isascii())
        self.max_words = max((len(k) for k in self.words), default=0)

    def weights(self, text: str) -> dict[str, int]:
        """Sum of the weights of the matches, per category."""
        out = dict.fromkeys(CATEGORIES, 0)
        low = text.lower()
        toks = self._WORD_RE.findall(low) if low.isascii() else [w for w in self._WORD_RE.findall(low) if w.isascii()]
        for n in range(1, self.max_words + 1):
            for i in range(len(toks) - n + 1):
                hit = self.words.get(tuple(toks[i:i + n]))
                if hit:
                    out[hit[0]] += hit[1]
        for term, (cat, w) in self.substrings:
            k = low.count(term)
            if k:
                out[cat] += k * w
        return out

    def scores(self, text: str, min_chars: int = 500, scale: float = 10.0) -> dict[str, float]:
        """Per category: 1 - exp(-(weight per 1000 chars) / scale)."""
        length = max(len(text), min_chars)
        return {c: 1.0 - math.exp(-(w * 1000.0 / length) / scale) for c, w in self.weights(text).items()}


def load_lexicon(lexicon_dir: str) -> Lexicon:
    return Lexicon(read_lexicon(lexicon_dir))


def model_path(models_dir: str | Path) -> Path:
    return models_path(models_dir, "safety", "safety.bin")


def info_path(models_dir: str | Path) -> Path:
    """JSON beside the model: weak positives per category, and the
    categories with enough of them for the classifier to be used."""
    return models_path(models_dir, "safety", "safety.json")


def load_info(path: str) -> dict:
    return json.loads(Path(path).read_text(encoding="utf-8"))


def classifier_probabilities(model, line: str) -> dict[str, float]:
    labels, probs = model.predict(line, k=-1, threshold=0.0)
    out = dict.fromkeys(CATEGORIES, 0.0)
    for lab, p in zip(labels, probs):
        cat = lab.removeprefix("__label__")
        if cat in out:
            out[cat] = min(1.0, float(p))
    return out


class SafetyScorer(Configured, Stage):
    """Per-category safety scores (max of lexicon and classifier), a flag,
    and a drop at ``threshold[category]`` with reason ``unsafe:<category>``.

    models_dir    where ``make scorers`` put the classifier
    lexicon_dir   the weighted lexicon (shipped in data/lexicon)
    threshold     per-category drop threshold on the score
    min_chars     a shorter text counts as this long for the lexicon density
    scale         lexicon density (weight per 1000 chars) giving 1 - 1/e
    max_tokens    tokens of the document the classifier reads
    """

    name = "safety"
    score_columns: ClassVar[tuple[str, ...]] = tuple(f"safety_{c}" for c in CATEGORIES) + ("safety_flag",)

    def __init__(self, *, models_dir: str, lexicon_dir: str, threshold: Mapping[str, float], min_chars: int,
                 scale: float, max_tokens: int):
        self.threshold = dict(threshold)
        unknown = set(self.threshold) - set(CATEGORIES)
        if unknown:
            raise ValueError(f"unknown safety categories {sorted(unknown)}; known: {CATEGORIES}")
        missing = set(CATEGORIES) - set(self.threshold)
        if missing:
            raise ValueError(f"no threshold for safety categories {sorted(missing)}")
        self.min_chars, self.scale, self.max_tokens = min_chars, scale, max_tokens
        self.lexicon = cached("lexicon", Path(lexicon_dir), load_lexicon)
        from pipeline.quality import load_fasttext

        self.model = cached("fasttext", require(model_path(models_dir), "safety classifier"), load_fasttext)
        info = cached("safety-info", require(info_path(models_dir), "safety classifier info"), load_info)
        self.classifier_categories = tuple(info["classifier_categories"])

    def scores(self, text: str) -> dict[str, float]:
        lex = self.lexicon.scores(text, self.min_chars, self.scale)
        line = fasttext_line(text, self.max_tokens)
        clf = classifier_probabilities(self.model, line) if line else dict.fromkeys(CATEGORIES, 0.0)
        return {c: round(max(lex[c], clf[c]) if c in self.classifier_categories else lex[c], 4) for c in CATEGORIES}

    def __call__(self, doc: Document) -> str | None:
        scores = self.scores(doc.text)
        over = [(s, c) for c, s in scores.items() if s >= self.threshold[c]]
        for c, s in scores.items():
            doc.scores[f"safety_{c}"] = s
        doc.scores["safety_flag"] = 1.0 if over else 0.0
        if over:
            return f"unsafe:{max(over)[1]}"
        return None


# -------------------------------------------------------------- training --
def weak_labels(text: str, lexicon: Lexicon, positive: float = 0.5, min_chars: int = 500,
                scale: float = 10.0) -> list[str] | None:
    """Lexicon labels of a document: the categories scoring >= ``positive``;
    ``[safe]`` when no term matches at all; None (left out of training)
    when terms match but too weakly to call."""
    scores = lexicon.scores(text, min_chars, scale)
    cats = [c for c in CATEGORIES if scores[c] >= positive]
    if cats:
        return cats
    return [SAFE] if not any(scores.values()) else None


def safety_examples(docs: Iterable[dict], lexicon: Lexicon) -> list[tuple[list[str], str, str]]:
    """(labels, fastText line, text) of the weakly labelled documents."""
    out = []
    for d in docs:
        labels = weak_labels(d["text"], lexicon)
        line = fasttext_line(d["text"])
        if labels and line:
            out.append((labels, line, d["text"]))
    return out


def train_safety(docs: Sequence[dict], models_dir: str | Path, lexicon_dir: str = DEFAULT_LEXICON_DIR,
                 min_positives: int = 10) -> Path:
    """Train the one-vs-all fastText safety classifier on ``docs`` (real
    text) labelled by the lexicon; record which categories had at least
    ``min_positives`` weak positives (the classifier is used for those)."""
    from pipeline.quality import train_fasttext

    lexicon = load_lexicon(lexicon_dir)
    examples = safety_examples(docs, lexicon)
    lines = [" ".join(f"__label__{c}" for c in labels) + " " + line for labels, line, _ in examples]
    positives = {c: sum(1 for labels, _, _ in examples if c in labels) for c in CATEGORIES}
    path = train_fasttext(lines, model_path(models_dir), loss="ova")
    info = {"weak_positives": positives, "min_positives": min_positives,
            "classifier_categories": [c for c in CATEGORIES if positives[c] >= min_positives]}
    info_path(models_dir).write_text(json.dumps(info, indent=1, sort_keys=True) + "\n", encoding="utf-8")
    return path


def evaluate_safety(models_dir: str | Path, docs: Sequence[dict], lexicon_dir: str = DEFAULT_LEXICON_DIR,
                    thresholds: Sequence[float] = (0.3, 0.5, 0.7)) -> dict[str, list[dict]]:
    """Per category: precision/recall of the classifier alone against the
    lexicon's weak labels on held-out documents (how far it learned them)."""
    from pipeline.quality import load_fasttext, precision_recall

    lexicon = load_lexicon(lexicon_dir)
    model = load_fasttext(str(model_path(models_dir)))
    examples = safety_examples(docs, lexicon)
    probs = [(classifier_probabilities(model, line), labels) for labels, line, _ in examples]
    return {c: precision_recall([(p[c], c in labels) for p, labels in probs], thresholds) for c in CATEGORIES}
