"""The automatic evaluation after a tracked cell that fits a model and scores or predicts on
held-out data: in a real kernel run by nbclient, and in the session's InteractiveShell."""

from __future__ import annotations

import textwrap
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from nbclient import NotebookClient
from sklearn import metrics as skm

import jupyter_xtrack as xt
from jupyter_xtrack.evaluation import auto
from jupyter_xtrack.store import open_store
from tests.conftest import python_notebook, run_cell

DATA = textwrap.dedent("""\
    from sklearn.datasets import make_classification
    from sklearn.linear_model import LogisticRegression
    from sklearn.model_selection import train_test_split
    X, y = make_classification(n_samples=300, n_features=5, random_state=0)
    X_train, X_test, y_train, y_test = train_test_split(X, y, random_state=0)""")


@pytest.mark.slow
def test_notebook_cells_that_score_on_held_out_data_get_a_report(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    store_dir = tmp_path / "store"
    monkeypatch.setenv("XTRACK_STORE", str(store_dir))
    nb = python_notebook(
        "%load_ext jupyter_xtrack",
        DATA,
        "%%track --name scored\nclf = LogisticRegression().fit(X_train, y_train)\n"
        "clf.score(X_test, y_test)",
        "%%track --name off --no-eval\nclf2 = LogisticRegression(C=0.5).fit(X_train, y_train)\n"
        "clf2.score(X_test, y_test)",
        "%%track --name predicted\nfrom sklearn.metrics import f1_score\n"
        "clf3 = LogisticRegression(C=2.0)\nclf3.fit(X_train, y_train)\n"
        "y_pred = clf3.predict(X_test)\nf1 = f1_score(y_test, y_pred)",
        "%%track --name train-only\nclf4 = LogisticRegression().fit(X_train, y_train)\n"
        "clf4.score(X_train, y_train)",
        "xt.flush()",
    )
    NotebookClient(
        nb, timeout=180, kernel_name="python3", resources={"metadata": {"path": str(tmp_path)}}
    ).execute()
    store = open_store(store_dir)
    runs = {r["name"]: r for r in (store.get_run(i) for i in (1, 2, 3, 4))}
    scored = runs["scored"]
    report = scored["evaluation"]
    assert report["data"] == "X_test" and report["model"] == "LogisticRegression"
    assert report["n"] == 75 and report["pos_label"] == "1"
    assert scored["metrics"]["roc_auc"] == pytest.approx(report["metrics"]["roc_auc"])
    assert scored["metrics"]["score_X_test"] == pytest.approx(report["metrics"]["accuracy_score"])
    names = {a["name"] for a in scored["artifacts"]}
    assert {
        "confusion_matrix.png",
        "roc_curve_plot.png",
        "precision_recall_curve_plot.png",
        "calibration_curve_plot.png",
        "per_class_metrics.csv",
    } <= names
    assert "evaluation" not in runs["off"] and "roc_auc" not in runs["off"]["metrics"]
    predicted = runs["predicted"]
    assert predicted["evaluation"]["data"] == "X_test"
    assert predicted["metrics"]["f1_score"] == pytest.approx(predicted["metrics"]["f1"])
    assert "evaluation" not in runs["train-only"]  # scored on its training data only
    # the cells' outputs carry no error from the evaluation
    assert not [
        o for c in nb.cells for o in c.get("outputs", []) if o.get("output_type") == "error"
    ]


def _data(shell: Any) -> None:
    shell.run_cell(DATA)


def test_off_by_environment(shell: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    _data(shell)
    monkeypatch.setenv(auto.ENV, "0")
    run_cell(
        shell,
        "%%track\nclf = LogisticRegression().fit(X_train, y_train)\nclf.score(X_test, y_test)",
    )
    assert xt.get_run(1).fact("evaluation") is None
    monkeypatch.setenv(auto.ENV, "1")
    run_cell(
        shell,
        "%%track\nclf = LogisticRegression().fit(X_train, y_train)\nclf.score(X_test, y_test)",
    )
    assert xt.get_run(2).fact("evaluation")["data"] == "X_test"


def test_a_model_scored_in_a_loop_is_found_by_the_call_itself(shell: Any) -> None:
    _data(shell)
    run_cell(
        shell,
        "%%track\nfrom sklearn.tree import DecisionTreeClassifier\n"
        "models = [LogisticRegression(), DecisionTreeClassifier(random_state=0)]\n"
        "for m in models:\n    m.fit(X_train, y_train)\n"
        "scores = [m.score(X_test, y_test) for m in models]",
    )
    report = xt.get_run(1).fact("evaluation")
    assert report["model"] == "DecisionTreeClassifier"  # the last one scored
    tree = shell.user_ns["models"][1]
    y_test = shell.user_ns["y_test"]
    assert report["metrics"]["accuracy_score"] == pytest.approx(
        skm.accuracy_score(y_test, tree.predict(shell.user_ns["X_test"]))
    )


def test_a_failing_evaluation_never_breaks_the_cell(
    shell: Any, capsys: pytest.CaptureFixture[str]
) -> None:
    _data(shell)
    result = run_cell(
        shell,
        textwrap.dedent("""\
        %%track --name flaky
        import threading
        class OnlyOnTheKernelThread:
            def fit(self, X, y):
                return self
            def predict(self, X):
                if threading.current_thread() is not threading.main_thread():
                    raise RuntimeError("not here")
                return X[:, 0] > 0
        m = OnlyOnTheKernelThread().fit(X_train, y_train)
        y_pred = m.predict(X_test)
        done = True"""),
    )
    assert result.success and shell.user_ns["done"] is True
    run = xt.get_run(1)
    assert run.status == "finished" and run.fact("evaluation") is None
    assert "automatic evaluation of run #1 on X_test failed" in capsys.readouterr().err


def test_a_failed_cell_or_mismatched_data_gets_no_evaluation(shell: Any) -> None:
    _data(shell)
    run_cell(
        shell,
        "%%track\nclf = LogisticRegression().fit(X_train, y_train)\nclf.score(X_test, y_test)\n1/0",
    )
    run_cell(
        shell,
        "%%track\ny_test = y_test[:10]\nclf = LogisticRegression().fit(X_train, y_train)\n"
        "p = clf.predict(X_test)",
    )
    assert xt.get_run(1).fact("evaluation") is None
    assert xt.get_run(2).fact("evaluation") is None


def test_find_reads_fitted_names_and_held_out_pairs() -> None:
    class Model:
        def predict(self, X: Any) -> Any:
            return X

    model, X_val, y_val = Model(), np.zeros((4, 2)), np.zeros(4)
    ns = {"est": model, "X_val": X_val, "y_val": y_val, "X_val_scaled": X_val}
    found = auto.find("est = Model().fit(X, y)\npred = est.predict(X_val)", ns, [])
    assert found is not None and found.model is model and found.data == "X_val"
    assert found.y is y_val
    # a suffix is kept in the pair: X_val_scaled goes with y_val_scaled, which is missing
    assert auto.find("est.fit(X, y)\nest.predict(X_val_scaled)", ns, []) is None
    assert auto.find("pred = est.predict(X_val)", ns, []) is None  # nothing fitted here
    assert not auto.wanted("model.predict(X_val)")


def test_a_cell_that_evaluates_itself_is_not_evaluated_again(shell: Any) -> None:
    _data(shell)
    run_cell(
        shell,
        "%%track\nclf = LogisticRegression().fit(X_train, y_train)\n"
        "clf.score(X_test, y_test)\n"
        "ev = xt.evaluate(clf, X_test, y_test, slices=[X_test[:, 0] > 0])",
    )
    report = xt.get_run(1).fact("evaluation")
    assert [s["column"] for s in report["slices"]] == ["slice_0", "slice_0"]  # its own report
