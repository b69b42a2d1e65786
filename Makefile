# Two commands do all set-up on a fresh Debian machine (as root): `make run` and `make test`.
PY      ?= python3
VENV    := .venv
BIN     := $(VENV)/bin
STAMP   := $(VENV)/.installed
CHROMIUM ?= /usr/bin/chromium
PYTEST_ARGS ?= -n 2

.PHONY: run test lint setup chromium bench clean fuzz

setup: $(STAMP) chromium

$(STAMP): pyproject.toml
	$(PY) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[test]'
	touch $(STAMP)

# Playwright's own browser download cannot work here: use Debian's Chromium.
chromium:
	@if [ ! -x $(CHROMIUM) ]; then \
		echo "Installing Debian's chromium (apt-get)"; \
		apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium; \
	fi

run: setup
	$(BIN)/runbook run resend-verify --email unverified@example.com

test: setup
	$(BIN)/pytest $(PYTEST_ARGS)

# The fuzz and property tests with many more examples than `make test` runs (minutes, not seconds).
fuzz: setup
	RUNBOOK_FUZZ=long $(BIN)/pytest tests/security $(PYTEST_ARGS)

lint: $(STAMP)
	$(BIN)/ruff check automation tests bench
	$(BIN)/ruff format --check automation tests bench

bench: setup
	$(BIN)/python bench/run_bench.py

clean:
	rm -rf $(VENV) .pytest_cache test-results
