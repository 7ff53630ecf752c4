"""Independent oracles for the scored stages and the cascade wiring (issue
#13, "tests that can fail"): every expected value here is hand-computed (the
arithmetic is in the comments) or computed by a plain re-implementation in
this file (KenLM and fastText called directly, TF-IDF cosine written out),
never by the code under test. Real models from models/ (`make scorers`);
tests/mutations/mutants_stages.toml lists the bugs each test catches."""
from __future__ import annotations

import gzip
import json
import math
import re
from collections import Counter
from pathlib import Path

import pyarrow as pa
import pytest

from pipeline.document import Document, Quarantine, Stage

REPO = Path(__file__).resolve().parent.parent
MODELS = REPO / "models"


# ------------------------------------------------------------- language ID --
@pytest.fixture(scope="module")
def lid():
    from pipeline.langid import LanguageID

    # two candidates: a small lingua detector; the script front end decides
    # every East Asian text below without it
    return LanguageID.from_config(candidates=["en", "zh"])


def test_langid_script_shares_at_their_bounds(lid):
    # 9 Han + 1 kana: kana = 1 >= kana_share 0.1 * 10 -> Japanese, score (1 + 9) / 10
    assert lid.identify("東京都新宿区西新宿の") == ("ja", 1.0)
    # 19 Han + 1 kana: 1 < 0.1 * 20 -> Chinese, score = Han share 19 / 20
    assert lid.identify("東京都新宿区西新宿東京都新宿区西新宿東の") == ("zh", 0.95)
    # 4 Hangul + 4 Hanja: Korean, score (4 + 4) / 8 (Hanja count for Korean)
    assert lid.identify("大韓民國 대한민국") == ("ko", 1.0)


def test_langid_cjk_characters_weigh_more_than_latin_letters(lid):
    # 11 Han and 39 Latin letters: 11 * 3.0 = 33 of 33 + 39 = 72 (0.46 >= 0.3):
    # the page is Chinese; unweighted it would be 11 / 50 = 0.22 (English)
    text = "数据库系统性能优化方法 PostgreSQL database tuning guide for experts"
    assert lid.identify(text) == ("zh", 1.0)


def test_langid_min_score_is_inclusive():
    from pipeline.langid import LanguageID

    strict = LanguageID.from_config(candidates=["en", "zh"], min_score=1.0)
    doc = Document(id="z", text="謝謝你的幫忙")  # all Han: score exactly 1.0
    assert strict(doc) is None and doc.lang == "zh" and doc.scores["lang_score"] == 1.0


def test_langid_default_keeps_chinese_and_english_only():
    from pipeline.langid import LanguageID

    stage = LanguageID.from_config()
    assert stage.keep == {"en", "zh"}
    doc = Document(id="z", text="臺灣位於東亞，東臨太平洋，西隔臺灣海峽與中國大陸相望。")
    assert stage(doc) is None and doc.lang == "zh"


EN_HEAD = ("The river flows through the valley and feeds the lakes below. Farmers along its banks have "
           "used the water for many centuries, and the towns grew where the crossings were easy. ")
DE_TAIL = ("Der Fluss fließt durch das Tal und speist die Seen darunter. Die Bauern an seinen Ufern "
           "nutzen das Wasser seit vielen Jahrhunderten, und die Städte wuchsen dort, wo man ihn "
           "leicht überqueren konnte. ")


def test_langid_reads_only_the_first_max_chars():
    from pipeline.langid import LanguageID

    assert len(EN_HEAD) >= 170
    stage = LanguageID.from_config(candidates=["de", "en", "zh"], script_frontend=False, max_chars=170)
    # 170 characters of English, then 20 times as much German: lingua reads the English only
    assert stage.identify(EN_HEAD + DE_TAIL * 20)[0] == "en"
    assert stage.identify(DE_TAIL * 20 + EN_HEAD)[0] == "de"


