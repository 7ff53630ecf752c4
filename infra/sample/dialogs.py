"""Dialogs in many languages (chatterbot-corpus) → jsonl.zst: the language-ID ground truth."""
from __future__ import annotations

import random
import zipfile
from pathlib import Path

import yaml

from .records import DIALOGS_OTHER_CAP, DIALOGS_PER_LANG, Rec


# chatterbot-corpus directory -> ISO 639-1 (hinglish has no code: skipped).
CHATTERBOT_LANGS = {
    "bengali": "bn", "chinese": "zh", "dutch": "nl", "english": "en", "french": "fr",
    "german": "de", "hebrew": "he", "hindi": "hi", "indonesian": "id", "italian": "it",
    "japanese": "ja", "korean": "ko", "marathi": "mr", "oriya": "or", "persian": "fa",
    "portuguese": "pt", "russian": "ru", "spanish": "es", "swedish": "sv", "tamil": "ta",
    "telugu": "te", "thai": "th", "traditionalchinese": "zh", "turkish": "tr",
    "ukrainian": "uk", "urdu": "ur", "yoruba": "yo",
}


def chatterbot_dialogs(wheel: Path) -> list[tuple[str, str, str]]:
    """(lang, topic/index, text) of each conversation: its turns, one a line."""
    out = []
    with zipfile.ZipFile(wheel) as z:
        for name in sorted(n for n in z.namelist() if n.endswith(".yml")):
            lang_dir, topic = name.split("/")[-2], name.split("/")[-1][:-4]
            lang = CHATTERBOT_LANGS.get(lang_dir)
            if lang is None:
                continue
            data = yaml.safe_load(z.read(name).decode("utf-8")) or {}
            for i, conv in enumerate(data.get("conversations") or []):
                turns = [str(x).strip() for x in (conv if isinstance(conv, list) else [conv])]
                text = "\n".join(t for t in turns if t)
                if text:
                    out.append((lang, f"{lang_dir}/{topic}/{i}", text))
    return out


def add_dialogs(rng: random.Random, wheel: Path, recs: list[Rec]) -> None:
    by_lang: dict[str, list] = {}
    for d in chatterbot_dialogs(wheel):
        by_lang.setdefault(d[0], []).append(d)
    for lang in sorted(by_lang):
        cap = DIALOGS_PER_LANG.get(lang, DIALOGS_OTHER_CAP)
        items = by_lang[lang]
        for lang_, key, text in sorted(rng.sample(items, min(cap, len(items)))):
            recs.append(Rec(url=f"https://github.com/gunthercox/chatterbot-corpus/blob/master/"
                                f"chatterbot_corpus/data/{key.rsplit('/', 1)[0]}.yml#L{key.rsplit('/', 1)[1]}",
                            text=text, source="chatterbot-corpus", lang=lang_, fmt="jsonl",
                            file="dialogs.jsonl.zst", extra={"topic": key.split("/")[1]}))
