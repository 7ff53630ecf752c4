## ------------------------------------------------------------- training --
# Tokenizer → token shards → pretraining (jobs/train_tokenizer.py, jobs/shards.py, model/).
CORPUS    ?= out/demo/corpus
TRAIN_OUT ?= out/train
TOK_PRESET ?= demo
RECIPE    ?=
PRESET    ?=
NPROC     ?= 1

.PHONY: tokenizer shards pretrain demo-train

tokenizer: setup ## train the Yi tokenizer: CORPUS=dir TRAIN_OUT=dir [TOK_PRESET=demo|'' for 64k]
	@test -d "$(CORPUS)" || { echo "[tokenizer] corpus $(CORPUS) not found (set CORPUS=dir of Parquet files)"; exit 1; }
	@echo "[tokenizer] input: $(CORPUS)"
	$(PY) jobs/train_tokenizer.py --input $(CORPUS) --output $(TRAIN_OUT)/tokenizer $(if $(TOK_PRESET),--preset $(TOK_PRESET)) $(if $(CONFIG),--config $(CONFIG))

shards: setup ## tokenize CORPUS into Megatron .bin/.idx shards in TRAIN_OUT/shards
	@echo "[shards] input: $(CORPUS)"
	$(PY) jobs/shards.py --input $(CORPUS) --output $(TRAIN_OUT)/shards --tokenizer $(TRAIN_OUT)/tokenizer $(if $(CONFIG),--config $(CONFIG))

pretrain: setup ## pretrain on TRAIN_OUT/shards: [PRESET=yi-6b RECIPE=demo NPROC=8] (resumes if a checkpoint exists)
	$(if $(filter 1,$(NPROC)),$(PY) -m model.pretrain,$(VENV)/bin/torchrun --nproc-per-node $(NPROC) -m model.pretrain) \
	  --data $(TRAIN_OUT)/shards --out $(TRAIN_OUT)/run --resume --no-progress \
	  $(if $(PRESET),--preset $(PRESET)) $(if $(RECIPE),--recipe $(RECIPE)) $(if $(CONFIG),--config $(CONFIG))

# The demo's training leg: corpus (the corpus build's output, or say CORPUS=) →
# 8k tokenizer → shards → yi-tiny for a few hundred CPU steps.
demo-train: setup ## tokenizer → shards → a tiny model on CPU from CORPUS (default out/demo/corpus)
	@test -d "$(CORPUS)" || { echo "[demo-train] corpus $(CORPUS) not found: run \`make demo\` first or pass CORPUS=data/sample/parquet"; exit 1; }
	@echo "[demo-train] input corpus: $(CORPUS)   output: $(TRAIN_OUT)"
	rm -rf $(TRAIN_OUT)/run
	$(MAKE) --no-print-directory tokenizer shards CORPUS=$(CORPUS) TRAIN_OUT=$(TRAIN_OUT) TOK_PRESET=demo
	$(PY) -m model.pretrain --data $(TRAIN_OUT)/shards --out $(TRAIN_OUT)/run --recipe demo
