## ------------------------------------------------ rule filters (filters) --
# Yi's rule stages: heuristics, repetition, correction, PII (pipeline/*.py).
.PHONY: test-filters bench-filters bench-pii

test-filters: setup ## tests of the heuristics/repetition/correction/PII stages
	$(PY) -m pytest -q tests/test_heuristics.py tests/test_repetition.py tests/test_correction.py tests/test_pii.py

# datatrove's Chinese word splitting is spaCy's blank "zh" pipeline (+ jieba).
bench-filters: bench-deps ## docs/s of our heuristics+repetition vs datatrove 0.10.1, agreement
	@$(PY) -c "import spacy" 2>/dev/null || $(PIP) install -q spacy==3.8.16
	$(PY) bench/filters.py

bench-pii: setup ## precision/recall of the PII anonymizer on PII planted in real text
	$(PY) bench/pii.py
