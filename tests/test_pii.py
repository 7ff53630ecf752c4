"""PIIAnonymizer: PII planted in real English and Chinese text (Debian
Reference, tests/real_text.py) is replaced by its placeholder and counted;
look-alikes (dates, versions, prices, ISBNs, numbers failing their checksum
or of the wrong length) and the surrounding text are left untouched."""
import pytest

from pipeline.document import Document
from pipeline.pii import PIIAnonymizer, luhn_ok, valid_id_number
from real_text import EN_PARAGRAPHS, ZH_PARAGRAPHS

A = PIIAnonymizer.from_config()

POSITIVES = [
    ("john.doe@example.com", "<EMAIL>"),
    ("li_lei+apt@mail.debian.org.cn", "<EMAIL>"),
    ("+1 (415) 555-2671", "<PHONE>"),
    ("415-555-2671", "<PHONE>"),
    ("+44 20 7946 0958", "<PHONE>"),
    ("13812345678", "<PHONE>"),
    ("+86 139 1234 5678", "<PHONE>"),
    ("010-62345678", "<PHONE>"),
    ("(021)12345678", "<PHONE>"),
    ("192.168.1.20", "<IP>"),
    ("2001:db8::8a2e:370:7334", "<IP>"),
    ("11010519491231002X", "<ID_NUMBER>"),
    ("440524188001010014", "<ID_NUMBER>"),
    ("4111 1111 1111 1111", "<CARD_NUMBER>"),
    ("5500-0000-0000-0004", "<CARD_NUMBER>"),
    ("378282246310005", "<CARD_NUMBER>"),
    ("6212262201023557228", "<CARD_NUMBER>"),
]
NEGATIVES = [
    "2023-10-12", "2023/10/12", "12.10.2023", "10:30:45", "version 1.2.3.4", "v2.0.0.1", "1.2.3.4.5",
    "$1,299.99", "¥12,800", "1999", "ISBN 978-3-16-148410-0", "555-1234", "1381234567", "138123456789",
    "110105194912310021", "110105194902301234", "4111111111111112", "1234567890123456",
    "12345678901234567", "std::vector", "dead::beef", "user@localhost", "Section 2.7.3",
]


def anonymize(text: str) -> Document:
    doc = Document(id="t", text=text, lang="en")
    assert A(doc) is None
    return doc


def test_checksums():
    assert valid_id_number("11010519491231002X") and not valid_id_number("110105194912310021")
    assert not valid_id_number("110105194902301234")  # 30 February
    assert luhn_ok("4111111111111111") and not luhn_ok("4111111111111112")


@pytest.mark.parametrize("value,token", POSITIVES)
@pytest.mark.parametrize("lang,paras", [("en", EN_PARAGRAPHS), ("zh", ZH_PARAGRAPHS)])
def test_replaces_pii_inside_real_text(value, token, lang, paras):
    before, after = paras[1], paras[2]
    joiner = " " if lang == "en" else ""
    label = {"en": "Contact: ", "zh": "联系方式："}[lang]
    doc = anonymize(before + joiner + label + value + ("." if lang == "en" else "。") + joiner + after)
    assert doc.text == before + joiner + label + token + ("." if lang == "en" else "。") + joiner + after
    kind = {"<EMAIL>": "pii_email", "<PHONE>": "pii_phone", "<IP>": "pii_ip",
            "<ID_NUMBER>": "pii_id_number", "<CARD_NUMBER>": "pii_card_number"}[token]
    assert doc.edits == {kind: 1}


@pytest.mark.parametrize("value", NEGATIVES)
def test_leaves_look_alikes(value):
    text = f"{EN_PARAGRAPHS[3]} See {value} here. {ZH_PARAGRAPHS[3]}见{value}。"
    doc = anonymize(text)
    assert doc.text == text and doc.edits == {}


def test_real_text_is_untouched():
    for text in EN_PARAGRAPHS + ZH_PARAGRAPHS:
        assert anonymize(text).text == text


def test_counts_every_occurrence_and_custom_tokens():
    text = "Mail a@example.com or b@example.org, call 13812345678 or 13912345678."
    doc = anonymize(text)
    assert doc.edits == {"pii_email": 2, "pii_phone": 2}
    custom = PIIAnonymizer.from_config(email_token="[email]", phone_token="[tel]")
    d = Document(id="t", text=text)
    custom(d)
    assert d.text == "Mail [email] or [email], call [tel] or [tel]."
