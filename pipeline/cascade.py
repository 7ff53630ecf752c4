"""Run Yi's row-local stages over a pyarrow batch and record each fate.

The registry maps the ledger name of each stage to its class (imported
lazily, so a missing optional model only matters if its stage is asked
for). Stages that need the whole corpus (dedup) are not here: they run in
jobs/ on Spark, over the output of this cascade.

Output columns added to the input batch:
  lang, <every score column of the stages run>, edits (JSON),
  decision, stage (the stage that decided; "" for documents still kept),
  reason (words: pipeline/decisions.py).

Rules judge form, learned scores judge content (``[cascade.rescue]``):
a rejection by a FORM rule named in ``reasons`` (short lines, missing
punctuation, bullets ... of heuristics/repetition) is deferred: the
document goes on through the later stages (correction, PII, the scorers)
and, at the end, is kept if its scores are confident (every bound of
``min_score`` / ``max_score`` for its language holds), with
``rescued:<stage>:<reason>`` counted in ``edits``; otherwise it is rejected
by that rule as before (its text and edits as they were then, the later
scores kept: they say why it was not rescued). Language, length, garbled
text, safety and the scorers' own drops are never rescuable
(``RescuePolicy``). The opposite direction, a confident bad score dropping a
document that passes every rule, is the scorers' own drop (perplexity:
``word_salad``, ``high_perplexity``). Stages keep their interface: the
policy travels with the list ``build_stages`` returns.
"""
from __future__ import annotations

import importlib
import json
from typing import Iterable, Sequence

import pyarrow as pa

from pipeline.config import Config
from pipeline.decisions import DECISION_COLUMNS, KEPT, QUARANTINED, REJECTED, STILL_KEPT
from pipeline.document import Document, Quarantine, Stage

# Yi's cascade order (arXiv 2403.04652, Fig. 2). Row-local stages only.
REGISTRY: dict[str, str] = {
    "langid": "pipeline.langid:LanguageID",
    "heuristics": "pipeline.heuristics:TextMetricFilter",
    "repetition": "pipeline.repetition:RepetitionFilter",
    "correction": "pipeline.correction:RuleBasedCorrection",
    "pii": "pipeline.pii:PIIAnonymizer",
    "perplexity": "pipeline.perplexity:PerplexityScorer",
    "quality": "pipeline.quality:QualityClassifier",
    "coherence": "pipeline.coherence:CoherenceScorer",
    "safety": "pipeline.safety:SafetyScorer",
}


DECISION_FIELDS = [
    pa.field("lang", pa.string()),
    pa.field("edits", pa.string()),
    pa.field("decision", pa.string()),
    pa.field("stage", pa.string()),
    pa.field("reason", pa.string()),
]


def stage_class(name: str) -> type[Stage]:
    try:
        target = REGISTRY[name]
    except KeyError:
        raise ValueError(f"unknown stage {name!r}; known: {sorted(REGISTRY)}") from None
    module, cls = target.split(":")
    return getattr(importlib.import_module(module), cls)


class Stages(list):
    """The stages of a cascade, in order, and the rescue policy they run with
    (``run_batch`` reads ``rescue``; a plain list runs without one)."""

    rescue: "RescuePolicy | None" = None


# Stages whose rejections may be rescued (the form rules), and reasons that
# never are, whatever the config says: language, length, garbled text.
RESCUABLE_STAGES = frozenset({"heuristics", "repetition"})
NEVER_RESCUED = frozenset({"too_short", "too_long", "garbled"})


