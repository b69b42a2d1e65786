# Two commands do all set-up on a fresh Debian machine (as root): `make run` and `make test`.
PY      ?= python3
VENV    := .venv
BIN     := $(VENV)/bin
STAMP   := $(VENV)/.installed
CHROMIUM ?= /usr/bin/chromium
PYTEST_ARGS ?= -n 2

.PHONY: run test lint setup chromium services bench clean fuzz bench-fleet bench-console stress

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

# The real servers the tests start on loopback: Redis (Celery's broker), PostgreSQL (shared history) and
# Dovecot (an IMAP mailbox); and tesseract, the OCR that reads the leak tests' pictures back. Installed, never
# started here: each test starts its own on a free port.
# And node-oidc-provider, the real OpenID provider the single sign-on tests start: from the npm registry into a
# cache folder, never globally (tests/support/oidc_provider.py installs the same there when it is missing).
OIDC_NPM     := $(HOME)/.cache/runbook-npm/oidc
OIDC_PACKAGE := oidc-provider@9
# Prometheus scrapes the checks' /metrics with its bearer token (tests/checks/web/test_prometheus_scrape.py).
SERVICE_BINS := /usr/bin/redis-server /usr/lib/postgresql/15/bin/postgres /usr/sbin/dovecot /usr/bin/tesseract \
	/usr/bin/prometheus
services:
	@missing=""; for bin in $(SERVICE_BINS); do [ -x $$bin ] || missing="$$missing $$bin"; done; \
	if [ -n "$$missing" ]; then \
		echo "Installing Debian's redis-server, postgresql, dovecot-imapd, tesseract-ocr and prometheus (apt-get)"; \
		apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq \
			redis-server postgresql dovecot-imapd tesseract-ocr prometheus; \
	fi
	@if ! command -v node >/dev/null || ! command -v npm >/dev/null; then \
		echo "Installing Debian's nodejs and npm (apt-get), for the single sign-on tests' OpenID provider"; \
		apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq nodejs npm; \
	fi
	@[ -f $(OIDC_NPM)/node_modules/oidc-provider/package.json ] || { \
		echo "Installing oidc-provider from npm into $(OIDC_NPM)"; \
		npm install --prefix $(OIDC_NPM) --no-audit --no-fund --silent $(OIDC_PACKAGE); }

run: setup
	$(BIN)/runbook run resend-verify --email unverified@example.com

test: setup services
	$(BIN)/pytest $(PYTEST_ARGS)

# The fuzz and property tests with many more examples than `make test` runs (minutes, not seconds).
# The console's API: schemathesis tries RUNBOOK_FUZZ_EXAMPLES random requests per operation (25, fixed, in `make test`).
fuzz: setup services
	RUNBOOK_FUZZ=long RUNBOOK_FUZZ_EXAMPLES=500 $(BIN)/pytest tests/security tests/console/test_api_schema.py $(PYTEST_ARGS)

# The tests that wait on processes, servers or the clock (marked `timing`), at twice this machine's cores, round
# after round: a sleep used as synchronisation or a tight time budget shows here before CI's loaded runners find it.
STRESS_ROUNDS  ?= 5
STRESS_WORKERS ?= $(shell echo $$((2 * $$(nproc))))
stress: setup services
	@passed=0; \
	for round in $$(seq 1 $(STRESS_ROUNDS)); do \
		echo "== stress round $$round of $(STRESS_ROUNDS): pytest -m timing -n $(STRESS_WORKERS)"; \
		if ! $(BIN)/pytest -m timing -n $(STRESS_WORKERS) -q -p no:cacheprovider; then \
			echo "stress: $$passed of $(STRESS_ROUNDS) rounds passed; round $$round failed"; exit 1; \
		fi; \
		passed=$$round; \
	done; \
	echo "stress: $$passed of $(STRESS_ROUNDS) rounds passed"

lint: $(STAMP)
	$(BIN)/ruff check automation tests bench
	$(BIN)/ruff format --check automation tests bench
	$(BIN)/lint-imports
	$(BIN)/bandit -c pyproject.toml -r automation -ll -q

bench: setup
	$(BIN)/python bench/run_bench.py

# The distributed mode's figures (real redis-server, PostgreSQL, Chromium; about 4 minutes): bench/fleet_results.json.
bench-fleet: setup services
	$(BIN)/python bench/bench_fleet.py

# The agent console's figures (a real `runbook server`, Chromium; about a minute): start to first step, step end
# to the agent's stream (p50, p95), 20 runs on a pool of 2 with 50 watchers. Printed only.
bench-console: setup
	$(BIN)/python bench/bench_console.py

clean:
	rm -rf $(VENV) .pytest_cache test-results
