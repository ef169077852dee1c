# The two commands: `make demo` (the main job) and `make test` (the test suite).
# Both create .venv if it is missing and install everything. Override the torch pin with
# `make test TORCH=torch==2.5.1` (or TORCH=torch to take the newest).
PYTHON ?= python3
TORCH ?= torch==2.13.0
SMOKE ?= 0
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.tnreg-installed

.PHONY: demo test lint bench clean docs docs-serve notebooks

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet "$(TORCH)"
	$(BIN)/python -m pip install --quiet -e ".[dev]"
	touch $(STAMP)

demo: $(STAMP)
	$(BIN)/tnreg demo

test: $(STAMP)
	$(BIN)/python -m pytest

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

bench: $(STAMP)
	$(BIN)/python bench/run.py

# The documentation site (mkdocs.yml), into site/: tutorials executed at full size (under 3
# minutes on 2 cores from an empty cache); `make docs SMOKE=1` executes them at smoke sizes.
docs: $(STAMP)
	TNREG_TUTORIAL_SMOKE=$(SMOKE) $(BIN)/mkdocs build --strict

docs-serve: $(STAMP)
	$(BIN)/mkdocs serve

# Every tutorial as a notebook (never committed: notebooks/ and *.ipynb are ignored).
notebooks: $(STAMP)
	mkdir -p notebooks
	for f in tutorials/[0-9]*.py; do \
		$(BIN)/jupytext --to notebook -o notebooks/$$(basename $$f .py).ipynb $$f || exit 1; \
	done

clean:
	rm -rf $(VENV) .pytest_cache build dist *.egg-info site notebooks
