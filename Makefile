# The two commands of a fresh machine: `make demo` and `make test`.
# Both create .venv and install the project into it first (once per pyproject change).

PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
# torch is pinned to 2.13.0 and installed first, on its own, so that nothing pulls a
# CUDA build; set TORCH_INDEX to a CPU-only index if your pip would otherwise pick CUDA.
TORCH_INDEX ?=

.PHONY: demo test lint install clean bench

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet "torch==2.13.0" $(if $(TORCH_INDEX),--index-url $(TORCH_INDEX))
	$(BIN)/python -m pip install --quiet -e ".[dev]"
	touch $(STAMP)

install: $(STAMP)

demo: $(STAMP)
	$(BIN)/advocacy demo

# mypy reads its files and exclusions from [tool.mypy] in pyproject.toml
test: $(STAMP)
	$(BIN)/ruff check recsys features training serving experiments tests
	$(BIN)/ruff format --check recsys features training serving experiments tests
	$(BIN)/mypy
	$(BIN)/python -m pytest

lint: $(STAMP)
	$(BIN)/ruff check recsys features training serving experiments tests
	$(BIN)/ruff format --check recsys features training serving experiments tests
	$(BIN)/mypy

clean:
	rm -rf $(VENV) data .pytest_cache
