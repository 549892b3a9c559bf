# gdpr_portal — the two commands: `make run` and `make test`.
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
BIN := $(VENV)/bin
PYTEST_ARGS ?=

.PHONY: run run-stack test bench screenshots lint format deps services chromium libmagic clean

$(BIN)/.synced: pyproject.toml uv.lock
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --disable-pip-version-check uv
	$(BIN)/uv sync --frozen --inexact --quiet
	touch $@

deps: $(BIN)/.synced libmagic

# Uploads are typed from their content by libmagic (python-magic).
libmagic:
	@ldconfig -p | grep -q libmagic.so.1 || { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq libmagic1; }

## Start the app on embedded defaults (SQLite, local files, filesystem queue, console email).
run: deps
	$(BIN)/python scripts/run.py

## The production stack without Docker (gunicorn, 2 Celery workers, beat; throwaway PostgreSQL, Redis, S3).
run-stack: deps
	$(BIN)/python scripts/run_stack.py

## The whole test suite on PostgreSQL, Redis, SeaweedFS S3, a real Celery worker and Chromium.
test: deps chromium
	$(BIN)/python scripts/testenv.py $(BIN)/pytest $(PYTEST_ARGS)

## Benchmarks at scale (not part of `make test`); writes bench/RESULTS.md.
bench: deps
	$(BIN)/python scripts/testenv.py $(BIN)/python bench/run.py

## Browser journeys that save PNGs into docs/screenshots/.
screenshots: deps chromium
	SCREENSHOTS_DIR=docs/screenshots $(BIN)/python scripts/testenv.py $(BIN)/pytest tests/browser -m browser

chromium:
	@command -v chromium >/dev/null || { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium; }

lint: deps
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy

format: deps
	$(BIN)/ruff format .
	$(BIN)/ruff check --fix .

clean:
	rm -rf var .pytest_cache
