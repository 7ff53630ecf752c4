"""Chat (SFT) data, engine-free: records, readers, validation, ChatML and the
loss mask, task tags, system-prompt sampling (issue #14 part 1; Yi: arXiv
2403.04652 §3).

Record model: a conversation is a list of ``(role, content)`` turns, roles
``system`` (at most one, first), ``user``, ``assistant``. Three input forms
are read and converted on read (``to_messages``):
  OpenAI    {"messages": [{"role": "user", "content": "..."}, ...]}
  ShareGPT  {"conversations": [{"from": "human"|"gpt"|"system", "value": "..."}]}
  Alpaca    {"instruction": "...", "input": "...", "output": "..."}
Other fields of a record (``id``, ``source``, ``lang``, ``split``...) travel
as metadata.

Bad records are never lost: ``parse_line`` / ``parse_record`` return the
quarantine reason (``REASONS``) instead of a conversation: invalid UTF-8,
invalid JSON, a record in none of the forms, an unknown role, an empty
assistant (or user) turn, a conversation that does not end with the
assistant, text over the length limit.

ChatML (``render_chatml``)::

    <|im_start|>system\\n{content}<|im_end|>\\n<|im_start|>user\\n...<|im_end|>\\n
    <|im_start|>assistant\\n{content}<|im_end|>\\n

Loss mask (``encode_chatml``): 1 on every token of each assistant content
and on the ``<|im_end|>`` that closes it; 0 on the ``<|im_start|>role\\n``
headers, on every system/user token, and on the ``\\n`` after ``<|im_end|>``.
``pad_batch`` pads with mask 0 (Yi's public fine-tuning script trains on
padding; we do not). The chat markers are inserted as their special ids,
never encoded from text: a turn holding the text ``<|im_end|>`` stays text.

Task tags (``tag_task``): rules, first match wins, in ``TASKS`` order of
``TASK_PRIORITY``. System prompts (``assign_system_prompts``): within each
(task, language) group, conversations ordered by a seeded hash of their id
take the prompts of their language round-robin over a seeded permutation, so
every prompt is used equally often (within one) for every task: the joint
distribution prompt x task is balanced by construction.
"""
from __future__ import annotations

import hashlib
import json
import random
import re
import unicodedata
from dataclasses import dataclass, field
from typing import Any, Callable, Iterable, Mapping, Sequence

IM_START, IM_END = "<|im_start|>", "<|im_end|>"
SYSTEM, USER, ASSISTANT = "system", "user", "assistant"
ROLES = (SYSTEM, USER, ASSISTANT)
# ShareGPT's speaker names -> roles (FastChat's conversion table).
SHAREGPT_ROLES = {"system": SYSTEM, "human": USER, "user": USER, "gpt": ASSISTANT, "assistant": ASSISTANT,
                  "chatgpt": ASSISTANT, "bing": ASSISTANT, "bard": ASSISTANT}

# ----------------------------------------------------------- quarantine reasons --
INVALID_UTF8 = "invalid_utf8"
INVALID_JSON = "invalid_json"
UNKNOWN_FORMAT = "unknown_format"          # none of messages / conversations / instruction+output
BAD_TURN = "bad_turn"                      # a turn that is not {role, content: str}
UNKNOWN_ROLE = "unknown_role"
EMPTY_ASSISTANT_TURN = "empty_assistant_turn"
EMPTY_USER_TURN = "empty_user_turn"
NO_USER_TURN = "no_user_turn"
MISPLACED_SYSTEM = "misplaced_system"      # a system turn that is not the first turn
NOT_ENDING_WITH_ASSISTANT = "not_ending_with_assistant"
TOO_LONG = "too_long"
REASONS = (INVALID_UTF8, INVALID_JSON, UNKNOWN_FORMAT, BAD_TURN, UNKNOWN_ROLE, EMPTY_ASSISTANT_TURN,
           EMPTY_USER_TURN, NO_USER_TURN, MISPLACED_SYSTEM, NOT_ENDING_WITH_ASSISTANT, TOO_LONG)

