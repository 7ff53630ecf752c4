"""Engine-free parts of the dedup cascade (pipeline/dedup), on real text."""
import tracemalloc
from pathlib import Path

import numpy as np
import pytest

from pipeline.dedup.jaccard import all_pairs_jaccard, jaccard
from pipeline.dedup.minhash import MinHasher
from pipeline.dedup.paragraph import ParagraphDedup
from fixtures.planted import ZH_FORTUNES, base_texts, perturb
from pipeline.dedup.scurve import fp_fn_mass, measured_curve, optimal_bands, p_candidate
from pipeline.dedup.substring import SubstringDedup
from pipeline.dedup.tokens import tokens

GPL = Path("/usr/share/common-licenses/GPL-3")


@pytest.fixture(scope="module")
def texts():
    return base_texts()


def test_tokens_words_and_cjk_chars():
    assert tokens("Hello, WORLD! 你好世界 x-y") == ["hello", "world", "你", "好", "世", "界", "x", "y"]


def test_minhash_estimates_jaccard(texts):
    h = MinHasher(bands=32, rows=8, ngram=5, seed=42)
    rng = np.random.default_rng(1)
    en = [t for t, lang in texts if lang == "en"][:40]
    for t in en:
        v = perturb(t, 0.03, rng, "en")
        sig = h.signatures([t, v, t])
        assert (sig[0] == sig[2]).all()  # same text, same signature
        est = (sig[0] == sig[1]).mean()
        true = jaccard(h.shingle_set(t), h.shingle_set(v))
        assert abs(est - true) < 0.15, (est, true)


def test_batch_signatures_equal_one_by_one(texts):
    h = MinHasher(bands=14, rows=9, ngram=5, seed=42)
    sample = [t for t, _ in texts[::97]] + ["", "short", None, "你好"]
    batch = h.signatures(sample)
    one = np.vstack([h.signatures([t]) for t in sample])
    assert (batch == one).all()
    assert list(h.has_tokens(batch)[-4:]) == [False, True, False, True]


def test_long_chinese_document_bounded_memory():
    """A 1 MB Chinese document is hashed chunk by chunk: peak memory stays a
    small multiple of the text, not shingles x permutations."""
    zh = Path(ZH_FORTUNES).read_text(errors="ignore") if Path(ZH_FORTUNES).is_file() else "中文" * 10
    doc = (zh * (1 + 1_000_000 // len(zh)))[:1_000_000]
    h = MinHasher(bands=14, rows=9, ngram=5, seed=42)
    tracemalloc.start()
    sig = h.signatures([doc])
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    assert h.has_tokens(sig).all()
    # 1M shingles x 120 permutations x 8 B would be 960 MB
    assert peak < 200e6, peak


def test_scurve_defaults_and_measured_curve():
    b, r = optimal_bands(0.7, 128, fp_weight=0.2, fn_weight=0.8)
    assert (b, r) == (20, 6)  # weighted optimum; config uses 30 x 4 since candidates are verified
    fp, fn = fp_fn_mass(0.7, b, r)
    assert fn < 0.01 and fp < 0.25
    s = np.array([0.3, 0.7, 0.9])
    meas = measured_curve(MinHasher(bands=b, rows=r, ngram=5, seed=42), s, pairs=150)
    assert np.abs(meas - p_candidate(s, b, r)).max() < 0.12, meas


def test_all_pairs_jaccard_matches_brute_force(texts):
    h = MinHasher(bands=14, rows=9, ngram=5, seed=42)
    rng = np.random.default_rng(2)
    base = [t for t, _ in texts[:30]]
    docs = base + [perturb(t, 0.02, rng, "en") for t in base[:10]]
    got = {(i, j) for i, j, _ in all_pairs_jaccard(docs, h, 0.5)}
    sets = [h.shingle_set(t) for t in docs]
    want = {(i, j) for i in range(len(docs)) for j in range(i + 1, len(docs)) if jaccard(sets[i], sets[j]) >= 0.5}
    assert got == want and len(want) >= 10


def test_paragraph_hashes_and_removal():
    p = ParagraphDedup(min_paragraph_chars=20, min_tokens=5)
    text = "A line long enough to be a paragraph.\nshort\nA LINE   long enough to be a paragraph."
    lines, hashes = p.paragraph_hashes(text)
    assert lines == [0, 2] and hashes[0] == hashes[1]
    out, reason = p.remove(text, [2])
    assert out == "A line long enough to be a paragraph.\nshort" and reason is None
    assert p.remove(text, [0, 2])[1] == "too_short_after_paragraph_dedup"


def test_substring_windows_find_and_cut_shared_span():
    gpl = GPL.read_text() if GPL.is_file() else " ".join(f"w{i}" for i in range(400))
    words = gpl.split()
    span = " ".join(words[100:170])  # 70 shared tokens
    a = " ".join(words[:60]) + " " + span
    b = "Some unrelated opening words of another page. " + span + " And a closing remark of its own here."
    sd = SubstringDedup(window=50, min_tokens=5)
    ha, hb = sd.window_hashes(a), sd.window_hashes(b)
    common = set(ha.tolist()) & set(hb.tolist())
    pos = [i for i, x in enumerate(hb.tolist()) if x in common]
    assert len(pos) >= 70 - 50 + 1 - 2  # the span's windows (tokens may split at punctuation)
    out, reason, cuts = sd.remove(b, pos)
    assert "Some unrelated opening words" in out and "closing remark" in out
    assert span[:30] not in out and len(out) < len(b) - len(span) + 10
    # windows are position-free: the same span hashes the same in both documents
    assert len(common) == len(pos)
