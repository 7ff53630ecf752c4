"""KenLM perplexity: trained on the shipped reference text, scores reference-
like text lower than crawl junk, deterministic, runs in the Spark cascade."""
import hashlib
from pathlib import Path

import pyarrow as pa
import pytest

from pipeline.document import Document
from pipeline.perplexity import (PerplexityScorer, bucket_cutoffs, bucket_of, model_paths, perplexity_report,
                                 train_perplexity)
from pipeline.scorer_models import ModelMissing, SAMPLE_DIR, crawl_docs, reference_docs, split_of

KENLM_BIN = Path(__file__).resolve().parent.parent / "tools" / "kenlm" / "bin"


@pytest.fixture(scope="module")
def models(tmp_path_factory):
    out = tmp_path_factory.mktemp("ppl")
    for lang in ("en", "zh"):
        texts = [d["text"] for d in reference_docs(lang) if split_of(d["id"], 0.2) == "train"]
        train_perplexity(texts, lang, out, KENLM_BIN)
    return out


def test_reference_scores_lower_than_junk(models):
    scorer = PerplexityScorer.from_config(models_dir=str(models))
    for lang in ("en", "zh"):
        held = [d for d in reference_docs(lang) if split_of(d["id"], 0.2) == "test"][:10]
        junk = [d for d in crawl_docs(SAMPLE_DIR / "jsonl" / "web-mixed.jsonl.gz")
                if d["lang"] is not None and d["source"] == "web"]
        ref_ppl = sorted(scorer.models[lang].perplexity(d["text"]) for d in held)
        spam = [d for d in junk if ("casino" in d["text"] or "网赚" in d["text"])]
        assert spam, "the sample has keyword spam pages"
        spam_ppl = [scorer.models[lang].perplexity(d["text"]) for d in spam if (lang == "zh") == ("网赚" in d["text"])]
        median_ref = ref_ppl[len(ref_ppl) // 2]
        assert spam_ppl and min(spam_ppl) > median_ref, (lang, median_ref, spam_ppl[:5])


def test_threshold_drops_and_unknown_language_passes(models):
    scorer = PerplexityScorer.from_config(models_dir=str(models), max_perplexity={"en": 400.0})
    doc = Document(id="a", text="payday loans, cheap insurance, bitcoin doubler, replica watches, free iphone", lang="en")
    assert scorer(doc) == "high_perplexity" and doc.scores["ppl"] > 400
    fr = Document(id="b", text="Le chat est sur la table.", lang="fr")
    assert scorer(fr) is None and "ppl" not in fr.scores


def test_training_is_deterministic(models, tmp_path):
    texts = [d["text"] for d in reference_docs("zh") if split_of(d["id"], 0.2) == "train"]
    train_perplexity(texts, "zh", tmp_path, KENLM_BIN)
    for a, b in zip(model_paths(models, "zh"), model_paths(tmp_path, "zh")):
        assert hashlib.sha256(a.read_bytes()).digest() == hashlib.sha256(b.read_bytes()).digest(), a.name


def test_missing_model_says_how_to_train(tmp_path):
    with pytest.raises(ModelMissing, match="make scorers"):
        PerplexityScorer.from_config(models_dir=str(tmp_path))


def test_buckets_and_report(models, tmp_path):
    values = {"en": [float(v) for v in range(1, 101)], "zh": [5.0, None, 7.0]}
    cuts = bucket_cutoffs(values)
    assert cuts["en"] == pytest.approx((30.7, 60.4))
    assert [bucket_of(v, cuts["en"]) for v in (10, 50, 90)] == ["head", "middle", "tail"]
    assert bucket_of(None, cuts["en"]) is None
    files = perplexity_report(values, cuts, {"en": {"head": ["a good text"], "tail": ["junk junk"]}}, tmp_path)
    assert (tmp_path / "perplexity_en.png").stat().st_size > 5000
    assert "junk junk" in (tmp_path / "perplexity_examples.md").read_text()
    assert len(files) == 3


@pytest.mark.slow
def test_runs_in_spark_cascade(spark, models):
    """The stage inside mapInArrow on real Spark workers: same scores as locally."""
    from pyspark.sql.pandas.types import from_arrow_schema

    from pipeline.cascade import output_schema, run_batch

    rows = [{"id": d["id"], "text": d["text"], "lang": lang} for lang in ("en", "zh") for d in reference_docs(lang)[:6]]
    table = pa.Table.from_pylist(rows)
    schema = output_schema(table.schema, [PerplexityScorer])
    models_dir = str(models)

    def score(batches):
        stages = [PerplexityScorer.from_config(models_dir=models_dir)]
        for b in batches:
            yield run_batch(b, stages, schema)

    out = spark.createDataFrame(table.to_pandas()).repartition(2).mapInArrow(score, from_arrow_schema(schema)).toPandas()
    local = PerplexityScorer.from_config(models_dir=models_dir)
    expect = {r["id"]: local.models[r["lang"]].perplexity(r["text"]) for r in rows}
    assert len(out) == len(rows) and set(out["decision"]) == {"kept"}
    assert {r.id: r.ppl for r in out.itertuples()} == expect