Messages = list[tuple[str, str]]


class ChatError(ValueError):
    """A record that cannot be a conversation; ``reason`` is one of REASONS."""

    def __init__(self, reason: str, detail: str = ""):
        super().__init__(f"{reason}: {detail}" if detail else reason)
        self.reason, self.detail = reason, detail


@dataclass
class Conversation:
    messages: Messages
    fmt: str                                   # openai | sharegpt | alpaca
    meta: dict[str, Any] = field(default_factory=dict)

    @property
    def id(self) -> str:
        """The input's ``id`` when it has one, else the content hash."""
        rid = self.meta.get("id")
        return str(rid) if isinstance(rid, (str, int)) and not isinstance(rid, bool) and str(rid) else content_id(self.messages)


# --------------------------------------------------------------------- readers --
def _turns(seq: Any, field: str, role_key: str, text_key: str, role_of) -> Messages:
    """(role, text) turns of an OpenAI ``messages`` or ShareGPT
    ``conversations`` list; ``role_of`` maps the record's role name to ours
    (None: unknown)."""
    if not isinstance(seq, list) or not seq:
        raise ChatError(BAD_TURN, f"{field} must be a non-empty list")
    out = []
    for i, m in enumerate(seq):
        if not isinstance(m, dict) or not isinstance(m.get(role_key), str) or not isinstance(m.get(text_key), str):
            raise ChatError(BAD_TURN, f"turn {i} is not {{{role_key}: str, {text_key}: str}}")
        role = role_of(m[role_key])
        if role is None:
            raise ChatError(UNKNOWN_ROLE, f"turn {i} {role_key} {m[role_key]!r}")
        out.append((role, m[text_key]))
    return out


def _turns_openai(msgs: Any) -> Messages:
    return _turns(msgs, "messages", "role", "content", lambda r: r if r in ROLES else None)


def _turns_sharegpt(conv: Any) -> Messages:
    return _turns(conv, "conversations", "from", "value", lambda r: SHAREGPT_ROLES.get(r.lower()))


def _turns_alpaca(rec: Mapping) -> Messages:
    ins, inp, outp = rec.get("instruction"), rec.get("input", ""), rec.get("output")
    if not isinstance(ins, str) or not isinstance(outp, str) or not isinstance(inp, (str, type(None))):
        raise ChatError(BAD_TURN, "alpaca instruction/input/output must be strings")
    prompt = ins if not (inp or "").strip() else f"{ins}\n\n{inp}"
    msgs: Messages = []
    if isinstance(rec.get("system"), str) and rec["system"].strip():
        msgs.append((SYSTEM, rec["system"]))
    return msgs + [(USER, prompt), (ASSISTANT, outp)]


FORMAT_KEYS = {"openai": ("messages",), "sharegpt": ("conversations",), "alpaca": ("instruction", "output")}


def to_messages(rec: Any) -> tuple[Messages, str]:
    """(turns, format name) of one decoded record; raises ChatError."""
    if not isinstance(rec, dict):
        raise ChatError(UNKNOWN_FORMAT, f"a JSON {type(rec).__name__}, not an object")
    if "messages" in rec:
        return _turns_openai(rec["messages"]), "openai"
    if "conversations" in rec:
        return _turns_sharegpt(rec["conversations"]), "sharegpt"
    if "instruction" in rec and "output" in rec:
        return _turns_alpaca(rec), "alpaca"
    raise ChatError(UNKNOWN_FORMAT, f"keys {sorted(rec)[:8]}")


def validate(msgs: Messages, max_chars: int, max_turn_chars: int) -> None:
    """Raise ChatError unless the turns make a trainable conversation."""
    for i, (role, content) in enumerate(msgs):
        if role not in ROLES:
            raise ChatError(UNKNOWN_ROLE, f"turn {i} role {role!r}")
        if role == SYSTEM and i != 0:
            raise ChatError(MISPLACED_SYSTEM, f"system turn at {i}")
        if role == ASSISTANT and not content.strip():
            raise ChatError(EMPTY_ASSISTANT_TURN, f"turn {i}")
        if role == USER and not content.strip():
            raise ChatError(EMPTY_USER_TURN, f"turn {i}")
        if len(content) > max_turn_chars:
            raise ChatError(TOO_LONG, f"turn {i} has {len(content)} chars > {max_turn_chars}")
    if not any(r == USER for r, _ in msgs):
        raise ChatError(NO_USER_TURN)
    if msgs[-1][0] != ASSISTANT:
        raise ChatError(NOT_ENDING_WITH_ASSISTANT, f"last turn is {msgs[-1][0]}")
    total = sum(len(c) for _, c in msgs)
    if total > max_chars:
        raise ChatError(TOO_LONG, f"{total} chars > {max_chars}")


def parse_record(rec: Any, *, max_chars: int, max_turn_chars: int) -> Conversation:
    msgs, fmt = to_messages(rec)
    validate(msgs, max_chars, max_turn_chars)
    meta = {k: v for k, v in rec.items() if k not in ("messages", "conversations", "instruction", "input", "output")}
    if fmt == "alpaca":
        meta.pop("system", None)
    return Conversation(msgs, fmt, meta)


def parse_line(raw: bytes, *, max_chars: int, max_turn_chars: int) -> Conversation:
    """One JSONL line (bytes) -> Conversation; raises ChatError with the reason."""
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as e:
        raise ChatError(INVALID_UTF8, str(e)) from None
    try:
        rec = json.loads(text)
    except ValueError as e:
        raise ChatError(INVALID_JSON, str(e)[:200]) from None
    # JSON escapes can carry lone surrogates ("\ud800"), which are not UTF-8 text.
    if "\\ud" in text.lower() and _has_surrogate(rec):
        raise ChatError(INVALID_UTF8, "a lone surrogate escape")
    return parse_record(rec, max_chars=max_chars, max_turn_chars=max_turn_chars)


def _has_surrogate(x: Any) -> bool:
    if isinstance(x, str):
        try:
            x.encode("utf-8")
        except UnicodeEncodeError:
            return True
        return False
    if isinstance(x, dict):
        return any(_has_surrogate(k) or _has_surrogate(v) for k, v in x.items())
    if isinstance(x, list):
        return any(_has_surrogate(v) for v in x)
    return False


# --------------------------------------------------------------- ids, hashes --
def messages_json(msgs: Messages) -> str:
    """Canonical OpenAI-form JSON of the turns (the stored column)."""
    return json.dumps([{"role": r, "content": c} for r, c in msgs], ensure_ascii=False, separators=(",", ":"))


def messages_from_json(s: str) -> Messages:
    return [(m["role"], m["content"]) for m in json.loads(s)]


def content_id(msgs: Messages) -> str:
    """16 hex digits of sha256 over the non-system turns (a system prompt
    added later does not change a conversation's id or split)."""
    body = messages_json([(r, c) for r, c in msgs if r != SYSTEM])
    return hashlib.sha256(body.encode("utf-8")).hexdigest()[:16]


def split_of(msgs: Messages, test_share: float) -> str:
    """Held-out split by content hash: "test" for a ``test_share`` of conversations."""
    h = int(hashlib.sha256(("split:" + content_id(msgs)).encode()).hexdigest()[:8], 16)
    return "test" if h < test_share * 2**32 else "train"


def split_key(msgs: Messages) -> str:
    return hashlib.sha256(("split:" + content_id(msgs)).encode()).hexdigest()


def stratified_split(groups: Mapping[str, Sequence[Messages]], test_share: float) -> dict[str, str]:
    """Held-out split by content hash, per group (source and language): in
    each group the conversations with the smallest ``split_key`` are "test",
    ``max(1, round(test_share * n))`` of them (a group of one stays "train"),
    so a small source still has a held-out part. Returns content id -> split."""
    out: dict[str, str] = {}
    for _, convs in sorted(groups.items()):
        ordered = sorted(convs, key=split_key)
        n_test = max(1, round(test_share * len(ordered))) if len(ordered) > 1 else 0
        for k, m in enumerate(ordered):
            out[content_id(m)] = "test" if k < n_test else "train"
    return out


_PUNCT_WS = re.compile(r"[\W_]+", re.UNICODE)


def prompt_text(msgs: Messages) -> str:
    """The prompt of a conversation: its user turns, one a line."""
    return "\n".join(c for r, c in msgs if r == USER)


def normalize_prompt(text: str) -> str:
    """Exact-duplicate key: NFKC, case-folded, punctuation and spaces collapsed."""
    return _PUNCT_WS.sub(" ", unicodedata.normalize("NFKC", text).casefold()).strip()


# ------------------------------------------------------------------- ChatML --
def render_chatml(msgs: Messages, add_generation_prompt: bool = False) -> str:
    out = "".join(f"{IM_START}{r}\n{c}{IM_END}\n" for r, c in msgs)
    return out + (f"{IM_START}{ASSISTANT}\n" if add_generation_prompt else "")


def encode_chatml(msgs: Messages, encode: Callable[[str], list[int]], im_start: int,
                  im_end: int) -> tuple[list[int], list[int]]:
    """(token ids, loss mask) of the ChatML rendering. ``encode`` turns text
    into ids (never producing the marker ids); ``im_start``/``im_end`` are the
    markers' special ids. Segments are encoded one by one, so a turn's tokens
    never merge with a marker's."""
    ids: list[int] = []
    mask: list[int] = []
    nl = encode("\n")
    for role, content in msgs:
        head = [im_start] + encode(f"{role}\n")
        body = encode(content)
        on = 1 if role == ASSISTANT else 0
        ids += head + body + [im_end] + nl
        mask += [0] * len(head) + [on] * len(body) + [on] + [0] * len(nl)
    return ids, mask


def pad_batch(rows: Sequence[tuple[list[int], list[int]]], pad_id: int,
              length: int | None = None) -> tuple[list[list[int]], list[list[int]], list[list[int]]]:
    """Right-pad (ids, mask) rows to ``length`` (default: the longest):
    (ids, loss mask, attention mask); padding has loss mask 0 and attention 0."""
    n = length if length is not None else max(len(i) for i, _ in rows)
    ids, masks, att = [], [], []
    for i, m in rows:
        if len(i) > n:
            raise ValueError(f"a row of {len(i)} tokens does not fit length {n}")
        pad = n - len(i)
        ids.append(list(i) + [pad_id] * pad)
        masks.append(list(m) + [0] * pad)
        att.append([1] * len(i) + [0] * pad)
    return ids, masks, att


# ---------------------------------------------------------------- task tags --
TASKS = ("qa", "creative_writing", "dialog", "reasoning", "math", "code", "bilingual")
TASK_PRIORITY = ("bilingual", "code", "math", "creative_writing", "reasoning", "dialog", "qa")

_CJK = re.compile("[\u3400-\u4dbf\u4e00-\u9fff]")
_LATIN_WORD = re.compile(r"[A-Za-z]{2,}")
_TRANSLATE = re.compile(r"\btranslat\w*|翻译|译成|用英文|用中文|in (?:chinese|english)\b", re.I)
_CODE_LINE = re.compile(
    r"(?m)^(?:\s*(?:>>>|\.\.\.|\$|#include|import |from \S+ import|def |class |return |for .* in .*:|if .*:|"
    r"while .*:|print\(|sudo |apt(?:-get)? |dpkg |[A-Za-z_][\w.]*\s*=[^=])|(?: {4}|\t)\S)")
_CODE_WORDS = re.compile(r"```|::\s*$|\b(?:python|javascript|java|function|variable|compile|syntax|"
                         r"programming|def|lambda|bytecode|interpreter|regex)\b|编程|代码|函数", re.I | re.M)
