# Two entry points for a fresh machine: `make demo` and `make test`.
# Each creates the local virtual environment .venv on first use.
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
# The test tools (Synapse, hypothesis…) are heavy: the demo does without them.
DEV_STAMP := $(VENV)/.installed-dev
# The versions the tests passed with (tools/lock.py): runtime, and runtime + test tools.
CONSTRAINTS := constraints.txt
DEV_CONSTRAINTS := constraints-dev.txt

.PHONY: demo test lint run bench clean lock

$(STAMP): pyproject.toml $(CONSTRAINTS)
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -c $(CONSTRAINTS) -e .
	touch $(STAMP)

$(DEV_STAMP): $(STAMP) $(DEV_CONSTRAINTS)
	$(BIN)/python -m pip install --quiet -c $(DEV_CONSTRAINTS) -e '.[dev]'
	touch $(DEV_STAMP)

demo: $(STAMP)
	$(BIN)/aiguillage chat

run: $(STAMP)
	$(BIN)/aiguillage run

# The whole suite once per database engine (tests/databases.py): SQLite files, then a private
# PostgreSQL started by the tests (skipped with its reason where the server binaries are
# missing, an error in CI). Both passes run even if the first fails; `make test TEST_DBS=sqlite`
# runs one.
TEST_DBS ?= sqlite postgresql

test: $(DEV_STAMP)
	$(BIN)/ruff check .
	$(BIN)/mypy
	@status=0; for db in $(TEST_DBS); do \
	  echo "== pytest --db=$$db"; \
	  $(BIN)/pytest -q --db=$$db || status=1; \
	done; exit $$status

bench: $(DEV_STAMP)
	$(BIN)/python -m bench

lint: $(DEV_STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check bot dialogs storage

# Refresh the lock: the newest versions pyproject.toml allows, installed in .venv, then
# written to constraints.txt and constraints-dev.txt. Run `make test` before committing them.
lock:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet --upgrade --upgrade-strategy eager -e '.[dev]'
	$(BIN)/python tools/lock.py
	touch $(STAMP) $(DEV_STAMP)

clean:
	rm -rf $(VENV) .pytest_cache
