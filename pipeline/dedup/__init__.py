"""Yi's dedup cascade, engine-free parts (arXiv 2403.04652 §2.1).

Four stages, in Yi's order, each a small module here and wired on Spark by
``jobs/dedup.py``:

  paragraph   normalized paragraph hashes; repeats removed after the first
              occurrence (``paragraph.py``)
  minhash     MinHash-LSH over word 5-grams / CJK character 5-grams,
              vectorized over Arrow batches (``minhash.py``, ``scurve.py``)
  exact       exact document dedup on the normalized content hash
  substring   token windows of >= 50 tokens shared by several documents
              removed from all but the first (``substring.py``)

``tokens.py`` defines the tokens all stages share; ``jaccard.py`` the exact
Jaccard used to verify candidates and to build the truth of the planted set
(tests/fixtures/planted.py).
"""
