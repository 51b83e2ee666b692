"""`xtrack diff` with nbdime: text, --json, --html, runs, size guard and time limit."""

from __future__ import annotations

import json
from pathlib import Path

from jupyter_xtrack.notebook.diff import diff_notebook_bytes
from jupyter_xtrack.store import open_store

from .conftest import NOTEBOOKS, xtrack


def _pair(tmp_path: Path) -> tuple[Path, Path]:
    a = tmp_path / "a.ipynb"
    b = tmp_path / "b.ipynb"
    a.write_bytes((NOTEBOOKS / "clean.ipynb").read_bytes())
    nb = json.loads(a.read_text())
    nb["cells"][1]["source"] = ["x = 'changed'\n", "x"]
    b.write_text(json.dumps(nb, indent=1, ensure_ascii=False) + "\n")
    return a, b


def test_text_diff(tmp_path: Path) -> None:
    a, b = _pair(tmp_path)
    proc = xtrack(tmp_path, "diff", "a.ipynb", "b.ipynb")
    assert proc.returncode == 0, proc.stderr
    out = proc.stdout.decode()
    assert "nbdiff a.ipynb b.ipynb" in out
    assert "x = 'changed'" in out and "\x1b[" not in out  # no colour into a pipe


def test_json_diff_is_nbdime_format(tmp_path: Path) -> None:
    _pair(tmp_path)
    proc = xtrack(tmp_path, "diff", "--json", "a.ipynb", "b.ipynb")
    diff = json.loads(proc.stdout)
    assert diff[0]["op"] == "patch" and diff[0]["key"] == "cells"


def test_html_diff_is_standalone(tmp_path: Path) -> None:
    _pair(tmp_path)
    proc = xtrack(tmp_path, "diff", "--html", "d.html", "a.ipynb", "b.ipynb")
    assert proc.returncode == 0
    page = (tmp_path / "d.html").read_text()
    assert page.startswith("<!DOCTYPE html>") and "<script" not in page
    assert "x = &#x27;changed&#x27;" in page and 'class="add"' in page


def test_equal_notebooks_give_empty_diff(tmp_path: Path) -> None:
    a, _ = _pair(tmp_path)
    outcome = diff_notebook_bytes(a.read_bytes(), a.read_bytes())
    assert outcome.error is None and not outcome.changed and outcome.text == ""


NB3 = {"nbformat": 3, "nbformat_minor": 0, "metadata": {"name": ""}, "worksheets": [
    {"metadata": {}, "cells": [
        {"cell_type": "code", "input": "x = 1", "language": "python", "metadata": {},
         "outputs": [], "prompt_number": 1},
        {"cell_type": "markdown", "metadata": {}, "source": "# notes"}]}]}


def test_nbformat3_notebook_equals_itself(tmp_path: Path) -> None:
    # Upgrading to v4 invented random cell ids on each side: changed was true.
    data = json.dumps(NB3).encode()
    for fmt in ("text", "json"):
        outcome = diff_notebook_bytes(data, data, fmt=fmt)
        assert outcome.error is None and not outcome.changed, outcome.text
    (tmp_path / "old.ipynb").write_bytes(data)
    (tmp_path / "copy.ipynb").write_bytes(data)
    proc = xtrack(tmp_path, "diff", "--json", "old.ipynb", "copy.ipynb")
    assert proc.returncode == 0 and json.loads(proc.stdout) == [], proc.stderr
    # A real change still shows, with no cell-id noise.
    changed = json.loads(json.dumps(NB3))
    changed["worksheets"][0]["cells"][0]["input"] = "x = 2"
    outcome = diff_notebook_bytes(data, json.dumps(changed).encode(), fmt="json")
    assert outcome.changed and '"key": "source"' in outcome.text
    assert '"key": "id"' not in outcome.text


def test_size_guard_and_time_limit(tmp_path: Path) -> None:
    a, b = _pair(tmp_path)
    proc = xtrack(tmp_path, "diff", "--max-bytes", "100", "a.ipynb", "b.ipynb")
    assert proc.returncode == 2
    assert b"over the 0 MB limit" in proc.stderr or b"limit for diffs" in proc.stderr
    proc = xtrack(tmp_path, "diff", "--timeout", "0", "a.ipynb", "b.ipynb")
    assert proc.returncode == 2
    assert b"took longer than 0 s and was abandoned" in proc.stderr


def test_bad_argument_names_the_fix(tmp_path: Path) -> None:
    proc = xtrack(tmp_path, "diff", "missing.ipynb", "also-missing.ipynb")
    assert proc.returncode == 2
    assert b"notebook files or run references" in proc.stderr


def test_diff_two_runs(repo: Path) -> None:
    store = open_store(None, start_dir=repo)
    a, b = _pair(repo)
    for path in (a, b):
        run_id, _ = store.create_run(name=path.stem)
        h = store.put_blob(path.read_bytes())
        store.set_facts(
            run_id,
            notebook={"path": "nb.ipynb", "hash": h, "size": path.stat().st_size},
            lineage={"hash": h, "cells": 2},
        )
    store.close()
    proc = xtrack(repo, "diff", "#1", "#2")
    assert proc.returncode == 0, proc.stderr
    assert b"x = 'changed'" in proc.stdout and b"run #1" in proc.stdout
    proc = xtrack(repo, "diff", "--lineage", "1", "2")
    assert b"x = 'changed'" in proc.stdout
