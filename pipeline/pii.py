"""Yi's PII anonymizer (arXiv 2403.04652 §2.1: "personal identifiable
information such as emails and phone numbers" is anonymized).

Each kind is found by a compiled regex, then validated where a checksum or a
structure exists, and replaced by a placeholder token:
  email        RFC-5322-ish local@domain.tld                      → <EMAIL>
  id_number    Chinese resident ID (GB 11643-1999): region, valid
               birth date, ISO 7064 MOD 11-2 check character      → <ID_NUMBER>
  card_number  13-19 digits (groups of 4 may be spaced), a known
               issuer prefix (Visa, Mastercard, Amex, Discover,
               JCB, Diners, UnionPay) with one of the lengths that
               network issues, and a valid Luhn checksum          → <CARD_NUMBER>
  phone        +CC international, US (NXX) NXX-XXXX, Chinese
               mobile 1[3-9]XXXXXXXXX, Chinese landline 0XX-XXXXXXXX → <PHONE>
  ip           IPv4 (octets <= 255, not a "v1.2.3.4" version) and
               IPv6 (validated by ``ipaddress``)                  → <IP>
Replacements are counted as ``pii_<kind>`` edits. Hard negatives (dates,
prices, versions, ISBNs, ids that fail their checksum, digit runs of the
wrong length) are left as they are. Never rejects a document.
"""
from __future__ import annotations

import datetime
import ipaddress
import re
from typing import Callable

from pipeline.config import Configured
from pipeline.document import Document, Stage

# Boundaries are ASCII-only: Chinese text glues values to CJK characters.
EMAIL_RE = re.compile(
    r"(?<![A-Za-z0-9_.%+-])[A-Za-z0-9][A-Za-z0-9._%+-]{0,63}@(?:[A-Za-z0-9-]{1,63}\.)+[A-Za-z]{2,24}(?![A-Za-z0-9-])"
)
# region (first digit 1-8), birth date YYYYMMDD, sequence, check character
ID_RE = re.compile(r"(?<!\d)[1-8]\d{5}(?:18|19|20)\d{2}(?:0[1-9]|1[0-2])(?:0[1-9]|[12]\d|3[01])\d{3}[\dXx](?!\d)")
_NUM_START, _NUM_END = r"(?<![\d-])(?<!\d[.,])", r"(?![\d-]|[.,]\d)"  # not inside a longer number
CARD_RE = re.compile(
    rf"{_NUM_START}(?:(?:\d{{4}}[ -]){{3}}\d{{1,7}}|\d{{4}}[ -]\d{{6}}[ -]\d{{5}}|\d{{13,19}}){_NUM_END}"
)
PHONE_RE = re.compile(
    r"(?<![A-Za-z0-9_+.-])(?:"
    r"\+\d{1,3}[ .-]?(?:\(\d{1,4}\)[ .-]?)?\d{1,4}(?:[ .-]?\d{2,4}){1,4}"  # international
    r"|(?:\+?86[ -]?)?1[3-9]\d(?:\d{8}|[ -]\d{4}[ -]\d{4})"  # Chinese mobile
    r"|\(0\d{2,3}\)[ -]?\d{7,8}|0\d{2,3}-\d{7,8}"  # Chinese landline
    r"|(?:1[ .-])?(?:\([2-9]\d{2}\) ?|[2-9]\d{2}[ .-])[2-9]\d{2}[ .-]\d{4}"  # US / NANP
    r")(?![.-]?\d)"
)
_OCTET = r"(?:25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)"
IPV4_RE = re.compile(rf"(?<![A-Za-z0-9_.])(?:{_OCTET}\.){{3}}{_OCTET}(?![A-Za-z0-9_]|\.\d)")
IPV6_RE = re.compile(r"(?<![A-Za-z0-9_:])(?:[0-9A-Fa-f]{0,4}:){2,7}[0-9A-Fa-f]{0,4}(?![A-Za-z0-9_:])")
VERSION_CONTEXT_RE = re.compile(r"(?:\bv|\bver\.?|version|版本|release)\s*$", re.I)

