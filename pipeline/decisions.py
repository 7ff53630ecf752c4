"""The one home of the ledger's words: decisions, fixed stage names, reasons
that more than one module writes.

Every ledger row (jobs/filter.py, jobs/dedup.py) and every reader row
(pipeline/readers) says what happened to a record with three columns:
``decision`` (one of ``DECISIONS``), ``stage`` (the stage that decided; ``""``
while a document is still kept, ``OUTPUT_STAGE`` for a document in the
corpus) and ``reason`` (null when kept).

Duplicate input ids (one rule, applied by both jobs): ids must be unique,
users join on them. Among the records that share an id, the first in input
order (``source_file``, then ``offset``; inputs without those columns: by
``text``) keeps it and goes on; every later record that is still kept is
quarantined with reason ``DUPLICATE_ID`` (by the corpus job at ``read``, by
the dedup job at its first stage). A record already quarantined by its
reader stays as the reader decided.
"""
from __future__ import annotations

# ----------------------------------------------------------------- decisions --
KEPT = "kept"
REJECTED = "rejected"
QUARANTINED = "quarantined"
DECISIONS = (KEPT, REJECTED, QUARANTINED)

# -------------------------------------------------------------- stage names --
STILL_KEPT = ""                 # ``stage`` of a document no stage has decided yet
READ_STAGE = "read"             # readers and the duplicate-id rule
OUTPUT_STAGE = "output"         # ``stage`` of a document in the corpus
SPLIT_STAGE = "coherence_split"  # parts of documents split at incoherent breaks

# ------------------------------------------------------------------ reasons --
DUPLICATE_ID = "duplicate_id"
NULL_ID = "null_id"
NULL_TEXT = "null_text"
UNREADABLE_FILE = "unreadable_file"      # "unreadable_file: <why>", one row per file
SPLIT_INTO_PARTS = "split_into_parts"    # a document replaced by its parts
PART_PREFIX = "part_"                    # a part rejected by the length rules: part_<reason>
NEAR_DUPLICATE = "near_duplicate"
EXACT_DUPLICATE = "exact_duplicate"

# Columns that record a decision (everything else in a ledger row describes
# the document).
DECISION_COLUMNS = ("decision", "stage", "reason")
