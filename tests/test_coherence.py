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
    # An article glued to quotations: most in English. Chinese: issue #12
    # traded recall for false splits (threshold set so ~1% of clean documents
    # get a boundary; bench/coherence.py finds 26% of glued dev zh pairs of
    # 600+ chars each): 2 of these 5 with the committed reference, 1 once
    # data/reference/zh-manuals.jsonl.gz (being added) changes the IDF.
    assert len(articles) == 5 and found >= {"en": 3, "zh": 1}[lang], (found, len(articles))


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

    # the first held-out article whose junction with quotations is found
    text = next(t for t in (glue(a, fortunes("en", 40))[0] for a in held_out("en"))
                if scorer.breaks(t, "en")[1])
    batch = pa.RecordBatch.from_pydict({"id": ["g"], "text": [text], "lang": ["en"]})
    out = run_batch(batch, [scorer], output_schema(batch.schema, [CoherenceScorer]))
    types = {c: out.schema.field(c).type for c in CoherenceScorer.score_columns}
    assert types == {"coh_min_sim": pa.float64(), "coh_mean_sim": pa.float64(),
                     "coh_breaks": pa.int64(), "coh_split_char": pa.int64()}
    row = out.to_pylist()[0]
    assert type(row["coh_breaks"]) is int and row["coh_breaks"] >= 1
    assert type(row["coh_split_char"]) is int and 0 < row["coh_split_char"] < len(text)


# ------------------------------------------------ issue #12: false splits --
def sample_zh(origins):
    return [d["text"] for d in crawl_docs(SAMPLE_DIR) if d["lang"] == "zh" and d["origin"] in origins]


def test_clean_chinese_documents_are_not_split(scorer):
    """Real multi-paragraph Chinese documents of data/sample (Debian
    reference sections with their tables, man pages): a table border or a
    short item shares no words with its neighbour (similarity 0.0, what a
    glued junction gets), so only breaks with enough text on both sides may
    be judged. Before issue #12 about a quarter of judged zh sample
    documents were split (bench/coherence.py: 40/168)."""
    judged = split = 0
    for text in sample_zh({"debian-reference-zh-cn", "manpages-zh"}):
        found = scorer.breaks(text, "zh")
        if found and found[0]:
            judged += 1
            split += bool(found[1])
    assert judged >= 20 and split / judged <= 0.025, (split, judged)


def test_chinese_poem_with_stanzas_is_not_split(scorer):
    """Classical poems (Shijing) of several stanzas: stanzas share few
    character bigrams, which is no evidence of a glued page."""
    poems = [t for t in sample_zh({"fortunes-zh"}) if t.startswith("《詩經") and t.count("\n\n") >= 3]
    assert len(poems) >= 5
    for text in poems:
        doc = Document(id="v", text=text, lang="zh")
        assert scorer(doc) is None and split_document(doc, scorer) == [text], (text[:60], doc.scores)
