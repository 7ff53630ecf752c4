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
    n_span = len(plain_tokens(span))                  # tokens may split at punctuation: >= 70
    assert n_span >= 70 and len(pos) == n_span - 50 + 1
    out, reason, cuts = sd.remove(b, pos)
    # exactly the span from its first to its last word character goes (issue #13 row 10: no slack)
    first = next(i for i, c in enumerate(span) if c.isalnum())
    last = max(i for i, c in enumerate(span) if c.isalnum())
    off = b.index(span)
    assert out == b[:off + first] + b[off + last + 1:]
    assert cuts == [(off + first, off + last + 1)] and reason is None
    # windows are position-free: the same span hashes the same in both documents
    assert len(common) == len(pos)


# ------------------------------------------------------------------------------
# Independent references (issue #13): shingles, Jaccard, signatures and span
# cuts recomputed here in plain Python, written from the documented rules, not
# with the code under test.

_CJK_RANGES = [(0x3040, 0x30FF), (0x3400, 0x4DBF), (0x4E00, 0x9FFF), (0xF900, 0xFAFF), (0xAC00, 0xD7AF),
               (0x20000, 0x2EBEF), (0x30000, 0x3134F)]


def plain_tokens(text: str) -> list[str]:
    """tokens.py's documented rule, by hand: NFKC, lower case; each CJK
    character (ideograph, kana, hangul syllable) is a token; elsewhere a token
    is a run of letters, digits and underscores."""
    import unicodedata
    out, word = [], ""
    for ch in unicodedata.normalize("NFKC", text).lower():
        if any(lo <= ord(ch) <= hi for lo, hi in _CJK_RANGES):
            out += [word, ch] if word else [ch]
            word = ""
        elif ch.isalnum() or ch == "_":
            word += ch
        elif word:
            out.append(word)
            word = ""
    return out + [word] if word else out


def plain_shingles(text: str, n: int = 5) -> set[tuple]:
    """Set of token n-grams; a document of 1..n-1 tokens is one shingle of all of them."""
    t = plain_tokens(text)
    if len(t) < n:
        return {tuple(t)} if t else set()
    return {tuple(t[i:i + n]) for i in range(len(t) - n + 1)}


def plain_jaccard(a: set, b: set):
    from fractions import Fraction
    return Fraction(len(a & b), len(a | b)) if a or b else Fraction(0)


def _vocab(n: int = 900) -> list[str]:
    """Distinct real English words (GPL-3), in text order."""
    import re
    src = GPL.read_text() if GPL.is_file() else " ".join(f"word{i}" for i in range(2 * n))
    seen: dict[str, None] = {}
    for w in src.split():
        w = re.sub(r"[^a-z]", "", w.lower())
        if len(w) > 2:
            seen.setdefault(w)
    words = list(seen)
    return words[:n] if len(words) >= n else words + [f"word{i}" for i in range(n - len(words))]


def test_plain_tokens_agree_with_documented_examples():
    assert plain_tokens("Hello, WORLD! 你好世界 x-y ＡＢ１") == ["hello", "world", "你", "好", "世", "界", "x", "y", "ab1"]


def test_shingle_sets_match_plain_ngrams(texts):
    """Size of every shingle set and the exact Jaccard of pairs equal plain
    Python n-gram sets: catches an off-by-one n-gram count, position-free
    shingles (reordered tokens), the short-document rule, and n."""
    from fractions import Fraction
    h = MinHasher(bands=30, rows=4, ngram=5, seed=42)
    rng = np.random.default_rng(11)
    real = [t for t, _ in texts[:25]] + [t for t, lang in texts if lang == "zh"][:5]
    v = _vocab(60)
    crafted = [
        " ".join(v[:5]), " ".join(reversed(v[:5])),           # same 5 tokens, other order
        " ".join(v[:8]), " ".join(v[:6] + v[40:42]),          # 4 shingles, 2 shared
        " ".join(v[:4]), " ".join(v[:3]), v[7], "",          # short documents: one shingle of all tokens
        " ".join(v[:4]) + " " + " ".join(v[:4]),              # repeated tokens
        "一二三四五六七", "一二三四五六八", "你好",
    ]
    docs = real + [perturb(t, 0.05, rng, "en") for t in real[:10]] + crafted
    for d in docs:
        assert len(h.shingle_set(d)) == len(plain_shingles(d)), d[:80]
    sets = [h.shingle_set(d) for d in docs]
    plain = [plain_shingles(d) for d in docs]
    for i in range(len(docs)):
        for j in range(i + 1, len(docs)):
            if plain[i] or plain[j]:
                assert Fraction(jaccard(sets[i], sets[j])).limit_denominator(10**6) == plain_jaccard(plain[i], plain[j])
    # hand values of the crafted ones
    k = len(real) + 10
    assert jaccard(sets[k], sets[k + 1]) == 0.0            # order matters
    assert jaccard(sets[k + 2], sets[k + 3]) == 2 / 6
    assert len(sets[k + 4]) == len(sets[k + 5]) == len(sets[k + 6]) == 1 and len(sets[k + 7]) == 0
    assert jaccard(sets[k + 4], sets[k + 5]) == 0.0
    assert len(sets[k + 8]) == 4                           # 8 tokens, 4 distinct 5-grams


