# The PDDS companion. A newcomer needs two commands:
#   make demo   set up, run every notebook on the demo corpus, build the book (book/_build/html)
#   make test   set up, run the tests
# IEMOCAP users: make notebooks PARAMS="-p corpus iemocap -p store /data/pdds-store" && make book
# (the crema_d notebook runs the CREMA-D demo unless given -p crema_d_root /data/CREMA-D)

PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
# The notebooks `make notebooks` runs: empty, every executed page of _toc.yml in its order (or e.g. NOTEBOOKS="table1 fig5")
NOTEBOOKS ?=
PARAMS ?=
RESULTS := book/results

.PHONY: demo setup notebooks book test lint test-portable quick core-check clean-results rehearsal

demo: setup notebooks book
	@echo "Book: $(CURDIR)/book/_build/html/index.html"

setup: $(VENV)/.installed

$(VENV)/.installed: pyproject.toml constraints.txt
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -c constraints.txt -e ".[all,test]"
	touch $@

# Executed copies go to book/results/ (never over the sources in notebooks/). Every notebook runs
# through papermill as `papermill NB OUT -k python3 $(PARAMS)` would, but all on one warm kernel
# (pddslib/paper/batch.py: namespace cleared between notebooks; imports and training workers kept).
notebooks: setup
	@mkdir -p $(RESULTS)
	$(BIN)/python -m pddslib.paper.batch --out $(RESULTS) -k python3 $(PARAMS) \
	  $(if $(NOTEBOOKS),$(NOTEBOOKS:%=notebooks/%.ipynb),--toc _toc.yml)

book: setup
	$(BIN)/jb build book -W -n --keep-going

test: setup
	$(BIN)/pytest

# The linter (rules and why: pyproject.toml [tool.ruff]); .ci/run calls it, .pre-commit-config.yaml
# runs the same on each commit (pip install pre-commit && pre-commit install).
lint: setup
	$(BIN)/ruff check pddslib tests benchmarks scripts

# The saved-model, determinism and cache-key tests again on torch's portable (non-AVX) kernels:
# the floats differ from the default kernels' in their last bits, so a test that pins a float
# measured on one CPU fails here on every machine (CI runs it).
PORTABLE_TESTS := tests/test_saved.py tests/test_runner.py tests/test_demo.py tests/test_resample.py \
  tests/test_readings.py::test_run_keys_of_default_specs_are_unchanged
test-portable: setup
	ATEN_CPU_CAPABILITY=default $(BIN)/pytest -q -m "not slow" -p no:cacheprovider $(PORTABLE_TESTS)

# What CI runs for the notebooks: every notebook in quick mode, then the strict book build.
quick:
	$(MAKE) notebooks PARAMS="-p quick True $(PARAMS)"
	$(MAKE) book

# The core install alone (numpy, pandas, tqdm, filelock; no torch, no matplotlib) in a fresh venv:
# the commands documented for it must work there (CI runs this).
CORE_VENV ?= /tmp/pdds-core-venv
core-check:
	rm -rf $(CORE_VENV) && $(PYTHON) -m venv $(CORE_VENV)
	$(CORE_VENV)/bin/pip install --quiet -c constraints.txt .
	cd /tmp && $(CORE_VENV)/bin/pdds --help >/dev/null
	cd /tmp && $(CORE_VENV)/bin/pdds stats --reference train --json >/dev/null
	cd /tmp && $(CORE_VENV)/bin/pdds plan --reference train --json >/dev/null
	cd /tmp && $(CORE_VENV)/bin/pdds plan --reference train --strategy uniform >/dev/null
	cd /tmp && ! $(CORE_VENV)/bin/python -c "import torch" 2>/dev/null
	cd /tmp && $(CORE_VENV)/bin/pdds run --model cltnet --out /tmp/pdds-core-out 2>&1 | grep -q "needs the ml extra"
	@echo "core install: pdds --help, stats and plan work without torch"

# The GPU rehearsal (benchmarks/rehearsal.py): extraction, CPU/CUDA parity and Table 1's cost, with
# generated data and randomly initialised full-size encoders; CUDA when present, else the CPU. It
# runs from the source tree (no setup step: the GPU machine is offline); the venv's Python when there
# is one. JSON in benchmarks/results/. Options pass through ARGS, e.g.
#   make rehearsal ARGS="--scale 0.01 --device cpu"     (a quick run on a CPU)
rehearsal:
	PYTHONPATH="$(CURDIR)" $(if $(wildcard $(BIN)/python),$(BIN)/python,$(PYTHON)) benchmarks/rehearsal.py $(ARGS)

clean-results:
	rm -rf $(RESULTS) book/_build
