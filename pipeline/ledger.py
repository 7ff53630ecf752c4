"""The ledger: every input record's fate, and the funnel computed from it.

One ledger row per input record (plus one per unreadable file), with:
  id, source_file, offset, lang, n_chars_in, n_chars_out, stage, decision,
  reason, duplicate_of, edits, and every score column a stage wrote.
``stage`` is the stage that decided (``OUTPUT_STAGE`` for documents in the
corpus); ``decision`` one of ``DECISIONS`` (pipeline/decisions.py).

The funnel follows from the ledger alone: documents enter a stage if no
earlier stage decided them, so for each stage
    in = kept + rejected + quarantined,    kept(stage k) + added(k+1) = in(stage k+1),
and in total: input = corpus + every rejection + every quarantine.
These hold for any ledger by construction; ``check_invariant`` checks the
ledger against counts taken without it (records per file as the readers
yielded them, decisions counted by value).

``added`` is for derived documents: a document the coherence scorer splits
is decided at ``coherence`` (rejected, ``split_into_parts``) and each part
enters the funnel at ``coherence_split`` as a new ledger row whose
``parent_id`` names the input record. Ledger rows = input records + parts.
"""
from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Iterable, Mapping, Sequence

from pipeline.decisions import DECISIONS, KEPT, OUTPUT_STAGE, QUARANTINED, REJECTED


@dataclass
class StageCount:
    stage: str
    lang: str
    docs_in: int = 0
    docs_kept: int = 0
    docs_rejected: int = 0
    docs_quarantined: int = 0
    chars_in: int = 0
    chars_kept: int = 0
    docs_added: int = 0


@dataclass
class Funnel:
    stages: list[str]
    rows: list[StageCount] = field(default_factory=list)
    total_input: int = 0
    total_kept: int = 0
    total_rejected: int = 0
    total_quarantined: int = 0
    total_derived: int = 0

    def for_lang(self, lang: str) -> list[StageCount]:
        return [r for r in self.rows if r.lang == lang]

    @property
    def langs(self) -> list[str]:
        return sorted({r.lang for r in self.rows})

    def to_dict(self) -> dict:
        return {
            "stages": self.stages,
            "total": {
                "input": self.total_input,
                "kept": self.total_kept,
                "rejected": self.total_rejected,
                "quarantined": self.total_quarantined,
                "derived": self.total_derived,
            },
            "rows": [asdict(r) for r in self.rows],
        }


def compute_funnel(counts: Iterable[Mapping], stages: Sequence[str],
                   derived: Mapping[str, Mapping[str, tuple[int, int]]] | None = None) -> Funnel:
    """Build the funnel from grouped ledger counts.

    ``counts``: rows with keys stage, decision, lang, docs, chars (one per
    group of the ledger grouped by those three keys). ``stages``: the stage
    order (``read`` first); the corpus rows have stage ``output``.
    ``derived``: stage -> lang -> (docs, chars) of documents that enter the
    funnel at that stage (parts of split documents).
    Raises ValueError if a ledger stage is not in ``stages`` (a stage that
    decided documents but is not accounted for would break the funnel).
    """
    derived = derived or {}
    for stage in derived:
        if stage not in stages:
            raise ValueError(f"derived documents enter at {stage!r}, not in the stage order")
    order = list(stages)
    known = set(order) | {OUTPUT_STAGE}
    by: dict[tuple[str, str, str], tuple[int, int]] = {}
    langs: set[str] = set()
    for c in counts:
        stage, decision, lang = c["stage"], c["decision"], c["lang"] or "unknown"
        if stage not in known:
            raise ValueError(f"ledger stage {stage!r} is not in the stage order {order}")
        if decision not in DECISIONS:
            raise ValueError(f"bad decision {decision!r} in ledger")
        key = (stage, decision, lang)
        d, ch = by.get(key, (0, 0))
        by[key] = (d + int(c["docs"]), ch + int(c["chars"] or 0))
        langs.add(lang)
    funnel = Funnel(stages=order)
    for lang in sorted(langs):
        total_docs = sum(v[0] for (s, d, l), v in by.items() if l == lang)
        total_chars = sum(v[1] for (s, d, l), v in by.items() if l == lang)
        added_docs = sum(d.get(lang, (0, 0))[0] for d in derived.values())
        added_chars = sum(d.get(lang, (0, 0))[1] for d in derived.values())
        docs_in, chars_in = total_docs - added_docs, total_chars - added_chars
        for stage in order:
            add = derived.get(stage, {}).get(lang, (0, 0))
            docs_in, chars_in = docs_in + add[0], chars_in + add[1]
            rej = by.get((stage, REJECTED, lang), (0, 0))
            qua = by.get((stage, QUARANTINED, lang), (0, 0))
            row = StageCount(stage, lang, docs_in=docs_in, chars_in=chars_in,
                             docs_rejected=rej[0], docs_quarantined=qua[0], docs_added=add[0])
            row.docs_kept = docs_in - rej[0] - qua[0]
            row.chars_kept = chars_in - rej[1] - qua[1]
            funnel.rows.append(row)
            docs_in, chars_in = row.docs_kept, row.chars_kept
        out = by.get((OUTPUT_STAGE, KEPT, lang), (0, 0))[0]
        if out != docs_in:
            raise ValueError(f"ledger broken for lang={lang}: {docs_in} documents survive "
                             f"every stage but {out} are marked kept")
    funnel.total_derived = sum(d for per_lang in derived.values() for d, _ in per_lang.values())
    for (stage, decision, lang), (d, _) in by.items():
        funnel.total_input += d
        if decision == KEPT:
            funnel.total_kept += d
        elif decision == REJECTED:
            funnel.total_rejected += d
        else:
            funnel.total_quarantined += d
    return funnel


