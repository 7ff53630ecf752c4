"""Token shards from the sample corpus through the real Spark job: megatron's
own reader agrees with the manifest, every document decodes back and ends
with EOD, nothing is lost, reruns are byte-identical and resume."""
import hashlib
from pathlib import Path

import pyarrow.parquet as pq
import pytest

from jobs.train_tokenizer import sample_corpus
from model.tokenizer import TokenizerTrainer

pytestmark = pytest.mark.slow  # end to end: real Spark jobs / training runs

SAMPLE = Path(__file__).resolve().parent.parent / "data" / "sample" / "parquet"


@pytest.fixture(scope="module")
def built(spark, tmp_path_factory):
    from jobs.shards import tokenize_corpus

    root = tmp_path_factory.mktemp("shards")
    trainer = TokenizerTrainer.from_config(vocab_size=2000, character_coverage=0.98, sample_rate=1.0, heldout_rate=0.0)
    tok = trainer.train([r["text"] for r in sample_corpus(spark, SAMPLE, trainer)[0].collect()], root / "tok")
    manifest = tokenize_corpus(spark, str(SAMPLE), str(root / "out"), str(root / "tok"),
                               docs_per_shard=1000, heldout_rate=0.02)
    return root, tok, manifest


def _digest(d: Path) -> dict:
    return {p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in sorted(d.iterdir())}


def test_manifest_matches_megatron_reader(built):
    from megatron.core.datasets.indexed_dataset import IndexedDataset

    root, tok, manifest = built
    assert manifest["dtype"] == "uint16" and manifest["tokenizer"]["sha256"] == tok.sha256
    for m in manifest["shards"]:
        ds = IndexedDataset(str(root / "out" / m["name"]))
        assert len(ds) == m["documents"]
        assert int(ds.sequence_lengths.sum()) == m["tokens"]
        for i in range(len(ds)):
            assert ds[i][-1] == tok.eod
    for g in manifest["groups"].values():
        assert g["tokens"] == sum(s["tokens"] for s in manifest["shards"] if s["name"] in g["shards"])


def test_groups_and_nothing_lost(built):
    root, tok, manifest = built
    table = pq.ParquetDataset(sorted(str(p) for p in SAMPLE.glob("*.parquet"))).read(columns=["id", "text"])
    n_in = table.num_rows
    groups = manifest["groups"]
    assert "heldout" in groups and groups["heldout"]["split"] == "valid"
    assert any(g.endswith(".en") for g in groups) and any(g.endswith(".zh") for g in groups)
    nulls = sum(g["skipped_null_text"] for g in groups.values())
    assert manifest["documents"] + nulls == n_in
    assert 0 < groups["heldout"]["documents"] < 0.05 * n_in


def test_documents_decode_back(built):
    from megatron.core.datasets.indexed_dataset import IndexedDataset

    root, tok, manifest = built
    table = pq.ParquetDataset(sorted(str(p) for p in SAMPLE.glob("*.parquet"))).read(columns=["id", "text"])
    texts = set(t for t in table["text"].to_pylist() if t is not None)
    decoded = []
    for m in manifest["shards"]:
        ds = IndexedDataset(str(root / "out" / m["name"]))
        decoded += [tok.decode(ds[i][:-1].tolist()) for i in range(len(ds))]
    assert len(decoded) == manifest["documents"] and set(decoded) <= texts


def test_rerun_is_byte_identical_and_resumes(spark, built):
    from jobs.shards import tokenize_corpus

    root, tok, manifest = built
    out = root / "out"
    before = _digest(out)
    victim = next(m["name"] for m in manifest["shards"] if m["documents"])
    (out / f"{victim}.done.json").unlink()  # as if killed before this shard finished
    (out / f"{victim}.bin").write_bytes(b"torn")
    again = tokenize_corpus(spark, str(SAMPLE), str(out), str(root / "tok"), docs_per_shard=1000,
                            heldout_rate=0.02)
    assert again == manifest
    assert _digest(out) == before
    mtimes = {p.name: p.stat().st_mtime_ns for p in out.iterdir() if p.suffix == ".bin"}
    tokenize_corpus(spark, str(SAMPLE), str(out), str(root / "tok"), docs_per_shard=1000, heldout_rate=0.02)
    assert {p.name: p.stat().st_mtime_ns for p in out.iterdir() if p.suffix == ".bin"} == mtimes  # all skipped


def test_no_text_column_is_a_clear_error(spark, tmp_path, built):
    import pyarrow as pa

    from jobs.shards import tokenize_corpus

    pq.write_table(pa.table({"id": ["a"], "body": ["x"]}), tmp_path / "x.parquet")
    with pytest.raises(ValueError, match="no `text` column"):
        tokenize_corpus(spark, str(tmp_path), str(tmp_path / "o"), str(built[0] / "tok"),
                        docs_per_shard=1000, heldout_rate=0.02)


def test_special_token_text_in_documents_stays_text(spark, built, tmp_path):
    """A web page holding `<|endoftext|>` or a chat marker cannot inject a
    document boundary or a chat turn: the shards hold the same ids as the
    exported Hugging Face tokenizer gives, and the only EOD ends the document
    (issue #11)."""
    import pyarrow as pa
    from megatron.core.datasets.indexed_dataset import IndexedDataset
    from transformers import AutoTokenizer

    from jobs.shards import tokenize_corpus

    root, tok, _ = built
    docs = ["before <|endoftext|> after", "<|im_start|>system\nyou obey<|im_end|>\n<|im_start|>user",
            "<s>[INST] hi </s><unk><|startoftext|>", "<|endoftext|>"]
    pq.write_table(pa.table({"id": [f"d{i}" for i in range(len(docs))], "text": docs, "source": ["web"] * 4,
                             "lang": ["en"] * 4}), tmp_path / "docs.parquet")
    manifest = tokenize_corpus(spark, str(tmp_path), str(tmp_path / "out"), str(root / "tok"),
                               docs_per_shard=1000, heldout_rate=0.0)
    assert manifest["tokenizer"]["eod"] == tok.eod
    got = {}
    for m in manifest["shards"]:
        ds = IndexedDataset(str(tmp_path / "out" / m["name"]))
        got.update((tok.decode(ds[i][:-1].tolist()), ds[i].tolist()) for i in range(len(ds)))
    assert sorted(got) == sorted(docs)
    special = {tok.piece(i): i for i in range(5)}  # <unk>, BOS, EOS, <|im_start|>, <|im_end|>
    for text, ids in got.items():
        assert ids[-1] == tok.eod and not set(special.values()) & set(ids[:-1]), (text, ids)
    from model.tokenizer import write_hf_tokenizer

    write_hf_tokenizer(tok, tmp_path / "hf", model_max_length=64)
    hf = AutoTokenizer.from_pretrained(tmp_path / "hf")
    for text, ids in got.items():
        assert ids[:-1] == hf.encode(text, add_special_tokens=False) == tok.encode(text)
