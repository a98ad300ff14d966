# dcsim — the two Quick-start commands are `make demo` and `make test`.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: demo test typecheck docs bench mutation clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev,plot,sweep]'
	touch $(STAMP)

## Set up, then run the default scenario and print where the outputs are.
demo: $(STAMP)
	$(BIN)/dcsim run scenarios/baseline.yaml

## Set up, then lint, type-check and run the whole test suite.
test: $(STAMP)
	$(BIN)/ruff check sim tests benchmarks
	$(BIN)/mypy sim
	$(BIN)/python -m pytest -q

typecheck: $(STAMP)
	$(BIN)/mypy sim

docs: $(STAMP)
	$(BIN)/python -m sim.docgen

bench: $(STAMP)
	$(BIN)/python benchmarks/bench_baseline.py

## Mutation testing, by hand and not in CI (hours for every module; see docs/validation.md).
mutation: $(STAMP)
	$(BIN)/python -m pip install --quiet -e '.[mutation]'
	$(BIN)/mutmut run --max-children 2 $(MUTANTS)
	$(BIN)/mutmut results

clean:
	rm -rf $(VENV) outputs/*/ mutants .pytest_cache .ruff_cache .mypy_cache
