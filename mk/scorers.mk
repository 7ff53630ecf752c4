# The learned scorers of the cascade (issue 6): KenLM perplexity, quality,
# coherence, safety. `make scorers` builds KenLM's lmplz/build_binary from the
# kenlm sdist, then trains every model from shipped data into models/.

KENLM_VERSION := 0.3.0
KENLM_DIR     := tools/kenlm
LMPLZ         := $(KENLM_DIR)/bin/lmplz
BUILD_BINARY  := $(KENLM_DIR)/bin/build_binary
KENLM_DEBS    := cmake g++ libboost-program-options-dev libboost-system-dev \
                 libboost-thread-dev libboost-test-dev libeigen3-dev zlib1g-dev
MODELS        ?= models

.PHONY: kenlm-deps kenlm scorers bench-scorers

kenlm-deps: ## Debian build deps of KenLM's lmplz/build_binary (idempotent)
	@missing=""; for p in $(KENLM_DEBS); do \
	  dpkg -s $$p >/dev/null 2>&1 || missing="$$missing $$p"; done; \
	if [ -n "$$missing" ]; then \
	  echo "[kenlm] installing$$missing"; \
	  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $$missing >/dev/null; \
	fi

# Only the two estimation tools are built (the query side is the pip module).
$(LMPLZ) $(BUILD_BINARY) &: | setup kenlm-deps
	@echo "[kenlm] building lmplz and build_binary from the kenlm $(KENLM_VERSION) sdist (~2 min)"
	@rm -rf $(KENLM_DIR)/src && mkdir -p $(KENLM_DIR)/src $(KENLM_DIR)/bin
	$(PIP) download -q --no-deps --no-binary kenlm --no-build-isolation kenlm==$(KENLM_VERSION) -d $(KENLM_DIR)/src
	tar -xzf $(KENLM_DIR)/src/kenlm-$(KENLM_VERSION).tar.gz -C $(KENLM_DIR)/src
	@(cmake -S $(KENLM_DIR)/src/kenlm-$(KENLM_VERSION) -B $(KENLM_DIR)/src/build \
	  -DCMAKE_BUILD_TYPE=Release -DKENLM_MAX_ORDER=6 \
	  && cmake --build $(KENLM_DIR)/src/build --target lmplz build_binary -j2) \
	  > $(KENLM_DIR)/build.log 2>&1 || { tail -40 $(KENLM_DIR)/build.log; exit 1; }
	cp $(KENLM_DIR)/src/build/bin/lmplz $(KENLM_DIR)/src/build/bin/build_binary $(KENLM_DIR)/bin/
	@rm -rf $(KENLM_DIR)/src

kenlm: $(LMPLZ) $(BUILD_BINARY) ## build KenLM's lmplz and build_binary into tools/kenlm/bin

SCORER_STAMP := $(MODELS)/.trained
SCORER_INPUTS := $(wildcard data/reference/*.jsonl.gz data/lexicon/*.tsv) \
                 $(wildcard pipeline/perplexity.py pipeline/quality.py pipeline/coherence.py \
                   pipeline/safety.py pipeline/scorer_models.py pipeline/train_scorers.py)

$(SCORER_STAMP): $(SCORER_INPUTS) | setup kenlm
	$(PY) -m pipeline.train_scorers --models $(MODELS) --kenlm-bin $(KENLM_DIR)/bin
	@touch $@

scorers: $(SCORER_STAMP) ## train the perplexity, quality, coherence and safety models into models/ (~1-2 min)

# The corpus build (and its end-to-end test) needs the models; the scorer
# tests need KenLM's tools.
demo corpus test: scorers
test-fast: kenlm

bench-scorers: scorers bench-deps ## docs/s per core of each scorer on Spark; our fastText vs datatrove's
	$(PY) bench/scorers.py --models $(MODELS)