_MATH = re.compile(r"\d+\s*[-+*/×÷^=]\s*\d+|\b(?:calculate|solve|equation|sum of|percent|"
                   r"multiply|divide|arithmetic|square root)\b|计算(?!机)|方程|等于|加上|减去|乘以|除以", re.I)
_CREATIVE = re.compile(r"\b(?:poem|story|poetry|verse|write me|compose|sing|song|haiku|joke|limerick)\b|"
                       r"写(?:一首|首|一篇|篇|一个故事)|作诗|诗歌|故事|小说|唱(?:一首|首)|笑话", re.I)
_REASON = re.compile(r"\b(?:why|because|explain|reason|therefore|how does|how do|what happens|difference)\b|"
                     r"为什么|因为|所以|解释|原因|如何|怎么", re.I)


def lang_of(text: str) -> str:
    """"zh" when CJK characters are at least the Latin words, else "en" (a
    script rule: Chinese prose naming English software is Chinese)."""
    return "zh" if len(_CJK.findall(text)) >= len(_LATIN_WORD.findall(text)) and _CJK.search(text) else "en"


def _turn_lang(text: str) -> str | None:
    """A turn's language when it says enough to tell: zh with >= 4 CJK
    characters, en with >= 5 Latin words and no CJK; else None."""
    if len(_CJK.findall(text)) >= 4 and lang_of(text) == "zh":
        return "zh"
    if not _CJK.search(text) and len(_LATIN_WORD.findall(text)) >= 5:
        return "en"
    return None


def tag_task(msgs: Messages) -> str:
    """One task tag by rules (first match in TASK_PRIORITY):
    bilingual  turns in both languages (``_turn_lang``), or a translation request;
    code       two code lines (prompt, shell, Python, indented block) or code words
               in the prompt and one code line in the conversation;
    math       arithmetic on numbers or math words in the prompt;
    creative_writing  poems, stories, songs, jokes asked for;
    reasoning  why / explain / how does (and 为什么, 解释...) in the prompt;
    dialog     more than one user turn;
    qa         everything else (one question, one answer)."""
    turns = [(r, c) for r, c in msgs if r != SYSTEM]
    prompt = prompt_text(turns)
    whole = "\n".join(c for _, c in turns)
    langs = {_turn_lang(c) for _, c in turns} - {None}
    if len(langs) > 1 or _TRANSLATE.search(prompt):
        return "bilingual"
    code_lines = len(_CODE_LINE.findall(whole))
    if code_lines >= 2 or (code_lines >= 1 and _CODE_WORDS.search(prompt)) or "```" in whole:
        return "code"
    if _MATH.search(prompt):
        return "math"
    if _CREATIVE.search(prompt):
        return "creative_writing"
    if _REASON.search(prompt):
        return "reasoning"
    if sum(r == USER for r, _ in turns) > 1:
        return "dialog"
    return "qa"


# --------------------------------------------------------- system prompts --
@dataclass(frozen=True)
class SystemPrompt:
    id: str
    lang: str
    kind: str        # role | style | constraint
    text: str


def load_system_prompts(lines: Iterable[str]) -> list[SystemPrompt]:
    out = []
    for ln in lines:
        if ln.strip():
            d = json.loads(ln)
            out.append(SystemPrompt(d["id"], d["lang"], d["kind"], d["text"]))
    if len({p.id for p in out}) != len(out):
        raise ValueError("system prompt ids must be unique")
    return out


def _seeded_hash(seed: int, s: str) -> str:
    return hashlib.sha256(f"{seed}:{s}".encode("utf-8")).hexdigest()


