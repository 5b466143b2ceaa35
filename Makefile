# livesim: `make run` and `make test` work on a fresh clone with Python 3.11+ and make.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP_RUN := $(VENV)/.installed-run
STAMP_DEV := $(VENV)/.installed-dev

.PHONY: run test browser bench lint clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

$(STAMP_RUN): pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet -e .
	touch $@

$(STAMP_DEV): pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	touch $@ $(STAMP_RUN)

run: $(STAMP_RUN)
	$(BIN)/livesim run

# the browser test of the page needs Debian's chromium and chromedriver: the same
# script CI uses installs them (as root, or through sudo) unless they are there
browser:
	bash .ci/install-browser

test: $(STAMP_DEV) browser
	$(BIN)/python -m pytest

bench: $(STAMP_DEV)
	PYTHONPATH=benchmarks $(BIN)/python benchmarks/bench_agent.py && \
	PYTHONPATH=benchmarks $(BIN)/python benchmarks/bench_cohort.py && \
	PYTHONPATH=benchmarks $(BIN)/python benchmarks/bench_sweep.py && \
	PYTHONPATH=benchmarks $(BIN)/python benchmarks/bench_uncertainty.py && \
	PYTHONPATH=benchmarks $(BIN)/python benchmarks/bench_calibration.py && \
	PYTHONPATH=benchmarks $(BIN)/python benchmarks/bench_compile.py

lint: $(STAMP_DEV)
	$(BIN)/ruff check src tests benchmarks
	$(BIN)/ruff format --check src tests benchmarks
	$(BIN)/mypy src

clean:
	rm -rf $(VENV) results/*/ .pytest_cache .mypy_cache
