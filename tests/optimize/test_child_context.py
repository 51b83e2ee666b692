"""A search's child runs (sweep trials, AutoML candidates) say where they ran: their
parent's notebook, cell, git state, environment and code, by reference to the same blobs,
whichever of parent and child is stored first. In a real shell and in a real kernel."""

from __future__ import annotations

import os
import sqlite3
from pathlib import Path
from typing import Any

import nbformat
import pytest

import jupyter_xtrack as xt
from jupyter_xtrack import api
from jupyter_xtrack.cli import main
from jupyter_xtrack.facts import Fact
from jupyter_xtrack.server.reader import StoreReader
from jupyter_xtrack.tracking.search_runs import open_parent, open_trial
from tests.conftest import git

CONTEXT_KINDS = (Fact.CODE, Fact.ENV, Fact.GIT, Fact.NOTEBOOK, Fact.LINEAGE)
SWEEP = (
    '%%track --sweep "a=int(1, 5)" --trials 3 --metric score --maximize --sampler random\n'
    "a = 1\nxt.log(score=a)\n"
)


def _notebook_in(folder: Path) -> Path:
    path = folder / "analysis.ipynb"
    path.write_text('{"cells": [], "metadata": {}, "nbformat": 4, "nbformat_minor": 5}\n')
    return path


def _columns(store: Path, run_id: str) -> tuple[Any, ...]:
    """The run's row as the sidebar's grouping and the runs table read it."""
    with sqlite3.connect(store / "xtrack.db") as conn:
        row = conn.execute(
            "SELECT notebook_path, cell_id, git_commit, git_branch FROM runs WHERE id = ?",
            (run_id,),
        ).fetchone()
    return tuple(row)


def _assert_same_context(parent_id: str, child_id: str, store: Path) -> None:
    parent, child = xt.get_run(parent_id), xt.get_run(child_id)
    for kind in CONTEXT_KINDS:
        assert child.fact(kind) == parent.fact(kind), kind
    assert child.code == parent.code and child.env == parent.env
    assert _columns(store, child_id) == _columns(store, parent_id)


