# Two commands for a fresh machine with Python 3.11:
#   make run    set up .venv, build the index if missing, start the web app on http://127.0.0.1:7860
#   make test   set up .venv (and what the tests need), then lint, type-check, the whole test suite and the
#               eval gate (evals/thresholds.toml)
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: setup run ingest test lint eval bench clean

setup: $(STAMP)

# torch first, pinned: its CPU build is on this machine's index; anything unpinned would pull CUDA wheels.
$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet "torch==2.13.0"
	$(BIN)/pip install --quiet -e ".[dev]"
	touch $(STAMP)

run: setup
	$(BIN)/python app.py

ingest: setup
	$(BIN)/cmo-assistant ingest

lint: setup
	$(BIN)/ruff check assistant tests evals benchmarks app.py
	$(BIN)/mypy

test: lint
	$(BIN)/python -m pytest
	$(BIN)/cmo-assistant eval --quiet --out evals/runs/ci

eval: setup
	$(BIN)/cmo-assistant eval

bench: setup
	$(BIN)/python benchmarks/run.py

clean:
	rm -rf $(VENV) data .pytest_cache .mypy_cache .ruff_cache