def test_jaccard_hand_values():
    u = lambda *x: np.array(sorted(x), dtype=np.uint64)  # noqa: E731
    assert jaccard(u(1, 2, 3), u(2, 3, 4)) == 2 / 4
    assert jaccard(u(1, 2, 3, 4), u(1, 2, 3, 4)) == 1.0
    assert jaccard(u(1), u(2)) == 0.0
    assert jaccard(u(1, 2), u()) == 0.0 and jaccard(u(), u()) == 0.0
    assert jaccard(u(5, 6, 7, 8, 9, 10), u(5)) == 1 / 6


def test_all_pairs_jaccard_keeps_a_pair_exactly_at_the_threshold():
    """A pair whose Jaccard equals the threshold is a duplicate (>=)."""
    v = _vocab(60)
    h = MinHasher(bands=30, rows=4, ngram=5, seed=42)
    docs = [" ".join(v[:8]), " ".join(v[:6] + v[40:42]), " ".join(v[20:28])]
    from fractions import Fraction
    assert plain_jaccard(plain_shingles(docs[0]), plain_shingles(docs[1])) == Fraction(1, 3)
    got = all_pairs_jaccard(docs, h, 1 / 3)
    assert [(i, j) for i, j, _ in got] == [(0, 1)] and got[0][2] == 1 / 3
    assert all_pairs_jaccard(docs, h, 0.34) == []


def test_signatures_match_plain_minimum_of_permutations():
    """Signature value i = min over the shingle hashes x of
    ((a_i * x + b_i) mod 2^64) >> 32, here in Python integers; a small
    ``chunk`` makes documents span several chunks."""
    v = _vocab(300)
    docs = [" ".join(v[i:i + 40 + 7 * i]) for i in range(0, 60, 6)] + ["", "one", " ".join(v[:3])]
    for chunk in (16384, 13):
        h = MinHasher(bands=6, rows=3, ngram=5, seed=7, chunk=chunk)
        sig = h.signatures(docs)
        for d, row in zip(docs, sig):
            xs = [int(x) for x in h.shingle_set(d)]
            want = [min(((int(a) * x + int(b)) % 2**64) >> 32 for x in xs) if xs else 0xFFFFFFFF
                    for a, b in zip(h.a, h.b)]
            assert row.tolist() == want


def test_seed_picks_the_permutations():
    docs = [" ".join(_vocab(80)[10:70])]
    s1 = MinHasher(bands=30, rows=4, ngram=5, seed=1).signatures(docs)
    assert (MinHasher(bands=30, rows=4, ngram=5, seed=1).signatures(docs) == s1).all()
    s2 = MinHasher(bands=30, rows=4, ngram=5, seed=2).signatures(docs)
    assert (s1 != s2).mean() > 0.9


def test_band_keys_follow_the_bands_by_rows_layout():
    """Band ``j`` is signature columns ``j*rows .. j*rows+rows-1``: two
    signatures that agree on exactly those columns share key ``j`` only."""
    h = MinHasher(bands=30, rows=4, ngram=5, seed=42)
    rng = np.random.default_rng(5)
    base = rng.integers(0, 2**32, size=h.num_perm, dtype=np.uint64).astype(np.uint32)
    for j in (0, 7, 29):
        other = (base + np.uint32(1)).astype(np.uint32)
        other[j * 4:(j + 1) * 4] = base[j * 4:(j + 1) * 4]
        k = h.band_keys(np.vstack([base, other]))
        assert k.shape == (2, 30)
        assert np.nonzero(k[0] == k[1])[0].tolist() == [j]
    # a band's rows in another order are another key
    swapped = base.copy()
    swapped[[0, 1]] = base[[1, 0]]
    assert base[0] != base[1]
    k = h.band_keys(np.vstack([base, swapped]))
    assert (k[0] == k[1]).tolist() == [False] + [True] * 29


