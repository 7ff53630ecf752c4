"""Packing SFT conversations (model/packing.py, issue #14 part 2): the loss
mask by hand, the packing algorithms, and a packed batch of real shipped
conversations through the real megatron-core GPTModel against the same
conversations run one by one (logits and loss, loss computed here plainly)."""
import gzip
import json
import random

import pytest
import torch
import torch.nn.functional as F

from model.packing import assign_rows, pack, padding_share_unpacked
from pipeline.chat import encode_chatml, parse_record

PAD, IM_START, IM_END = 0, 1, 2


def byte_encode(text: str) -> list[int]:
    """A toy tokenizer independent of ours: one id per UTF-8 byte (3..258)."""
    return [3 + b for b in text.encode("utf-8")]


def test_loss_mask_labels_positions_by_hand():
    a = ([11, 12, 13, 14], [0, 0, 1, 1])
    b = ([21, 22, 23], [0, 1, 1])
    c = ([31, 32, 33, 34, 35], [0, 0, 0, 1, 1])
    p = pack([a, b, c], 10, PAD, method="greedy")
    assert p.rows == [[0, 1], [2]]
    assert p.tokens.tolist() == [[11, 12, 13, 14, 21, 22, 23, 0, 0, 0], [31, 32, 33, 34, 35, 0, 0, 0, 0, 0]]
    # next token within the sample; a sample's last position never gets the next sample's first token
    assert p.labels.tolist() == [[12, 13, 14, 0, 22, 23, 0, 0, 0, 0], [32, 33, 34, 35, 0, 0, 0, 0, 0, 0]]
    # position j learns token j+1 when that is a response token; borders and padding are 0
    assert p.loss_mask.tolist() == [[0, 1, 1, 0, 1, 1, 0, 0, 0, 0], [0, 0, 1, 1, 0, 0, 0, 0, 0, 0]]
    assert p.position_ids[0, :7].tolist() == [0, 1, 2, 3, 0, 1, 2]
    assert [c.tolist() for c in p.cu_seqlens] == [[0, 4, 7], [0, 5]]
    assert p.seq_lengths.tolist() == [[4, 3], [5, 0]]
    assert p.padding_share == pytest.approx(8 / 20)
    m = p.attention_mask[0, 0]  # True = masked
    assert not m[5, 4] and m[4, 3] and m[5, 3] and not m[3, 0] and m[0, 1]
    # best-fit decreasing: 5 goes first, 4 joins it (room 1 left), 3 needs a new row
    q = pack([a, b, c], 10, PAD)
    assert q.rows == [[2, 0], [1]]
    assert q.tokens[0].tolist() == [31, 32, 33, 34, 35, 11, 12, 13, 14, 0]
    assert q.loss_mask[0].tolist() == [0, 0, 1, 1, 0, 0, 1, 1, 0, 0]
    assert q.position_ids[0].tolist()[:9] == [0, 1, 2, 3, 4, 0, 1, 2, 3]


def test_overflow_rules_and_bad_input():
    long = (list(range(3, 15)), [0] * 6 + [1] * 6)
    with pytest.raises(ValueError, match="more than seq_length"):
        pack([long], 10, PAD)
    p = pack([long, ([5, 6], [0, 1])], 10, PAD, overflow="truncate")
    assert p.truncated == 1 and p.tokens[0].tolist() == list(range(3, 13))
    assert p.loss_mask[0].tolist() == [0] * 5 + [1] * 4 + [0]  # mask[1:10], the cut end is a border
    with pytest.raises(ValueError, match="empty"):
        pack([([], [])], 10, PAD)
    with pytest.raises(ValueError, match="mask values"):
        pack([([1, 2], [0])], 10, PAD)
    with pytest.raises(ValueError, match="unknown packing"):
        assign_rows([3], 10, "first_fit")


def test_packing_is_a_deterministic_partition_and_best_fit_pads_less():
    rng = random.Random(4)
    lengths = [rng.randint(1, 64) for _ in range(300)]
    for method in ("best_fit", "greedy"):
        rows = assign_rows(lengths, 64, method)
        assert rows == assign_rows(lengths, 64, method)
        assert sorted(i for r in rows for i in r) == list(range(300))
        assert all(sum(lengths[i] for i in r) <= 64 for r in rows)
    bf, gr = assign_rows(lengths, 64, "best_fit"), assign_rows(lengths, 64, "greedy")
    assert len(bf) < len(gr)
    assert len(bf) <= len(lengths)
    # greedy keeps the input order
    assert [i for r in gr for i in r] == list(range(300))
    samples = [([3] * n, [1] * n) for n in lengths]
    p = pack(samples, 64, PAD)
    assert p.padding_share == pytest.approx(1 - sum(lengths) / (len(bf) * 64))
    assert p.padding_share < padding_share_unpacked(lengths, 64)


def _real_conversations(n: int, max_tokens: int):
    with gzip.open("data/sft/test.jsonl.gz", "rt", encoding="utf-8") as f:
        convs = [parse_record(json.loads(line), max_chars=100_000, max_turn_chars=100_000) for line in f]
    enc = [encode_chatml(c.messages, byte_encode, IM_START, IM_END) for c in convs]
    enc = [e for e in enc if len(e[0]) <= max_tokens]
    assert len(enc) >= n
    return enc[:n]


@pytest.fixture(scope="module")
def model():
    from model.presets import get_preset
    from model.yi import build_model, init_parallel

    init_parallel(seed=13)
    shape = get_preset("yi-nano", vocab=300, seq_length=128)
    m = build_model(shape)
    m.eval()
    return shape, m


def test_packed_loss_and_logits_equal_one_by_one(model):
    from model.pretrain import lm_loss
    from model.trainer import masked_mean

    shape, m = model
    s = shape.seq_length
    samples = _real_conversations(10, 100)
    p = pack(samples, s, PAD)
    assert len(p.rows) < len(samples) and max(len(r) for r in p.rows) >= 2  # really packed
    batch = p.batch()
    with torch.no_grad():
        packed_logits = m(batch["tokens"], batch["position_ids"], batch["attention_mask"])
        per_token = lm_loss(m, batch)  # megatron's unmasked per-token loss [b, s]
        causal_only = m(batch["tokens"], batch["position_ids"], None)
        num, den, worst, leak = 0.0, 0.0, 0.0, 0.0
        for r, members in enumerate(p.rows):
            at = 0
            for i in members:
                ids, mask = samples[i]
                n = len(ids)
                x = torch.tensor(ids)[None]
                alone = m(x, torch.arange(n)[None], None)[0]
                worst = max(worst, (packed_logits[r, at:at + n] - alone).abs().max().item())
                leak = max(leak, (causal_only[r, at:at + n] - alone).abs().max().item())
                ce = F.cross_entropy(alone[:-1].double(), x[0, 1:], reduction="none")
                w = torch.tensor(mask[1:], dtype=torch.double)
                num += (ce * w).sum().item()
                den += w.sum().item()
                at += n
    assert worst <= 1e-5
    assert leak > 1e-3  # without the block-diagonal mask later samples see earlier ones: the check can fail
    oracle = num / den
    assert den == p.loss_mask.sum().item()
    V = packed_logits.size(-1)
    plain = F.cross_entropy(packed_logits.reshape(-1, V).double(), batch["labels"].reshape(-1), reduction="none")
    plain = (plain * batch["loss_mask"].reshape(-1).double()).sum().item() / batch["loss_mask"].sum().item()
    assert abs(plain - oracle) <= 1e-5
    assert abs(masked_mean(per_token, batch["loss_mask"]).item() - oracle) <= 1e-5
