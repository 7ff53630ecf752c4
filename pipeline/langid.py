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

import re
from typing import Sequence

from pipeline.config import Configured
from pipeline.document import Document, Stage

_DETECTORS: dict[tuple[tuple[str, ...], bool], object] = {}
# lingua sums probabilities in hash-map order, so the same text scores
# differently in the last bits from call to call: rounded, the score (and
# the output bytes) are the same on every run.
SCORE_DIGITS = 6

# Letters by script (Unicode blocks). Han: CJK unified ideographs with
# extensions A-G and the compatibility block; kana: hiragana, katakana (not
# U+30FB "・", which Chinese text uses too), phonetic extensions, half-width
# katakana; Hangul: syllables, jamo and their extensions; Latin: ASCII
# letters, Latin-1, Latin Extended-A/B and Additional (Vietnamese).
_HAN = "\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff\U00020000-\U0003134f"
_KANA = "\u3040-\u309f\u30a0-\u30fa\u30fc-\u30ff\u31f0-\u31ff\uff66-\uff9f"
_HANGUL = "\u1100-\u11ff\u3130-\u318f\ua960-\ua97f\uac00-\ud7af\ud7b0-\ud7ff"
_LATIN = "A-Za-z\u00c0-\u00d6\u00d8-\u00f6\u00f8-\u024f\u1e00-\u1eff"
_RUN = {name: re.compile(f"[{chars}]+") for name, chars in
        (("han", _HAN), ("kana", _KANA), ("hangul", _HANGUL), ("latin", _LATIN))}
_LETTERS = re.compile(r"[^\W\d_]+")
_NOT_LATIN_LETTERS = re.compile(f"(?:(?![{_LATIN}])[^\\W\\d_])+")


# A line of code, a command or its output rather than prose: it starts with a
# shell prompt or comment mark, or symbols that prose rarely uses are at
# least 4% of its non-blank characters.
_PROMPT = re.compile(r"^\s*(?:[$#%>]|\w+@[\w.-]+[:$#])")
_CODE_SYMBOLS = re.compile(r"[=/\\{}\[\]<>|;$#@*_~^&`+]")


def prose_lines(text: str) -> str:
    """The lines of ``text`` that are not code (``_PROMPT``/``_CODE_SYMBOLS``);
    the whole text when every line looks like code."""
    keep = []
    for line in text.splitlines():
        visible = len(line) - line.count(" ") - line.count("\t")
        if visible == 0 or _PROMPT.match(line) or len(_CODE_SYMBOLS.findall(line)) >= 0.04 * visible:
            continue
        keep.append(line)
    return "\n".join(keep) if keep else text


def script_counts(text: str) -> dict[str, int]:
    """Letters of ``text`` by script: han, kana, hangul, latin, and other
    (every other letter: Cyrillic, Arabic, Greek, Devanagari, Thai...)."""
    counts = {name: sum(map(len, rx.findall(text))) for name, rx in _RUN.items()}
    letters = sum(map(len, _LETTERS.findall(text)))
    counts["other"] = max(letters - sum(counts.values()), 0)
    return counts


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
                 high_accuracy: bool, max_chars: int, windows: int, script_frontend: bool,
                 skip_code_lines: bool, cjk_char_weight: float, script_min_share: float, kana_share: float, hangul_share: float):
        if not 0.0 <= min_score <= 1.0:
            raise ValueError(f"min_score must be in [0, 1], not {min_score}")
        for key, value in (("script_min_share", script_min_share), ("kana_share", kana_share),
                           ("hangul_share", hangul_share)):
            if not 0.0 < value <= 1.0:
                raise ValueError(f"{key} must be in (0, 1], not {value}")
        if int(windows) < 1 or int(max_chars) < 1 or cjk_char_weight <= 0:
            raise ValueError("windows and max_chars must be >= 1 and cjk_char_weight > 0")
        self.windows = int(windows)
        self.skip_code_lines = bool(skip_code_lines)
        self.script_frontend = bool(script_frontend)
        self.cjk_char_weight = float(cjk_char_weight)
        self.script_min_share = float(script_min_share)
        self.kana_share = float(kana_share)
        self.hangul_share = float(hangul_share)
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

    def _excerpt(self, text: str) -> str:
        """What lingua reads: the text itself up to ``max_chars``; a longer
        one gives ``windows`` evenly spaced slices totalling ``max_chars``
        (same cost as its beginning, but the whole document is sampled)."""
        if len(text) <= self.max_chars or self.windows == 1:
            return text[: self.max_chars]
        size = self.max_chars // self.windows
        step = (len(text) - size) / (self.windows - 1)
        return "\n".join(text[int(i * step): int(i * step) + size] for i in range(self.windows))

    def _lingua(self, text: str) -> tuple[str | None, float]:
        values = self._detector.compute_language_confidence_values(self._excerpt(text))
        if not values or values[0].value <= 0.0:
            return None, 0.0
        top = values[0]
        return top.language.iso_code_639_1.name.lower(), round(float(top.value), SCORE_DIGITS)

    def identify(self, text: str) -> tuple[str | None, float]:
        """(ISO 639-1 code, confidence) of the text; (None, 0.0) when it has
        no letters lingua knows.

        With ``script_frontend``, letters are first counted by script over
        the whole text (a Han, kana or Hangul character weighs
        ``cjk_char_weight`` Latin letters). A non-Latin script that holds at
        least ``script_min_share`` of the weight decides: East Asian text is
        Korean when Hangul is ``hangul_share`` of its characters, Japanese
        when kana is ``kana_share``, else Chinese (score: that script's share
        of the East Asian characters); any other script goes to lingua
        without its Latin letters. Otherwise lingua reads the Latin letters
        only: English code and commands in a Japanese or Arabic page, or
        English terms in Chinese prose, do not outvote the prose."""
        if not self.script_frontend:
            return self._lingua(text)
        if self.skip_code_lines:
            text = prose_lines(text)
        n = script_counts(text)
        cjk = n["han"] + n["kana"] + n["hangul"]
        w_cjk = cjk * self.cjk_char_weight
        total = w_cjk + n["latin"] + n["other"]
        if total == 0:
            return None, 0.0
        if w_cjk >= n["other"] and w_cjk >= self.script_min_share * total:
            if n["hangul"] >= self.hangul_share * cjk:
                return "ko", round((n["hangul"] + n["han"]) / cjk, SCORE_DIGITS)
            if n["kana"] >= self.kana_share * cjk:
                return "ja", round((n["kana"] + n["han"]) / cjk, SCORE_DIGITS)
            return "zh", round(n["han"] / cjk, SCORE_DIGITS)
        if n["other"] >= self.script_min_share * total:
            return self._lingua(_RUN["latin"].sub(" ", text))
        return self._lingua(_NOT_LATIN_LETTERS.sub(" ", text))

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
