# Every install step lives here: CI runs `bash .ci/run` (= `make test`) on a clean clone.
PY ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: env browser postgres lab test labtest demo bench lint typecheck clean

$(BIN)/python:
	$(PY) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip

NBSTRIPOUT_SRC := $(VENV)/nbstripout-src/nbstripout-0.8.1

# The notebooks nbstripout's sdist ships are inputs of the differential check of
# `xtrack strip --nbstripout-compat` against nbstripout itself; from PyPI, never committed here.
$(NBSTRIPOUT_SRC): | $(BIN)/python
	rm -rf $(VENV)/nbstripout-src && mkdir -p $(VENV)/nbstripout-src
	$(BIN)/pip download -q --no-deps --no-binary :all: nbstripout==0.8.1 -d $(VENV)/nbstripout-src
	tar -xzf $(VENV)/nbstripout-src/nbstripout-0.8.1.tar.gz -C $(VENV)/nbstripout-src

# The UI tests drive Debian's Chromium (a browser is never downloaded by a test tool).
browser:
	@command -v chromium >/dev/null 2>&1 || { \
	  if [ "$$(id -u)" = 0 ]; then apt-get update -qq && apt-get install -y -qq chromium >/dev/null; \
	  else echo "note: chromium is missing and this is not root: the UI tests will skip"; fi; }

# The team-store tests start a throwaway PostgreSQL cluster (tests/pgserver.py) from Debian's
# server binaries; as root they are installed here, otherwise those tests skip saying so.
postgres:
	@ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1 || { \
	  if [ "$$(id -u)" = 0 ]; then apt-get update -qq && apt-get install -y -qq postgresql >/dev/null; \
	  else echo "note: PostgreSQL is missing and this is not root: the team-store tests will skip"; fi; }

# The sidebar: built with the npm registry only (package-lock.json pins it) against the venv's
# JupyterLab, into jupyter_xtrack/labextension/ where the wheel build picks it up.
LABEXT_OUT := jupyter_xtrack/labextension/package.json
LABEXT_SOURCES := labextension/package.json labextension/package-lock.json \
  labextension/webpack.config.js labextension/webpack.views.config.js $(wildcard labextension/src/* labextension/style/* labextension/schema/*)
$(LABEXT_OUT): $(LABEXT_SOURCES) | $(BIN)/python
	$(BIN)/pip install -q -c constraints.txt "jupyterlab>=4.2,<5" "nbdime>=4.0"
	cd labextension && npm ci --no-audit --no-fund --loglevel=error && \
	  PYTHON=$(CURDIR)/$(BIN)/python \
	  JUPYTERLAB_STAGING=$$($(CURDIR)/$(BIN)/python -c "import jupyterlab, os; print(os.path.join(os.path.dirname(jupyterlab.__file__), 'staging'))") \
	  npm run build:prod

# The project is installed as a user installs it: a wheel built from this checkout (its build
# hook finds the sidebar built above), never an editable link. The wheel puts the sidebar under
# share/jupyter/labextensions/ and the server extension's enable file under etc/jupyter/.
# Reinstalled whenever a file of the package changes, so kernels started by tests run this code.
PKG_SOURCES := $(shell find jupyter_xtrack \( -path jupyter_xtrack/labextension -o -name __pycache__ \) \
  -prune -o -type f -print) $(wildcard jupyter-config/*/*)
$(STAMP): pyproject.toml constraints.txt sidebar_build.py install.json LICENSE $(LABEXT_OUT) $(PKG_SOURCES) | $(BIN)/python
	@# An older Makefile linked the build output here; pip must not write through that link.
	if [ -L $(VENV)/share/jupyter/labextensions/jupyter-xtrack ]; then rm $(VENV)/share/jupyter/labextensions/jupyter-xtrack; fi
	$(BIN)/pip install -q -c constraints.txt ".[dev,torch]"
	touch $(STAMP)

env: $(STAMP) $(NBSTRIPOUT_SRC)

# Jupyter refuses to run as root without --allow-root (containers and these machines run as root).
lab: env
	$(BIN)/jupyter lab --notebook-dir=notebooks $$([ "$$(id -u)" = 0 ] && echo --allow-root)

test: env browser postgres lint typecheck labtest
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
	$(BIN)/pip install -q -c constraints.txt ".[dev,torch,bench]"
	for b in bench/bench_*.py; do echo "== $$b"; $(BIN)/python $$b || exit 1; done

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache labextension/node_modules labextension/lib jupyter_xtrack/labextension
