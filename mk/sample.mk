# The shipped sample corpus (data/sample/) and reference text (data/reference/).
# Downloads happen only in sample-src (Debian: apt-get download; PyPI: pip
# download --no-deps); infra/build_sample.py then works offline and
# deterministically. Versions are pinned; if the Debian mirror no longer has a
# pinned version the current one is taken (SOURCES.md records which).
SAMPLE_SRC  := build/sample-src
SAMPLE_DEBS := fortunes=1:1.99.1-7.3 fortunes-min=1:1.99.1-7.3 fortunes-zh=2.98 \
               python3.11-doc=3.11.2-6+deb12u9 debian-reference-zh-cn=2.100 manpages-zh=1.6.4.0-1

.PHONY: sample sample-src

$(SAMPLE_SRC)/.downloaded:
	@mkdir -p $(SAMPLE_SRC)/deb $(SAMPLE_SRC)/pypi
	@echo "[sample] downloading Debian packages and PyPI files into $(SAMPLE_SRC)"
	@cd $(SAMPLE_SRC)/deb && apt-get update -qq && for p in $(SAMPLE_DEBS); do \
	  apt-get download -qq "$$p" 2>/dev/null || apt-get download -qq "$${p%%=*}"; done
	$(PIP) download -q --disable-pip-version-check --no-deps -d $(SAMPLE_SRC)/pypi --no-binary :all: trafilatura==2.3.1
	$(PIP) download -q --disable-pip-version-check --no-deps -d $(SAMPLE_SRC)/pypi --only-binary :all: gensim==4.4.0 chatterbot-corpus==1.3.3
	@touch $@

sample-src: $(SAMPLE_SRC)/.downloaded ## download the sample's sources (Debian/PyPI)

sample: setup sample-src ## rebuild data/sample and data/reference (deterministic)
	$(PY) infra/build_sample.py --src $(SAMPLE_SRC) --out data
