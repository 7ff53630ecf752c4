"""The cascade runner: stage order, reasons, quarantine of failures, schema."""
import json

import pyarrow as pa
import pytest

from pipeline.cascade import output_schema, run_batch
from pipeline.config import load_config
from pipeline.document import Quarantine, Stage


class MinLength(Stage):
    name = "minlen"
    score_columns = ("n_chars",)

    def __call__(self, doc):
        doc.scores["n_chars"] = len(doc.text)
        return "too_short" if len(doc.text) < 10 else None


class Shout(Stage):
    name = "shout"

    def __call__(self, doc):
        if "\x00" in doc.text:
            raise Quarantine("nul_byte")
        if "boom" in doc.text:
            raise RuntimeError("bug")
        doc.text = doc.text.upper()
        doc.add_edit("upper")
        return None


def batch(texts, decisions=None):
    n = len(texts)
    return pa.RecordBatch.from_pydict({
        "id": [f"d{i}" for i in range(n)], "text": texts, "extra": list(range(n)),
        "decision": decisions or ["kept"] * n, "stage": [""] * n, "reason": [None] * n,
    })


def test_run_batch_decides_in_order_and_keeps_columns():
    b = batch(["short", "a long enough text", "with \x00 inside text", "this will boom", "already out"],
              decisions=["kept"] * 4 + ["quarantined"])
    stages = [MinLength(), Shout()]
    out = run_batch(b, stages, output_schema(b.schema, [MinLength, Shout])).to_pydict()
    assert out["decision"] == ["rejected", "kept", "quarantined", "quarantined", "quarantined"]
    assert out["stage"][:4] == ["minlen", "", "shout", "shout"]
    assert out["reason"][0] == "too_short" and out["reason"][2] == "nul_byte"
    assert out["reason"][3].startswith("error:RuntimeError")
    assert out["text"][1] == "A LONG ENOUGH TEXT"
    assert json.loads(out["edits"][1]) == {"upper": 1}
    assert out["n_chars"][:2] == [5.0, 18.0] and out["n_chars"][4] is None
    assert out["extra"] == [0, 1, 2, 3, 4]


def test_config_sections_and_overrides(tmp_path):
    cfg = load_config()
    assert cfg.get("cascade.stages")[0] == "langid"
    f = tmp_path / "my.toml"
    f.write_text('[output]\nshard_docs = 7\n')
    cfg2 = load_config(f)
    assert cfg2.section("output")["shard_docs"] == 7
    assert cfg2.section("output")["compression"] == "zstd"
    with pytest.raises(FileNotFoundError):
        load_config(tmp_path / "missing.toml")
