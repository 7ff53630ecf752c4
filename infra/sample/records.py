"""The sample record, the build's constants, stable hash fractions."""
from __future__ import annotations

import hashlib
from dataclasses import dataclass, field


SEED = 20240304  # the Yi paper's arXiv date (2403.04652)

# How much of each source goes into the sample (the rest is unused or, for
# Wikipedia / debian-reference / manpages-zh, goes to data/reference).
N_FORTUNES_EN = 3300
N_FORTUNES_ZH = 2300
N_PYDOCS = 260
PYDOCS_MAX_BYTES = 120_000
DIALOGS_PER_LANG = {"en": 450, "zh": 320}
DIALOGS_OTHER_CAP = 90
EXACT_DUP_FRACTION = 0.03
NEAR_DUP_FRACTION = 0.03
GBK_FRACTION = 0.2  # of the Chinese HTML pages, served as GBK like many .cn sites


@dataclass
class Rec:
    """One sample record before it is written: text (or HTML bytes for WARC),
    its ground truth (lang, kind, dup_of) and where it goes (fmt, file)."""
    url: str
    text: str = ""
    source: str = ""
    lang: str | None = None          # known language; None for junk
    kind: str = "real"               # real | exact_dup | near_dup | junk kind
    dup_of: str | None = None        # url of the original
    html: bytes | None = None        # WARC payload (HTML) when fmt == "warc"
    content_type: str = "text/html; charset=utf-8"
    status: str = "200 OK"
    fmt: str = ""                    # warc | wet | jsonl | parquet
    file: str = ""
    extra: dict = field(default_factory=dict)

    @property
    def id(self) -> str:
        return hashlib.sha1(self.url.encode("utf-8")).hexdigest()[:20]


def stable_fraction(key: str) -> float:
    """A number in [0, 1) fixed by `key` (for splits that must not move when
    other inputs change, e.g. reference vs sample)."""
    return int(hashlib.sha1(key.encode("utf-8")).hexdigest()[:8], 16) / 2**32
