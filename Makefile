# Every install step lives here: CI runs `bash .ci/run` (= `make test`) on a clean clone.
PY ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: env lab test demo bench lint typecheck clean

$(BIN)/python:
	$(PY) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip

$(STAMP): pyproject.toml constraints.txt | $(BIN)/python
	$(BIN)/pip install -q -c constraints.txt -e ".[dev,torch]"
	touch $(STAMP)

env: $(STAMP)

lab: env
	$(BIN)/jupyter lab --notebook-dir=notebooks

test: env lint typecheck
	$(BIN)/python -m pytest -q; rc=$$?; \
	  if [ $$rc -eq 5 ]; then echo "pytest collected no tests: failing"; exit 1; fi; exit $$rc

lint: env
	$(BIN)/ruff check jupyter_xtrack tests bench

typecheck: env
	$(BIN)/mypy

demo: env
	$(BIN)/jupyter nbconvert --to notebook --execute --stdout notebooks/quickstart.ipynb > /dev/null
	cd notebooks && ../$(BIN)/xtrack ls

bench: env
	$(BIN)/pip install -q -c constraints.txt -e ".[dev,torch,bench]"
	for b in bench/bench_*.py; do echo "== $$b"; $(BIN)/python $$b || exit 1; done

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache
