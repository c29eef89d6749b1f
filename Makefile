# The two commands of the quick start: `make run` and `make test`.
# Each builds (or refreshes) the virtual environment in .venv first, so a fresh clone needs
# nothing but python3 (3.11+) and access to the package index.

PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed-stamp
ARGS   ?= --redundancy 2

.PHONY: run test quick lint bench readme clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	touch $(STAMP)

run: $(STAMP)  ## the main job: sim run --redundancy 2 on the built-in baseline
	$(BIN)/sim run $(ARGS)

# In CI (CI=true) the headless-browser test of the HTML report is required: Chromium is installed
# when missing and a missing browser fails the test. Elsewhere, without Chromium and without the
# rights to install it (not root, no sudo), that one test is skipped with a loud message.
REQUIRE_BROWSER := $(if $(filter true 1,$(CI)),1,0)
# `make test INSTALL_BROWSER=0`: never install Chromium (the browser test is then skipped, outside CI)
INSTALL_BROWSER ?= 1

test: $(STAMP)  ## the whole test suite (lint, unit, validation, CLI, end-to-end)
	OUTAGESIM_REQUIRE_BROWSER=$(REQUIRE_BROWSER) OUTAGESIM_INSTALL_BROWSER=$(INSTALL_BROWSER) bash .ci/ensure-chromium
	$(BIN)/ruff check sim tests benchmarks
	OUTAGESIM_REQUIRE_BROWSER=$(REQUIRE_BROWSER) $(BIN)/python -m pytest -n 2 -rs --timeout 900 --durations=15

quick: $(STAMP)  ## the fast loop: everything but the slow statistical and end-to-end tests
	$(BIN)/python -m pytest -n 2 -m "not slow"

readme: $(STAMP)  ## run every console block of README.md and write what it prints back into it
	$(BIN)/python -m tests.readme.blocks --update

bench: $(STAMP)  ## speed and memory figures
	$(BIN)/python benchmarks/run.py

clean:
	rm -rf $(VENV) .pytest_cache .ruff_cache
