"""Scores computed with scikit-learn in a tracked cell (capture/metric_calls.py) and metric-like
names assigned in its loops (kernel/loop_metrics.py), through a real InteractiveShell."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest

import jupyter_xtrack as xt
from jupyter_xtrack.capture.metric_calls import numbers_of, prediction_sources, score_arrays
from jupyter_xtrack.capture.params import metric_like, result_metrics
from tests.conftest import run_cell

SETUP = (
    "from sklearn.datasets import load_iris\n"
    "from sklearn.linear_model import LogisticRegression\n"
    "from sklearn.model_selection import train_test_split\n"
    "X, y = load_iris(return_X_y=True)\n"
    "X_train, X_test, y_train, y_test = train_test_split(X, y, random_state=0)\n"
    "clf = LogisticRegression(max_iter=500).fit(X_train, y_train)\n"
)


def last_run() -> xt.Run:
    frame = xt.runs()
    top = frame[frame["parent_id"].isna()]
    return xt.get_run(top["id"].iloc[0])


def history(run: xt.Run, key: str) -> list[float]:
    return list(run._store.metric_history(run.id, key)["value"])


def test_prediction_sources_reads_the_cell_statically() -> None:
    src = (
        "y_pred = clf.predict(X_test)\n"
        "proba = clf.predict_proba(X_val)[:, 1]\n"
        "labels = km.fit_predict(X)\n"
        "for i, staged in enumerate(reg.staged_predict(X_test)):\n    pass\n"
        "other = f(X_test)\n"
    )
    assert prediction_sources(src) == {
        "y_pred": "X_test",
        "proba": "X_val",
        "labels": "X",
        "i": "X_test",
        "staged": "X_test",
    }
    assert prediction_sources("%timeit 1\ny_hat = m.predict(Z)\n") == {"y_hat": "Z"}
    assert prediction_sources("def (:") == {}


def test_score_arrays_and_numbers() -> None:
    ns = {
        "scores": np.array([0.5, 1.0]),
        "train_scores": [0.25, 0.75],
        "cv_scores": ["a"],
        "score": 0.5,
        "test_scores": np.zeros((2, 2)),
        "trainScores": (1, 2),
    }
    assert score_arrays(list(ns), ns) == {
        "scores": [0.5, 1.0],
        "train_scores": [0.25, 0.75],
        "trainScores": [1.0, 2.0],
    }
    assert numbers_of([True, 1.0]) is None and numbers_of([]) is None


@pytest.mark.parametrize(
    "name",
    [
        "silhouette_avg",
        "ari",
        "nmi",
        "log_loss",
        "brier_score",
        "calinski_harabasz",
        "v_measure",
        "homogeneity",
        "ami_test",
    ],
)
def test_clustering_and_probabilistic_words_are_metrics(name: str) -> None:
    assert metric_like(name)


def test_best_params_shown_as_a_result_are_not_metrics() -> None:
    assert result_metrics({"C": 100.0, "gamma": 0.001}) == {}


def test_metric_calls_are_named_after_function_and_data(shell: Any) -> None:
    run_cell(shell, "%%track\n" + SETUP)
    cell = (
        "%%track\n"
        "from sklearn.metrics import accuracy_score, f1_score\n"
        "y_pred = clf.predict(X_test)\n"
        "print(f'{accuracy_score(y_test, y_pred):.2f}')\n"
        "print(clf.score(X_test, y_test), clf.score(X_train, y_train))\n"
        "print(f1_score(y_test, clf.predict(X_test), average='macro'))\n"
    )
    assert run_cell(shell, cell).success
    run = last_run()
    ns = shell.user_ns
    y_pred = ns["clf"].predict(ns["X_test"])
    from sklearn.metrics import accuracy_score, f1_score

    assert run.metrics == {
        "accuracy_score_X_test": accuracy_score(ns["y_test"], y_pred),
        "score_X_test": ns["clf"].score(ns["X_test"], ns["y_test"]),
        "score_X_train": ns["clf"].score(ns["X_train"], ns["y_train"]),
        # an inline prediction: named after the X it predicted, read off the call
        "f1_score_X_test": f1_score(ns["y_test"], y_pred, average="macro"),
    }
    # the originals are back once the cell ended
    import sklearn.base
    import sklearn.metrics

    assert not hasattr(sklearn.metrics.accuracy_score, "__xtrack_original__")
    assert not hasattr(ns["accuracy_score"], "__xtrack_original__")
    assert not hasattr(sklearn.base.ClassifierMixin.score, "__xtrack_original__")


def test_loop_calls_make_a_history_and_nested_calls_are_not_recorded(shell: Any) -> None:
    run_cell(shell, "%%track\n" + SETUP)
    cell = (
        "%%track\n"
        "from sklearn.model_selection import cross_val_score\n"
        "from sklearn.metrics import accuracy_score\n"
        "for C in (0.01, 1.0):\n"
        "    m = LogisticRegression(C=C, max_iter=500).fit(X_train, y_train)\n"
        "    print(m.score(X_test, y_test))\n"
        "cross_val_score(clf, X_train, y_train, cv=3)\n"
        "def helper():\n"
        "    return accuracy_score(y_test, clf.predict(X_test))\n"
        "helper()\n"
    )
    assert run_cell(shell, cell).success
    run = last_run()
    from sklearn.linear_model import LogisticRegression
    from sklearn.model_selection import cross_val_score

    ns = shell.user_ns
    expected = [
        LogisticRegression(C=C, max_iter=500)
        .fit(ns["X_train"], ns["y_train"])
        .score(ns["X_test"], ns["y_test"])
        for C in (0.01, 1.0)
    ]
    folds = list(cross_val_score(ns["clf"], ns["X_train"], ns["y_train"], cv=3))
    assert history(run, "score_X_test") == expected
    assert run._store.metric_history(run.id, "score_X_test")["step"] == [0, 1]
    assert history(run, "cross_val_score_X_train") == folds
    assert run.metrics["cross_val_score_X_train_mean"] == pytest.approx(np.mean(folds))
    assert run.metrics["cross_val_score_X_train_std"] == pytest.approx(np.std(folds))
    # the scorers cross_val_score ran, and the function's call, are not the cell's scores;
    # `result` is the helper's value, displayed
    assert set(run.metrics) == {
        "score_X_test",
        "cross_val_score_X_train",
        "cross_val_score_X_train_mean",
        "cross_val_score_X_train_std",
        "result",
    }


def test_the_users_name_wins(shell: Any) -> None:
    run_cell(shell, "%%track\n" + SETUP)
    cell = (
        "%%track\n"
        "from sklearn.metrics import accuracy_score\n"
        "from sklearn.model_selection import cross_val_score\n"
        "test_acc = accuracy_score(y_test, clf.predict(X_test))\n"
        "scores = cross_val_score(clf, X, y, cv=3)\n"
        "xt.log(logged=clf.score(X_train, y_train))\n"
    )
    assert run_cell(shell, cell).success
    run = last_run()
    assert set(run.metrics) == {"test_acc", "scores", "scores_mean", "scores_std", "logged"}
    assert history(run, "scores") == list(shell.user_ns["scores"])


def test_loop_assignments_become_histories(shell: Any) -> None:
    cell = (
        "%%track\n"
        "import numpy as np\n"
        "test_score = np.zeros(3)\n"
        "total_loss = 0.0\n"
        "for i in range(3):\n"
        "    val_loss = 1.0 / (i + 1)\n"
        "    if i:\n"
        "        test_score[i] = val_loss * 2\n"
        "    total_loss += val_loss\n"
        "    label = 'x'\n"
        "def f():\n"
        "    for j in range(2):\n"
        "        inner_acc = j\n"
        "    return inner_acc\n"
        "f()\n"
    )
    result = run_cell(shell, cell)
    assert result.success and result.result == 1  # the cell computes what it did
    run = last_run()
    assert history(run, "val_loss") == [1.0, 0.5, 1 / 3]
    assert run._store.metric_history(run.id, "val_loss")["step"] == [0, 1, 2]
    assert history(run, "test_score") == [1.0, 2 / 3]
    assert history(run, "total_loss") == [1.0, 1.5, 1.5 + 1 / 3]
    assert "inner_acc" not in run.metrics and "label" not in run.metrics
    assert shell.user_ns["test_score"].tolist() == [0.0, 1.0, 2 / 3]


def test_untracked_cells_are_not_transformed(shell: Any) -> None:
    result = run_cell(
        shell,
        "for i in range(2):\n    val_loss = i\nimport sys\n"
        "'__xtrack_loop__' in repr(sys._getframe().f_code.co_names)",
    )
    assert result.success and result.result is False


def test_grid_search_records_best_params_score_and_candidates(shell: Any) -> None:
    run_cell(shell, "%%track\n" + SETUP)
    cell = (
        "%%track\n"
        "from sklearn.model_selection import GridSearchCV\n"
        "grid = GridSearchCV(LogisticRegression(max_iter=500), {'C': [0.01, 0.1, 1.0]}, cv=3)"
        ".fit(X_train, y_train)\n"
        "grid.best_params_\n"
    )
    assert run_cell(shell, cell).success
    run = last_run()
    grid = shell.user_ns["grid"]
    assert run.metrics == {"grid.best_score_": grid.best_score_}  # no C= from the result
    assert run.params["grid.best_params_.C"] == grid.best_params_["C"]
    children = [xt.get_run(c) for c in run.children]
    assert sorted(c.name for c in children) == ["grid #1", "grid #2", "grid #3"]
    best = next(c for c in children if c.name == "grid #1")
    assert best.kind == "trial" and best.params == grid.best_params_
    assert best.metrics["mean_test_score"] == grid.best_score_
    assert best.metrics["rank_test_score"] == 1.0
    xt.flush()
    best, run = xt.get_run(best.id), xt.get_run(run.id)
    for kind in ("code", "lineage", "env"):  # they ran where the search ran: same blobs
        assert best.fact(kind) is not None and best.fact(kind) == run.fact(kind), kind
    assert best.cell_id == run.cell_id


def test_optuna_study_records_best_trial(shell: Any) -> None:
    cell = (
        "%%track\n"
        "import optuna\n"
        "optuna.logging.set_verbosity(optuna.logging.WARNING)\n"
        "study = optuna.create_study(sampler=optuna.samplers.TPESampler(seed=0))\n"
        "study.optimize(lambda t: (t.suggest_float('x', -2, 2) - 1) ** 2, n_trials=5)\n"
    )
    assert run_cell(shell, cell).success
    run = last_run()
    study = shell.user_ns["study"]
    assert run.metrics == {"study.best_value": study.best_value}
    assert run.params["study.best_params.x"] == study.best_params["x"]


def test_log_artifact_returns_nothing_a_tracker_reads(shell: Any) -> None:
    result = run_cell(shell, "%%track\nxt.log_artifact({'k': 1})\n")
    assert result.success and result.result is None
    run = last_run()
    assert run.metrics == {} and [a["name"] for a in run.artifacts] == ["dict.json"]


def test_inline_predictions_are_named_after_their_x_only_when_certain(shell: Any) -> None:
    run_cell(shell, "%%track\n" + SETUP)
    cell = (
        "%%track\n"
        "from functools import partial\n"
        "from sklearn import metrics\n"
        "from sklearn.metrics import accuracy_score, f1_score as f1\n"
        "print(metrics.recall_score(\n"
        "    y_test,\n"
        "    clf.predict(X_test),\n"
        "    average='macro',\n"
        "))\n"
        "print(f1(y_test, clf.predict(X_test), average='macro'))\n"
        "print(metrics.roc_auc_score(y_test, clf.predict_proba(X_test), multi_class='ovr'))\n"
        "print([metrics.precision_score(y_test, m.predict(X_train[:38]), average='micro')"
        " for m in [clf]])\n"
        "print(metrics.log_loss(y_true=y_test, y_proba=clf.predict_proba(X_test)))\n"
        # unsure: the call's arguments are not what the code shows, or there is no code
        "print(accuracy_score(*(y_test, clf.predict(X_test))))\n"
        "print(partial(accuracy_score, y_test)(clf.predict(X_test)))\n"
        "exec('print(accuracy_score(y_test, clf.predict(X_test)))')\n"
        # a prediction not made from a variable: the first argument names it
        "print(metrics.balanced_accuracy_score(y_test, clf.predict(X_test[::-1])[::-1]))\n"
    )
    assert run_cell(shell, cell).success
    run = last_run()
    assert set(run.metrics) == {
        "recall_score_X_test",
        "f1_score_X_test",
        "roc_auc_score_X_test",
        "precision_score_y_test",  # predicted from X_train[:38], which no variable holds
        "log_loss_X_test",
        "accuracy_score_y_test",
        "balanced_accuracy_score_y_test",
    }
    assert len(history(run, "accuracy_score_y_test")) == 3


GRID = (
    "from sklearn.model_selection import GridSearchCV\n"
    "grid = GridSearchCV(LogisticRegression(max_iter=500), {'C': [0.01, 0.1, 1.0]}, cv=3)"
    ".fit(X_train, y_train)\n"
)


@pytest.mark.parametrize(
    ("line", "env", "children"),
    [
        ("%%track", "1", ["grid #1"]),
        ("%%track --search-top 2", "1", ["grid #1", "grid #2"]),  # the cell's option wins
        ("%%track --search-top 0", None, []),
        ("%%track", "0", []),
    ],
)
def test_search_top_sets_how_many_candidates_become_child_runs(
    shell: Any, monkeypatch: pytest.MonkeyPatch, line: str, env: str | None, children: list[str]
) -> None:
    run_cell(shell, "%%track\n" + SETUP)
    if env is not None:
        monkeypatch.setenv("XTRACK_SEARCH_TOP", env)
    assert run_cell(shell, f"{line}\n{GRID}").success
    run = last_run()
    grid = shell.user_ns["grid"]
    assert sorted(xt.get_run(c).name for c in run.children) == children
    # with no child run, the best params and score are still the run's
    assert run.metrics == {"grid.best_score_": grid.best_score_}
    assert run.params["grid.best_params_.C"] == grid.best_params_["C"]


def test_a_bad_search_top_is_reported_and_the_default_kept(
    shell: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    run_cell(shell, "%%track\n" + SETUP)
    monkeypatch.setenv("XTRACK_SEARCH_TOP", "all")
    assert run_cell(shell, "%%track\n" + GRID).success
    run = last_run()
    assert len(run.children) == 3  # the default, 5, keeps all three
    problems = run._store.get_run(run.id)["facts"].get("capture_problems") or []
    assert any("XTRACK_SEARCH_TOP='all'" in p for p in problems)
    result = run_cell(shell, "%%track --search-top -1\n1")
    assert not result.success and "--search-top wants 0 or more" in str(result.error_in_exec)


def test_a_score_that_is_not_accuracy_or_r2_is_named_for_what_it_is(shell: Any) -> None:
    run_cell(shell, "%%track\n" + SETUP)
    cell = (
        "%%track\n"
        "from sklearn.cluster import KMeans, MiniBatchKMeans\n"
        "from sklearn.covariance import EmpiricalCovariance\n"
        "from sklearn.decomposition import PCA\n"
        "from sklearn.mixture import GaussianMixture\n"
        "from sklearn.model_selection import GridSearchCV\n"
        "from sklearn.neighbors import KernelDensity\n"
        "from sklearn.pipeline import make_pipeline\n"
        "from sklearn.preprocessing import StandardScaler\n"
        "km = KMeans(n_clusters=3, n_init=2, random_state=0).fit(X_train)\n"
        "gm = GaussianMixture(n_components=2, random_state=0).fit(X_train)\n"
        "pipe = make_pipeline(StandardScaler(), MiniBatchKMeans(3, n_init=2, random_state=0))\n"
        "pipe.fit(X_train)\n"
        "cov = make_pipeline(StandardScaler(), EmpiricalCovariance()).fit(X_train)\n"
        "kde = KernelDensity().fit(X_train)\n"
        "grid = GridSearchCV(LogisticRegression(max_iter=500), {'C': [0.1, 1.0]}, cv=3,"
        " scoring='f1_macro').fit(X_train, y_train)\n"
        "print(km.score(X_test), gm.score(X_test), pipe.score(X_test), cov.score(X_test),\n"
        "      kde.score(X_test), PCA(2).fit(X_train).score(X_test), grid.score(X_test, y_test),\n"
        "      clf.score(X_test, y_test))\n"
    )
    assert run_cell(shell, cell).success
    ns = shell.user_ns
    X_test, y_test = ns["X_test"], ns["y_test"]
    from sklearn.decomposition import PCA

    assert last_run().metrics == {
        "neg_inertia_X_test": ns["pipe"].score(X_test),  # the last of two
        "mean_log_likelihood_X_test": PCA(2).fit(ns["X_train"]).score(X_test),
        "log_likelihood_X_test": ns["kde"].score(X_test),
        "EmpiricalCovariance_score_X_test": ns["cov"].score(X_test),
        "f1_macro_X_test": ns["grid"].score(X_test, y_test),
        "score_X_test": ns["clf"].score(X_test, y_test),
        "grid.best_score_": ns["grid"].best_score_,
    }
    run = last_run()
    assert history(run, "neg_inertia_X_test") == [
        ns["km"].score(X_test),
        ns["pipe"].score(X_test),
    ]
    assert history(run, "mean_log_likelihood_X_test")[0] == ns["gm"].score(X_test)


# Run in a fresh interpreter, where scikit-learn is not imported yet: a tracked cell imports
# it, and an audit hook looks at the stack each time one of its modules starts to run.
FRESH_IMPORT = """
import importlib.machinery, json, sys

