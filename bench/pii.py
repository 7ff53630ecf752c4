"""Precision and recall of the PII anonymizer on PII planted in real text.

Real English and Chinese documents of data/sample (JSONL/Parquet, kind
"real") are cut at a sentence end; a sentence carrying one planted value is
put in between. Values come from a seeded generator: PII of each kind
(e-mails; US, international, Chinese mobile and landline phones; IPv4/IPv6;
Chinese resident IDs with a valid check character; Luhn-valid card numbers
of real issuer prefixes) and hard negatives (dates, versions, prices, years,
times, ISBNs, section numbers, phone-like numbers of the wrong length, ID
numbers with a bad check character or date, 16-digit numbers failing Luhn,
long order numbers).

A planted value counts as found when the anonymized document equals the
anonymized context around the sentence with exactly that value replaced by
its token; any other token that appears in the sentence is a false positive
of its kind. Prints precision and recall per kind and overall, the hard
negatives that were touched, and examples of misses; writes
out/bench/pii.png.

  .venv/bin/python bench/pii.py [--input data/sample] [--trials 3000] [--seed 20240304]
"""
from __future__ import annotations

import argparse
import collections
import gzip
import ipaddress
import json
import random
import re
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

import pyarrow.parquet as pq  # noqa: E402

from pipeline.config import load_config  # noqa: E402
from pipeline.pii import ID_CHECK, ID_WEIGHTS, PIIAnonymizer  # noqa: E402

KINDS = ["email", "phone", "ip", "id_number", "card_number"]
PII_CONFIG = load_config().section("pii")
TOKENS = {k: PII_CONFIG[f"{k.split('_')[0]}_token"] for k in KINDS}
TOKEN_KIND = {t: k for k, t in TOKENS.items()}
TOKEN_RE = re.compile("|".join(map(re.escape, TOKENS.values())))

EN_TEMPLATES = {
    "email": ["Write to {v} for details.", "Contact: {v}", "Send your comments to {v} before Friday."],
    "phone": ["Call {v} today.", "Phone: {v}", "You can reach the office at {v} during business hours."],
    "ip": ["The server at {v} answered.", "Requests came from {v} all night.", "Host address: {v}"],
    "id_number": ["Her ID number is {v}.", "ID: {v}"],
    "card_number": ["He paid with card {v}.", "Card number: {v}"],
    "negative": ["The release on {v} fixed it.", "See {v} for the figures.", "It changed in {v}.", "Item: {v}"],
}
ZH_TEMPLATES = {
    "email": ["请发邮件至{v}联系我们。", "邮箱：{v}", "意见请寄到 {v} 。"],
    "phone": ["联系电话：{v}。", "请拨打{v}咨询。", "手机 {v}"],
    "ip": ["服务器地址为{v}。", "来自 {v} 的请求被拒绝。"],
    "id_number": ["身份证号码：{v}。", "他的身份证号是{v}"],
    "card_number": ["银行卡号{v}已绑定。", "卡号：{v}"],
    "negative": ["该版本于{v}发布。", "详见{v}。", "编号：{v}", "价格为{v}。"],
}


