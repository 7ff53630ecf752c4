"""The one home of the ledger's words: decisions, fixed stage names, reasons
that more than one module writes.

Every ledger row (jobs/filter.py, jobs/dedup.py) and every reader row
(pipeline/readers) says what happened to a record with three columns:
``decision`` (one of ``DECISIONS``), ``stage`` (the stage that decided; ``""``
while a document is still kept, ``OUTPUT_STAGE`` for a document in the
corpus) and ``reason`` (null when kept).

Input ids (pipeline/readers/base.py ``canonical_id``): the ``id`` column
is a string. An input id that is a string is kept as is; an integer becomes
its decimal string, and so does a float or decimal that is an exact integer
(``7.0``; JSON does not tell 7.0 from 7, and pandas stores integer columns
with nulls as floats). So ``7``, ``7.0`` and ``"7"`` are ONE id (users join
on the string; a join key cannot tell them apart either), and the
duplicate-id rule below applies to them. Any other id (boolean, fractional
or non-finite float, list, object, bytes that are not UTF-8, a string with
lone surrogates) is never turned into a string (no Python ``repr`` in the
id column): the record is quarantined at ``read`` as ``BAD_ID``, with a
content id (``make_id``) and its raw id shown in the quarantine preview. An
empty or missing id gets a content id.

Duplicate input ids (one rule, applied by both jobs): ids must be unique,
users join on them. Only records still kept take part: a record quarantined
by its reader (``empty_text``, ``bad_id`` ...; the dedup job: ``null_id``,
``null_text``) does not claim its id, so its twin is judged as if it were
alone (the ledger then holds both rows under the one id: the quarantined one
and the one that went on). Among the records still kept that share an id,
the first in input order (``source_file``, then ``offset``; inputs without
those columns: by ``text``) keeps it and goes on; every later one is
quarantined with reason ``DUPLICATE_ID`` (by the corpus job at ``read``, by
the dedup job at its first stage).

Derived ids: a part of a split document is ``<id>-p<k>`` (``parent_id`` =
``<id>``); when an input record already holds that id, the part's id gets
``~`` and 16 hex digits of sha256(parent id, part text) (jobs/steps.py
``CoherenceSplit``), so a derived id never repeats an input id.

Reader reasons that need a word here (the full list is in
pipeline/readers/__init__.py): ``BAD_ID`` above; ``RECORD_ERROR`` for a
record whose reading raised an exception no reader rule foresaw (the
exception is in the preview; the file goes on); ``READER_ERROR`` for a
reader that broke in a way no rule foresaw (the records before it are kept,
one row says the rest of the file is lost).
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
BAD_ID = "bad_id"                        # an id that is not a string or an integer (see above)
RECORD_ERROR = "record_error"            # one record raised an unforeseen exception
READER_ERROR = "reader_error"            # the reader broke; the rest of the file is lost
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
