# Two commands on a fresh machine: `make run` and `make test`. Each creates .venv and installs what it needs.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-$(shell cksum pyproject.toml | cut -d' ' -f1)
CONFIG ?= config.example.toml

.PHONY: run console test test-fast lint typecheck contracts pytest bench bench-digest bench-web bench-queries clean

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	rm -f $(VENV)/.installed-*
	touch $(STAMP)

run: $(STAMP)
	$(BIN)/threaddesk run --config $(CONFIG)

console: run

test: $(STAMP) lint typecheck contracts pytest

lint: $(STAMP)
	$(BIN)/ruff check bot kb adapters tests bench
	$(BIN)/ruff format --check bot kb adapters tests bench

typecheck: $(STAMP)
	$(BIN)/mypy

contracts: $(STAMP)
	$(BIN)/lint-imports

# two workers: the suite is CPU-bound, and CI has two cores (tests are independent: own files, own ports). A
# worker that runs out of tests takes some of the other's (`worksteal`): the chaos test alone is ~40 s, and the
# suite ends when both workers have (idle, 113-117 s against 120 s with xdist's default `load`).
# Bytecode is written even where the environment says not to: the suite starts ~85 `threaddesk` processes, and
# each would otherwise compile the project's ~230 modules again (~0.2 s of CPU apiece).
pytest: $(STAMP)
	env -u PYTHONDONTWRITEBYTECODE $(BIN)/pytest -q -n 2 --dist worksteal

# the edit loop: the core's unit and service tests only (no adapters, no subprocesses)
test-fast: $(STAMP)
	$(BIN)/pytest -q tests/unit tests/service

bench: $(STAMP)
	$(BIN)/python bench/intake.py
	$(BIN)/python bench/kb.py
	$(BIN)/python bench/slack_http.py
	$(BIN)/python bench/discord_gateway.py

bench-digest: $(STAMP)
	$(BIN)/python bench/digest.py

bench-web: $(STAMP)
	$(BIN)/python bench/web.py

bench-queries: $(STAMP)
	$(BIN)/python bench/queries.py

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache
