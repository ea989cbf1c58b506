# Sfumato: `make run` serves the API with the embedded defaults; `make test` runs every test;
# `make test-fast` is the quick lane: ruff and the unit tests, which start no server processes.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
DATA_DIR ?= data
HOST ?= 127.0.0.1
PORT ?= 8000

.PHONY: install run test test-fast lint typecheck bench clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip

# Re-install when the project's metadata changes; torch is pinned to the CPU wheel.
$(VENV)/.installed: pyproject.toml | $(BIN)/python
	$(BIN)/pip install --quiet "torch==2.13.0"
	$(BIN)/pip install --quiet -e ".[dev]"
	touch $@

install: $(VENV)/.installed

run: install
	$(BIN)/sfumato serve --data-dir $(DATA_DIR) --host $(HOST) --port $(PORT) --dev-key --migrate

test: install
	$(BIN)/ruff check src tests benchmarks
	$(BIN)/mypy src
	$(BIN)/python -m pytest -q --durations=30

test-fast: install
	$(BIN)/ruff check src tests benchmarks
	$(BIN)/python -m pytest -q tests/unit

lint:
	$(BIN)/ruff check src tests benchmarks
	$(BIN)/ruff format --check src tests benchmarks

typecheck:
	$(BIN)/mypy src

bench: install
	$(BIN)/python benchmarks/api_overhead.py

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache
