"""The "Wikipedia-like" quality classifier: trained on shipped reference text
vs crawl text, it separates held-out documents, and is deterministic."""
import hashlib

import pytest

from pipeline.document import Document
from pipeline.quality import QualityClassifier, evaluate_quality, model_path, train_quality
from pipeline.scorer_models import REFERENCE_SOURCES, SAMPLE_DIR, ModelMissing, crawl_docs, reference_docs, split_of

CRAWL_FILES = [SAMPLE_DIR / "parquet", SAMPLE_DIR / "jsonl" / "web-mixed.jsonl.gz"]


def split(docs, part):
    return [d for d in docs if split_of(d["id"], 0.2) == part]


@pytest.fixture(scope="module")
def data():
    crawl = [d for f in CRAWL_FILES for d in crawl_docs(f) if d["source"] not in REFERENCE_SOURCES]
    return {lang: (reference_docs(lang), [d for d in crawl if d["lang"] == lang]) for lang in ("en", "zh")}


@pytest.fixture(scope="module")
def models(tmp_path_factory, data):
    out = tmp_path_factory.mktemp("quality")
    for lang, (pos, neg) in data.items():
        train_quality(split(pos, "train"), split(neg, "train"), lang, out)
    return out


@pytest.mark.parametrize("lang,min_precision,min_recall", [("en", 0.8, 0.8), ("zh", 0.7, 0.7)])
def test_held_out_precision_recall(models, data, lang, min_precision, min_recall):
    pos, neg = data[lang]
    ev = evaluate_quality(model_path(models, lang), split(pos, "test"), split(neg, "test"))
    at05 = next(r for r in ev["pr"] if r["threshold"] == 0.5)
    assert at05["tp"] + at05["fn"] > 10
    assert at05["precision"] >= min_precision and at05["recall"] >= min_recall, at05


def test_stage_scores_and_drops(models, data):
    clf = QualityClassifier.from_config(models_dir=str(models), min_score={"en": 0.5})
    wiki = Document(id="w", text=split(data["en"][0], "test")[0]["text"], lang="en")
    spam = Document(id="s", text="payday loans, cheap insurance, bitcoin doubler, replica watches, "
                                 "free iphone, online casino, cheap flights, weight loss pills", lang="en")
    assert clf(wiki) is None and wiki.scores["quality"] > 0.5
    assert clf(spam) == "low_quality" and spam.scores["quality"] < 0.5
    other = Document(id="o", text="Das ist ein Satz.", lang="de")
    assert clf(other) is None and not other.scores


def test_deterministic_and_missing_model(models, data, tmp_path):
    pos, neg = data["zh"]
    train_quality(split(pos, "train"), split(neg, "train"), "zh", tmp_path)
    assert hashlib.sha256(model_path(tmp_path, "zh").read_bytes()).digest() == \
        hashlib.sha256(model_path(models, "zh").read_bytes()).digest()
    with pytest.raises(ModelMissing, match="make scorers"):
        QualityClassifier.from_config(models_dir=str(tmp_path / "none"))