def test_langid_other_script_page_is_judged_without_its_latin_letters():
    from pipeline.langid import LanguageID

    # 39 Cyrillic letters of 118 (0.33 >= script_min_share 0.3): lingua reads
    # the Russian only, not the English command that is most of the letters
    text = ("Это руководство описывает установку системы. Run sudo apt-get install nginx and then restart "
            "the nginx service with systemctl restart nginx")
    stage = LanguageID.from_config(candidates=["en", "ru", "zh"])
    doc = Document(id="ru", text=text)
    assert stage(doc) == "lang_not_kept:ru"


def test_prose_lines_drops_prompts_and_symbol_heavy_lines():
    from pipeline.langid import prose_lines

    # "% make ..." starts with a prompt mark and has no code symbol ('%' is not one);
    # "x = a / b" has 2 symbols of 5 visible characters (>= 4%)
    text = "% make install all the things now please\nThe quick brown fox jumps.\nx = a / b"
    assert prose_lines(text) == "The quick brown fox jumps."
    assert prose_lines("$ ls\n# cd") == "$ ls\n# cd"  # every line code: the whole text


# -------------------------------------------------------------- perplexity --
@pytest.fixture(scope="module")
def kenlm_en():
    """The English SentencePiece and KenLM models, loaded directly."""
    import kenlm
    import sentencepiece as spm

    return (spm.SentencePieceProcessor(model_file=str(MODELS / "perplexity" / "en.sp.model")),
            kenlm.Model(str(MODELS / "perplexity" / "en.arpa.bin")))


PROSE = [
    "the old mill stood by the river for three hundred years and the people of the village brought "
    "their grain to it every autumn after the harvest was done",
    "when the railway came to the valley the mill lost its trade and the miller sold the stones "
    "to a farmer who used them to pave the floor of his barn",
]
SHORT = ["apple window seven", "blue stone running", "quiet garden paper"]


def reference_measures(sp, lm, text: str, long_line_tokens: int) -> dict:
    """cc_net's perplexity and the context gains, written out: per line
    (ASCII, lower case, no digits: normalization is a no-op) the pieces and
    </s>, log10 p of each from KenLM's full_scores; the gain of a
    word-initial piece (starts with U+2581, or </s>) is its 5-gram log10 p
    minus its unigram log10 p (the word scored alone, no <s>)."""
    acc = {"all": [0.0, 0, 0.0, 0], "long": [0.0, 0, 0.0, 0]}
    for line in text.split("\n"):
        pieces = sp.encode(line.strip(), out_type=str)
        if not pieces:
            continue
        groups = ["all", "long"] if len(pieces) >= long_line_tokens else ["all"]
        words = pieces + ["</s>"]
        lps = [lp for lp, _, _ in lm.full_scores(" ".join(pieces))]
        assert len(lps) == len(words)
        for w, lp in zip(words, lps):
            initial = w == "</s>" or w.startswith("\u2581")
            uni = lm.score("", bos=False, eos=True) if w == "</s>" else lm.score(w, bos=False, eos=False)
            for g in groups:
                acc[g][0] += lp
                acc[g][1] += 1
                if initial:
                    acc[g][2] += lp - uni
                    acc[g][3] += 1
    a, b = acc["all"], acc["long"]
    return {"ppl": round(10 ** (-a[0] / a[1]), 1), "ppl_gain": round(a[2] / a[3], 4),
            "ppl_long": round(10 ** (-b[0] / b[1]), 1) if b[1] else None,
            "ppl_long_gain": round(b[2] / b[3], 4) if b[3] else None, "ppl_long_tokens": b[1]}


