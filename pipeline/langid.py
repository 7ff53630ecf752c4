"""Language identification: Yi keeps English and Chinese web text
(arXiv 2403.04652 §2.1, "language identification" in the filtering cascade).

The model is lingua (``lingua-language-detector``): its n-gram models ship
inside the wheel, so nothing is downloaded at run time. It is built once per
process for a given (candidate languages, accuracy mode) and cached at
module level: every stage instance, batch and document of a worker shares it.

Confidence (``lang_score``) is lingua's relative confidence of the top
language among the candidates (the values over candidates sum to 1). It
depends on the candidate set: that set must contain every language expected
in the input, or text in a missing language is forced onto the nearest
candidate (Japanese onto Chinese, Spanish onto English...).

Chinese: lingua has one Chinese model for both scripts, so traditional and
simplified text are both ``"zh"``; Han-only text is Chinese unless it holds
kana (Japanese), which works down to a few characters.
"""
from __future__ import annotations

from typing import Sequence

from pipeline.config import Configured
from pipeline.document import Document, Stage

_DETECTORS: dict[tuple[tuple[str, ...], bool], object] = {}
# lingua sums probabilities in hash-map order, so the same text scores
# differently in the last bits from call to call: rounded, the score (and
# the output bytes) are the same on every run.
SCORE_DIGITS = 6


def get_detector(candidates: Sequence[str] | str, high_accuracy: bool):
    """The lingua detector for these ISO 639-1 codes ("all" = every language
    lingua knows), built on first use and cached for the process."""
    from lingua import IsoCode639_1, Language, LanguageDetectorBuilder

    if isinstance(candidates, str):
        if candidates != "all":
            raise ValueError(f"candidates must be a list of ISO 639-1 codes or 'all', not {candidates!r}")
        codes: tuple[str, ...] = ("all",)
    else:
        codes = tuple(sorted({c.lower() for c in candidates}))
    key = (codes, high_accuracy)
    det = _DETECTORS.get(key)
    if det is None:
        if codes == ("all",):
            builder = LanguageDetectorBuilder.from_all_languages()
        else:
            known = {lang.iso_code_639_1.name.lower(): lang for lang in Language.all()}
            unknown = [c for c in codes if c not in known]
            if unknown:
                raise ValueError(f"lingua has no model for {unknown}; known codes: {sorted(known)}")
            if len(codes) < 2:
                raise ValueError("language ID needs at least two candidate languages")
            builder = LanguageDetectorBuilder.from_iso_codes_639_1(*(getattr(IsoCode639_1, c.upper()) for c in codes))
        if not high_accuracy:
            builder = builder.with_low_accuracy_mode()
        det = builder.with_preloaded_language_models().build()
        _DETECTORS[key] = det
    return det


class LanguageID(Configured, Stage):
    """Label each document's language; keep only the languages in ``keep``.

    keep           ISO 639-1 codes kept (Yi: English and Chinese).
    min_score      top-language confidence below this → "lang_low_confidence"
                   (CulturaX: 0.5 on fastText, FineWeb: 0.65).
    candidates     languages lingua chooses among (ISO 639-1 codes, or "all").
                   Must include the input's other languages; fewer candidates
                   run faster.
    high_accuracy  lingua's high-accuracy mode (all n-gram orders, ~1.3 GB
                   RSS with every language) instead of low-accuracy (trigrams).
    max_chars      characters of the document classified (its beginning);
                   longer text costs time and rarely changes the answer.

    Sets ``doc.lang`` (also on rejected documents) and ``lang_score``;
    rejects with "lang_not_kept:<code>" or "lang_low_confidence" (which also
    covers text with no letters, where lingua returns no language).
    """

    name = "langid"
    score_columns = ("lang_score",)

    def __init__(self, *, keep: Sequence[str], min_score: float, candidates: Sequence[str] | str,
                 high_accuracy: bool, max_chars: int):
        if not 0.0 <= min_score <= 1.0:
            raise ValueError(f"min_score must be in [0, 1], not {min_score}")
        self.keep = frozenset(c.lower() for c in keep)
        self.min_score = float(min_score)
        self.candidates = candidates if isinstance(candidates, str) else tuple(candidates)
        self.high_accuracy = bool(high_accuracy)
        self.max_chars = int(max_chars)
        if not isinstance(self.candidates, str):
            missing = self.keep - {c.lower() for c in self.candidates}
            if missing:
                raise ValueError(f"kept languages {sorted(missing)} are not among the candidates")
        self._detector = get_detector(self.candidates, self.high_accuracy)

    def identify(self, text: str) -> tuple[str | None, float]:
        """(ISO 639-1 code, confidence) of the text's beginning; (None, 0.0)
        when lingua finds no language (no letters)."""
        values = self._detector.compute_language_confidence_values(text[: self.max_chars])
        if not values or values[0].value <= 0.0:
            return None, 0.0
        top = values[0]
        return top.language.iso_code_639_1.name.lower(), round(float(top.value), SCORE_DIGITS)

    def __call__(self, doc: Document) -> str | None:
        lang, score = self.identify(doc.text)
        doc.lang = lang
        doc.scores["lang_score"] = score
        if lang is None or score < self.min_score:
            return "lang_low_confidence"
        if lang not in self.keep:
            return f"lang_not_kept:{lang}"
        return None

    def __repr__(self) -> str:
        return (f"LanguageID(keep={sorted(self.keep)}, min_score={self.min_score}, "
                f"candidates={self.candidates!r}, high_accuracy={self.high_accuracy})")
