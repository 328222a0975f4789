# Two commands on a fresh machine with only python3:
#   make report   build .venv, make the sample data if missing, run every report
#   make test     build the same .venv, run lint and every test
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed
SAMPLE := data/sample
PYTEST_ARGS ?=
CODE   := $(wildcard lib tests bench notebooks)

.PHONY: env sample report test lint format lab bench clean

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	touch $(STAMP)

env: $(STAMP)

$(SAMPLE)/truth.json: | $(STAMP)
	$(BIN)/opsbook sample --out $(SAMPLE)

sample: $(SAMPLE)/truth.json

report: env sample
	$(BIN)/opsbook run
	@echo "open: $(CURDIR)/reports/latest/index.html"

lint: env
	$(BIN)/ruff check $(CODE)
	$(BIN)/ruff format --check $(CODE)

format: env
	$(BIN)/ruff format $(CODE)
	$(BIN)/ruff check --fix $(CODE)

test: lint sample
	$(BIN)/python -m pytest -n 2 --dist loadgroup $(PYTEST_ARGS)

lab: env sample
	$(BIN)/jupyter lab --notebook-dir=notebooks

# make bench BENCH_ARGS='--scales small,medium --memory-limit 1GB'
bench: env
	$(BIN)/python bench/run.py $(BENCH_ARGS)

clean:
	rm -rf $(VENV) .pytest_cache .ruff_cache