class Generator:
    """Seeded PII values and hard negatives."""

    def __init__(self, seed: int):
        self.r = random.Random(seed)

    def digits(self, n: int) -> str:
        return "".join(self.r.choice("0123456789") for _ in range(n))

    def email(self) -> str:
        r = self.r
        names = ["li.wei", "zhang_san", "j.smith", "maria", "wang.fang88", "dev-team", "a.b.c", "support", "k9x"]
        domains = ["example.com", "mail.example.org", "qq.com", "163.com", "univ.edu.cn", "corp.example.co.uk"]
        local = r.choice(names) + (str(r.randrange(1, 999)) if r.random() < 0.5 else "")
        if r.random() < 0.2:
            local += "+news"
        return f"{local}@{r.choice(domains)}"

    def phone(self) -> str:
        r, d = self.r, self.digits
        nxx = lambda: str(r.randrange(2, 10)) + d(2)  # noqa: E731
        forms = [
            lambda: f"({nxx()}) {nxx()}-{d(4)}",
            lambda: f"{nxx()}-{nxx()}-{d(4)}",
            lambda: f"+1 {nxx()} {nxx()} {d(4)}",
            lambda: f"+44 20 {d(4)} {d(4)}",
            lambda: f"+49 30 {d(8)}",
            lambda: f"+81 3-{d(4)}-{d(4)}",
            lambda: f"1{r.randrange(3, 10)}{d(9)}",
            lambda: f"1{r.randrange(3, 10)}{d(1)}-{d(4)}-{d(4)}",
            lambda: f"+86 1{r.randrange(3, 10)}{d(1)} {d(4)} {d(4)}",
            lambda: f"0{r.randrange(10, 99)}-{r.randrange(2, 10)}{d(7)}",
            lambda: f"(0{r.randrange(100, 999)}){r.randrange(2, 10)}{d(6)}",
        ]
        return r.choice(forms)()

    def ip(self) -> str:
        r = self.r
        if r.random() < 0.7:
            return ".".join(str(r.randrange(1, 255)) for _ in range(4))
        groups = [r.randrange(0, 65536) if r.random() < 0.6 else 0 for _ in range(8)]
        groups[0] = r.choice([0x2001, 0xFE80, 0x2400])
        return str(ipaddress.IPv6Address(":".join(f"{g:x}" for g in groups)))

    def id_number(self, valid: bool = True) -> str:
        r = self.r
        body = (f"{r.randrange(11, 66)}{r.randrange(0, 10000):04d}{r.randrange(1950, 2006)}"
                f"{r.randrange(1, 13):02d}{r.randrange(1, 29):02d}{r.randrange(0, 1000):03d}")
        check = ID_CHECK[sum(int(c) * w for c, w in zip(body, ID_WEIGHTS)) % 11]
        if not valid:
            check = r.choice([c for c in "0123456789X" if c != check])
        return body + check

    def card_number(self, valid: bool = True) -> str:
        r = self.r
        prefix, length = r.choice([("4", 16), ("51", 16), ("55", 16), ("34", 15), ("37", 15), ("6011", 16), ("62", 19)])
        body = prefix + self.digits(length - len(prefix) - 1)
        total = 0
        for i, c in enumerate(reversed(body)):
            k = int(c)
            if i % 2 == 0:
                k = k * 2 - 9 if k > 4 else k * 2
            total += k
        check = (10 - total % 10) % 10
        if not valid:
            check = (check + r.randrange(1, 10)) % 10
        num = body + str(check)
        if length == 16 and r.random() < 0.5:
            sep = r.choice([" ", "-"])
            num = sep.join(num[i:i + 4] for i in range(0, 16, 4))
        return num

    def negative(self) -> tuple[str, str]:
        """(kind of hard negative, value)."""
        r, d = self.r, self.digits
        y, m, day = r.randrange(1990, 2031), r.randrange(1, 13), r.randrange(1, 29)
        forms = {
            "date": lambda: r.choice([f"{y}-{m:02d}-{day:02d}", f"{y}/{m:02d}/{day:02d}", f"{day:02d}.{m:02d}.{y}",
                                      f"{y}年{m}月{day}日"]),
            "version": lambda: r.choice([f"version {r.randrange(1, 20)}.{r.randrange(0, 30)}.{r.randrange(0, 99)}",
                                         f"v{r.randrange(1, 9)}.{r.randrange(0, 9)}.{r.randrange(0, 9)}.{r.randrange(0, 99)}",
                                         f"Python 3.{r.randrange(6, 14)}.{r.randrange(0, 12)}"]),
            "price": lambda: r.choice([f"${r.randrange(1, 99)},{d(3)}.{d(2)}", f"¥{r.randrange(1, 999)},{d(3)}",
                                       f"€{r.randrange(1, 999)}.{d(2)}"]),
            "year": lambda: str(y),
            "time": lambda: f"{r.randrange(0, 24):02d}:{r.randrange(0, 60):02d}:{r.randrange(0, 60):02d}",
            "isbn": lambda: f"ISBN 978-{r.randrange(0, 10)}-{d(3)}-{d(5)}-{r.randrange(0, 10)}",
            "section": lambda: f"Section {r.randrange(1, 12)}.{r.randrange(1, 12)}.{r.randrange(1, 12)}",
            "phone_wrong_length": lambda: r.choice([f"1{r.randrange(3, 10)}{d(8)}", f"1{r.randrange(3, 10)}{d(10)}",
                                                    f"{r.randrange(2, 10)}{d(2)}-{d(3)}-{d(3)}"]),
            "id_bad_checksum": lambda: self.id_number(valid=False),
            "card_bad_luhn": lambda: self.card_number(valid=False),
            "order_number": lambda: r.choice(["1", "2", "9"]) + d(r.choice([11, 20, 21, 22])),
            "decimal": lambda: f"{r.randrange(0, 1000)}.{d(r.randrange(2, 6))}",
        }
        kind = r.choice(sorted(forms))
        return kind, forms[kind]()


def real_texts(inp: Path) -> dict[str, list[str]]:
    """Real English and Chinese documents of at least 300 characters."""
    labels = pq.read_table(inp.parent / "sample_labels.parquet", columns=["url", "kind"]).to_pydict()
    real = {u for u, k in zip(labels["url"], labels["kind"]) if k == "real"}
    rows = []
    for f in sorted((inp / "jsonl").glob("*.jsonl.gz")):
        with gzip.open(f, "rt", encoding="utf-8") as fh:
            rows += [json.loads(line) for line in fh]
    for f in sorted((inp / "parquet").glob("*.parquet")):
        rows += pq.read_table(f, columns=["url", "text", "lang_gold"]).to_pylist()
    out = {"en": [], "zh": []}
    for r in rows:
        if r["url"] in real and r.get("lang_gold") in out and len(r["text"]) >= 300:
            out[r["lang_gold"]].append(r["text"])
    return out


SENT_END = {"en": re.compile(r"(?<=[.!?])\s+"), "zh": re.compile(r"(?<=[。！？])")}


