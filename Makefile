# Every target installs what it needs into .venv first.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-stamp

.PHONY: install browser demo serve test test-unit test-integration test-browser test-resilience bench lint audit-deps clean

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	touch $(STAMP)

install: $(STAMP)

## Debian's Chromium for the browser tests (Playwright drives it; never `playwright install`)
browser:
	@if ! command -v chromium >/dev/null 2>&1; then \
	  if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
	    apt-get update -qq && apt-get install -y -qq chromium chromium-driver; \
	  else echo "chromium missing and not installable here: browser tests will skip (fail in CI)"; fi; \
	fi

## make demo: install, migrate the embedded SQLite store, print a token per role, serve on :8000
demo: install
	$(BIN)/tripp demo

## make test: install and run every test (PostgreSQL tests skip with a reason outside CI)
test: install browser
	$(BIN)/pytest

test-unit: install
	$(BIN)/pytest tests/unit

test-integration: install
	$(BIN)/pytest tests/integration

test-browser: install browser
	$(BIN)/pytest tests/browser

## make test-resilience: SIGKILLed servers, PostgreSQL and Mosquitto restarted under load, a
## full disk; prints what each test did and counted
test-resilience: install
	$(BIN)/pytest tests/resilience

## make bench: declarations/s and tracking figures, each beside a same-run baseline
## (installs Debian's PostGIS for the ST_DWithin baseline when it is missing and we may)
PG_MAJOR := $(shell ls /etc/postgresql 2>/dev/null | sort -n | tail -n 1)
bench: install
	@if [ -n "$(PG_MAJOR)" ] && ! dpkg -s postgresql-$(PG_MAJOR)-postgis-3 >/dev/null 2>&1; then \
	  if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
	    apt-get update -qq && apt-get install -y -qq postgresql-$(PG_MAJOR)-postgis-3; \
	  else echo "PostGIS missing and not installable here: its baseline will be skipped"; fi; \
	fi
	$(BIN)/python -m bench

## make audit-deps: pip-audit of the installed dependencies (a known vulnerability fails;
## an unreachable vulnerability database is reported as NOT AUDITED)
audit-deps: install
	bash .ci/audit-deps

lint: install
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy --strict src/tripp

clean:
	rm -rf $(VENV) var .pytest_cache .mypy_cache .ruff_cache .hypothesis
