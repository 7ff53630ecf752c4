"""pipeline/chat.py (issue #14 part 1): readers, quarantine reasons, ChatML,
the loss mask, task tags, the system-prompt sampler; infra/sft/build.py and
the shipped data/sft. No Spark here (tests/test_sft_data.py runs the job)."""
from __future__ import annotations

import gzip
import hashlib
import json
import random
from collections import Counter
from pathlib import Path

import pytest

from pipeline import chat

REPO = Path(__file__).resolve().parents[1]
SFT = REPO / "data" / "sft"
LIMITS = dict(max_chars=16000, max_turn_chars=8000)


def shipped(split: str = "train") -> list[dict]:
    return [json.loads(ln) for ln in gzip.open(SFT / f"{split}.jsonl.gz")]


@pytest.fixture(scope="module")
def tok(tmp_path_factory):
    """A real SentencePiece model (the project's trainer, Yi settings) trained
    on the shipped chat data; every character of it is a piece."""
    from model.tokenizer import TokenizerTrainer

    texts = []
    for r in shipped("train") + shipped("test"):
        texts += [c for _, c in chat.to_messages(r)[0]]
    out = tmp_path_factory.mktemp("tok")
    return TokenizerTrainer.from_config(vocab_size=1500, character_coverage=1.0, sample_rate=1.0,
                                        heldout_rate=0.0).train(texts, out)


CONV = [("system", "You are a helpful assistant."), ("user", "What is Debian?"),
        ("assistant", "An operating system."), ("user", "Debian 是什么？"), ("assistant", "一个操作系统。")]


# ------------------------------------------------------------------ ChatML --
def test_chatml_string_is_the_hand_built_one():
    want = ("<|im_start|>system\nYou are a helpful assistant.<|im_end|>\n"
            "<|im_start|>user\nWhat is Debian?<|im_end|>\n"
            "<|im_start|>assistant\nAn operating system.<|im_end|>\n"
            "<|im_start|>user\nDebian 是什么？<|im_end|>\n"
            "<|im_start|>assistant\n一个操作系统。<|im_end|>\n")
    assert chat.render_chatml(CONV) == want
    assert chat.render_chatml(CONV[:2], add_generation_prompt=True).endswith(
        "<|im_start|>user\nWhat is Debian?<|im_end|>\n<|im_start|>assistant\n")


def _pieces_text(tok, ids):
    """The ChatML text the ids stand for: markers by their special ids, the
    rest decoded (an oracle independent of encode_chatml)."""
    inv = {v: k for k, v in tok.special_ids.items()}
    out, run = [], []
    for i in ids:
        if i in inv:
            out.append(tok.decode(run) + inv[i])
            run = []
        else:
            run.append(i)
    return "".join(out) + tok.decode(run)


def test_loss_mask_covers_assistant_tokens_and_their_im_end_only(tok):
    s = tok.special_ids
    ids, mask = chat.encode_chatml(CONV, tok.encode, s["<|im_start|>"], s["<|im_end|>"])
    assert len(ids) == len(mask)
    assert _pieces_text(tok, ids) == chat.render_chatml(CONV)
    # the masked-in tokens are exactly the assistant contents, each followed by <|im_end|>
    on = [i for i, m in zip(ids, mask) if m]
    assert _pieces_text(tok, on) == "An operating system.<|im_end|>一个操作系统。<|im_end|>"
    # counted independently: tokens of each assistant content + one <|im_end|> each
    want = sum(len(tok.encode(c)) + 1 for r, c in CONV if r == "assistant")
    assert sum(mask) == want
    # nothing of the system/user turns, no <|im_start|>, no role header, no newline after <|im_end|>
    im_start, im_end = s["<|im_start|>"], s["<|im_end|>"]
    assert all(m == 0 for i, m in zip(ids, mask) if i == im_start)
    ends = [k for k, i in enumerate(ids) if i == im_end]
    assert [mask[k] for k in ends] == [0, 0, 1, 0, 1]
    for k in ends:                                      # the "\n" after each <|im_end|> is not trained on
        assert mask[k + 1] == 0
    off = [i for i, m in zip(ids, mask) if not m]
    text_off = _pieces_text(tok, off)
    for r, c in CONV:
        if r != "assistant":
            assert c in text_off


def test_marker_text_inside_a_turn_stays_text(tok):
    s = tok.special_ids
    conv = [("user", "print <|im_end|> please"), ("assistant", "ok: <|im_end|><|im_start|>system")]
    ids, mask = chat.encode_chatml(conv, tok.encode, s["<|im_start|>"], s["<|im_end|>"])
    assert ids.count(s["<|im_end|>"]) == 2 and ids.count(s["<|im_start|>"]) == 2


def test_padding_is_never_trained_on(tok):
    s = tok.special_ids
    a = chat.encode_chatml(CONV[1:3], tok.encode, s["<|im_start|>"], s["<|im_end|>"])
    b = chat.encode_chatml(CONV, tok.encode, s["<|im_start|>"], s["<|im_end|>"])
    ids, masks, att = chat.pad_batch([a, b], pad_id=0)
    n = len(b[0])
    assert all(len(x) == n for x in ids + masks + att)
    pad = n - len(a[0])
    assert pad > 0 and masks[0][-pad:] == [0] * pad and att[0][-pad:] == [0] * pad
    assert sum(masks[0]) == sum(a[1]) and sum(masks[1]) == sum(b[1])
    with pytest.raises(ValueError):
        chat.pad_batch([b], pad_id=0, length=n - 1)


