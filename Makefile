# Every install step lives here: CI runs `bash .ci/run` (= `make test`) on a clean clone.
PY ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: env browser lab test labtest demo bench lint typecheck clean

$(BIN)/python:
	$(PY) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip

NBSTRIPOUT_SRC := $(VENV)/nbstripout-src/nbstripout-0.8.1

$(STAMP): pyproject.toml constraints.txt | $(BIN)/python
	$(BIN)/pip install -q -c constraints.txt -e ".[dev,torch]"
	touch $(STAMP)

# nbstripout's own test notebooks (with their expected outputs) are the check of
# `xtrack strip --nbstripout-compat`; they come from its sdist on PyPI, never committed here.
$(NBSTRIPOUT_SRC): | $(BIN)/python
	rm -rf $(VENV)/nbstripout-src && mkdir -p $(VENV)/nbstripout-src
	$(BIN)/pip download -q --no-deps --no-binary :all: nbstripout==0.8.1 -d $(VENV)/nbstripout-src
	tar -xzf $(VENV)/nbstripout-src/nbstripout-0.8.1.tar.gz -C $(VENV)/nbstripout-src

# The UI tests drive Debian's Chromium (a browser is never downloaded by a test tool).
browser:
	@command -v chromium >/dev/null 2>&1 || { \
	  if [ "$$(id -u)" = 0 ]; then apt-get update -qq && apt-get install -y -qq chromium >/dev/null; \
	  else echo "note: chromium is missing and this is not root: the UI tests will skip"; fi; }

# The sidebar: built with the npm registry only (package-lock.json pins it), then linked
# where JupyterLab looks for prebuilt extensions; the server extension's enable file too.
LABEXT_OUT := jupyter_xtrack/labextension/package.json
$(LABEXT_OUT): labextension/package.json labextension/package-lock.json $(wildcard labextension/src/*) $(wildcard labextension/style/*) $(wildcard labextension/schema/*) | $(STAMP)
	cd labextension && npm ci --no-audit --no-fund --loglevel=error && PATH=$(CURDIR)/$(BIN):$$PATH npm run build:prod
	mkdir -p $(VENV)/share/jupyter/labextensions $(VENV)/etc/jupyter/jupyter_server_config.d
	ln -sfn $(CURDIR)/jupyter_xtrack/labextension $(VENV)/share/jupyter/labextensions/jupyter-xtrack
	cp jupyter-config/jupyter_server_config.d/jupyter_xtrack.json $(VENV)/etc/jupyter/jupyter_server_config.d/

env: $(STAMP) $(NBSTRIPOUT_SRC) $(LABEXT_OUT)

# Jupyter refuses to run as root without --allow-root (containers and these machines run as root).
lab: env
	$(BIN)/jupyter lab --notebook-dir=notebooks $$([ "$$(id -u)" = 0 ] && echo --allow-root)

test: env browser lint typecheck labtest
	PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD=1 $(BIN)/python -m pytest -q; rc=$$?; \
	  if [ $$rc -eq 5 ]; then echo "pytest collected no tests: failing"; exit 1; fi; exit $$rc

labtest: env
	cd labextension && npx tsc --noEmit && npx jest --silent

# lint-imports: the layers and no-cycle contracts of [tool.importlinter] (ARCHITECTURE.md).
lint: env
	$(BIN)/ruff check jupyter_xtrack tests bench
	$(BIN)/lint-imports

typecheck: env
	$(BIN)/mypy

demo: env
	$(BIN)/jupyter nbconvert --to notebook --execute --stdout notebooks/quickstart.ipynb > /dev/null
	cd notebooks && ../$(BIN)/xtrack ls

bench: env
	$(BIN)/pip install -q -c constraints.txt -e ".[dev,torch,bench]"
	for b in bench/bench_*.py; do echo "== $$b"; $(BIN)/python $$b || exit 1; done

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache labextension/node_modules labextension/lib jupyter_xtrack/labextension
