# The two commands of the quickstart: `make run` and `make test`.
# Each creates .venv when it is missing and installs what it needs.

PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
# `make run` needs only the package; tests and benchmarks need the dev tools too.
RUN_STAMP := $(VENV)/.run-stamp
STAMP := $(VENV)/.installed-stamp

.PHONY: install run test lint bench

$(RUN_STAMP): pyproject.toml
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e .
	@touch $(RUN_STAMP)

$(STAMP): $(RUN_STAMP)
	$(BIN)/python -m pip install --quiet -e ".[dev]"
	@touch $(STAMP)

# ESLint for the dashboard's modules (tests/web/test_js_lint.py, eslint.config.mjs) goes
# into node_modules/; without npm, or offline, that test skips and says why.
JS_STAMP := node_modules/.installed-stamp

$(JS_STAMP): package.json package-lock.json
	@if command -v npm >/dev/null 2>&1; then \
		npm ci --no-audit --no-fund --loglevel=error && touch $(JS_STAMP) \
		|| echo "could not install ESLint (npm ci failed, offline?): the JavaScript check will skip"; \
	else echo "npm not found: the dashboard's JavaScript check will skip"; fi

install: $(STAMP)

run: $(RUN_STAMP)
	$(BIN)/openqpu serve

lint: $(STAMP) $(JS_STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	@test ! -x node_modules/.bin/eslint || node_modules/.bin/eslint --max-warnings 0 src/openqpu/web/static/

# pyqpanda3 (tests/compat) needs libcurl4 and libgomp1; without root the tests say so and skip.
test: $(STAMP) $(JS_STAMP)
	@dpkg -s libcurl4 libgomp1 >/dev/null 2>&1 || (apt-get update && apt-get install -y libcurl4 libgomp1) \
		|| echo "could not install libcurl4 libgomp1 (not root?): the pyqpanda3 tests will skip"
	@command -v chromium >/dev/null 2>&1 || (apt-get update && apt-get install -y chromium) \
		|| echo "could not install chromium (not root?): the web dashboard's browser tests will skip"
	$(BIN)/ruff check .
	$(BIN)/mypy
	$(BIN)/python -m pytest

bench: $(STAMP)
	$(BIN)/python bench/statevector.py
