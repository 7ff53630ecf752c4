## ------------------------------------------------------------- mutation --
.PHONY: mutate

MUTATE_ARGS ?=

mutate: setup ## plant each bug in tests/mutations/mutants_*.toml in a copy, run its tests, print the kill rate (goal >= 0.90; ~1 h on 2 cores; not part of `make test`)
	$(PY) tests/mutations/run.py $(MUTATE_ARGS)
