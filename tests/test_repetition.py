"""RepetitionFilter (Gopher Table A1) on real English and Chinese text: prose
is kept; repeated paragraphs, lines and phrases are dropped; the vectorized
n-gram metrics equal a plain, slow reading of Gopher's definitions."""
import re
from collections import Counter

import pytest

from pipeline.config import load_config
from pipeline.document import Document
from pipeline.repetition import RepetitionFilter
from pipeline.words import TOKEN_RE, chinese_words
from real_text import EN_PARAGRAPHS, ZH_PARAGRAPHS, document

F = RepetitionFilter.from_config()


def judge(text: str, lang: str) -> tuple[str | None, dict]:
    doc = Document(id="t", text=text, lang=lang)
    return F(doc), doc.scores


@pytest.mark.parametrize("lang,paras", [("en", EN_PARAGRAPHS), ("zh", ZH_PARAGRAPHS)])
def test_keeps_prose(lang, paras):
    for start in range(0, len(paras), 3):
        reason, scores = judge(document(paras, start, 4), lang)
        assert reason is None, (start, {k: v for k, v in scores.items() if v})


@pytest.mark.parametrize("lang,paras", [("en", EN_PARAGRAPHS), ("zh", ZH_PARAGRAPHS)])
def test_drops_repeated_paragraphs(lang, paras):
    text = "\n\n".join([paras[0], paras[1], paras[0], paras[2], paras[0]])
    reason, scores = judge(text, lang)
    assert reason in {"dup_para_frac", "dup_para_char_frac"}
    assert scores["rep_dup_para_frac"] == pytest.approx(2 / 5)


@pytest.mark.parametrize("lang,paras,line", [
    ("en", EN_PARAGRAPHS, "Subscribe to our newsletter for package news"),
    ("zh", ZH_PARAGRAPHS, "欢迎订阅软件包新闻"),
])
def test_drops_repeated_lines(lang, paras, line):
    body = document(paras, 0, 3).split("\n\n")
    text = "\n".join(p + "\n" + line for p in body * 2 for _ in range(2))
    reason, scores = judge(text, lang)
    assert reason is not None and reason.startswith(("dup_line", "dup_para"))
    lines = [ln for ln in text.split("\n") if ln]
    assert scores["rep_dup_line_frac"] == pytest.approx((len(lines) - 4) / len(lines))


@pytest.mark.parametrize("lang,paras,phrase", [
    ("en", EN_PARAGRAPHS, "cheap packages"),
    ("zh", ZH_PARAGRAPHS, "便宜软件包"),
])
def test_drops_spammed_phrase(lang, paras, phrase):
    text = document(paras, 0, 2) + " " + " ".join([phrase] * 60)
    reason, scores = judge(text, lang)
    assert reason == "top_2gram", scores


@pytest.mark.parametrize("lang,paras", [("en", EN_PARAGRAPHS), ("zh", ZH_PARAGRAPHS)])
def test_drops_copied_sentences_inside_a_paragraph(lang, paras):
    # the same paragraph pasted twice without a line break: no duplicate
    # line or paragraph, only duplicate long n-grams
    text = document(paras, 3, 2) + "\n\n" + paras[0] + " " + paras[0]
    reason, scores = judge(text, lang)
    assert reason is not None and reason.startswith("dup_") and reason.endswith("gram"), scores
    assert scores["rep_dup_10gram_frac"] > 0.1


def test_empty_and_one_word_texts_pass():
    for text in ("", "word", "字"):
        assert judge(text, "en")[0] is None


def slow_reference(ws: list[str]) -> dict[str, float]:
    """Gopher's n-gram rules read literally, with tuples and loops."""
    total = sum(map(len, ws))
    out = {}
    for n in (2, 3, 4):
        grams = [tuple(ws[i:i + n]) for i in range(len(ws) - n + 1)]
        counts = Counter(grams)
        top = max(counts.values())
        longest = max(sum(map(len, g)) for g, c in counts.items() if c == top)
        out[f"rep_top_{n}gram_frac"] = longest * top / total if top > 1 else 0.0
    for n in range(5, 11):
        grams = [tuple(ws[i:i + n]) for i in range(len(ws) - n + 1)]
        counts = Counter(grams)
        covered = set()
        for i, g in enumerate(grams):
            if counts[g] > 1:
                covered.update(range(i, i + n))
        out[f"rep_dup_{n}gram_frac"] = sum(len(ws[i]) for i in covered) / total
    return out


@pytest.mark.parametrize("lang", ["en", "zh"])
def test_ngram_metrics_equal_the_literal_definition(lang):
    paras = EN_PARAGRAPHS if lang == "en" else ZH_PARAGRAPHS
    split = TOKEN_RE.findall if lang == "en" else chinese_words
    for text in (document(paras, 0, 5), paras[1] + " " + paras[1][:200] + " " + document(paras, 4, 2)):
        ws = split(text)
        got = F.ngram_metrics(ws)
        want = slow_reference(ws)
        assert got == pytest.approx(want), lang


def test_ngram_limits_come_from_the_config():
    """The n-gram limits are the section's tables (n as TOML string keys);
    replacing one changes which rule names the rejection."""
    text = document(EN_PARAGRAPHS, 0, 5)
    reason, scores = judge(text, "en")
    assert reason is None
    top2 = scores["rep_top_2gram_frac"]
    assert top2 > 0
    cfg = load_config().section("repetition")
    strict = RepetitionFilter.from_config(max_top_ngram_frac={**cfg["max_top_ngram_frac"], "2": top2 / 2})
    assert strict(Document(id="t", text=text, lang="en")) == "top_2gram"
    no_dup_rules = RepetitionFilter.from_config(max_dup_ngram_frac={})
    assert no_dup_rules.dup == {} and not any(k.startswith("rep_dup_5") for k in no_dup_rules.ngram_metrics(text.split()))


def test_rjieba_cuts_like_jieba():
    import jieba

    from real_text import ZH_TABLE, ZH_TOC

    for text in [*ZH_PARAGRAPHS, ZH_TOC, ZH_TABLE]:
        assert chinese_words(text) == [w for w in jieba.lcut(text, HMM=False) if re.search(r"\w", w)]