def test_perplexity_matches_a_plain_kenlm_reference(kenlm_en):
    from pipeline.perplexity import PerplexityModel, model_paths

    sp, lm = kenlm_en
    model = PerplexityModel(*model_paths(MODELS, "en"))
    text = "\n".join([PROSE[0], SHORT[0], "", PROSE[1], SHORT[1]])
    n0 = len(sp.encode(PROSE[0], out_type=str))
    n1 = len(sp.encode(PROSE[1], out_type=str))
    assert n0 != n1 and max(len(sp.encode(s, out_type=str)) for s in SHORT) < min(n0, n1)
    # long_line_tokens exactly the pieces of the shorter prose line: both are prose lines
    bound = min(n0, n1)
    ref = reference_measures(sp, lm, text, bound)
    assert ref["ppl_long_tokens"] == n0 + n1 + 2  # both lines and their </s>
    assert model.measures(text, bound) == ref
    assert model.perplexity(text) == ref["ppl"]
    # one more piece needed: only the longer prose line counts
    ref2 = reference_measures(sp, lm, text, bound + 1)
    assert ref2["ppl_long_tokens"] == max(n0, n1) + 1
    assert model.measures(text, bound + 1) == ref2


def no_salad_tests(**kw):
    return {"salad_max_gain": {"en": False}, "salad_min_perplexity": {"en": False},
            "salad_max_order": {"en": False}, **kw}


def test_perplexity_limit_is_inclusive(kenlm_en):
    from pipeline.perplexity import PerplexityScorer

    text = "\n".join(PROSE)
    ppl = reference_measures(*kenlm_en, text, 30)["ppl"]
    at = PerplexityScorer.from_config(**no_salad_tests(max_perplexity={"en": ppl}))
    doc = Document(id="p", text=text, lang="en")
    assert at(doc) is None and doc.scores["ppl"] == ppl
    under = PerplexityScorer.from_config(**no_salad_tests(max_perplexity={"en": ppl - 0.1}))
    assert under(Document(id="p", text=text, lang="en")) == "high_perplexity"


def test_word_salad_gain_is_read_on_prose_lines_only(kenlm_en):
    """Prose lines with a high context gain, many short lines of unrelated
    words with a low one: the salad test reads the prose lines' gain
    (ppl_long_gain), not the whole document's (ppl_gain)."""
    from pipeline.perplexity import PerplexityScorer

    text = "\n".join(PROSE + SHORT * 6)
    ref = reference_measures(*kenlm_en, text, 30)
    assert ref["ppl_gain"] + 0.1 < ref["ppl_long_gain"], ref
    mid = (ref["ppl_gain"] + ref["ppl_long_gain"]) / 2
    base = dict(max_perplexity={"en": False}, salad_min_perplexity={"en": False}, salad_max_order={"en": False},
                salad_min_tokens_lang={"en": 0})
    assert PerplexityScorer.from_config(**base, salad_max_gain={"en": mid})(
        Document(id="s", text=text, lang="en")) is None
    assert PerplexityScorer.from_config(**base, salad_max_gain={"en": ref["ppl_long_gain"] + 0.01})(
        Document(id="s", text=text, lang="en")) == "word_salad"


def test_salad_min_tokens_per_language_overrides_the_default():
    from pipeline.perplexity import PerplexityScorer

    text = "\n".join(PROSE)  # two prose lines: a few dozen prose-line tokens
    # every prose page is "salad" under a gain bound of 10 once it has enough tokens
    kw = dict(max_perplexity={"en": False}, salad_max_gain={"en": 10.0}, salad_min_perplexity={"en": False},
              salad_max_order={"en": False})
    per_lang = PerplexityScorer.from_config(**kw, salad_min_tokens=10 ** 6, salad_min_tokens_lang={"en": 1})
    assert per_lang(Document(id="s", text=text, lang="en")) == "word_salad"
    default = PerplexityScorer.from_config(**kw, salad_min_tokens=1, salad_min_tokens_lang={"en": 10 ** 6})
    assert default(Document(id="s", text=text, lang="en")) is None


