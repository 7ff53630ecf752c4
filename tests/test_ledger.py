"""The funnel is computed from the ledger alone and must account for every record."""
import pytest

from pipeline.ledger import check_invariant, compute_funnel

STAGES = ["read", "langid", "heuristics"]


def rows(*items):
    return [dict(stage=s, decision=d, lang=l, docs=n, chars=c) for s, d, l, n, c in items]


def test_funnel_per_stage_and_total():
    counts = rows(
        ("read", "quarantined", None, 3, 0),
        ("langid", "rejected", "fr", 5, 500),
        ("heuristics", "rejected", "en", 2, 40),
        ("output", "kept", "en", 10, 9000),
        ("output", "kept", "zh", 4, 2000),
    )
    f = compute_funnel(counts, STAGES)
    check_invariant(f)
    assert (f.total_input, f.total_kept, f.total_rejected, f.total_quarantined) == (24, 14, 7, 3)
    en = {r.stage: r for r in f.for_lang("en")}
    assert en["read"].docs_in == 12 and en["heuristics"].docs_rejected == 2 and en["heuristics"].docs_kept == 10
    assert en["heuristics"].chars_kept == 9000
    assert f.for_lang("unknown")[0].docs_quarantined == 3


def test_unknown_stage_is_an_error():
    with pytest.raises(ValueError, match="not in the stage order"):
        compute_funnel(rows(("minhash_dedup", "rejected", "en", 1, 1), ("output", "kept", "en", 1, 1)), STAGES)


def test_bad_decision_is_an_error():
    with pytest.raises(ValueError, match="bad decision"):
        compute_funnel(rows(("read", "dropped", "en", 1, 1)), STAGES)


def test_derived_parts_enter_at_their_stage():
    # one zh record split into 3 parts at coherence: 2 parts kept, 1 too short
    counts = rows(
        ("coherence", "rejected", "zh", 1, 900),
        ("coherence_split", "rejected", "zh", 1, 50),
        ("output", "kept", "zh", 6, 4850),
    )
    stages = ["read", "coherence", "coherence_split"]
    f = compute_funnel(counts, stages, derived={"coherence_split": {"zh": (3, 900)}})
    check_invariant(f)
    zh = {r.stage: r for r in f.for_lang("zh")}
    assert zh["read"].docs_in == 5 and zh["coherence"].docs_kept == 4
    assert zh["coherence_split"].docs_in == 7 and zh["coherence_split"].docs_added == 3
    assert f.total_input == 8 and f.total_derived == 3