class RescuePolicy:
    """Which rule rejections wait for the scores, and what a confident score
    is: ``reasons`` = ["stage:reason", ...]; ``min_score`` / ``max_score`` =
    {score column: {lang: bound}}. A document is confident when its language
    has at least one bound and every bound for its language holds (a missing
    score is not confident)."""

    def __init__(self, *, reasons: Sequence[str], min_score: dict, max_score: dict):
        self.reasons = set()
        for item in reasons:
            stage, _, reason = item.partition(":")
            if not reason:
                raise ValueError(f"[cascade.rescue] reasons: {item!r} is not 'stage:reason'")
            if stage not in RESCUABLE_STAGES or reason in NEVER_RESCUED:
                raise ValueError(f"[cascade.rescue] reasons: {item!r} cannot be rescued (only form rules of "
                                 f"{sorted(RESCUABLE_STAGES)}, never {sorted(NEVER_RESCUED)}, language or safety)")
            self.reasons.add((stage, reason))
        self.bounds: dict[str, list[tuple[str, str, float]]] = {}
        for kind, table in (("min", min_score), ("max", max_score)):
            for column, per_lang in table.items():
                for lang, bound in per_lang.items():
                    self.bounds.setdefault(lang, []).append((column, kind, float(bound)))
        for b in self.bounds.values():
            b.sort()

    @classmethod
    def from_section(cls, section: dict) -> "RescuePolicy | None":
        if not section or not section.get("reasons"):
            return None
        return cls(reasons=section["reasons"], min_score=section.get("min_score", {}),
                   max_score=section.get("max_score", {}))

    @property
    def columns(self) -> set[str]:
        return {c for b in self.bounds.values() for c, _, _ in b}

    def rescuable(self, stage: str, reason: str) -> bool:
        return (stage, reason) in self.reasons

    def confident(self, doc: Document) -> bool:
        bounds = self.bounds.get(doc.lang or "")
        if not bounds:
            return False
        for column, kind, bound in bounds:
            v = doc.scores.get(column)
            if v is None or (v < bound if kind == "min" else v > bound):
                return False
        return True


def build_stages(names: Sequence[str], cfg: Config) -> Stages:
    """Instantiate stages by name, each with its own config section, with
    the rescue policy of ``[cascade.rescue]`` when the stages write every
    score it reads (the length rules on split parts run without it)."""
    stages = Stages(stage_class(n)(**cfg.section(n)) for n in names)
    policy = RescuePolicy.from_section(cfg.section("cascade.rescue"))
    if policy is not None and policy.columns <= set(score_columns(type(st) for st in stages)):
        stages.rescue = policy
    return stages


def score_columns(stage_types: Iterable[type[Stage]]) -> list[str]:
    cols: list[str] = []
    for st in stage_types:
        for c in st.score_columns:
            if c not in cols:
                cols.append(c)
    return cols


def score_types(stage_types: Iterable[type[Stage]]) -> dict[str, pa.DataType]:
    """Arrow type of each score column: int64 for a stage's
    ``integer_scores`` (counts, offsets), float64 for the rest."""
    types: dict[str, pa.DataType] = {}
    for st in stage_types:
        stray = set(st.integer_scores) - set(st.score_columns)
        if stray:
            raise ValueError(f"{st.__name__}.integer_scores names no score column: {sorted(stray)}")
        for c in st.score_columns:
            types.setdefault(c, pa.int64() if c in st.integer_scores else pa.float64())
    return types


def output_schema(input_schema: pa.Schema, stage_types: Sequence[type[Stage]]) -> pa.Schema:
    """Input columns (text may be edited) + lang + scores + decision fields."""
    fields = [f for f in input_schema if f.name not in {"lang", "edits", *DECISION_COLUMNS}]
    names = {f.name for f in fields}
    fields += [pa.field(c, t) for c, t in score_types(stage_types).items() if c not in names]
    return pa.schema(fields + DECISION_FIELDS)