def assign_system_prompts(items: Sequence[tuple[str, str, str]], prompts: Sequence[SystemPrompt],
                          seed: int) -> dict[str, str]:
    """``items``: (conversation id, task, lang). Returns id -> system prompt id.

    Balanced sampling: conversations are grouped by (task, lang) and ordered
    by sha256(seed, id); prompt k of the group is ``perm[k % n]``, ``perm`` a
    permutation of that language's prompts drawn with
    ``random.Random(f"{seed}:{task}:{lang}")``. Every prompt of a language is
    used floor or ceil(group size / n) times within each task, whatever the
    order of ``items``; the seed changes which conversation gets which."""
    by_lang: dict[str, list[SystemPrompt]] = {}
    for p in sorted(prompts, key=lambda p: p.id):
        by_lang.setdefault(p.lang, []).append(p)
    groups: dict[tuple[str, str], list[str]] = {}
    for cid, task, lang in items:
        groups.setdefault((task, lang), []).append(cid)
    out: dict[str, str] = {}
    for (task, lang), ids in sorted(groups.items()):
        pool = by_lang.get(lang) or by_lang.get("en")
        if not pool:
            raise ValueError(f"no system prompt for language {lang!r}")
        perm = list(pool)
        random.Random(f"{seed}:{task}:{lang}").shuffle(perm)
        for k, cid in enumerate(sorted(set(ids), key=lambda c: (_seeded_hash(seed, c), c))):
            out[cid] = perm[k % len(perm)].id
    return out


def with_system(msgs: Messages, text: str) -> Messages:
    """The turns with ``text`` as their system prompt (an existing one is kept)."""
    if msgs and msgs[0][0] == SYSTEM:
        return list(msgs)
    return [(SYSTEM, text)] + list(msgs)


def joint_table(rows: Iterable[tuple[str, str]]) -> dict[str, dict[str, int]]:
    """(task, system prompt id) pairs -> {task: {prompt id: count}}."""
    t: dict[str, dict[str, int]] = {}
    for task, pid in rows:
        t.setdefault(task, {}).setdefault(pid, 0)
        t[task][pid] += 1
    return {k: dict(sorted(v.items())) for k, v in sorted(t.items())}


# ------------------------------------------------ files -> ledger rows (job) --
READ_STAGE, LENGTH_STAGE, LANG_STAGE = "read", "length", "langid"
EXACT_STAGE, NEAR_STAGE, OUTPUT_STAGE = "exact_prompt_dedup", "near_prompt_dedup", "output"
STAGES = (READ_STAGE, "pii", LENGTH_STAGE, LANG_STAGE, EXACT_STAGE, NEAR_STAGE)
RESPONSE_TOO_SHORT = "response_too_short"
DUPLICATE_PROMPT = "duplicate_prompt"
NEAR_DUPLICATE_PROMPT = "near_duplicate_prompt"
INPUT_SUFFIXES = (".jsonl", ".jsonl.gz", ".parquet")
UNREADABLE_FILE = "unreadable_file"
DUPLICATE_ID = "duplicate_id"


def _row(path: str, offset: int, **kw) -> dict:
    base = {"id": None, "source_file": path, "offset": offset, "fmt": None, "source": None, "lang_in": None,
            "messages": None, "split": None, "stage": "", "decision": "kept", "reason": None, "detail": None,
            "preview": None}
    base.update(kw)
    return base


def _conv_row(path: str, offset: int, conv: Conversation, test_share: float) -> dict:
    m = conv.meta
    return _row(path, offset, id=conv.id, fmt=conv.fmt, source=str(m["source"]) if m.get("source") is not None else None,
                lang_in=str(m["lang"]) if m.get("lang") is not None else None,
                messages=messages_json(conv.messages),
                split=m["split"] if m.get("split") in ("train", "test") else split_of(conv.messages, test_share))


def _bad_row(path: str, offset: int, err: ChatError, raw: str) -> dict:
    h = hashlib.sha256(f"{path}:{offset}".encode()).hexdigest()[:16]
    return _row(path, offset, id=f"bad-{h}", stage=READ_STAGE, decision="quarantined", reason=err.reason,
                detail=err.detail[:300], preview=raw[:300])