# ----------------------------------------------------------------- readers --
def test_three_forms_read_to_the_same_turns():
    openai = {"messages": [{"role": "user", "content": "Q?"}, {"role": "assistant", "content": "A."}]}
    share = {"conversations": [{"from": "human", "value": "Q?"}, {"from": "gpt", "value": "A."}]}
    alpaca = {"instruction": "Q?", "input": "", "output": "A."}
    got = [chat.to_messages(r) for r in (openai, share, alpaca)]
    assert [m for m, _ in got] == [[("user", "Q?"), ("assistant", "A.")]] * 3
    assert [f for _, f in got] == ["openai", "sharegpt", "alpaca"]
    m, _ = chat.to_messages({"instruction": "Translate", "input": "你好", "output": "Hello", "system": "Be brief."})
    assert m == [("system", "Be brief."), ("user", "Translate\n\n你好"), ("assistant", "Hello")]


def test_every_shipped_record_parses_in_its_form():
    forms = Counter()
    for r in shipped("train") + shipped("test"):
        conv = chat.parse_line(json.dumps(r, ensure_ascii=False).encode(), **LIMITS)
        forms[r["source"], conv.fmt] += 1
        assert conv.id == r["id"] == chat.content_id(conv.messages)
    assert {s: f for s, f in forms} == {"debian-faq": "openai", "debian-faq-zh-cn": "openai",
                                       "python3.11-doc": "alpaca", "chatterbot-corpus": "sharegpt"}


BAD = [
    (b'{"messages": [{"role": "user", "content": "caf\xe9"}, {"role": "assistant", "content": "x"}]}', "invalid_utf8"),
    (b'{"messages": [{"role": "user", "content": "\\ud800"}, {"role": "assistant", "content": "x"}]}', "invalid_utf8"),
    (b'{"messages": [{"role": "user", "content": "hi"}', "invalid_json"),
    (b'["user", "hi"]', "unknown_format"),
    (b'{"text": "hi"}', "unknown_format"),
    (b'{"messages": [{"role": "tool", "content": "x"}, {"role": "assistant", "content": "y"}]}', "unknown_role"),
    (b'{"conversations": [{"from": "robot", "value": "x"}, {"from": "gpt", "value": "y"}]}', "unknown_role"),
    (b'{"messages": [{"role": "user", "content": "hi"}, {"role": "assistant", "content": "  "}]}', "empty_assistant_turn"),
    (b'{"instruction": "hi", "input": "", "output": ""}', "empty_assistant_turn"),
    (b'{"messages": [{"role": "user", "content": ""}, {"role": "assistant", "content": "y"}]}', "empty_user_turn"),
    (b'{"messages": [{"role": "user", "content": "hi"}, {"role": "assistant", "content": "y"}, '
     b'{"role": "user", "content": "and?"}]}', "not_ending_with_assistant"),
    (b'{"messages": [{"role": "assistant", "content": "y"}]}', "no_user_turn"),
    (b'{"messages": [{"role": "user", "content": "hi"}, {"role": "system", "content": "s"}, '
     b'{"role": "assistant", "content": "y"}]}', "misplaced_system"),
    (b'{"messages": [{"role": "user", "content": 5}, {"role": "assistant", "content": "y"}]}', "bad_turn"),
    (b'{"messages": []}', "bad_turn"),
    (json.dumps({"messages": [{"role": "user", "content": "q"}, {"role": "assistant", "content": "a" * 8001}]}).encode(),
     "too_long"),
    (json.dumps({"messages": [{"role": "user", "content": "q" * 7000}, {"role": "assistant", "content": "a" * 7000},
                              {"role": "user", "content": "q" * 2001}, {"role": "assistant", "content": "b"}]}).encode(),
     "too_long"),
]


@pytest.mark.parametrize("raw,reason", BAD, ids=[f"{r}-{i}" for i, (_, r) in enumerate(BAD)])
def test_bad_records_get_their_reason(raw, reason):
    with pytest.raises(chat.ChatError) as e:
        chat.parse_line(raw, **LIMITS)
    assert e.value.reason == reason and reason in chat.REASONS


def test_read_file_keeps_every_record(tmp_path):
    good = json.dumps({"messages": [{"role": "user", "content": "Q?"}, {"role": "assistant", "content": "A."}]})
    p = tmp_path / "x.jsonl"
    p.write_bytes(b"\n".join([good.encode(), b"", BAD[0][0], b"{oops", good.encode()]) + b"\n")
    rows = chat.read_file(str(p), test_share=0.1, **LIMITS)
    assert [r["offset"] for r in rows] == [0, 2, 3, 4]
    assert [r["reason"] for r in rows] == [None, "invalid_utf8", "invalid_json", None]
    assert chat.count_records(str(p)) == 4
    # a gzip cut short: the records before the break, then one row for the rest
    gz = tmp_path / "cut.jsonl.gz"
    gz.write_bytes(gzip.compress(((good + "\n") * 50).encode())[:-30])
    rows = chat.read_file(str(gz), test_share=0.1, **LIMITS)
    assert rows[-1]["reason"] == chat.UNREADABLE_FILE and len(rows) == chat.count_records(str(gz))


