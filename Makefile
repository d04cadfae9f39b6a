# Two entry points for a fresh machine: `make demo` and `make test`.
# Each creates the local virtual environment .venv on first use.
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
# The test tools (Synapse, hypothesis…) are heavy: the demo does without them.
DEV_STAMP := $(VENV)/.installed-dev

.PHONY: demo test lint run bench clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e .
	touch $(STAMP)

$(DEV_STAMP): $(STAMP)
	$(BIN)/python -m pip install --quiet -e '.[dev]'
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
	@status=0; for db in $(TEST_DBS); do \
	  echo "== pytest --db=$$db"; \
	  $(BIN)/pytest -q --db=$$db || status=1; \
	done; exit $$status

bench: $(DEV_STAMP)
	$(BIN)/python -m bench

lint: $(DEV_STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check bot dialogs storage

clean:
	rm -rf $(VENV) .pytest_cache
