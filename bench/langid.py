"""Language ID on the sample's ``lang_gold``-labelled documents.

For each lingua setting (low / high accuracy mode × all 75 languages /
a restricted candidate set) prints docs per CPU second (process time, so
other load on the machine does not count), peak RSS, accuracy
overall and per gold language, the confusion counts, and the keep-decision
quality (English + Chinese kept, everything else dropped) at several
``min_score`` thresholds. Each setting runs in its own process so that RSS
and load time are its own. Writes out/bench/langid.png.

  .venv/bin/python bench/langid.py [--input data/sample] [--per-lang 800]
  .venv/bin/python bench/langid.py --real    # real multilingual documents

--real: held-out real documents, the stage as configured next to the code
before the script front end (commit 81e452b's settings: no front end, the
old candidate set), accuracy of the keep decision (en/zh kept with the right
label, every other language dropped), docs per CPU second, per language and
the confusion table. Sets: debian-handbook 11.20220922 translations (27
locales; `apt-get download debian-handbook` into build/langid/ and
`dpkg-deb -x` it to build/langid/hb; pages in hash bucket 0 = evaluation,
bucket 1 = tuning; paragraphs whose words overlap the en-US page's by >= 50%
are dropped as untranslated) and chatterbot-corpus 1.2.0 conversations
(`pip download --no-deps chatterbot-corpus==1.2.0 -d build/langid/dl`,
unzipped to build/langid/cb; bucket 0, not in data/sample).
"""
from __future__ import annotations

import argparse
import collections
import json
import multiprocessing as mp
import resource
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from pipeline.config import load_config  # noqa: E402

import gzip, re  # noqa: E402,E401

import xxhash  # noqa: E402
HB_LOCALES = {"ar-MA": "ar", "ca-ES": "ca", "cs-CZ": "cs", "da-DK": "da", "de-DE": "de", "el-GR": "el",
              "en-US": "en", "es-ES": "es", "fa-IR": "fa", "fr-FR": "fr", "hr-HR": "hr", "id-ID": "id",
              "it-IT": "it", "ja-JP": "ja", "ko-KR": "ko", "nb-NO": "nb", "nl-NL": "nl", "pl-PL": "pl",
              "pt-BR": "pt", "ro-RO": "ro", "ru-RU": "ru", "sv-SE": "sv", "tr-TR": "tr", "vi-VN": "vi",
              "zh-CN": "zh", "zh-TW": "zh"}
WORD = re.compile(r"\w+")

def bucket(source, key):
    return xxhash.xxh64_intdigest(f"{source}:{key}".encode("utf-8")) % 2

def _blocks(path):
    import lxml.html
    root = lxml.html.parse(str(path)).getroot()
    out = []
    for el in root.iter():
        if not isinstance(el.tag, str):
            continue
        tag = el.tag.split("}")[-1]
        if not ("para" in (el.get("class") or "").split() or tag in ("pre", "h1", "h2", "h3")):
            continue
        anc, nested = el.getparent(), False
        while anc is not None:
            if isinstance(anc.tag, str) and ("para" in (anc.get("class") or "").split() or anc.tag.split("}")[-1] == "pre"):
                nested = True
                break
            anc = anc.getparent()
        if nested:
            continue
        text = el.text_content().strip("\n") if tag == "pre" else " ".join(el.text_content().split())
        if text.strip():
            out.append((tag, text))
    return out

def _words(t):
    return {w.lower() for w in WORD.findall(t)}

