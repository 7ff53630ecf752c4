"""jobs/sft_data.py on real Spark local[2]: the shipped held-out chat data
plus planted records (bad ones, PII, an exact and a near-duplicate prompt, a
German dialog, a too-short answer, Alpaca rows in Parquet). One job run per
module; every figure is checked against counts taken here, not from the job."""
from __future__ import annotations

import gzip
import json
import shutil
from collections import Counter
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from pipeline import chat

REPO = Path(__file__).resolve().parents[1]
SFT = REPO / "data" / "sft"

LONG = ("Debian is a free operating system for your computer. An operating system is the set of basic programs "
        "and utilities that make your computer run. At the core of an operating system is the kernel, the most "
        "fundamental program on the computer, which does all the basic housekeeping and lets you start other "
        "programs. Please summarize this paragraph in one sentence for a new user who has never installed it.")
LONG_EDIT = LONG.replace("housekeeping", "bookkeeping")


def msgs(*turns):
    return {"messages": [{"role": r, "content": c} for r, c in turns]}


def line(rec) -> bytes:
    return json.dumps(rec, ensure_ascii=False).encode()


@pytest.fixture(scope="module")
def built(spark, tmp_path_factory):
    from jobs.sft_data import run

    tmp = tmp_path_factory.mktemp("sft")
    inp = tmp / "in"
    inp.mkdir()
    shutil.copy(SFT / "test.jsonl.gz", inp / "a_real.jsonl.gz")
    real = [json.loads(x) for x in gzip.open(SFT / "test.jsonl.gz")]
    first = real[0]
    first_prompt = chat.prompt_text(chat.to_messages(first)[0])
    extra = [
        line(msgs(("user", "My email is jane.doe@example.com, can you write to me there?"),
                  ("assistant", "Yes, I will write to jane.doe@example.com tomorrow."))),           # 0 PII
        line(msgs(("user", "  " + first_prompt.upper() + " !!"), ("assistant", "Another answer."))),   # 1 exact dup
        line(msgs(("user", LONG), ("assistant", "Debian is a free operating system."))),               # 2 near: kept
        line(msgs(("user", LONG_EDIT), ("assistant", "A free operating system."))),                    # 3 near dup
        line(msgs(("user", "Wie spät ist es heute Abend in Berlin, und regnet es dort gerade noch?"),
                  ("assistant", "Es ist acht Uhr abends in Berlin und es regnet nicht mehr."))),       # 4 German
        line(msgs(("user", "Say something, anything at all please"), ("assistant", "."))),             # 5 too short
        b'{"messages": [{"role": "user", "content": "caf\xe9"}, {"role": "assistant", "content": "x"}]}',  # 6
        b"",                                                                                           # blank
        line(msgs(("user", "Hello?"), ("assistant", "Hi."), ("user", "Bye?"))),                         # 8
        b'{"messages": [{"role": "moderator", "content": "x"}, {"role": "assistant", "content": "y"}]}',  # 9
        line({"id": first["id"], **msgs(("user", "A new question with an old id?"), ("assistant", "Yes."))}),  # 10
    ]
    (inp / "b_extra.jsonl").write_bytes(b"\n".join(extra) + b"\n")
    pq.write_table(pa.table({"instruction": ["用一句话介绍 Debian 是什么操作系统。", "Empty answer here please"],
                             "input": ["", ""], "output": ["Debian 是一个自由的操作系统。", ""]}),
                   inp / "c_alpaca.parquet")
    out = tmp / "out"
    manifest = run([str(inp)], str(out))
    counts = {"a_real.jsonl.gz": len(real), "b_extra.jsonl": sum(1 for x in extra if x.strip()),
              "c_alpaca.parquet": 2}
    return {"out": out, "inp": inp, "real": real, "first": first, "manifest": manifest, "counts": counts}


def table(folder: Path):
    files = sorted(folder.rglob("*.parquet"))
    return pa.concat_tables([pq.read_table(f, partitioning=None) for f in files]).to_pylist() if files else []


def by_offset(rows, name):
    return {r["offset"]: r for r in rows if Path(r["source_file"]).name == name}