def judge(doc: Document, stages: Sequence[Stage],
          rescue: RescuePolicy | None = None) -> tuple[str, str, str | None]:
    """Run ``stages`` in order on one document: (decision, stage, reason).
    With ``rescue``, a rescuable rejection waits for the later stages (see
    the module doc); the first rejection decides when there is no rescue."""
    pending: list[tuple[str, str]] = []
    saved: tuple[str, dict] | None = None
    for st in stages:
        try:
            reason = st(doc)
        except Quarantine as q:
            if pending:
                break
            return QUARANTINED, st.name, q.reason
        except Exception as e:  # a bug or bad input must not kill the job
            if pending:
                break
            return QUARANTINED, st.name, f"error:{type(e).__name__}:{str(e)[:200]}"
        if reason is None:
            continue
        if rescue is not None and rescue.rescuable(st.name, reason):
            if not pending:
                saved = (doc.text, dict(doc.edits))
            pending.append((st.name, reason))
            continue
        if pending:
            break
        return REJECTED, st.name, reason
    else:
        if pending and rescue.confident(doc):
            for stage, reason in pending:
                doc.add_edit(f"rescued:{stage}:{reason}")
            return KEPT, STILL_KEPT, None
    if pending:
        doc.text, doc.edits = saved
        return REJECTED, pending[0][0], pending[0][1]
    return KEPT, STILL_KEPT, None


def run_batch(batch: pa.RecordBatch, stages: Sequence[Stage], schema: pa.Schema, *,
              as_stage: str | None = None, reason_prefix: str = "",
              rescue: RescuePolicy | None = None) -> pa.RecordBatch:
    """Judge every row of ``batch`` that is still kept (rows already decided
    by an earlier step, e.g. quarantined by a reader, pass through).
    ``as_stage``: a row the stages decide is recorded at this stage, with
    ``reason_prefix`` + reason (the parts of a split document are judged by
    the length rules on behalf of ``coherence_split``). ``rescue``: the
    policy (default: the one ``build_stages`` attached to ``stages``)."""
    if rescue is None:
        rescue = getattr(stages, "rescue", None)
    cols = batch.to_pydict()
    n = batch.num_rows
    has_decision = "decision" in cols
    texts, langs, edits_out = list(cols["text"]), [], []
    decisions, stage_names, reasons = [], [], []
    # The score columns this batch adds, each with its Python type.
    decision_names = {f.name for f in DECISION_FIELDS}
    cast = {f.name: int if pa.types.is_integer(f.type) else float
            for f in schema if f.name not in cols and f.name not in decision_names}
    scores = {c: [None] * n for c in cast}
    for i in range(n):
        if has_decision and cols["decision"][i] != KEPT:
            langs.append(cols.get("lang", [None] * n)[i])
            edits_out.append(cols.get("edits", [None] * n)[i])
            decisions.append(cols["decision"][i])
            stage_names.append(cols["stage"][i])
            reasons.append(cols["reason"][i])
            continue
        prev_edits = cols.get("edits", [None] * n)[i]
        doc = Document(
            id=cols["id"][i],
            text=texts[i] if texts[i] is not None else "",
            url=cols.get("url", [None] * n)[i],
            source=cols.get("source", [None] * n)[i],
            lang=cols.get("lang", [None] * n)[i],
            edits=json.loads(prev_edits) if prev_edits else {},
        )
        decision, stage, reason = judge(doc, stages, rescue)
        if as_stage is not None and decision != KEPT:
            stage, reason = as_stage, reason_prefix + reason
        texts[i] = doc.text
        langs.append(doc.lang)
        edits_out.append(json.dumps(doc.edits, sort_keys=True) if doc.edits else None)
        decisions.append(decision)
        stage_names.append(stage)
        reasons.append(reason)
        for k, v in doc.scores.items():
            if k in scores:
                scores[k][i] = cast[k](v)
    out = {}
    for f in schema:
        name = f.name
        if name == "text":
            out[name] = texts
        elif name == "lang":
            out[name] = langs
        elif name == "edits":
            out[name] = edits_out
        elif name == "decision":
            out[name] = decisions
        elif name == "stage":
            out[name] = stage_names
        elif name == "reason":
            out[name] = reasons
        elif name in scores:
            out[name] = scores[name]
        else:
            out[name] = cols[name]
    return pa.RecordBatch.from_pydict(out, schema=schema)

