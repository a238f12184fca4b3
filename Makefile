# newsloom: `make demo` to try it, `make test` to check it. Both install what they need first (idempotent).
PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
NEWSLOOM_DB ?= newsloom.db
HOST   ?= 127.0.0.1
PORT   ?= 8000
# Everything the test suite exercises: the optional extras are installed here, and fail politely when absent.
EXTRAS ?= dev,nlp,postgres,spark,semantic

.PHONY: install system-packages demo demo-data test test-fast bench clean

install: $(VENV)/.installed system-packages

# Re-install only when the project's metadata changes.
$(VENV)/.installed: pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[$(EXTRAS)]'
	touch $@

# Debian packages the tests drive for real (Chromium for the reader's browser test).
system-packages:
	@bash scripts/install-system-packages.sh

demo-data: $(VENV)/.installed
	$(BIN)/newsloom --db $(NEWSLOOM_DB) ingest --workers 2 demo/

demo: install demo-data
	$(BIN)/newsloom --db $(NEWSLOOM_DB) serve --host $(HOST) --port $(PORT)

test: install
	$(BIN)/python -m pytest

# Without the browser, server and slow tests: for a quick loop while editing.
test-fast: $(VENV)/.installed
	$(BIN)/python -m pytest -m "not slow and not browser and not server"

bench: install
	$(BIN)/python bench/extraction.py

clean:
	rm -rf $(VENV) build dist src/*.egg-info .pytest_cache artifacts