def test_ledger_accounts_for_every_record(built):
    ledger = table(built["out"] / "ledger")
    per_file = Counter(Path(r["source_file"]).name for r in ledger)
    assert dict(per_file) == built["counts"]
    assert len({(r["source_file"], r["offset"]) for r in ledger}) == len(ledger)
    sft = table(built["out"] / "sft")
    dec = Counter(r["decision"] for r in ledger)
    assert dec["kept"] == len(sft) and sum(dec.values()) == sum(built["counts"].values())
    m = built["manifest"]["counts"]
    assert (m["input"], m["kept"], m["rejected"], m["quarantined"]) == (
        sum(built["counts"].values()), len(sft), dec["rejected"], dec["quarantined"])


def test_each_planted_record_has_its_fate(built):
    ledger = table(built["out"] / "ledger")
    ex = by_offset(ledger, "b_extra.jsonl")
    real_first = by_offset(ledger, "a_real.jsonl.gz")[0]
    assert real_first["decision"] == "kept"
    want = {0: ("kept", None), 1: ("rejected", "duplicate_prompt"), 2: ("kept", None),
            3: ("rejected", "near_duplicate_prompt"), 4: ("rejected", "lang_not_kept:de"),
            5: ("rejected", "response_too_short"), 6: ("quarantined", "invalid_utf8"),
            8: ("quarantined", "not_ending_with_assistant"), 9: ("quarantined", "unknown_role"),
            10: ("quarantined", "duplicate_id")}
    assert {k: (r["decision"], r["reason"]) for k, r in ex.items()} == want
    assert ex[1]["duplicate_of"] == built["first"]["id"]
    assert ex[3]["duplicate_of"] == ex[2]["id"]
    alp = by_offset(ledger, "c_alpaca.parquet")
    assert (alp[0]["decision"], alp[0]["fmt"], alp[0]["lang"]) == ("kept", "alpaca", "zh")
    assert (alp[1]["decision"], alp[1]["reason"]) == ("quarantined", "empty_assistant_turn")
    q = table(built["out"] / "quarantine")
    assert sorted(r["reason"] for r in q) == sorted(
        ["invalid_utf8", "not_ending_with_assistant", "unknown_role", "empty_assistant_turn", "duplicate_id"])
    assert all(r["preview"] is not None for r in q)


def test_output_is_scrubbed_tagged_and_has_balanced_system_prompts(built):
    sft = table(built["out"] / "sft")
    prompts = {p.id: p for p in chat.load_system_prompts(
        (SFT / "system_prompts.jsonl").read_text(encoding="utf-8").splitlines())}
    for r in sft:
        m = chat.messages_from_json(r["messages"])
        assert m[0] == ("system", prompts[r["system_prompt_id"]].text)
        assert prompts[r["system_prompt_id"]].lang == r["lang"]
        assert r["task"] == chat.tag_task(m) and r["split"] in ("train", "test")
        assert "@example.com" not in r["messages"]
    pii = [r for r in sft if "<EMAIL>" in r["messages"]]
    assert len(pii) == 1 and pii[0]["pii_edits"] == 2
    groups: dict = {}
    for r in sft:
        groups.setdefault((r["task"], r["lang"]), Counter())[r["system_prompt_id"]] += 1
    for (task, lang), c in groups.items():
        n = [c.get(p.id, 0) for p in prompts.values() if p.lang == lang]
        assert max(n) - min(n) <= 1, (task, lang, n)
    # the real conversations keep their held-out split
    real_ids = {r["id"] for r in built["real"]}
    assert {r["split"] for r in sft if r["id"] in real_ids} == {"test"}


def test_report_matches_the_output(built):
    sft = table(built["out"] / "sft")
    rep = json.loads((built["out"] / "report" / "tasks.json").read_text(encoding="utf-8"))
    assert rep["tasks"] == dict(Counter(r["task"] for r in sft))
    joint = Counter((r["task"], r["system_prompt_id"]) for r in sft)
    assert {(t, p): n for t, row in rep["task_x_system_prompt"].items() for p, n in row.items()} == dict(joint)
    assert rep["funnel"]["total"]["input"] == sum(built["counts"].values())
    png = (built["out"] / "report" / "tasks.png").read_bytes()
    assert png[:8] == b"\x89PNG\r\n\x1a\n"
    md = (built["out"] / "report" / "tasks.md").read_text(encoding="utf-8")
    assert "System prompt x task" in md and "near_duplicate_prompt" in md