class LedgerBroken(AssertionError):
    """The ledger does not account for the input: a record lost, counted
    twice, or given a decision that is not one of ``DECISIONS``."""


def check_invariant(read_counts: Mapping[str, int], ledger_files: Mapping[str, tuple[int, int]],
                    decisions: Mapping[str | None, int], parts: int, funnel: Funnel | None = None) -> None:
    """The ledger against counts taken without it (``compute_funnel`` cannot
    fail this: it derives kept as in - rejected - quarantined).

    ``read_counts``: source_file -> records the readers yielded for that file,
    counted on the readers' own output before any stage ran (one row per
    record, one per unreadable file). ``ledger_files``: source_file ->
    (ledger rows of input records from that file, distinct offsets among
    them); rows of parts of split documents (``parent_id`` set) are not
    input records and are left out. ``decisions``: decision value -> ledger
    rows holding it, every row counted by its own value (parts included).
    ``parts``: ledger rows of parts. ``funnel``: when given, its totals must
    be these counts.

    Raises ``LedgerBroken`` when a file's records are not each in the ledger
    exactly once (a lost or double-counted document), a decision is not one
    of ``DECISIONS``, or the decisions do not add up to the records read
    plus the parts.
    """
    unknown = sorted((repr(d) for d in decisions if d not in DECISIONS))
    if unknown:
        raise LedgerBroken(f"ledger rows with unknown decision(s) {', '.join(unknown)} "
                           f"({sum(n for d, n in decisions.items() if d not in DECISIONS)} rows); "
                           f"known: {list(DECISIONS)}")
    problems = []
    for f in sorted(set(read_counts) | set(ledger_files), key=str):
        read = int(read_counts.get(f, 0))
        rows, distinct = (int(x) for x in ledger_files.get(f, (0, 0)))
        if rows != read:
            what = "lost" if rows < read else "counted twice or more"
            problems.append(f"{f}: the reader yielded {read} records, the ledger holds {rows} "
                            f"({abs(read - rows)} {what})")
        elif distinct != rows:
            problems.append(f"{f}: {rows - distinct} ledger rows repeat an offset already in the ledger "
                            f"(a record counted twice, another lost)")
    if problems:
        raise LedgerBroken(f"ledger does not account for the input records of {len(problems)} file(s): "
                           + "; ".join(problems[:10]) + (" ..." if len(problems) > 10 else ""))
    n_read = sum(int(n) for n in read_counts.values())
    n_rows = sum(int(n) for n in decisions.values())
    if n_rows != n_read + parts:
        raise LedgerBroken(f"ledger has {n_rows} rows by decision for {n_read} records read "
                           f"+ {parts} parts of split documents")
    if funnel is None:
        return
    got = (funnel.total_input, funnel.total_kept, funnel.total_rejected, funnel.total_quarantined,
           funnel.total_derived)
    want = (n_rows, decisions.get(KEPT, 0), decisions.get(REJECTED, 0), decisions.get(QUARANTINED, 0), parts)
    if got != want:
        raise LedgerBroken(f"funnel totals (input, kept, rejected, quarantined, derived) {got} are not the "
                           f"ledger's {want}")
    for r in funnel.rows:
        if r.docs_kept < 0:
            raise LedgerBroken(f"funnel: more documents decided than entered at {r}")
