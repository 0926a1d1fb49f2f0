# The README's two commands. Each creates .venv and installs the project on first use.
#   make verify   the main job: verify the built-in hardened store (file backend), write a report
#   make test     the test suite
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: verify test lint bench clean system-packages

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip 'setuptools>=77'
	$(BIN)/python -m pip install --quiet -e '.[test]'
	touch $(STAMP)

system-packages:
	@tools/ensure-system-packages chromium

verify: $(STAMP) system-packages
	$(BIN)/jobharness verify

test: $(STAMP) system-packages
	$(BIN)/python -m pytest

bench: $(STAMP) system-packages
	$(BIN)/jobharness bench

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

clean:
	rm -rf $(VENV) build *.egg-info
