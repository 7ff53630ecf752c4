"""The cascade runner: stage order, reasons, quarantine of failures, schema."""
import json

import pyarrow as pa
import pytest

from pipeline.cascade import output_schema, run_batch
from pipeline.config import load_config
from pipeline.document import Quarantine, Stage


class MinLength(Stage):
    name = "minlen"
    score_columns = ("n_chars", "share")
    integer_scores = ("n_chars",)

    def __call__(self, doc):
        doc.scores["n_chars"] = len(doc.text)
        doc.scores["share"] = 1
        return "too_short" if len(doc.text) < 10 else None


class Shout(Stage):
    name = "shout"

    def __call__(self, doc):
        if "\x00" in doc.text:
            raise Quarantine("nul_byte")
        if "boom" in doc.text:
            raise RuntimeError("bug")
        doc.text = doc.text.upper()
        doc.add_edit("upper")
        return None


def batch(texts, decisions=None):
    n = len(texts)
    return pa.RecordBatch.from_pydict({
        "id": [f"d{i}" for i in range(n)], "text": texts, "extra": list(range(n)),
        "decision": decisions or ["kept"] * n, "stage": [""] * n, "reason": [None] * n,
    })


def test_run_batch_decides_in_order_and_keeps_columns():
    b = batch(["short", "a long enough text", "with \x00 inside text", "this will boom", "already out"],
              decisions=["kept"] * 4 + ["quarantined"])
    stages = [MinLength(), Shout()]
    out = run_batch(b, stages, output_schema(b.schema, [MinLength, Shout])).to_pydict()
    assert out["decision"] == ["rejected", "kept", "quarantined", "quarantined", "quarantined"]
    assert out["stage"][:4] == ["minlen", "", "shout", "shout"]
    assert out["reason"][0] == "too_short" and out["reason"][2] == "nul_byte"
    assert out["reason"][3].startswith("error:RuntimeError")
    assert out["text"][1] == "A LONG ENOUGH TEXT"
    assert json.loads(out["edits"][1]) == {"upper": 1}
    assert out["n_chars"][:2] == [5, 18] and out["n_chars"][4] is None
    assert type(out["n_chars"][0]) is int and out["share"][:2] == [1.0, 1.0] and type(out["share"][0]) is float
    assert out["extra"] == [0, 1, 2, 3, 4]


def test_config_sections_and_overrides(tmp_path):
    cfg = load_config()
    assert cfg.get("cascade.stages")[0] == "langid"
    f = tmp_path / "my.toml"
    f.write_text('[output]\nshard_docs = 7\n')
    cfg2 = load_config(f)
    assert cfg2.section("output")["shard_docs"] == 7
    assert cfg2.section("output")["compression"] == "zstd"
    with pytest.raises(FileNotFoundError):
        load_config(tmp_path / "missing.toml")


def test_integer_scores_must_be_score_columns():
    class Bad(Stage):
        name = "bad"
        score_columns = ("a",)
        integer_scores = ("b",)

        def __call__(self, doc):
            return None

    with pytest.raises(ValueError, match="integer_scores"):
        output_schema(pa.schema([("id", pa.string()), ("text", pa.string())]), [Bad])


@pytest.mark.slow
def test_count_columns_are_integers_in_a_real_build(spark, tmp_path):
    """jobs/filter.py with every default stage on a slice of the sample: in
    the ledger and the corpus, the whole-number scores are int64 and every
    other score stays float64."""
    import gzip
    from pathlib import Path

    import pyarrow.parquet as pq

    from jobs import filter as corpus_build
    from pipeline.cascade import score_columns, stage_class

    sample = Path(__file__).resolve().parent.parent / "data" / "sample" / "jsonl"
    lines = []
    for name, n in (("wikipedia-en.jsonl.gz", 120), ("fortunes-zh.jsonl.gz", 60), ("web-mixed.jsonl.gz", 60)):
        with gzip.open(sample / name, "rt", encoding="utf-8") as fh:
            lines += [line for _, line in zip(range(n), fh)]
    (tmp_path / "in").mkdir()
    (tmp_path / "in" / "slice.jsonl").write_text("".join(lines), encoding="utf-8")
    out = tmp_path / "out"
    assert corpus_build.main(["--input", str(tmp_path / "in"), "--output", str(out)]) == 0
    cfg = load_config()
    names = list(cfg.get("cascade.stages")) + list(cfg.get("cascade.post_dedup_stages"))
    ints = {"h_n_words", "h_n_stop_words", "coh_breaks", "coh_split_char", "ppl_long_tokens"}
    for part in ("ledger", "corpus"):
        schema = pq.read_schema(next((out / part).rglob("*.parquet")))
        for c in score_columns([stage_class(n) for n in names]):
            assert schema.field(c).type == (pa.int64() if c in ints else pa.float64()), (part, c)
    ledger = pq.read_table(out / "ledger", columns=["h_n_words", "decision"]).to_pydict()
    assert any(v is not None and v > 0 for v in ledger["h_n_words"])


# ------------------------------------------ rules judge form, scores content --
# Real stages and the real models of `make scorers` (models/): the shipped
# heuristics and KenLM perplexity; real text (tests/real_text.py: Debian
# Reference paragraphs).
from real_text import EN_PARAGRAPHS  # noqa: E402