def count_records(path: str) -> int:
    """Records in one input file, counted without the reader (the ledger's
    independent count): non-blank lines of JSONL, rows of Parquet (footer)."""
    import gzip

    if path.endswith(".parquet"):
        import pyarrow.parquet as pq
        try:
            return pq.ParquetFile(path).metadata.num_rows
        except Exception:
            return 1                      # one row says the file is unreadable
    opener = gzip.open if path.endswith(".gz") else open
    n = 0
    try:
        with opener(path, "rb") as fh:
            for ln in fh:
                n += bool(ln.strip())
    except Exception:  # noqa: BLE001 - the records before the break, and one row for the rest
        return n + 1
    return n


def read_file(path: str, *, max_chars: int, max_turn_chars: int, test_share: float) -> list[dict]:
    """Every record of one file as a row: a conversation (decision kept,
    ``messages`` in canonical OpenAI JSON) or a quarantined row with its
    reason. ``offset``: the record's line number (JSONL, blank lines skipped
    but counted) or row number (Parquet). A file that cannot be read is one
    quarantined row (``unreadable_file``)."""
    import gzip

    out: list[dict] = []
    kw = dict(max_chars=max_chars, max_turn_chars=max_turn_chars)
    try:
        if path.endswith(".parquet"):
            import pyarrow.parquet as pq
            for i, rec in enumerate(pq.read_table(path).to_pylist()):
                try:
                    out.append(_conv_row(path, i, parse_record(rec, **kw), test_share))
                except ChatError as e:
                    out.append(_bad_row(path, i, e, json.dumps(rec, ensure_ascii=False, default=str)))
            return out
        opener = gzip.open if path.endswith(".gz") else open
        with opener(path, "rb") as fh:
            for i, raw in enumerate(fh):
                if not raw.strip():
                    continue
                raw = raw.rstrip(b"\r\n")
                try:
                    out.append(_conv_row(path, i, parse_line(raw, **kw), test_share))
                except ChatError as e:
                    out.append(_bad_row(path, i, e, raw.decode("utf-8", "replace")))
    except Exception as e:  # noqa: BLE001 - a broken file is one quarantined row, never a crash
        n = len(out)
        out.append(_bad_row(path, -1 - n, ChatError(UNREADABLE_FILE, f"{type(e).__name__}: {e}"), ""))
    return out


class RowChecks:
    """The row-local quality steps, in order: PII scrub (pipeline/pii.py:
    never decides, counts ``pii_edits``), length (``response_too_short``),
    language (pipeline/langid.py on all non-system turns: ``lang``, and
    ``lang_not_kept:<code>`` below the kept set), task tag."""

    def __init__(self, *, pii, langid, min_response_chars: int, keep_langs: Sequence[str], min_lang_score: float):
        self.pii, self.langid = pii, langid
        self.min_response_chars = int(min_response_chars)
        self.keep = frozenset(keep_langs)
        self.min_lang_score = float(min_lang_score)

    def __call__(self, row: dict) -> dict:
        row = dict(row, lang=row.get("lang_in") or "unknown", task=None, pii_edits=0, n_chars=0, prompt=None)
        if row["decision"] != "kept":
            return row
        msgs = messages_from_json(row["messages"])
        scrubbed, edits = [], 0
        for r, c in msgs:
            c2, counts = self.pii.anonymize(c)
            edits += sum(counts.values())
            scrubbed.append((r, c2))
        row.update(messages=messages_json(scrubbed), pii_edits=edits, n_chars=sum(len(c) for _, c in scrubbed),
                   prompt=prompt_text(scrubbed))
        text = "\n".join(c for r, c in scrubbed if r != SYSTEM)
        code, score = self.langid.identify(text)
        row["lang"] = code or "unknown"
        if min(len(c.strip()) for r, c in scrubbed if r == ASSISTANT) < self.min_response_chars:
            row.update(stage=LENGTH_STAGE, decision="rejected", reason=RESPONSE_TOO_SHORT)
        elif code not in self.keep or score < self.min_lang_score:
            row.update(stage=LANG_STAGE, decision="rejected",
                       reason=f"lang_not_kept:{code}" if code not in self.keep else "lang_low_confidence")
        else:
            row["task"] = tag_task(scrubbed)
        return row
