"""RepetitionFilter (Gopher Table A1) on real English and Chinese text: prose
is kept; repeated paragraphs, lines and phrases are dropped; the vectorized
n-gram metrics equal a plain, slow reading of Gopher's definitions."""
import re
from collections import Counter

import pytest

from pipeline.config import load_config
from pipeline.document import Document
from pipeline.repetition import RepetitionFilter
from pipeline.words import TOKEN_RE, chinese_words, mixed_words
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


def slow_reference(ws: list[str], n_chars: int | None = None) -> dict[str, float]:
    """Gopher's n-gram rules as datatrove 0.10.1's GopherRepetitionFilter
    reads them (find_top_duplicate, find_all_duplicate), with tuples and
    loops: a duplicate n-gram counts when it repeats one remembered earlier,
    and the scan jumps past it; fractions of ``n_chars``."""
    total = n_chars if n_chars is not None else sum(map(len, ws))
    out = {}
    for n in (2, 3, 4):
        grams = [tuple(ws[i:i + n]) for i in range(len(ws) - n + 1)]
        counts = Counter(grams)
        top = max(counts.values())
        longest = max(sum(map(len, g)) for g, c in counts.items() if c == top)
        out[f"rep_top_{n}gram_frac"] = longest * top / total if top > 1 else 0.0
    for n in range(5, 11):
        unique, repeated, idx = set(), 0, 0
        while idx < len(ws) - n + 1:
            gram = tuple(ws[idx:idx + n])
            if gram in unique:
                repeated += sum(map(len, gram))
                idx += n
            else:
                unique.add(gram)
                idx += 1
        out[f"rep_dup_{n}gram_frac"] = repeated / total
    return out


@pytest.mark.parametrize("lang", ["en", "zh"])
def test_ngram_metrics_equal_the_literal_definition(lang):
    paras = EN_PARAGRAPHS if lang == "en" else ZH_PARAGRAPHS
    split = TOKEN_RE.findall if lang == "en" else chinese_words
    for text in (document(paras, 0, 5), paras[1] + " " + paras[1][:200] + " " + document(paras, 4, 2)):
        ws = split(text)
        assert F.ngram_metrics(ws) == pytest.approx(slow_reference(ws)), lang
        assert F.ngram_metrics(ws, len(text)) == pytest.approx(slow_reference(ws, len(text))), lang


def sample_text(name: str, url: str) -> str:
    """One record of data/sample/jsonl/<name>.jsonl.gz (real text, see
    data/sample/SOURCES.md)."""
    import gzip
    import json
    from pathlib import Path

    path = Path(__file__).resolve().parent.parent / "data" / "sample" / "jsonl" / f"{name}.jsonl.gz"
    with gzip.open(path, "rt", encoding="utf-8") as fh:
        for line in fh:
            rec = json.loads(line)
            if rec["url"] == url:
                return rec["text"]
    raise KeyError(url)


# Clean documents that pass datatrove's Gopher repetition rule and were
# dropped as dup_5gram before (issue #12): a koan that repeats "the master"
# phrases, and the Debian Reference's section on global substitution in
# Chinese with its commands (mixed zh/en, code in prose: ed, sed and vim
# sentences that share "命令可以在 “file” 中将所有的 ...").
CLEAN_REPEATING = [
    ("fortunes-en", "https://fortunes.example.org/computers/33.html", "en"),
    ("fortunes-zh", "https://fortunes.example.org/zh/chinese/79.html", "zh"),
    ("fortunes-zh", "https://fortunes.example.org/zh/chinese/79.html", "en"),  # mixed text labelled English
]


@pytest.mark.parametrize("name,url,lang", CLEAN_REPEATING)
def test_keeps_clean_text_that_passes_gophers_rule(name, url, lang):
    text = sample_text(name, url)
    reason, scores = judge(text, lang)
    assert reason is None, (reason, {k: round(v, 3) for k, v in scores.items() if "gram" in k})
    want = slow_reference(mixed_words(text), len(text))
    for n, limit in F.dup.items():
        assert want[f"rep_dup_{n}gram_frac"] <= limit


def test_chinese_in_an_english_labelled_document_is_cut_into_words():
    """A word is a jieba word in Chinese script whatever the label: the
    n-gram figures of a mixed document do not depend on its language label
    (before: an "en" label cut the Chinese into single characters)."""
    text = document(ZH_PARAGRAPHS, 1, 6)
    assert judge(text, "en")[1] == judge(text, "zh")[1]
    assert mixed_words("使用Python 3.11的os.path模块, don't 中华人民共和国") == [
        "使用", "Python", "3", "11", "的", "os", "path", "模块", "don't", "中华人民共和国"]


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


# --- issue #12, round 2: mixed zh/en held-out dev documents (data/eval/quality/dev.jsonl.gz, dev split) ---
import gzip  # noqa: E402
import json  # noqa: E402
from pathlib import Path  # noqa: E402

DEV = Path(__file__).resolve().parent.parent / "data" / "eval" / "quality" / "dev.jsonl.gz"
# A Chinese manual where one English address (debian-qa@lists.debian.org,
# debian-policy) recurs: top_3gram 0.228 before. Still dropped (a figure,
# not a test): a1960e1c821bc73e5788 ("LibreOffice Basic" fills 0.23 at
# weight 2) and a0460598f71cf435d69a (dup_5gram 0.46: the page repeats).
MIXED_IDS = ("0e3ea3a8ad5df110d5e2",)


@pytest.mark.parametrize("doc_id", MIXED_IDS)
def test_repeated_latin_name_does_not_outweigh_chinese(doc_id):
    with gzip.open(DEV, "rt", encoding="utf-8") as f:
        d = next(x for x in map(json.loads, f) if x["id"] == doc_id)
    reason, scores = judge(d["text"], d["lang_gold"])
    assert reason is None, {k: v for k, v in scores.items() if v}


def test_repeated_chinese_phrase_still_dropped():
    text = "".join(document(ZH_PARAGRAPHS, 0, 1)) + "。" + "欢迎使用自由软件，" * 40
    reason, _ = judge(text, "zh")
    assert reason is not None
