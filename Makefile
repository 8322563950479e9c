# deliverwatch: the two commands a newcomer needs are `make run` and `make test`.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
CONFIG ?= config.toml
# Test processes (pytest-xdist): most tests wait on real servers and subprocesses, so three
# workers on two cores take the suite from ~18 to under 10 minutes.
TEST_WORKERS ?= 3

.PHONY: run test lint fmt bench clean help

help:
	@echo "make run    create .venv, install, migrate the database, start the daemon and the relay ($(CONFIG))"
	@echo "make test   create .venv with the test extra, run lint + type check + the whole suite"
	@echo "make lint   ruff, ruff format --check, mypy --strict, import-linter"
	@echo "make bench  print throughput and peak-RSS figures"

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip

# Re-install whenever pyproject.toml changes.
$(VENV)/.installed: pyproject.toml | $(BIN)/python
	$(BIN)/pip install --quiet -e .
	touch $@

$(VENV)/.installed-test: pyproject.toml | $(BIN)/python
	$(BIN)/pip install --quiet -e '.[test]'
	touch $(VENV)/.installed $@

run: $(VENV)/.installed
	$(BIN)/deliverwatch --config $(CONFIG) db upgrade
	exec $(BIN)/deliverwatch --config $(CONFIG) serve

lint: $(VENV)/.installed-test
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy
	$(BIN)/lint-imports

test: lint
	$(BIN)/pytest -n $(TEST_WORKERS) --dist worksteal

fmt: $(VENV)/.installed-test
	$(BIN)/ruff format .
	$(BIN)/ruff check --fix .

bench: $(VENV)/.installed-test
	$(BIN)/python bench/run_all.py

clean:
	rm -rf $(VENV) .mypy_cache .ruff_cache .pytest_cache bench/out
