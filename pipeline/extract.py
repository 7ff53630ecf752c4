"""HTML → main text: the extraction step Yi applies to Common Crawl WARC
responses before any filtering (arXiv 2403.04652 §2.1, "text extraction").

Two extractors, chosen by ``[read] html_extractor``:
  trafilatura   tree heuristics + readability/jusText fallbacks (FineWeb's
                choice); slower, drops more navigation.
  resiliparse   FastWARC's ``extract_plain_text(main_content=True)`` (Dolma /
                DCLM's choice); several times faster, keeps more boilerplate.
bench/extract.py measures both on data/sample (docs/s, boilerplate left, main
text recall); the default in config/default.toml cites the figures.

Both are stateless per document (trafilatura's cross-document dedup cache is
off), so the output depends only on the page: same input, same bytes.
"""
from __future__ import annotations

from typing import Callable


def trafilatura_text(html: str, url: str | None = None) -> str:
    """Main text by trafilatura: comments left out, tables kept, no links."""
    import trafilatura

    text = trafilatura.extract(html, url=url, include_comments=False, include_tables=True,
                               include_links=False, include_images=False, deduplicate=False)
    return text or ""


def resiliparse_text(html: str, url: str | None = None) -> str:
    """Main text by resiliparse: main-content heuristics on, alt texts, form
    fields, links, noscript and comment sections left out."""
    from resiliparse.extract.html2text import extract_plain_text
    from resiliparse.parse.html import HTMLTree

    tree = HTMLTree.parse(html)
    return extract_plain_text(tree, main_content=True, alt_texts=False, links=False,
                              form_fields=False, noscript=False, comments=False).strip()


EXTRACTORS: dict[str, Callable[[str, str | None], str]] = {
    "trafilatura": trafilatura_text,
    "resiliparse": resiliparse_text,
}


def get_extractor(name: str) -> Callable[[str, str | None], str]:
    try:
        return EXTRACTORS[name]
    except KeyError:
        raise ValueError(f"unknown html_extractor {name!r}; choose one of {sorted(EXTRACTORS)}") from None
