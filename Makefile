# Two commands on a fresh machine with only python3:
#   make report   build .venv, make the sample data if missing, run every report
#   make test     build the same .venv, install what the tests need beyond Python (Debian's
#                 chromium and a Java runtime for Spark, as root), run lint and every test
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed
SAMPLE := data/sample
PYTEST_ARGS ?=
CODE   := $(wildcard lib tests bench notebooks)

# command:Debian package, for the browser tests and Apache Spark (pyspark 4.0 needs Java 17+)
SYSTEM_PACKAGES := chromium:chromium java:default-jre-headless

.PHONY: env system sample report test lint format lab bench clean

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev,spark]'
	touch $(STAMP)

env: $(STAMP)

system:
	@missing=""; \
	for pair in $(SYSTEM_PACKAGES); do \
	  command -v $${pair%%:*} >/dev/null 2>&1 || missing="$$missing $${pair#*:}"; \
	done; \
	if [ -n "$$missing" ]; then \
	  if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then \
	    echo "installing Debian packages:$$missing"; \
	    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $$missing >/dev/null; \
	  else \
	    echo "make test needs the Debian packages$$missing (or their equivalents): install them" >&2; \
	    exit 1; \
	  fi; \
	fi

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

test: system lint sample
	@# loadscope: all tests of a module on one worker, so a module fixture (a report run) runs once;
	@# tests/conftest.py shares one sample run between the workers and sends the longest modules first
	$(BIN)/python -m pytest -n 2 --dist loadscope --durations=15 $(PYTEST_ARGS)

lab: env sample
	$(BIN)/jupyter lab --notebook-dir=notebooks

# the bench's own peers (polars) on top of the package's environment
$(VENV)/.installed-bench: $(STAMP)
	$(BIN)/python -m pip install --quiet -e '.[bench]'
	touch $@

# make bench BENCH_ARGS='--scales small,medium --memory-limit 1GB'
bench: $(VENV)/.installed-bench
	$(BIN)/python bench/run.py $(BENCH_ARGS)

clean:
	rm -rf $(VENV) .pytest_cache .ruff_cache
