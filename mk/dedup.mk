# Dedup cascade (jobs/dedup.py): make dedup DEDUP_IN=parquet-dir [DEDUP_OUT=dir] [CONFIG=file]
.PHONY: dedup dedup-data test-dedup bench-dedup

DEDUP_IN  ?=
DEDUP_OUT ?= out/dedup

dedup-data: ## Chinese real text for the planted-duplicate set (Debian fortunes-zh)
	@if [ ! -f /usr/share/games/fortunes/chinese ]; then \
	  echo "[setup] installing fortunes-zh (Chinese text for dedup tests)"; \
	  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq fortunes-zh >/dev/null; \
	fi

dedup: setup ## dedup cascade alone: DEDUP_IN=parquet-dir [DEDUP_OUT=dir] [CONFIG=file]
	@test -n "$(DEDUP_IN)" || { echo "usage: make dedup DEDUP_IN=<parquet dir with id,text> [DEDUP_OUT=out/dedup]"; exit 2; }
	$(PY) jobs/dedup.py --input $(DEDUP_IN) --output $(DEDUP_OUT) $(if $(CONFIG),--config $(CONFIG))

test-dedup: setup dedup-data ## dedup tests (unit, cascade, 12k-doc skew, task failure, standalone cluster)
	$(PY) -m pytest -q tests/test_dedup_units.py tests/test_dedup.py tests/test_dedup_scale.py tests/test_dedup_faults.py tests/test_dedup_cluster.py

bench-dedup: setup dedup-data ## MinHash stage vs datasketch, F1 per edit rate, scaling to 200k docs
	$(PY) bench/dedup.py --out out/bench-dedup

# The 12,000-document skew test plants Chinese duplicates from fortunes-zh.
test: dedup-data