def test_normalize_line_by_hand():
    from pipeline.perplexity import normalize_line

    # strip, lower case, accent dropped, every digit 0, full-width punctuation to ASCII
    assert normalize_line("  Café 1999 \u201cHi\u201d\uff0cok\u3002 ") == 'cafe 0000 "hi",ok.'


def test_chinese_word_order_is_judged_on_jieba_words():
    """Real Chinese prose (Debian Reference, tests/real_text.py) with the
    default config: kept; its jieba words shuffled: word_salad. Cut on
    spaces instead, the prose has few "words" and its order gain falls under
    the bound (0.022 < 0.088): the clean page would be dropped."""
    import random

    from real_text import ZH_PARAGRAPHS

    from pipeline.perplexity import PerplexityScorer, word_salad

    scorer = PerplexityScorer.from_config()
    text = ZH_PARAGRAPHS[1]
    clean = Document(id="z", text=text, lang="zh")
    assert scorer(clean) is None and clean.scores["ppl_long_order"] >= scorer.thresholds["salad_max_order"]["zh"]
    salad = Document(id="s", text=word_salad(text, "zh", random.Random(1)), lang="zh")
    assert scorer(salad) == "word_salad"


# ----------------------------------------------------------------- quality --
def test_quality_score_is_fasttexts_reference_probability_and_the_limit_inclusive():
    import fasttext

    from pipeline.quality import QualityClassifier

    ft = fasttext.load_model(str(MODELS / "quality" / "en.bin"))
    text = " ".join(PROSE)
    # fastText's line for ASCII text without digits: lower-case words, space-joined
    words = re.findall(r"[a-z]+", text.lower())

    def p_ref(line):
        labels, probs = ft.predict(line, k=-1, threshold=0.0)
        return round(min(1.0, float(dict(zip(labels, probs))["__label__ref"])), 4)

    q_all, q_head = p_ref(" ".join(words)), p_ref(" ".join(words[:5]))
    assert q_all != q_head
    clf = QualityClassifier.from_config(min_score={"en": q_all})
    doc = Document(id="q", text=text, lang="en")
    assert clf(doc) is None and doc.scores["quality"] == q_all
    assert QualityClassifier.from_config(min_score={"en": q_all + 0.0001})(
        Document(id="q", text=text, lang="en")) == "low_quality"
    head = QualityClassifier.from_config(max_tokens=5)
    assert head.score(text, "en") == q_head


