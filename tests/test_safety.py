"""Safety: the shipped lexicon and a fastText classifier trained on real text
labelled by it; per-category scores, flag, drop with unsafe:<category>."""
import pytest

from pipeline.document import Document
from pipeline.safety import (CATEGORIES, SafetyScorer, evaluate_safety, info_path, load_info, load_lexicon,
                             read_lexicon, train_safety, weak_labels)
from pipeline.scorer_models import SAMPLE_DIR, ModelMissing, crawl_docs, reference_docs, split_of


@pytest.fixture(scope="module")
def docs():
    crawl = list(crawl_docs(SAMPLE_DIR / "parquet")) + list(crawl_docs(SAMPLE_DIR / "jsonl" / "web-mixed.jsonl.gz"))
    return crawl + reference_docs("en") + reference_docs("zh")


@pytest.fixture(scope="module")
def models(tmp_path_factory, docs):
    out = tmp_path_factory.mktemp("safety")
    train_safety([d for d in docs if split_of(d["id"], 0.2) == "train"], out)
    return out


def test_lexicon_is_shipped_and_well_formed():
    terms = read_lexicon()
    cats = {c for c, _ in terms.values()}
    assert cats == set(CATEGORIES)
    for lang_sample in ("casino", "赌场"):
        assert lang_sample in terms
    for c in CATEGORIES:
        assert sum(1 for cat, _ in terms.values() if cat == c) >= 20, c


def test_lexicon_matches_whole_words_and_chinese_substrings():
    lex = load_lexicon("data/lexicon")
    assert lex.weights("Online  Casino tonight")["gambling"] == 3 + 2  # phrase + word, any spacing/case
    assert lex.weights("pokerface skills")["gambling"] == 0  # not inside a word
    assert lex.weights("欢迎来到网上赌场，百家乐")["gambling"] > 5
    assert weak_labels("The history of chess openings.", lex) == ["safe"]


def test_real_spam_is_dropped_real_articles_kept(models, docs):
    scorer = SafetyScorer.from_config(models_dir=str(models), threshold=dict.fromkeys(CATEGORIES, 0.5))
    spam = [d for d in docs if d["source"] == "web" and ("casino" in d["text"] or "彩票平台" in d["text"])]
    assert len(spam) >= 5
    dropped = 0
    for d in spam:
        doc = Document(id=d["id"], text=d["text"])
        reason = scorer(doc)
        assert set(doc.scores) == {f"safety_{c}" for c in CATEGORIES} | {"safety_flag"}
        if reason:
            assert reason == "unsafe:gambling" and doc.scores["safety_flag"] == 1.0
            dropped += 1
    assert dropped >= len(spam) * 0.8, (dropped, len(spam))
    for lang in ("en", "zh"):
        for d in reference_docs(lang)[:20]:
            doc = Document(id=d["id"], text=d["text"])
            assert scorer(doc) is None and doc.scores["safety_flag"] == 0.0, (d["id"], doc.scores)


def test_classifier_learns_the_weak_labels(models, docs):
    held = [d for d in docs if split_of(d["id"], 0.2) == "test"]
    ev = evaluate_safety(models, held)
    at05 = next(r for r in ev["gambling"] if r["threshold"] == 0.5)
    assert at05["tp"] + at05["fn"] >= 3 and at05["recall"] >= 0.6 and at05["precision"] >= 0.6, at05


def test_threshold_config_and_missing_model(models, tmp_path):
    with pytest.raises(ValueError, match="unknown safety categories"):
        SafetyScorer.from_config(models_dir=str(models), threshold={"spam": 0.5})
    with pytest.raises(ModelMissing, match="make scorers"):
        SafetyScorer.from_config(models_dir=str(tmp_path))
    info = load_info(str(info_path(models)))
    assert "gambling" in info["classifier_categories"]  # the sample's casino spam
    assert "violence" not in info["classifier_categories"], info  # too few weak positives: lexicon only