from pipeline.cascade import RescuePolicy, build_stages, judge  # noqa: E402
from pipeline.document import Document  # noqa: E402

NO_DROP = {"max_perplexity": {"en": False, "zh": False}, "salad_max_gain": {"en": False, "zh": False},
           "salad_min_perplexity": {"en": False, "zh": False}}


def form_stages():
    from pipeline.heuristics import TextMetricFilter
    from pipeline.perplexity import PerplexityScorer

    return [TextMetricFilter.from_config(), PerplexityScorer.from_config(**NO_DROP)]


def verse_layout(text: str, words_per_line: int = 5) -> str:
    """Prose set out as verse or subtitles: a few words a line, no
    punctuation at the line ends (the words and their order are the text's)."""
    words = text.replace(".", "").replace(",", "").split()
    return "\n".join(" ".join(words[i:i + words_per_line]) for i in range(0, len(words), words_per_line))


POLICY = RescuePolicy(reasons=["heuristics:too_many_short_lines", "heuristics:too_few_punct_lines"],
                      min_score={"ppl_gain": {"en": 0.2}}, max_score={"ppl": {"en": 600.0}})


def test_form_rule_rejection_is_rescued_by_confident_scores():
    stages = form_stages()
    text = verse_layout(" ".join(EN_PARAGRAPHS[2:5]))
    without = Document(id="v", text=text, lang="en")
    decision, stage, reason = judge(without, stages)
    assert (decision, stage) == ("rejected", "heuristics") and reason in ("too_many_short_lines", "too_few_punct_lines")
    doc = Document(id="v", text=text, lang="en")
    assert judge(doc, stages, POLICY) == ("kept", "", None), doc.scores
    assert doc.edits == {f"rescued:heuristics:{reason}": 1}
    assert doc.scores["ppl"] <= 600 and doc.scores["ppl_gain"] >= 0.2
    # run_batch with the policy: the ledger row is kept, the rule's reason in edits
    b = batch([text, "x"])
    b = b.append_column("lang", pa.array(["en", "en"]))
    schema = output_schema(b.schema, [type(s) for s in stages])
    out = run_batch(b, stages, schema, rescue=POLICY).to_pydict()
    assert out["decision"] == ["kept", "rejected"] and out["reason"] == [None, "too_short"]
    assert json.loads(out["edits"][0]) == {f"rescued:heuristics:{reason}": 1}


def test_unconfident_scores_leave_the_rule_rejection_as_it_was():
    import random

    stages = form_stages()
    words = " ".join(EN_PARAGRAPHS[2:5]).replace(".", "").replace(",", "").split()
    random.Random(1).shuffle(words)
    salad = verse_layout(" ".join(words))
    doc = Document(id="s", text=salad, lang="en")
    decision, stage, reason = judge(doc, stages, POLICY)
    assert (decision, stage) == ("rejected", "heuristics") and reason in POLICY_REASONS
    assert doc.edits == {} and doc.scores["ppl_gain"] < 0.2  # scored, not rescued: the ledger says why


POLICY_REASONS = ("too_many_short_lines", "too_few_punct_lines")


def test_rescue_never_applies_to_language_length_garbled_or_safety():
    for item in ("heuristics:too_short", "heuristics:too_long", "heuristics:garbled", "langid:lang_low_confidence",
                 "safety:unsafe:porn", "perplexity:high_perplexity", "heuristics"):
        with pytest.raises(ValueError):
            RescuePolicy(reasons=[item], min_score={}, max_score={"ppl": {"en": 1e9}})
    # a confident document rejected as too short stays rejected
    stages = form_stages()
    short = Document(id="t", text=EN_PARAGRAPHS[5][:120], lang="en")
    generous = RescuePolicy(reasons=["heuristics:too_many_short_lines"], min_score={}, max_score={"ppl": {"en": 1e9}})
    assert judge(short, stages, generous)[:3] == ("rejected", "heuristics", "too_short")
    assert short.edits == {}
    # a language without bounds is never confident
    zh = Document(id="z", text=verse_layout(" ".join(EN_PARAGRAPHS[2:5])), lang="zh")
    assert judge(zh, [stages[0]], generous)[0] == "rejected"


def test_rescue_policy_comes_from_config(tmp_path):
    cfg = load_config()
    sec = cfg.section("cascade.rescue")
    assert sec["reasons"] and all(":" in r for r in sec["reasons"])
    bounds = {**sec.get("min_score", {}), **sec.get("max_score", {})}.values()
    # en has bounds; zh none (dev: no keep-labelled zh page fails a rescuable
    # rule, 50 drop-labelled do): a zh page is never rescued
    assert any("en" in per for per in bounds) and not any("zh" in per for per in bounds)
    stages = build_stages(["heuristics", "perplexity"], cfg)
    assert stages.rescue is not None and stages.rescue.rescuable("heuristics", "too_many_short_lines")
    # the length rules alone (split parts) write no score the policy reads: no rescue
    assert build_stages(["heuristics"], cfg).rescue is None
    f = tmp_path / "off.toml"
    f.write_text("[cascade.rescue]\nreasons = []\n")
    assert build_stages(["heuristics", "perplexity"], load_config(f)).rescue is None
    f.write_text('[cascade.rescue]\nreasons = ["heuristics:too_short"]\n')
    with pytest.raises(ValueError, match="cannot be rescued"):
        build_stages(["heuristics", "perplexity"], load_config(f))
