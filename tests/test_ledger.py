"""The funnel is computed from the ledger alone and must account for every record.

``compute_funnel`` derives kept = in - rejected - quarantined, so its funnel
adds up for any ledger; ``check_invariant`` is checked here against counts
taken in the tests themselves, from plain lists of reader rows and ledger rows.
"""
from collections import Counter

import pytest

from pipeline.ledger import LedgerBroken, check_invariant, compute_funnel

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
    zh = {r.stage: r for r in f.for_lang("zh")}
    assert zh["read"].docs_in == 5 and zh["coherence"].docs_kept == 4
    assert zh["coherence_split"].docs_in == 7 and zh["coherence_split"].docs_added == 3
    assert f.total_input == 8 and f.total_derived == 3


def test_funnel_per_lang_by_hand():
    """Every cell of a two-language funnel with a split document, worked out
    by hand (chars too): each lang's rows are its own, nothing leaks across."""
    counts = rows(
        ("read", "quarantined", "en", 1, 10),
        ("langid", "rejected", "en", 2, 200),
        ("langid", "quarantined", "zh", 1, 30),
        ("coherence", "rejected", "zh", 1, 900),        # split into 3 parts
        ("coherence_split", "rejected", "zh", 1, 50),   # one part too short
        ("heuristics", "rejected", "en", 3, 300),
        ("heuristics", "quarantined", "en", 1, 5),
        ("output", "kept", "en", 4, 4000),
        ("output", "kept", "zh", 2, 850),
    )
    stages = ["read", "langid", "coherence", "coherence_split", "heuristics"]
    f = compute_funnel(counts, stages, derived={"coherence_split": {"zh": (3, 900)}})
    assert f.langs == ["en", "zh"]
    cells = {(r.lang, r.stage): (r.docs_in, r.docs_rejected, r.docs_quarantined, r.docs_kept, r.docs_added,
                                 r.chars_in, r.chars_kept) for r in f.rows}
    assert cells == {
        ("en", "read"): (11, 0, 1, 10, 0, 4515, 4505),
        ("en", "langid"): (10, 2, 0, 8, 0, 4505, 4305),
        ("en", "coherence"): (8, 0, 0, 8, 0, 4305, 4305),
        ("en", "coherence_split"): (8, 0, 0, 8, 0, 4305, 4305),
        ("en", "heuristics"): (8, 3, 1, 4, 0, 4305, 4000),
        ("zh", "read"): (2, 0, 0, 2, 0, 930, 930),
        ("zh", "langid"): (2, 0, 1, 1, 0, 930, 900),
        ("zh", "coherence"): (1, 1, 0, 0, 0, 900, 0),
        ("zh", "coherence_split"): (3, 1, 0, 2, 3, 900, 850),
        ("zh", "heuristics"): (2, 0, 0, 2, 0, 850, 850),
    }
    assert (f.total_input, f.total_kept, f.total_rejected, f.total_quarantined, f.total_derived) == (16, 6, 7, 3, 3)
    d = f.to_dict()
    assert d["total"] == {"input": 16, "kept": 6, "rejected": 7, "quarantined": 3, "derived": 3}
    assert d["stages"] == stages and len(d["rows"]) == 10


def test_kept_at_a_stage_or_dropped_at_output_is_an_error():
    """Only ``output`` rows are the corpus: a row kept at a stage, or not kept at output, breaks the funnel."""
    with pytest.raises(ValueError, match="ledger broken for lang=en: 3 documents survive every stage but 2"):
        compute_funnel(rows(("langid", "kept", "en", 1, 1), ("output", "kept", "en", 2, 2)), STAGES)
    with pytest.raises(ValueError, match="ledger broken for lang=zh: 3 documents survive every stage but 2"):
        compute_funnel(rows(("output", "rejected", "zh", 1, 1), ("output", "kept", "zh", 2, 2),
                            ("output", "kept", "en", 2, 2)), STAGES)


# ------------------------------------- the invariant, from independent counts --
def reader_rows():
    """What the readers yielded: (source_file, offset) per record."""
    return [("a.jsonl", i) for i in range(5)] + [("b.warc.gz", i) for i in (1, 3, 4)] + [("c.parquet", -1)]


def ledger_rows():
    """The final ledger: (source_file, offset, stage, decision, lang, part)."""
    return [
        ("a.jsonl", 0, "output", "kept", "en", False),
        ("a.jsonl", 1, "langid", "rejected", "fr", False),
        ("a.jsonl", 2, "read", "quarantined", None, False),
        ("a.jsonl", 3, "coherence", "rejected", "zh", False),   # split in two parts
        ("a.jsonl", 3, "output", "kept", "zh", True),
        ("a.jsonl", 3, "coherence_split", "rejected", "zh", True),
        ("a.jsonl", 4, "output", "kept", "en", False),
        ("b.warc.gz", 1, "heuristics", "rejected", "en", False),
        ("b.warc.gz", 3, "output", "kept", "zh", False),
        ("b.warc.gz", 4, "read", "quarantined", None, False),
        ("c.parquet", -1, "read", "quarantined", None, False),
    ]


STAGES_SPLIT = ["read", "langid", "coherence", "coherence_split", "heuristics"]


