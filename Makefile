# Matchday Desk. Two commands do everything: `make run` and `make test`.
SHELL := /bin/bash
.DEFAULT_GOAL := help
DESK := .venv/bin/desk

.PHONY: help setup run prepare test test-fast lint format validate bench lock clean

help: ## list the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  make %-10s %s\n", $$1, $$2}'

setup: ## create or update the two Python environments (.venv-rasa, .venv)
	@scripts/setup.sh

prepare: setup ## migrate the database, load demo data, train what changed
	@$(DESK) prepare

run: prepare ## set up everything and start the desk (Ctrl-C stops it)
	@$(DESK) run

test: ## lint, validate and run every test, as CI does
	@scripts/test.sh

test-fast: setup ## the inner loop: ruff, then pytest without e2e, stopping at the first failure
	@.venv/bin/ruff check . && .venv/bin/ruff format --check . && .venv/bin/pytest -m "not e2e" -x

lint: setup ## ruff, mypy and the layer contract (import-linter)
	@.venv/bin/ruff check . && .venv/bin/ruff format --check . && .venv/bin/mypy && .venv/bin/lint-imports --no-cache

format: setup ## apply ruff's fixes and formatting
	@.venv/bin/ruff check --fix . && .venv/bin/ruff format .

validate: setup ## check the Rasa domain, stories, rules and NLU data, and the text catalogue
	@$(DESK) rasa validate
	@$(DESK) texts check

bench: prepare ## run the benchmarks (results in bench/results/*.json)
	@scripts/bench.sh

lock: ## re-resolve requirements/*.lock from requirements/*.in (needs network access to PyPI)
	@scripts/lock.sh

clean: ## remove environments, trained models and local data
	rm -rf .venv .venv-rasa var models/rasa models/faq .pytest_cache .mypy_cache .ruff_cache