def cut(text: str, lang: str, r: random.Random) -> tuple[str, str]:
    """Split ``text`` at a random sentence end (else at a space)."""
    ends = [m.end() for m in SENT_END[lang].finditer(text, 0, len(text) - 1)] or [len(text) // 2]
    at = r.choice(ends)
    return text[:at], text[at:]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--input", default=str(REPO / "data" / "sample"))
    ap.add_argument("--trials", type=int, default=3000)
    ap.add_argument("--seed", type=int, default=20240304)
    ap.add_argument("--out", default=str(REPO / "out" / "bench"))
    args = ap.parse_args()
    anon = PIIAnonymizer(**PII_CONFIG)
    gen = Generator(args.seed)
    r = gen.r
    texts = real_texts(Path(args.input))
    print(f"real documents: {len(texts['en'])} en, {len(texts['zh'])} zh; trials: {args.trials} (seed {args.seed})")

    # unplanted real text: what is found there is real (authors' e-mails,
    # example IPs in manuals), printed for inspection, not scored
    found_real = {lang: collections.Counter() for lang in texts}
    for lang, ts in texts.items():
        for t in ts:
            found_real[lang].update(anon.anonymize(t)[1])
    tp, fp, pos = collections.Counter(), collections.Counter(), collections.Counter()
    neg_total, neg_touched = collections.Counter(), collections.Counter()
    misses, false_pos = collections.defaultdict(list), collections.defaultdict(list)
    for i in range(args.trials):
        lang = "en" if i % 2 == 0 else "zh"
        templates = EN_TEMPLATES if lang == "en" else ZH_TEMPLATES
        before, after = cut(r.choice(texts[lang]), lang, r)
        sep = " " if lang == "en" else ""
        if r.random() < 0.6:
            kind = KINDS[i // 2 % len(KINDS)]
            value = getattr(gen, kind)()
            neg_kind = None
        else:
            kind = "negative"
            neg_kind, value = gen.negative()
        template = r.choice(templates[kind])
        a_before, a_after = anon.anonymize(before)[0], anon.anonymize(sep + after)[0]
        out = anon.anonymize(before + sep + template.format(v=value) + sep + after)[0]
        context_tokens = collections.Counter(TOKEN_RE.findall(a_before + a_after))
        extra = collections.Counter(TOKEN_RE.findall(out)) - context_tokens
        if neg_kind is None:
            pos[kind] += 1
            expected = a_before + sep + template.format(v=TOKENS[kind]) + a_after
            if out == expected:
                tp[kind] += 1
                continue
            misses[kind].append(template.format(v=value) + sep + after[:12])
            for t, n in extra.items():
                if TOKEN_KIND[t] != kind:
                    fp[TOKEN_KIND[t]] += n
        else:
            neg_total[neg_kind] += 1
            if out != a_before + sep + template.format(v=value) + a_after:
                neg_touched[neg_kind] += 1
                for t, n in extra.items():
                    fp[TOKEN_KIND[t]] += n
                false_pos[neg_kind].append(template.format(v=value) + sep + after[:12])

    print("\nper kind      planted  found  false+  precision  recall")
    prec, rec = {}, {}
    for k in KINDS:
        prec[k] = tp[k] / (tp[k] + fp[k]) if tp[k] + fp[k] else 1.0
        rec[k] = tp[k] / pos[k] if pos[k] else 0.0
        print(f"  {k:12s} {pos[k]:7d} {tp[k]:6d} {fp[k]:7d}  {prec[k]:9.3f}  {rec[k]:6.3f}")
    TP, FP, P = sum(tp.values()), sum(fp.values()), sum(pos.values())
    print(f"  {'overall':12s} {P:7d} {TP:6d} {FP:7d}  {TP / max(TP + FP, 1):9.3f}  {TP / max(P, 1):6.3f}")
    print("\nhard negatives touched (of planted)")
    for k in sorted(neg_total):
        print(f"  {k:20s} {neg_touched[k]:4d} / {neg_total[k]:4d}")
    print("\nfound in the real documents themselves (not planted; not scored): "
          + "; ".join(f"{lang} {dict(sorted(found_real[lang].items()))}" for lang in texts))
    print("\nexamples of misses / false positives")
    for k in KINDS:
        if misses[k]:
            print(f"  missed {k}: {misses[k][:4]}")
    for k in sorted(false_pos):
        print(f"  touched {k}: {false_pos[k][:4]}")

    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    Path(args.out).mkdir(parents=True, exist_ok=True)
    fig, ax = plt.subplots(figsize=(7, 3.5))
    x = range(len(KINDS))
    ax.bar([i - 0.2 for i in x], [prec[k] for k in KINDS], 0.4, label="precision")
    ax.bar([i + 0.2 for i in x], [rec[k] for k in KINDS], 0.4, label="recall")
    ax.set_xticks(list(x), KINDS)
    ax.set_ylim(0, 1.05)
    ax.legend(loc="lower right")
    ax.set_title(f"PII planted in real en/zh text ({args.trials} trials)")
    fig.tight_layout()
    fig.savefig(Path(args.out) / "pii.png", dpi=110)
    print(f"\nplot: {Path(args.out) / 'pii.png'}")


if __name__ == "__main__":
    main()