def check(reader, ledger, with_funnel=True):
    """check_invariant on counts taken here, plainly: records per file from
    the reader rows, ledger rows per file with their distinct offsets, and
    decisions counted by value."""
    read_counts = Counter(f for f, _ in reader)
    inputs = [r for r in ledger if not r[5]]
    per_file = {f: (sum(r[0] == f for r in inputs), len({r[1] for r in inputs if r[0] == f}))
                for f in {r[0] for r in inputs}}
    decisions = Counter(r[3] for r in ledger)
    parts = sum(r[5] for r in ledger)
    funnel = None
    if with_funnel:
        grouped = Counter((r[2], r[3], r[4]) for r in ledger)
        counts = [dict(stage=s, decision=d, lang=l, docs=n, chars=0) for (s, d, l), n in grouped.items()]
        part_langs = Counter(r[4] for r in ledger if r[5])
        funnel = compute_funnel(counts, STAGES_SPLIT,
                                derived={"coherence_split": {l: (n, 0) for l, n in part_langs.items()}})
    check_invariant(dict(read_counts), per_file, dict(decisions), parts, funnel)


def test_invariant_holds_for_a_whole_ledger():
    check(reader_rows(), ledger_rows())
    check(reader_rows(), ledger_rows(), with_funnel=False)


def test_invariant_refuses_a_lost_document():
    ledger = ledger_rows()
    del ledger[7]  # b.warc.gz offset 1
    with pytest.raises(LedgerBroken, match=r"b\.warc\.gz: the reader yielded 3 records, the ledger holds 2 \(1 lost\)"):
        check(reader_rows(), ledger, with_funnel=False)
    with pytest.raises(LedgerBroken, match="1 lost"):
        check(reader_rows(), ledger)


def test_invariant_refuses_a_lost_file():
    ledger = [r for r in ledger_rows() if r[0] != "c.parquet"]
    with pytest.raises(LedgerBroken, match=r"c\.parquet: the reader yielded 1 records, the ledger holds 0"):
        check(reader_rows(), ledger)


def test_invariant_refuses_a_duplicated_document():
    ledger = ledger_rows()
    ledger.append(ledger[0])
    with pytest.raises(LedgerBroken, match=r"a\.jsonl: the reader yielded 5 records, the ledger holds 6 "
                                           r"\(1 counted twice or more\)"):
        check(reader_rows(), ledger)
    # a record the reader never yielded (a file it never read)
    with pytest.raises(LedgerBroken, match=r"d\.jsonl: the reader yielded 0 records, the ledger holds 1"):
        check(reader_rows(), ledger_rows() + [("d.jsonl", 0, "output", "kept", "en", False)])


def test_invariant_refuses_one_lost_and_one_doubled_in_a_file():
    """The per-file count still matches: the repeated offset gives it away."""
    ledger = ledger_rows()
    ledger[1] = ("a.jsonl", 0, "langid", "rejected", "fr", False)  # offset 1 lost, offset 0 twice
    with pytest.raises(LedgerBroken, match=r"a\.jsonl: 1 ledger rows repeat an offset"):
        check(reader_rows(), ledger)


@pytest.mark.parametrize("bad", ["dropped", "", None, "Kept"])
def test_invariant_refuses_an_unknown_decision(bad):
    ledger = ledger_rows()
    ledger[4] = ledger[4][:3] + (bad,) + ledger[4][4:]
    with pytest.raises(LedgerBroken, match="unknown decision"):
        check(reader_rows(), ledger, with_funnel=False)


def test_invariant_refuses_decisions_that_do_not_add_up():
    """Per-file rows fine, but the decision counts (taken separately) are off."""
    read_counts = Counter(f for f, _ in reader_rows())
    with pytest.raises(LedgerBroken, match="ledger has 10 rows by decision for 9 records read \\+ 2 parts"):
        check_invariant(dict(read_counts), {"a.jsonl": (5, 5), "b.warc.gz": (3, 3), "c.parquet": (1, 1)},
                        {"kept": 4, "rejected": 4, "quarantined": 2}, 2)
    with pytest.raises(LedgerBroken, match="parts"):  # parts not counted
        check_invariant(dict(read_counts), {"a.jsonl": (5, 5), "b.warc.gz": (3, 3), "c.parquet": (1, 1)},
                        {"kept": 4, "rejected": 4, "quarantined": 3}, 0)


def test_invariant_refuses_a_funnel_that_is_not_the_ledger():
    ledger = ledger_rows()
    grouped = Counter((r[2], r[3], r[4]) for r in ledger)
    counts = [dict(stage=s, decision=d, lang=l, docs=n, chars=0) for (s, d, l), n in grouped.items()]
    funnel = compute_funnel(counts, STAGES_SPLIT, derived={"coherence_split": {"zh": (2, 0)}})
    read_counts = dict(Counter(f for f, _ in reader_rows()))
    files = {"a.jsonl": (5, 5), "b.warc.gz": (3, 3), "c.parquet": (1, 1)}
    decisions = dict(Counter(r[3] for r in ledger))
    check_invariant(read_counts, files, decisions, 2, funnel)
    funnel.total_rejected -= 1
    funnel.total_quarantined += 1
    with pytest.raises(LedgerBroken, match="funnel totals"):
        check_invariant(read_counts, files, decisions, 2, funnel)
    funnel = compute_funnel(counts, STAGES_SPLIT, derived={"coherence_split": {"zh": (2, 0)}})
    funnel.total_derived = 1
    with pytest.raises(LedgerBroken, match="funnel totals"):
        check_invariant(read_counts, files, decisions, 2, funnel)


def test_parts_entering_at_an_unknown_stage_are_an_error():
    with pytest.raises(ValueError, match="derived documents enter at 'coherence_split', not in the stage order"):
        compute_funnel(rows(("output", "kept", "zh", 3, 30)), STAGES, derived={"coherence_split": {"zh": (1, 10)}})