def test_sweep_trials_run_in_their_parents_cell_and_context(
    shell: Any, repo: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    head = git(repo, "rev-parse", "HEAD").strip()
    shell.user_ns["__session__"] = str(_notebook_in(repo))
    result = shell.run_cell(SWEEP, store_history=True, cell_id="cell-sweep-1")
    api.flush()
    assert result.error_in_exec is None, result.error_in_exec
    sweep = result.result
    trials = [t.run_id for t in sweep.trials]
    assert len(trials) == 3 and all(trials)
    store = repo / ".xtrack"
    notebook, cell, commit, branch = _columns(store, sweep.run_id)
    assert notebook == str(repo / "analysis.ipynb") and cell == "cell-sweep-1"
    assert (commit, branch) == (head, "main")
    parent = xt.get_run(sweep.run_id)
    for kind in (Fact.CODE, Fact.ENV, Fact.GIT, Fact.NOTEBOOK):
        assert parent.fact(kind), kind
    for trial in trials:
        _assert_same_context(sweep.run_id, trial, store)
        one = xt.get_run(trial)
        assert one.git is not None and one.git["commit"] == head
        assert "--sweep" in (one.code or "")
    # The sidebar's run detail and `xtrack show` say where a trial ran.
    detail = StoreReader(store, root_dir=str(repo)).run(trials[0])
    assert detail["git"]["commit"] == head and detail["notebook_relpath"] == "analysis.ipynb"
    assert "--sweep" in detail["code_text"] and detail["env_full"]
    assert main(["show", trials[0], "--store", str(store)]) == 0
    shown = capsys.readouterr().out
    assert head[:7] in shown and "analysis.ipynb" in shown


def test_a_trial_stored_after_its_parent_takes_the_context_at_once(shell: Any, repo: Path) -> None:
    # Trials may close before the parent's facts are stored (a foreground sweep) or after
    # (an AutoML fit given up at the deadline ends later): both end with the context.
    shell.user_ns["__session__"] = str(_notebook_in(repo))
    shell.run_cell("import jupyter_xtrack as xt", store_history=True, cell_id="cell-2")
    parent = open_parent("sweep", name="p", experiment=None, tags={}, params={}, background=False)
    early = open_trial(parent, name="early", params={"a": 1}, tags={}, push=False)
    early.close()
    parent.close()
    api.flush()  # the parent's facts are stored now
    late = open_trial(parent, name="late", params={"a": 2}, tags={}, push=False)
    late.close()
    api.flush()
    store = repo / ".xtrack"
    assert _columns(store, parent.id)[1] == "cell-2"
    for child in (early, late):
        _assert_same_context(parent.id, child.id, store)
    assert xt.get_run(late.id).git is not None


def test_a_childs_own_facts_are_kept(shell: Any, repo: Path) -> None:
    parent = open_parent("sweep", name="p", experiment=None, tags={}, params={}, background=False)
    trial = open_trial(parent, name="t", params={}, tags={}, push=False)
    own = {"hash": None, "kind": "trial", "script_path": "mine.py", "lines": 1}
    trial.close(facts={Fact.CODE: own})
    parent.close()
    api.flush()
    child = xt.get_run(trial.id)
    assert child.fact(Fact.CODE) == own
    assert child.fact(Fact.ENV) == xt.get_run(parent.id).fact(Fact.ENV)


@pytest.mark.slow
def test_sweep_and_automl_children_in_a_real_kernel(
    repo: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from nbclient import NotebookClient

    head = git(repo, "rev-parse", "HEAD").strip()
    nb = nbformat.v4.new_notebook()
    nb.cells = [
        nbformat.v4.new_code_cell("%load_ext jupyter_xtrack"),
        nbformat.v4.new_code_cell(SWEEP + "None\n"),
        nbformat.v4.new_code_cell(
            "from sklearn.datasets import load_iris\n"
            "df = load_iris(as_frame=True).frame\n"
            "found = xt.automl(df, target='target', time_budget='3s', models=['linear'], "
            "seed=0, show=False)\n"
            "xt.flush()\n"
            "print('automl', found.run_id)"
        ),
    ]
    path = repo / "search.ipynb"
    nbformat.write(nb, path)
    store = repo / ".xtrack"
    monkeypatch.setenv("XTRACK_STORE", str(store))
    monkeypatch.setenv("JPY_SESSION_NAME", str(path))
    monkeypatch.setenv("XTRACK_WIDGETS", "0")
    NotebookClient(
        nb, timeout=240, kernel_name="python3", resources={"metadata": {"path": str(repo)}}
    ).execute()
    printed = "".join(o.get("text", "") for o in nb.cells[2].outputs)
    automl_id = printed.split("automl", 1)[1].split()[0]
    with sqlite3.connect(store / "xtrack.db") as conn:
        rows = conn.execute("SELECT id, kind, parent_id FROM runs").fetchall()
    parents = {rid: kind for rid, kind, parent in rows if parent is None}
    sweep_id = next(rid for rid, kind in parents.items() if kind == "sweep")
    assert parents[automl_id] == "automl"
    for parent_id in (sweep_id, automl_id):
        children = [rid for rid, _, parent in rows if parent == parent_id]
        assert children, parent_id
        for child in children:
            notebook, _, commit, _ = _columns(store, child)
            assert notebook == os.path.realpath(path) or notebook == str(path)
            assert commit == head
            _assert_same_context(parent_id, child, store)


def test_a_background_sweep_from_a_tracked_cell_runs_where_that_cell_ran(
    shell: Any, repo: Path
) -> None:
    # The job's parent is a light run (no captures: it never touches the cell's stdout or
    # run stack), so it takes the launching cell's context, and its trials take it in turn.
    head = git(repo, "rev-parse", "HEAD").strip()
    shell.user_ns["__session__"] = str(_notebook_in(repo))
    cell = (
        "%%track --name launcher\n"
        "from jupyter_xtrack import sweep\n"
        "def objective(x):\n    return (x - 0.3) ** 2\n"
        "job = sweep(objective, 'x=uniform(0, 1)', trials=3, metric='loss', background=True,"
        " show=False)\n"
    )
    result = shell.run_cell(cell, store_history=True, cell_id="cell-bg")
    assert result.error_in_exec is None, result.error_in_exec
    job = shell.user_ns["job"]
    outcome = job.result(timeout=120)
    api.flush()
    store = repo / ".xtrack"
    launcher = xt.get_run(str(xt.runs(filter="name = 'launcher'")["id"].iloc[0]))
    parent = xt.get_run(outcome.run_id)
    assert parent.parent_id == launcher.id
    _assert_same_context(launcher.id, parent.id, store)
    assert _columns(store, parent.id)[:3] == (str(repo / "analysis.ipynb"), "cell-bg", head)
    trials = [t.run_id for t in outcome.trials]
    assert len(trials) == 3
    for trial in trials:
        _assert_same_context(parent.id, trial, store)
        assert "background=True" in (xt.get_run(trial).code or "")
