# Kairos — make help lists the targets.
SHELL := /bin/bash
PYTHON ?= python3.11
VENV ?= .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.kairos-installed

.DEFAULT_GOAL := help
.PHONY: help setup demo test unit integration lint typecheck bench clean

help: ## list the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  %-12s %s\n", $$1, $$2}'

$(STAMP): requirements.lock pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -r requirements.lock
	$(BIN)/python -m pip install --quiet --no-deps -e .
	$(BIN)/python -m pip check
	touch $(STAMP)

setup: $(STAMP) ## create .venv and install everything pinned in requirements.lock

demo: setup ## start the embedded stack and run the loop with the shopper simulator
	$(BIN)/kairos demo

test: setup lint typecheck ## set up, lint, type-check and run the whole test suite
	$(BIN)/python -m pytest -q

unit: setup ## unit tests only
	$(BIN)/python -m pytest -q tests/unit

integration: setup ## integration tests against the real broker
	$(BIN)/python -m pytest -q tests/integration

lint: setup ## ruff + import contracts
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/lint-imports

typecheck: setup ## mypy
	$(BIN)/mypy

bench: setup ## every benchmark, JSON on the last line of each
	$(BIN)/kairos bench ingest
	$(BIN)/kairos bench features

clean: ## remove the environment and run state
	rm -rf $(VENV) var .mypy_cache .ruff_cache .pytest_cache