seen = {"modules": 0, "tracker_frames": []}

def look(event, args):
    if event != "exec" or not getattr(args[0], "co_filename", "").endswith(
        ("sklearn/base.py", "sklearn/metrics/__init__.py")
    ):
        return
    seen["modules"] += 1
    frame = sys._getframe(1)
    while frame is not None:
        if "jupyter_xtrack" in frame.f_code.co_filename:
            seen["tracker_frames"].append(frame.f_code.co_name)
        frame = frame.f_back

sys.addaudithook(look)
from jupyter_xtrack.capture.metric_calls import MetricCalls

cell = (
    "from sklearn.metrics import accuracy_score\\n"
    "from sklearn.base import ClassifierMixin\\n"
    "wrapped = [hasattr(f, '__xtrack_original__') for f in (accuracy_score, ClassifierMixin.score)]\\n"
    "acc = accuracy_score([1, 0, 1, 1], [1, 0, 0, 1])\\n"
)
ns = {}
calls = MetricCalls(ns, [cell])
calls.start()
exec(compile(cell, "<cell>", "exec"), ns)
calls.stop()
import sklearn.base, sklearn.metrics
seen["wrapped"] = ns["wrapped"]
seen["observed"] = [list(p) for c in calls.calls for p in c.points]
seen["problems"] = calls.problems
seen["specs"] = [
    type(m.__spec__) is importlib.machinery.ModuleSpec for m in (sklearn.base, sklearn.metrics)
]
seen["unwrapped_after"] = not hasattr(sklearn.metrics.accuracy_score, "__xtrack_original__")
print(json.dumps(seen))
"""


def test_a_module_imported_during_the_cell_is_wrapped_with_no_tracker_frame_under_it() -> None:
    """scikit-learn imported inside a tracked cell is wrapped as it loads, and none of the
    tracker's frames is on the stack while its modules run: one frame more under
    `sklearn.base` (which imports most of scikit-learn, scipy and pandas) made Python 3.11
    allocate and free its frame-stack chunks 6,400 times more in the gallery's first cell."""
    import json
    import os
    import subprocess
    import sys

    env = {**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)}
    out = subprocess.run(
        [sys.executable, "-c", FRESH_IMPORT], capture_output=True, text=True, check=True, env=env
    )
    seen = json.loads(out.stdout.strip().splitlines()[-1])
    assert seen["modules"] == 2  # both modules ran in this process, under the hook
    assert seen["tracker_frames"] == []
    assert seen["wrapped"] == [True, True]
    assert seen["observed"] == [["accuracy_score", 0, 0.75]]
    assert seen["problems"] == []
    assert seen["specs"] == [True, True]  # given back their own class once they had run
    assert seen["unwrapped_after"]
