# predhub: the two commands are `make demo` and `make test`.
PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed

.PHONY: demo test test-slow run lint audit bench install clean

$(STAMP): pyproject.toml
	@command -v $(PYTHON) >/dev/null 2>&1 && $(PYTHON) -c 'import sys, venv, ensurepip; sys.exit(sys.version_info < (3, 11))' 2>/dev/null \
	  || { echo "make: $(PYTHON) must be Python 3.11+ with venv and ensurepip; install it or set PYTHON=/path/to/python3.11" >&2; exit 2; }
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[test,dev]'
	touch $(STAMP)

install: $(STAMP)

demo: $(STAMP)  ## the whole hub offline: embedded database, simulator, workers, API
	$(BIN)/predhub demo

run: $(STAMP)   ## the hub against the live venues
	$(BIN)/predhub run

test: $(STAMP)  ## the whole test suite (embedded PostgreSQL unless TEST_DATABASE_URL is set)
	$(BIN)/pytest

test-slow: $(STAMP)  ## the long reliability trials only (repeated kills and outages, full disk, long fuzzing)
	$(BIN)/pytest -m slow

lint: $(STAMP)
	$(BIN)/ruff check src tests bench
	$(BIN)/ruff format --check src tests bench
	$(BIN)/mypy
	$(BIN)/lint-imports

audit: $(STAMP)  ## known vulnerabilities in the installed pinned packages (fails on a finding)
	$(BIN)/python .ci/audit.py

bench: $(STAMP)
	@for script in bench/[!_]*.py; do echo "== $$script"; $(BIN)/python $$script || exit 1; done

clean:
	rm -rf $(VENV) build *.egg-info src/*.egg-info