ID_WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
ID_CHECK = "10X98765432"
# Issuer prefixes (IIN ranges, ISO/IEC 7812) and the lengths each network
# issues: Visa, Mastercard, Amex, Diners, Discover, UnionPay, JCB.
CARD_NETWORKS = [
    (re.compile(r"4"), (13, 16, 19)),
    (re.compile(r"5[1-5]|2[2-7]"), (16,)),
    (re.compile(r"3[47]"), (15,)),
    (re.compile(r"3[068]"), (14, 16)),
    (re.compile(r"6(?:011|5|4[4-9])"), (16, 19)),
    (re.compile(r"62"), (16, 17, 18, 19)),
    (re.compile(r"35"), (16, 19)),
]


def valid_id_number(s: str) -> bool:
    """Chinese resident ID: a real birth date and the MOD 11-2 check character."""
    try:
        datetime.date(int(s[6:10]), int(s[10:12]), int(s[12:14]))
    except ValueError:
        return False
    total = sum(int(c) * w for c, w in zip(s[:17], ID_WEIGHTS))
    return ID_CHECK[total % 11] == s[17].upper()


def luhn_ok(digits: str) -> bool:
    total = 0
    for i, c in enumerate(reversed(digits)):
        d = ord(c) - 48
        if i % 2:
            d = d * 2 - 9 if d > 4 else d * 2
        total += d
    return total % 10 == 0


def valid_card(s: str) -> bool:
    digits = s.replace(" ", "").replace("-", "")
    for prefix, lengths in CARD_NETWORKS:
        if prefix.match(digits):
            return len(digits) in lengths and luhn_ok(digits)
    return False


def valid_phone(s: str) -> bool:
    n = sum(c.isdigit() for c in s)
    return 7 <= n <= 15


def valid_ipv6(s: str) -> bool:
    if s.count(":") < 2 or not any(c.isdigit() for c in s):
        return False
    try:
        ipaddress.IPv6Address(s)
    except ValueError:
        return False
    return True


class PIIAnonymizer(Configured, Stage):
    """Replace PII with placeholder tokens; count each kind in ``doc.edits``."""

    name = "pii"

    def __init__(
        self,
        *,
        email_token: str,
        phone_token: str,
        ip_token: str,
        id_token: str,
        card_token: str,
    ):
        # Order matters: e-mails first (their digits are not phones), ID
        # numbers before cards (18 digits), cards before phones.
        self.rules: list[tuple[str, re.Pattern, Callable[[str], bool] | None, str, str]] = [
            ("pii_email", EMAIL_RE, None, email_token, "@"),
            ("pii_id_number", ID_RE, valid_id_number, id_token, ""),
            ("pii_card_number", CARD_RE, valid_card, card_token, ""),
            ("pii_phone", PHONE_RE, valid_phone, phone_token, ""),
            ("pii_ip", IPV4_RE, None, ip_token, "."),
            ("pii_ip", IPV6_RE, valid_ipv6, ip_token, ":"),
        ]

    def anonymize(self, text: str) -> tuple[str, dict[str, int]]:
        """``text`` with PII replaced, and the count of replacements by kind."""
        counts: dict[str, int] = {}
        has_digit = any(d in text for d in "0123456789")
        for kind, pattern, valid, token, needle in self.rules:
            if needle and needle not in text or not needle and not has_digit:
                continue

            def repl(m: re.Match, kind=kind, valid=valid, token=token) -> str:
                s = m.group(0)
                if valid is not None and not valid(s):
                    return s
                if kind == "pii_ip" and VERSION_CONTEXT_RE.search(m.string, max(0, m.start() - 10), m.start()):
                    return s
                counts[kind] = counts.get(kind, 0) + 1
                return token

            text = pattern.sub(repl, text)
        return text, counts

    def __call__(self, doc: Document) -> str | None:
        text, counts = self.anonymize(doc.text)
        doc.text = text
        for kind, n in counts.items():
            doc.add_edit(kind, n)
        return None
