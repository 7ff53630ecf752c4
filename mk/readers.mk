## ------------------------------------------------ readers and language ID --
.PHONY: test-readers bench-extract bench-langid

test-readers: setup ## readers + language ID tests (engine-free, ~20 s)
	$(PY) -m pytest -q tests/test_readers.py tests/test_langid.py

bench-extract: setup ## trafilatura vs resiliparse on data/sample WARC (speed, boilerplate, recall)
	$(PY) bench/extract.py

bench-langid: setup ## lingua settings on the sample's gold-labelled docs (docs/s, accuracy, confusions)
	$(PY) bench/langid.py