def handbook_docs(root, want_bucket):
    root = Path(root)
    docs = []
    pages = sorted(p.name for p in (root / "en-US").glob("*.html"))
    for page in pages:
        if bucket("debian-handbook", page) != want_bucket:
            continue
        en = _blocks(root / "en-US" / page)
        en_words = [_words(t) for tag, t in en if tag != "pre"]
        for loc, lang in sorted(HB_LOCALES.items()):
            blocks = _blocks(root / loc / page)
            if lang != "en":
                keep = []
                for tag, t in blocks:
                    if tag != "pre":
                        w = _words(t)
                        if any(len(w & e) / max(len(w | e), 1) >= 0.5 for e in en_words):
                            continue  # untranslated (or outdated English) paragraph
                    keep.append((tag, t))
                blocks = keep
            prose = sum(len(t) for tag, t in blocks if tag != "pre")
            if prose < 300:
                continue
            text = "\n\n".join(t for _, t in blocks)
            docs.append((text, lang, "page", f"{loc}/{page}"))
            # one short chunk: consecutive prose blocks from the middle, 150-800 chars
            prose_idx = [i for i, (tag, t) in enumerate(blocks) if tag == "div"]
            if prose_idx:
                i = prose_idx[len(prose_idx) // 2]
                chunk = blocks[i][1]
                j = i + 1
                while len(chunk) < 150 and j < len(blocks):
                    chunk += "\n\n" + blocks[j][1]; j += 1
                docs.append((chunk[:800], lang, "chunk", f"{loc}/{page}#c"))
    return docs

def sample_texts():
    import zstandard
    texts = set()
    with open(REPO / "data/sample/jsonl/dialogs.jsonl.zst", "rb") as fh:
        for line in zstandard.ZstdDecompressor().stream_reader(fh).read().decode().splitlines():
            texts.add(" ".join(json.loads(line)["text"].split()))
    return texts

CB_LANG = {"bangla": "bn", "chinese": "zh", "tchinese": "zh", "english": "en", "french": "fr", "german": "de",
           "hebrew": "he", "hindi": "hi", "indonesia": "id", "italian": "it", "marathi": "mr", "odia": "or",
           "portuguese": "pt", "russian": "ru", "spanish": "es", "swedish": "sv", "telugu": "te", "thai": "th"}

def chatterbot_docs(root, want_bucket):
    import yaml
    seen = sample_texts()
    docs = []
    for d in sorted(Path(root).iterdir()):
        if d.name not in CB_LANG:
            continue
        for f in sorted(d.glob("*.yml")):
            data = yaml.safe_load(f.read_text(encoding="utf-8"))
            for i, conv in enumerate(data.get("conversations") or []):
                text = "\n".join(str(t) for t in conv if t is not None)
                key = f"{d.name}/{f.name}:{i}"
                if " ".join(text.split()) in seen or bucket("chatterbot-corpus", key) != want_bucket:
                    continue
                docs.append((text, CB_LANG[d.name], "dialog", key))
    return docs



OLD_CANDIDATES = ["ar", "bg", "bn", "cs", "da", "de", "el", "en", "es", "fa", "fi", "fr", "he", "hi", "hu", "id",
                  "it", "ja", "ko", "mr", "nl", "pl", "pt", "ro", "ru", "sv", "ta", "te", "th", "tr", "uk", "ur",
                  "vi", "yo", "zh"]


def real_main() -> None:
    from pipeline.document import Document
    from pipeline.langid import LanguageID

    build = REPO / "build" / "langid"
    sets = {"handbook bucket 1 (tune)": handbook_docs(build / "hb/usr/share/doc/debian-handbook/html", 1),
            "handbook bucket 0 (eval)": handbook_docs(build / "hb/usr/share/doc/debian-handbook/html", 0),
            "chatterbot bucket 0 (eval)": chatterbot_docs(build / "cb/chatterbot_corpus/data", 0)}
    cfg = load_config().section("langid")
    keep = set(cfg["keep"])
    stages = {"before": LanguageID(**{**cfg, "script_frontend": False, "candidates": OLD_CANDIDATES}),
              "config": LanguageID(**cfg)}
    for set_name, docs in sets.items():
        print(f"\n== {set_name}: {len(docs)} documents")
        for st_name, st in stages.items():
            t0 = time.process_time()
            res = []
            for text, _, _, key in docs:
                d = Document(id=key, text=text)
                reason = st(d)
                res.append((d.lang, reason))
            dt = time.process_time() - t0
            ok, n, conf = collections.Counter(), collections.Counter(), collections.Counter()
            for (_, gold, _, _), (lang, reason) in zip(docs, res):
                kept = reason is None
                good = (kept and lang == gold) if gold in keep else not kept
                n[gold] += 1
                ok[gold] += good
                if not good:
                    conf[(gold, (lang or "none") + ("+kept" if kept else ""))] += 1
            print(f"  {st_name:<7} accuracy {sum(ok.values()) / len(docs):.4f}  {len(docs) / dt:7.0f} docs/cpu-s  "
                  + " ".join(f"{g}={ok[g]}/{n[g]}" for g in sorted(n)))
            print("          errors (gold -> predicted): " + (", ".join(f"{g}->{p}: {c}" for (g, p), c in conf.most_common()) or "none"))

# The restricted candidate set is the one in config/default.toml [langid].
RESTRICTED = load_config().section("langid")["candidates"]
SETTINGS = [
    ("low/all", dict(candidates="all", high_accuracy=False)),
    ("low/restricted", dict(candidates=RESTRICTED, high_accuracy=False)),
    ("high/all", dict(candidates="all", high_accuracy=True)),
    ("high/restricted", dict(candidates=RESTRICTED, high_accuracy=True)),
]
THRESHOLDS = [0.0, 0.5, 0.65, 0.8, 0.9]


def labelled_docs(inp: str, per_lang: int) -> list[tuple[str, str]]:
    """(text, gold) of every document our readers keep that has a gold
    language: ``meta.lang_gold`` (JSONL, Parquet), else the language of its
    url in data/sample_labels.parquet (WARC, WET). At most ``per_lang`` a
    language, taken evenly in id order (deterministic)."""
    import pyarrow.parquet as pq

    from pipeline.readers import list_inputs, read_file

    labels_path = Path(inp).parent / "sample_labels.parquet"
    by_url = {}
    if labels_path.exists():
        by_url = {r["url"]: r["lang"] for r in pq.read_table(labels_path, columns=["url", "lang"]).to_pylist()}
    read_cfg = load_config().section("read")
    files, _ = list_inputs([inp])
    per: dict[str, list] = collections.defaultdict(list)
    for f in files:
        for b in read_file(f, read_cfg):
            for r in b.to_pylist():
                if r["decision"] != "kept":
                    continue
                gold = json.loads(r["meta"]).get("lang_gold") if r["meta"] else None
                gold = gold or by_url.get(r["url"])
                if gold:
                    per[gold].append((r["id"], r["text"]))
    docs = []
    for gold, items in sorted(per.items()):
        items.sort()
        if len(items) > per_lang:
            step = len(items) / per_lang
            items = [items[int(i * step)] for i in range(per_lang)]
        docs += [(t, gold) for _, t in items]
    return docs


def run_setting(args) -> dict:
    """In a fresh process: load, then classify every document."""
    kwargs, docs = args
    from pipeline.langid import LanguageID

    t0 = time.process_time()
    stage = LanguageID.from_config(**kwargs)
    load_s = time.process_time() - t0
    t0 = time.process_time()
    preds = [stage.identify(text) for text, _ in docs]
    run_s = time.process_time() - t0
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return dict(load_s=load_s, run_s=run_s, rss_mb=rss / 1024, preds=preds)


def keep_quality(preds, golds, keep, threshold):
    """Recall of en/zh (kept with the right label) and share of other
    documents wrongly kept, at ``threshold``."""
    kept_ok = n_keep = wrong = n_other = 0
    for (lang, score), gold in zip(preds, golds):
        kept = lang in keep and score >= threshold
        if gold in keep:
            n_keep += 1
            kept_ok += kept and lang == gold
        else:
            n_other += 1
            wrong += kept
    return kept_ok / max(n_keep, 1), wrong / max(n_other, 1)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--input", default=str(REPO / "data" / "sample"))
    ap.add_argument("--per-lang", type=int, default=800, help="at most this many documents a language")
    ap.add_argument("--out", default=str(REPO / "out" / "bench"))
    ap.add_argument("--real", action="store_true", help="real multilingual documents (see above)")
    args = ap.parse_args()
    if args.real:
        return real_main()
    lcfg = load_config().section("langid")
    keep = set(lcfg["keep"])
    max_chars = lcfg["max_chars"]

    t0 = time.perf_counter()
    docs = labelled_docs(args.input, args.per_lang)
    golds = [g for _, g in docs]
    counts = collections.Counter(golds)
    print(f"{len(docs)} labelled documents read in {time.perf_counter() - t0:.1f}s; gold: "
          + ", ".join(f"{k}={v}" for k, v in counts.most_common()))
    gold_langs = sorted(counts)
    missing = [g for g in gold_langs if g not in RESTRICTED]
    if missing:
        print(f"gold languages lingua has no model for (any answer is an error): {missing}")

    ctx = mp.get_context("spawn")
    results = {}
    for name, kw in SETTINGS:
        with ctx.Pool(1) as pool:
            results[name] = pool.map(run_setting, [(kw, docs)])[0]
        r = results[name]
        print(f"  ran {name}: {len(docs) / r['run_s']:.0f} docs/s", flush=True)

    print()
    print(f"{'setting':<16} {'docs/cpu-s':>11} {'load s':>7} {'RSS MB':>7} {'accuracy':>8}  "
          + " ".join(f"{g:>6}" for g in gold_langs))
    acc_by = {}
    for name, r in results.items():
        right = collections.Counter()
        for (lang, _), gold in zip(r["preds"], golds):
            right[gold] += lang == gold
        acc = sum(right.values()) / len(golds)
        acc_by[name] = {g: right[g] / counts[g] for g in gold_langs}
        print(f"{name:<16} {len(docs) / r['run_s']:>11.0f} {r['load_s']:>7.2f} {r['rss_mb']:>7.0f} {acc:>8.4f}  "
              + " ".join(f"{acc_by[name][g]:>6.3f}" for g in gold_langs))

    print("\nkeep decision (en+zh recall | others wrongly kept) by min_score:")
    print(f"{'setting':<16} " + " ".join(f"{t:>15}" for t in THRESHOLDS))
    for name, r in results.items():
        cells = [keep_quality(r["preds"], golds, keep, t) for t in THRESHOLDS]
        print(f"{name:<16} " + " ".join(f"{rec:>7.4f}|{fp:<7.4f}" for rec, fp in cells))

    print("\nconfusions (gold -> predicted: count), errors only:")
    for name, r in results.items():
        conf = collections.Counter((g, lang or "none") for (lang, _), g in zip(r["preds"], golds) if lang != g)
        print(f"  {name:<16} " + (", ".join(f"{g}->{p}: {n}" for (g, p), n in conf.most_common(12)) or "none"))

    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    fig, (a1, a2) = plt.subplots(1, 2, figsize=(16, 4.5), gridspec_kw={"width_ratios": [3, 1]})
    width = 0.8 / len(results)
    for i, name in enumerate(results):
        a1.bar([j + i * width for j in range(len(gold_langs))], [acc_by[name][g] for g in gold_langs],
               width, label=name)
    a1.set_xticks([j + width * (len(results) - 1) / 2 for j in range(len(gold_langs))], gold_langs)
    a1.set_ylabel("accuracy")
    a1.set_ylim(0, 1.05)
    a1.set_title("lingua accuracy per gold language")
    a1.legend(fontsize=8, loc="lower left")
    names = list(results)
    a2.bar(names, [len(docs) / results[n]["run_s"] for n in names])
    a2.set_ylabel("docs per CPU second")
    a2.tick_params(axis="x", labelrotation=20)
    a2.set_title(f"speed (first {max_chars} chars of each document)")
    fig.tight_layout()
    fig.savefig(out / "langid.png", dpi=100)
    print(f"\nplot: {out / 'langid.png'}")


if __name__ == "__main__":
    main()