def test_paragraph_bounds_and_normalization():
    """A normalized line of exactly ``min_paragraph_chars`` is eligible, one
    char shorter is not; NFKC, case and spacing are folded; a document left
    with exactly ``min_tokens`` tokens stays, one fewer is rejected."""
    p = ParagraphDedup(min_paragraph_chars=20, min_tokens=5)
    line20 = "abcde fghij klmno pq"               # 20 chars
    assert len(line20) == 20
    lines, _ = p.paragraph_hashes("\n".join([line20, line20[:-1], "  " + line20[:-1] + "  "]))
    assert lines == [0]
    variants = ["Abcde Fghij Klmno PQ", "  abcde\tfghij   klmno pq ", "ＡＢＣＤＥ fghij klmno pq", line20]
    _, hs = p.paragraph_hashes("\n".join(variants))
    assert len(hs) == 4 and len(set(hs)) == 1
    assert len(set(p.paragraph_hashes("abcde fghij klmno pr\n" + line20)[1])) == 2
    text = "one two three four five\n" + line20 + "\nsix"
    assert p.remove(text, [1]) == ("one two three four five\nsix", None)     # 6 tokens left
    assert p.remove(text, [0]) == (line20 + "\nsix", None)                  # 5 tokens left
    assert p.remove(text, [0, 2]) == (line20, "too_short_after_paragraph_dedup")  # 4 tokens left
    assert p.remove(text, []) == (text, None)


def _words(v, a, n):
    return " ".join(v[a:a + n])


def test_substring_remove_exact_output():
    """Issue #13 row 10: the exact text after cutting a shared span (no slack):
    everything from the first character of the span's first token to the last
    character of its last token goes, the separators around it stay."""
    v = _vocab(400)
    sd = SubstringDedup(window=50, min_tokens=50)
    pre, span, post = _words(v, 0, 30), _words(v, 100, 70), _words(v, 200, 30)
    text = f"{pre} {span}, {post}."
    # the span is tokens 30..99: windows starting at 30..50 cover it
    out, reason, cuts = sd.remove(text, list(range(30, 51)))
    assert out == f"{pre} , {post}."
    assert reason is None                                   # 60 tokens left
    assert cuts == [(len(pre) + 1, len(pre) + 1 + len(span))]
    # one window alone removes exactly 50 tokens
    out, reason, _ = sd.remove(text, [30])
    assert out == f"{pre}  {_words(v, 150, 20)}, {post}."
    assert reason is None                                   # 80 tokens left
    # the window at the end of the text
    out, _, cuts = sd.remove(text, [80])
    assert out == f"{pre} {_words(v, 100, 50)} ."
    assert cuts == [(len(f"{pre} {_words(v, 100, 50)} "), len(text) - 1)]
    # windows that overlap or touch merge into one cut (touching: no separator left)
    out, _, cuts = sd.remove(text, [0, 50])
    assert len(cuts) == 1 and out == f", {post}."
    # windows one token apart: two cuts, the token between them and its separators stay
    out, _, cuts = sd.remove(text, [0, 51])
    assert out == f" {v[120]}  {_words(v, 201, 29)}."
    assert cuts == [(0, len(f"{pre} {_words(v, 100, 20)}")),
                    (len(f"{pre} {_words(v, 100, 21)}") + 1, len(f"{pre} {span}, {v[200]}"))]
    assert sd.remove(text, []) == (text, None, [])


def test_substring_min_tokens_bound():
    """A document cut to exactly ``min_tokens`` tokens stays; one fewer is rejected."""
    v = _vocab(200)
    sd = SubstringDedup(window=50, min_tokens=50)
    assert sd.remove(_words(v, 0, 100), [0])[1] is None                         # 50 left
    assert sd.remove(_words(v, 0, 99), [0])[1] == "too_short_after_substring_dedup"  # 49 left
    assert sd.remove(_words(v, 0, 99), [0])[0] == " " + _words(v, 50, 49)


def test_substring_window_is_the_configured_50_tokens():
    """[dedup.substring] window = 50 (RefinedWeb): a text of exactly 50
    tokens has one window, 49 tokens none; a span of exactly 50 shared tokens
    is found and cut."""
    from pipeline.config import load_config
    v = _vocab(300)
    sd = SubstringDedup(**load_config().section("dedup.substring"))
    assert sd.window == 50 and sd.min_tokens == 50
    assert len(sd.window_hashes(_words(v, 0, 50))) == 1 and len(sd.window_hashes(_words(v, 0, 49))) == 0
    span = _words(v, 100, 50)
    a, b = f"{_words(v, 0, 60)} {span}", f"{span} {_words(v, 200, 60)}"
    ha, hb = sd.window_hashes(a).tolist(), sd.window_hashes(b).tolist()
    pos = [i for i, x in enumerate(ha) if x in set(hb)]
    assert pos == [60]
    assert sd.remove(a, pos)[:2] == (_words(v, 0, 60) + " ", None)
