"""Coherence: real documents glued from unrelated sources get a boundary at
the junction (kept with a split point, or dropped when they are a pile of
snippets); real coherent documents do not."""
import pytest

from pipeline.coherence import CoherenceScorer, glue, load_model, split_document, train_coherence
from pipeline.document import Document
from pipeline.scorer_models import SAMPLE_DIR, ModelMissing, crawl_docs, reference_docs, split_of


@pytest.fixture(scope="module")
def scorer(tmp_path_factory):
    out = tmp_path_factory.mktemp("coherence")
    for lang in ("en", "zh"):
        train_coherence([d["text"] for d in reference_docs(lang) if split_of(d["id"], 0.2) == "train"], lang, out)
    return CoherenceScorer.from_config(models_dir=str(out))


def held_out(lang):
    return [d["text"] for d in reference_docs(lang) if split_of(d["id"], 0.2) == "test"]


def fortunes(lang, n):
    """Real crawl-sample texts of another kind: fortunes / classical Chinese."""
    src = {"en": "fortunes", "zh": "fortunes-zh"}[lang]
    docs = [d["text"] for d in crawl_docs(SAMPLE_DIR / "parquet") if d["source"] == src and len(d["text"]) > 60]
    return "\n".join(docs[:n])


def test_coherent_documents_are_kept_and_rarely_split(scorer):
    """Held-out reference documents: none dropped; few get a (false) break:
    the threshold lets 1% of real paragraph breaks through, and a long
    document has many."""
    judged, broken = 0, 0
    for lang in ("en", "zh"):
        for text in held_out(lang):
            doc = Document(id="c", text=text, lang=lang)
            assert scorer(doc) is None, (lang, doc.scores)
            if doc.scores:
                judged += 1
                broken += doc.scores["coh_breaks"] > 0
    assert judged >= 15 and broken / judged <= 0.15, (broken, judged)


@pytest.mark.parametrize("lang,n", [("en", 12), ("zh", 12)])
def test_article_glued_to_unrelated_text_is_split_at_the_junction(scorer, lang, n):
    found = 0
    window = scorer.models[lang][2]  # the resolution of a break
    articles = [t for t in held_out(lang) if len(t) > 1500][:5]
    for article in articles:
        text, at = glue(article[:3000], fortunes(lang, n))
        doc = Document(id="g", text=text, lang=lang)
        assert scorer(doc) is None  # kept, to be split
        cuts = [off for off, _ in scorer.breaks(text, lang)[1]]
        assert len(cuts) == doc.scores["coh_breaks"]
        if any(abs(off - at) < window for off in cuts):
            found += 1
            parts = split_document(doc, scorer)
            assert len(parts) == len(cuts) + 1 and article[:200] in parts[0]
    # calibration: ~60% of junctions of two reference documents are caught
    # (models/report/scorers.md); an article glued to quotations, most
    assert len(articles) == 5 and found >= 3, (found, len(articles))


def test_pile_of_unrelated_snippets_is_dropped(scorer):
    en = [t for t in held_out("en") if len(t) > 1500]
    pieces = [en[0][:1500], fortunes("en", 10), en[1][:1500], fortunes("zh", 0) or "", en[2][:1500]]
    crawl = [d["text"] for d in crawl_docs(SAMPLE_DIR / "jsonl" / "web-mixed.jsonl.gz") if d["source"] == "web"]
    pieces[3] = "\n".join(t for t in crawl if t.isascii())[:1500]
    text = "\n".join(pieces)
    doc = Document(id="p", text=text, lang="en")
    assert scorer(doc) == "incoherent", doc.scores


def test_short_and_unknown_language_pass_unscored(scorer, tmp_path):
    for doc in (Document(id="s", text="One short paragraph.", lang="en"), Document(id="f", text="x\n" * 500, lang="fr")):
        assert scorer(doc) is None and not doc.scores
    with pytest.raises(ModelMissing, match="make scorers"):
        CoherenceScorer.from_config(models_dir=str(tmp_path))


def test_training_is_deterministic(tmp_path):
    texts = held_out("zh")
    a = train_coherence(texts, "zh", tmp_path / "a")
    b = train_coherence(texts, "zh", tmp_path / "b")
    assert a.read_bytes() == b.read_bytes()
    assert 0 < load_model(str(a))["threshold"] < 1


def test_break_counts_are_integer_columns(scorer):
    """coh_breaks (a count) and coh_split_char (a character offset) are int64
    in the cascade's Arrow output; the similarities float64."""
    import pyarrow as pa

    from pipeline.cascade import output_schema, run_batch

    text, _ = glue(held_out("en")[0], fortunes("en", 40))
    batch = pa.RecordBatch.from_pydict({"id": ["g"], "text": [text], "lang": ["en"]})
    out = run_batch(batch, [scorer], output_schema(batch.schema, [CoherenceScorer]))
    types = {c: out.schema.field(c).type for c in CoherenceScorer.score_columns}
    assert types == {"coh_min_sim": pa.float64(), "coh_mean_sim": pa.float64(),
                     "coh_breaks": pa.int64(), "coh_split_char": pa.int64()}
    row = out.to_pylist()[0]
    assert type(row["coh_breaks"]) is int and row["coh_breaks"] >= 1
    assert type(row["coh_split_char"]) is int and 0 < row["coh_split_char"] < len(text)