# --------------------------------------------------------------- coherence --
def _para(words: str, n: int = 299) -> str:
    """A paragraph of exactly ``n`` characters: ``words`` repeated."""
    return ((words + " ") * (n // len(words) + 2))[:n]


# Five paragraphs of 299 characters (breaks 300 apart): two on rivers, one on
# baking, two on stars.
RIVER = "river water valley flows banks floods silt farmers irrigation crossing"
RIVER2 = "floods banks farmers river valley water crossing irrigation silt flows"
BAKING = "bread flour yeast dough oven baking knead loaf crust butter"
STARS = "stars telescope galaxy orbit planets astronomer nebula comet night sky"
STARS2 = "comet galaxy night sky planets orbit stars nebula astronomer telescope"
PARAS = [_para(RIVER), _para(RIVER2), _para(BAKING), _para(STARS), _para(STARS2)]


def reference_cosine(left: str, right: str, idf: dict, unseen: float) -> float:
    """Sublinear TF-IDF cosine of two ASCII texts (words of 2+ letters)."""
    def vec(text):
        counts = Counter(re.findall(r"[a-z]{2,}", text.lower()))
        v = {t: (1 + math.log(c)) * idf.get(t, unseen) for t, c in counts.items()}
        norm = math.sqrt(sum(x * x for x in v.values()))
        return {t: x / norm for t, x in v.items()}

    a, b = vec(left), vec(right)
    return sum(x * b[t] for t, x in a.items() if t in b)


@pytest.fixture(scope="module")
def coh_model():
    with gzip.open(MODELS / "coherence" / "en.json.gz", "rt", encoding="utf-8") as fh:
        return json.load(fh)


def coh_scorer(max_breaks: int):
    from pipeline.coherence import CoherenceScorer

    # resolution 300 (a break needs 100 chars a side), context 200 (one
    # paragraph a side), no token minimum, threshold 0.5
    return CoherenceScorer.from_config(window_chars={"en": 300}, context_chars={"en": 200},
                                       min_side_tokens={"en": 0}, threshold={"en": 0.5}, max_breaks=max_breaks)


def test_coherence_breaks_scores_and_split_match_a_reference(coh_model):
    from pipeline.coherence import split_document

    text = "\n".join(PARAS)
    offsets = [300, 600, 900, 1200]  # each paragraph is 299 characters and a newline
    sims = [reference_cosine(PARAS[i - 1], PARAS[i], coh_model["idf"], coh_model["unseen_idf"]) for i in range(1, 5)]
    # rivers|rivers and stars|stars: the same words; rivers|baking, baking|stars: none shared
    assert sims[0] > 0.9 and sims[3] > 0.9 and sims[1] == 0.0 and sims[2] == 0.0
    scorer = coh_scorer(max_breaks=3)
    found = scorer.breaks(text, "en")
    assert [o for o, _ in found[0]] == offsets
    assert [s for _, s in found[0]] == pytest.approx(sims, abs=1e-12)
    # both zero-similarity breaks are boundaries: exactly 300 apart (>= the resolution)
    assert [o for o, _ in found[1]] == [600, 900]
    doc = Document(id="c", text=text, lang="en")
    assert scorer(doc) is None
    assert doc.scores == {"coh_min_sim": 0.0, "coh_mean_sim": round(sum(sims) / 4, 4), "coh_breaks": 2,
                          "coh_split_char": 600}  # the weakest; a tie goes to the first
    assert split_document(doc, scorer) == ["\n".join(PARAS[:2]), PARAS[2], "\n".join(PARAS[3:])]
    # max_breaks boundaries or more: the page is a pile of snippets
    assert coh_scorer(max_breaks=2)(Document(id="c", text=text, lang="en")) == "incoherent"


def test_coherence_weakest_boundary_is_the_split_char(coh_model):
    # rivers | baking + three river words | stars: the second break shares
    # nothing (similarity 0), the first shares "river water valley": a small
    # similarity, under the configured 0.5 but above the model's own threshold
    # (so the break is a boundary only when the config is read)
    paras = [_para(RIVER), _para(BAKING + " river water valley"), _para(STARS)]
    text = "\n".join(paras)
    s1 = reference_cosine(paras[0], paras[1], coh_model["idf"], coh_model["unseen_idf"])
    assert coh_model["threshold"] < s1 < 0.5
    doc = Document(id="w", text=text, lang="en")
    assert coh_scorer(max_breaks=3)(doc) is None
    assert doc.scores["coh_breaks"] == 2 and doc.scores["coh_split_char"] == 600
    assert doc.scores["coh_min_sim"] == 0.0 and doc.scores["coh_mean_sim"] == round(s1 / 2, 4)


def test_coherence_paragraphs_merge_short_lines_into_the_next():
    from pipeline.coherence import paragraphs

    a, b, c = "a" * 80, "b" * 10, "c" * 90
    # 80 chars reach min_para_chars 80: a paragraph of its own; "b" is merged into "c"
    assert paragraphs(f"{a}\n{b}\n{c}", 80) == [(0, a), (81, f"{b}\n{c}")]
    # a short last line joins the paragraph before it
    assert paragraphs(f"{a}\n\n{b}", 80) == [(0, f"{a}\n{b}")]


# ------------------------------------------------------------------ safety --
def test_lexicon_density_counts_a_short_page_as_min_chars_long():
    from pipeline.safety import load_lexicon

    lex = load_lexicon("data/lexicon")
    # data/lexicon/safety_en.tsv: casino (gambling) 2; case does not matter
    assert lex.weights("CASINO")["gambling"] == 2
    # 2 per 500 chars = 4 per 1000, scale 10: 1 - exp(-0.4)
    assert lex.scores("casino", min_chars=500, scale=10.0)["gambling"] == pytest.approx(1 - math.exp(-0.4))
    # a long page: its own length, 2 per 2000 chars = 1 per 1000: 1 - exp(-0.1)
    text = "casino " + "x" * 1993
    assert lex.scores(text, min_chars=500, scale=10.0)["gambling"] == pytest.approx(1 - math.exp(-0.1))


def test_lexicon_matches_its_longest_phrases():
    from pipeline.safety import load_lexicon

    lex = load_lexicon("data/lexicon")
    # safety_en.tsv: "how to make a bomb" violence 3, "go back to your country" hate 3
    # (5 words each, the longest terms; none of their words is a term alone)
    assert lex.weights("How to make a BOMB!")["violence"] == 3
    assert lex.weights("they said go back to your country")["hate"] == 3


def safety_scorer(**threshold):
    from pipeline.safety import CATEGORIES, SafetyScorer

    return SafetyScorer.from_config(threshold={**dict.fromkeys(CATEGORIES, 0.99), **threshold})


def test_safety_threshold_is_inclusive():
    # "kill": violence 1 (lexicon only, no classifier for violence):
    # 1 per 500 chars = 2 per 1000: 1 - exp(-0.2) = 0.18127 -> 0.1813
    v = round(1 - math.exp(-0.2), 4)
    doc = Document(id="k", text="kill")
    assert safety_scorer(violence=v)(doc) == "unsafe:violence"
    assert doc.scores["safety_violence"] == v and doc.scores["safety_flag"] == 1.0
    doc = Document(id="k", text="kill")
    assert safety_scorer(violence=v + 0.0001)(doc) is None and doc.scores["safety_flag"] == 0.0


def test_safety_reason_names_the_highest_category_over_its_threshold():
    # porn 3 once, casino 2 five times: gambling 10 per 500 chars = 20 per
    # 1000 -> 1 - exp(-2) = 0.86; porn 6 per 1000 -> 1 - exp(-0.6) = 0.45
    text = "porn casino casino casino casino casino"
    doc = Document(id="s", text=text)
    assert safety_scorer(porn=0.1, gambling=0.1)(doc) == "unsafe:gambling"
    assert doc.scores["safety_porn"] == round(1 - math.exp(-0.6), 4)


class _AlwaysViolent:
    """A fastText stand-in that says violence 0.9 for any line."""

    def predict(self, line, k=-1, threshold=0.0):
        return ("__label__violence", "__label__safe"), (0.9, 0.1)


def test_safety_classifier_is_used_only_for_its_categories():
    scorer = safety_scorer()
    assert "violence" not in scorer.classifier_categories  # models/safety/safety.json: 5 weak positives
    scorer.model = _AlwaysViolent()
    doc = Document(id="c", text="The history of chess openings.")
    assert scorer(doc) is None and doc.scores["safety_violence"] == 0.0


# ----------------------------------------------------------------- cascade --
class _Rule(Stage):
    """A form rule: rejects text holding "SHORT" with a rescuable reason,
    "LONG" with one that is not."""
    name = "heuristics"

    def __call__(self, doc):
        if "SHORT" in doc.text:
            return "too_many_short_lines"
        return "too_long" if "LONG" in doc.text else None


class _Edit(Stage):
    name = "correction"

    def __call__(self, doc):
        if "NUL" in doc.text:
            raise Quarantine("nul_byte")
        doc.text = doc.text.lower()
        doc.add_edit("lower")
        return None


class _Score(Stage):
    name = "perplexity"
    score_columns = ("ppl",)

    def __call__(self, doc):
        doc.scores["ppl"] = float(doc.meta.get("ppl", 100.0))
        return None


def _policy():
    from pipeline.cascade import RescuePolicy

    return RescuePolicy(reasons=["heuristics:too_many_short_lines"], min_score={"ppl_gain": {"en": 0.4}},
                        max_score={"ppl": {"en": 200.0}})


def test_rescue_bounds_hold_inclusively_and_every_one_is_needed():
    policy = _policy()

    def conf(lang="en", **scores):
        return policy.confident(Document(id="d", text="", lang=lang, scores=scores))

    assert conf(ppl=200.0, ppl_gain=0.4)  # both exactly at their bounds
    assert conf(ppl=10.0, ppl_gain=2.0)
    assert not conf(ppl=200.1, ppl_gain=0.4)
    assert not conf(ppl=200.0, ppl_gain=0.39)
    assert not conf(ppl=100.0)  # a missing score is not confident
    assert not conf(lang="zh", ppl=100.0, ppl_gain=1.0)  # no bounds for zh


def test_judge_rescues_only_confident_documents_and_restores_the_rest():
    from pipeline.cascade import judge

    stages = [_Rule(), _Edit(), _Score()]
    ok = Document(id="a", text="SHORT lines", lang="en", scores={"ppl_gain": 0.5})
    assert judge(ok, stages, _policy()) == ("kept", "", None)
    assert ok.text == "short lines" and ok.edits == {"lower": 1, "rescued:heuristics:too_many_short_lines": 1}
    # not confident (ppl 300 > 200): rejected by the rule, text and edits as they were then
    bad = Document(id="b", text="SHORT lines", lang="en", scores={"ppl_gain": 0.5}, meta={"ppl": 300},
                   edits={"pii": 2})
    assert judge(bad, stages, _policy()) == ("rejected", "heuristics", "too_many_short_lines")
    assert bad.text == "SHORT lines" and bad.edits == {"pii": 2} and bad.scores["ppl"] == 300.0
    # a later quarantine of a document already waiting: the rule's rejection stands
    nul = Document(id="c", text="SHORT NUL", lang="en", scores={"ppl_gain": 0.5})
    assert judge(nul, stages, _policy()) == ("rejected", "heuristics", "too_many_short_lines")
    # no policy: the first rejection decides at once, later stages never run
    plain = Document(id="d", text="SHORT lines", lang="en")
    assert judge(plain, stages) == ("rejected", "heuristics", "too_many_short_lines")
    assert plain.text == "SHORT lines" and "ppl" not in plain.scores
    # a later rejection that cannot wait: the first (waiting) rule's rejection stands
    class Unsafe(Stage):
        name = "safety"

        def __call__(self, doc):
            return "unsafe:porn"

    late = Document(id="f", text="SHORT lines", lang="en", scores={"ppl_gain": 0.5})
    assert judge(late, [_Rule(), _Edit(), Unsafe()], _policy()) == ("rejected", "heuristics", "too_many_short_lines")
    assert late.text == "SHORT lines"
    # a reason the policy does not list is never rescued
    long = Document(id="e", text="LONG", lang="en", scores={"ppl_gain": 0.5})
    assert judge(long, stages, _policy()) == ("rejected", "heuristics", "too_long")


def test_judge_runs_stages_in_the_given_order():
    from pipeline.cascade import judge

    class Other(Stage):
        name = "other"

        def __call__(self, doc):
            return "other_reason"

    assert judge(Document(id="o", text="LONG"), [_Rule(), Other()]) == ("rejected", "heuristics", "too_long")
    assert judge(Document(id="o", text="LONG"), [Other(), _Rule()]) == ("rejected", "other", "other_reason")


def test_build_stages_keeps_the_configured_order():
    from pipeline.cascade import build_stages
    from pipeline.config import load_config

    names = ["repetition", "heuristics"]
    assert [st.name for st in build_stages(names, load_config())] == names


def test_run_batch_records_parts_on_behalf_of_the_split_step():
    from pipeline.cascade import output_schema, run_batch

    b = pa.RecordBatch.from_pydict({"id": ["p1", "p2"], "text": ["LONG part", "fine part"]})
    out = run_batch(b, [_Rule()], output_schema(b.schema, [_Rule]), as_stage="coherence_split",
                    reason_prefix="part_").to_pydict()
    assert out["decision"] == ["rejected", "kept"]
    assert out["stage"] == ["coherence_split", ""] and out["reason"] == ["part_too_long", None]


# ------------------------------------------------------- config, document --
def test_config_sections_are_copies():
    from pipeline.config import load_config

    cfg = load_config()
    sec = cfg.section("langid")
    sec["keep"].append("de")
    sec["min_score"] = 0.0
    assert cfg.section("langid")["keep"] == ["en", "zh"] and cfg.section("langid")["min_score"] == 0.65
    assert cfg.get("langid.min_score") == 0.65 and cfg.get("langid.nope", 7) == 7


def test_from_config_overrides_replace_section_keys():
    from pipeline.langid import LanguageID

    stage = LanguageID.from_config(candidates=["en", "zh"], min_score=0.9)
    assert stage.min_score == 0.9 and stage.candidates == ("en", "zh") and stage.max_chars == 2000


def test_content_hash_and_make_id_match_xxhash_of_the_normalized_text():
    import xxhash

    from pipeline.document import content_hash, make_id

    # NFKC folds the full-width "Ａ"; lower case; whitespace runs become one space
    assert content_hash("Ａ  Big\tCAT\n") == xxhash.xxh3_128_hexdigest(b"a big cat")
    # the id is salted with the file's base name and the offset, not its directory
    want = xxhash.xxh3_128_hexdigest(b"f.jsonl\x007\x00a big cat")
    assert make_id("A big  cat", "s3://bucket/dir/f.jsonl", 7) == want == make_id("a big cat", "f.jsonl", 7)


def test_add_edit_accumulates():
    doc = Document(id="e", text="")
    doc.add_edit("pii", 2)
    doc.add_edit("pii")
    doc.add_edit("fix", 0)
    assert doc.edits == {"pii": 3}


# ----------------------------------------------------------- html extraction --
HTML = ("<html><head><title>T</title></head><body><nav><ul><li><a href='/'>Home</a></li>"
        "<li><a href='/about'>About us</a></li><li><a href='/contact'>Contact page</a></li></ul></nav>"
        "<article><h1>River systems</h1><p>The river flows through the valley and feeds the lakes below. "
        "Farmers along its banks have used the water for irrigation for many centuries, and the towns grew "
        "where the crossings were easy.</p><p>In spring the snowmelt raises the level of the water, and the "
        "floods bring fertile silt to the fields on both sides of the river.</p><table><tr><th>Station</th>"
        "<th>Flow</th></tr><tr><td>Upper gauge</td><td>120 cubic metres</td></tr><tr><td>Lower gauge</td>"
        "<td>340 cubic metres</td></tr></table><p>Engineers built weirs and locks in the nineteenth century "
        "so that barges could carry grain and timber down to the harbour.</p></article>"
        "<footer>Copyright 2024 Example Corp. All rights reserved.</footer></body></html>")


@pytest.mark.parametrize("name", ["trafilatura", "resiliparse"])
def test_extractors_keep_the_article_and_its_table_and_drop_the_menu(name):
    from pipeline.extract import get_extractor

    text = get_extractor(name)(HTML, "https://example.org/rivers")
    for part in ("River systems", "feeds the lakes below.", "fertile silt", "Upper gauge", "340 cubic metres",
                 "down to the harbour."):
        assert part in text, (name, part)
    for part in ("About us", "Contact page", "Copyright"):
        assert part not in text, (name, part)
    assert text == text.strip()
