"""Params that mean something, through a real kernel: loop values instead of the last one, no
accumulators or plot settings, long values by digest, reprs without memory addresses, and
two runs of the same code that compare equal."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from nbclient import NotebookClient

import jupyter_xtrack as xt
from jupyter_xtrack.facts import Fact
from jupyter_xtrack.records.compare import compare_runs
from jupyter_xtrack.records.run import Run
from jupyter_xtrack.store import open_store
from tests.conftest import python_notebook, run_cell

# In the style of the scikit-learn gallery (plot_logistic_l1_l2_sparsity, plot_grid_search_refit
# _callable, plot_kmeans_digits): what the 37 measured notebooks recorded wrongly.
GALLERY_CELL = """\
%%track --name gallery
import matplotlib.colors
import numpy as np
from sklearn.cluster import KMeans
from sklearn.datasets import load_iris
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import GridSearchCV
from sklearn.svm import SVC

X, y = load_iris(return_X_y=True)
y = (y == 0).astype(int)
clfs = []
colors = "byr"
markers = ["o", "s", "^"]
tol = 0.01
for i, C in enumerate((1, 0.1, 0.01)):
    clf_l1_LR = LogisticRegression(C=C, penalty="l1", tol=tol, solver="liblinear").fit(X, y)
    clfs.append(clf_l1_LR)

def refit_strategy(cv_results):
    return int(np.argmax(cv_results["mean_test_score"]))

grid = GridSearchCV(SVC(random_state=np.random.RandomState(0)), {"C": [1, 10]},
                    refit=refit_strategy, cv=3)
kmeans = KMeans(n_clusters=100, init=np.random.RandomState(0).rand(100, 4), n_init=1)
"""



@pytest.mark.slow
def test_gallery_cell_params_in_a_real_notebook(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    store_dir = tmp_path / "store"
    monkeypatch.setenv("XTRACK_STORE", str(store_dir))
    nb = python_notebook("%load_ext jupyter_xtrack", GALLERY_CELL, GALLERY_CELL, "xt.flush()")
    NotebookClient(
        nb, timeout=180, kernel_name="python3", resources={"metadata": {"path": str(tmp_path)}}
    ).execute()
    store = open_store(store_dir)
    first, second = (Run(store.get_run(n), store) for n in (1, 2))
    params = first.params

    # every value the loop gave C, for the loop name and the estimator it fed
    assert params["C"] == [1, 0.1, 0.01] and params["clf_l1_LR.C"] == [1, 0.1, 0.01]
    assert first.fact(Fact.PARAMS_VARYING) == {"C": "values", "clf_l1_LR.C": "values"}
    assert params["clf_l1_LR.penalty"] == "l1" and params["tol"] == 0.01  # the same each time
    # no accumulators, plot settings or loop counters
    assert not {"clfs", "colors", "markers", "i"} & set(params)
    # a 100x4 array (about 8,000 characters of JSON) by digest, with a preview
    assert params["kmeans.init"].startswith("<") and " xxh3:" in params["kmeans.init"]
    assert len(params["kmeans.init"]) < 256
    # reprs without addresses, and flagged as the README says
    assert params["grid.refit"].startswith("<function refit_strategy at 0x…>")
    assert params["grid.estimator__random_state"] == "RandomState(MT19937) at 0x…"
    assert set(first.fact(Fact.PARAMS_FLAGGED)) == {
        "grid.refit",
        "grid.estimator__random_state",
        "kmeans.init",
    }

    # the same code twice: a new function, a new RandomState, the same params
    comparison = compare_runs([first, second])
    assert comparison.differences()["params"] == {}
    assert comparison.params["grid.refit"][0] == comparison.params["grid.refit"][1]


def test_a_bad_cap_is_reported_and_the_default_applies(
    shell: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("XTRACK_PARAM_MAX_CHARS", "lots")
    long_text = "w" * 300
    assert run_cell(shell, f"%%track\nprompt = {long_text!r}\n").success
    run = xt.get_run(xt.runs(limit=1)["id"].iloc[0])
    assert run.params["prompt"].startswith("<300 chars xxh3:")
    assert run.fact(Fact.PARAMS_FLAGGED) == ["prompt"]
    assert any("XTRACK_PARAM_MAX_CHARS='lots'" in p for p in run.fact(Fact.CAPTURE_PROBLEMS))


def test_the_cap_is_configurable(shell: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("XTRACK_PARAM_MAX_CHARS", "1000")
    long_text = "w" * 300
    assert run_cell(shell, f"%%track\nprompt = {long_text!r}\n").success
    run = xt.get_run(xt.runs(limit=1)["id"].iloc[0])
    assert run.params["prompt"] == long_text and run.fact(Fact.PARAMS_FLAGGED) is None