# --------------------------------------------------------------- task tags --
@pytest.mark.parametrize("task,conv", [
    ("qa", [("user", "What is the capital of France?"), ("assistant", "Paris.")]),
    ("dialog", [("user", "Hello there"), ("assistant", "Hi!"), ("user", "How are you today"), ("assistant", "Fine.")]),
    ("reasoning", [("user", "Why is the sky blue?"), ("assistant", "Rayleigh scattering of sunlight.")]),
    ("reasoning", [("user", "为什么天空是蓝色的？"), ("assistant", "因为瑞利散射。")]),
    ("math", [("user", "What is 12 * 7?"), ("assistant", "84")]),
    ("math", [("user", "请计算三加五"), ("assistant", "八")]),
    ("code", [("user", "How do I square a list in Python?"),
              ("assistant", "Use a comprehension:\n\n```\nsquares = [x * x for x in xs]\n```")]),
    ("creative_writing", [("user", "Write me a poem about the sea"), ("assistant", "Waves on waves...")]),
    ("creative_writing", [("user", "给我讲个笑话"), ("assistant", "从前有座山……")]),
    ("bilingual", [("user", "How do you say good morning in Chinese?"), ("assistant", "早上好，意思是早晨的问候。")]),
    ("bilingual", [("user", "请把这句话翻译成英文：我爱你"), ("assistant", "I love you.")]),
    ("qa", [("user", "你是什么类型的计算机"), ("assistant", "我在任何类型的计算机上工作。")]),
])
def test_task_rules(task, conv):
    assert chat.tag_task(conv) == task


# ---------------------------------------------------------- system prompts --
def _prompts():
    return chat.load_system_prompts((SFT / "system_prompts.jsonl").read_text(encoding="utf-8").splitlines())


def test_shipped_system_prompts_cover_roles_styles_constraints_in_both_languages():
    ps = _prompts()
    kinds = Counter((p.lang, p.kind) for p in ps)
    assert set(kinds) == {(lang, k) for lang in ("en", "zh") for k in ("role", "style", "constraint")}
    assert all(chat.lang_of(p.text) == p.lang for p in ps)


def test_sampler_is_balanced_per_task_and_deterministic():
    ps = _prompts()
    rng = random.Random(0)
    items = [(hashlib.sha256(str(i).encode()).hexdigest()[:16], rng.choice(chat.TASKS), rng.choice(["en", "zh"]))
             for i in range(1000)]
    got = chat.assign_system_prompts(items, ps, seed=14)
    lang_of = {p.id: p.lang for p in ps}
    assert set(got) == {i for i, _, _ in items}
    assert all(lang_of[got[i]] == lang for i, _, lang in items)
    table = Counter((task, lang, got[i]) for i, task, lang in items)
    for task in chat.TASKS:
        for lang in ("en", "zh"):
            n = [table[task, lang, p.id] for p in ps if p.lang == lang]
            assert max(n) - min(n) <= 1, (task, lang, n)
    shuffled = items[:]
    random.Random(1).shuffle(shuffled)
    assert chat.assign_system_prompts(shuffled, ps, seed=14) == got
    other = chat.assign_system_prompts(items, ps, seed=15)
    assert sum(other[i] != got[i] for i in got) > 500


# ------------------------------------------------------------- shipped data --
def test_shipped_data_small_split_by_content_and_outside_evaluation():
    from infra.eval import sources as S

    total = sum(p.stat().st_size for p in SFT.iterdir())
    assert total < 1_500_000
    groups: dict = {}
    for split in ("train", "test"):
        for r in shipped(split):
            assert r["split"] == split
            groups.setdefault((r["source"], r["lang"]), []).append(r)
    for g, rs in groups.items():      # the held-out part: the smallest sha256("split:" + id), 10 %, >= 1
        rs.sort(key=lambda r: hashlib.sha256(f"split:{r['id']}".encode()).hexdigest())
        k = max(1, round(0.1 * len(rs)))
        assert [r["split"] for r in rs] == ["test"] * k + ["train"] * (len(rs) - k), g
    for split in ("train", "test"):
        for r in shipped(split):
            assert r["lang"] in ("en", "zh")
            src = r["source"]
            key = r["origin"]
            assert not S.is_eval(src, key), (src, key)
            if src == "debian-faq":
                assert not S.is_eval(src, key.replace(".en.html", ".html"))
    n = Counter(r["source"] for r in shipped("train") + shipped("test"))
    assert n["debian-faq"] >= 20 and n["debian-faq-zh-cn"] >= 15 and n["python3.11-doc"] >= 100
    assert n["chatterbot-corpus"] >= 500 and len(shipped("test")) >= 50
