# Both targets build the virtualenv from the registries first, so they work on a fresh machine with Python 3.11.
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
BIN := $(VENV)/bin

.PHONY: setup demo test lint

$(BIN)/horde: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	touch $(BIN)/horde

setup: $(BIN)/horde

demo: setup
	$(BIN)/horde demo

test: setup
	$(BIN)/python -m pytest -q -p no:cacheprovider

lint: setup
	$(BIN)/ruff check horde tests benchmarks
	$(BIN)/ruff format --check horde tests benchmarks
	$(BIN)/mypy
