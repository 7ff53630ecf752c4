# Yi data-to-model pipeline. `make demo` and `make test` do all set-up.
SHELL := /bin/bash
.DEFAULT_GOAL := help

PYTHON_BIN ?= python3.11
VENV       := .venv
PY         := $(VENV)/bin/python
PIP        := $(VENV)/bin/pip
STAMP      := $(VENV)/.installed
export SPARK_LOCAL_IP ?= 127.0.0.1
export PYSPARK_PYTHON := $(abspath $(PY))
export PYSPARK_DRIVER_PYTHON := $(abspath $(PY))
export PYTHONHASHSEED := 0

INPUT  ?= data/sample
OUTPUT ?= out/corpus-build
CONFIG ?=

.PHONY: help setup system-deps test test-fast demo corpus clean bench-deps

help:
	@echo "make demo      set up, then build the corpus from data/sample end to end"
	@echo "make test      set up, then run the test suite"
	@echo "make corpus INPUT=... OUTPUT=... [CONFIG=my.toml]   run the corpus build"
	@grep -hE '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | sed -E 's/:.*## /\t/' | sort

## ---------------------------------------------------------------- set-up --
system-deps:
	@if ! command -v java >/dev/null 2>&1; then \
	  echo "[setup] installing OpenJDK 17 (Spark needs Java)"; \
	  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq openjdk-17-jre-headless >/dev/null; \
	fi

$(STAMP): pyproject.toml | system-deps
	@test -x $(PY) || $(PYTHON_BIN) -m venv $(VENV)
	@echo "[setup] installing Python dependencies into $(VENV) (first time: a few minutes)"
	$(PIP) install -q --disable-pip-version-check -e .
	@touch $@

setup: system-deps $(STAMP) ## create .venv and install everything (idempotent)

bench-deps: setup ## install the peers benchmarked side by side (datatrove)
	$(PIP) install -q --no-deps datatrove==0.10.1
	$(PIP) install -q loguru dill multiprocess humanize fsspec huggingface-hub nltk regex tldextract inscriptis pyahocorasick tokenizers spacy==3.8.16

## ----------------------------------------------------------------- tests --
test: setup ## run the whole test suite
	$(PY) -m pytest -q tests

test-fast: setup ## tests not marked slow
	$(PY) -m pytest -q -m "not slow" tests

## ---------------------------------------------------------- corpus build --
corpus: setup ## build the corpus: INPUT=dir OUTPUT=dir [CONFIG=file]
	$(PY) jobs/filter.py --input $(INPUT) --output $(OUTPUT) $(if $(CONFIG),--config $(CONFIG))

demo: setup ## the whole pipeline on the bundled sample: corpus build, then a tiny model
	@# out/demo is the corpus job's own output (a rerun replaces it; a foreign file there is refused),
	@# so the model goes beside it, in out/demo-train.
	$(PY) jobs/filter.py --input data/sample --output out/demo
	$(MAKE) --no-print-directory demo-train CORPUS=out/demo/corpus TRAIN_OUT=out/demo-train
	@echo
	@echo "demo done:"
	@echo "  corpus shards   out/demo/corpus/lang=*/   (ledger: out/demo/ledger, quarantine: out/demo/quarantine)"
	@echo "  funnel          out/demo/report/funnel.png  (funnel.md, examples/, dedup/, perplexity/)"
	@echo "  model           out/demo-train/run  (checkpoints, log.jsonl, loss.png)"

clean:
	rm -rf out spark-warehouse metastore_db derby.log .pytest_cache

# Each concern adds its targets in mk/<concern>.mk.
-include mk/*.mk
