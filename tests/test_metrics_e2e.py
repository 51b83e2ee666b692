"""The scores a gallery-style notebook shows are the run's metrics, under readable names, in a
real kernel (nbclient): printed scores, a loop over classifiers, cross_val_score, a grid
search, clustering scores, an Optuna study and an array filled in a loop."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from nbclient import NotebookClient

from jupyter_xtrack.store import open_store
from tests.conftest import python_notebook

pytestmark = pytest.mark.slow

CELLS = [
    "%load_ext jupyter_xtrack",
    """%%track
import json
import numpy as np
from sklearn import metrics
from sklearn.cluster import KMeans
from sklearn.datasets import load_diabetes, load_iris, make_blobs
from sklearn.linear_model import LinearRegression, LogisticRegression
from sklearn.model_selection import GridSearchCV, cross_val_score, train_test_split
from sklearn.tree import DecisionTreeClassifier
X, y = load_iris(return_X_y=True)
X_train, X_test, y_train, y_test = train_test_split(X, y, random_state=0)""",
    """%%track
shown = {}
for name, clf in [("tree", DecisionTreeClassifier(random_state=0)), ("logreg", LogisticRegression(max_iter=500))]:
    clf.fit(X_train, y_train)
    s = clf.score(X_test, y_test)
    print(f"{name}: {s!r}")
    shown.setdefault("score", []).append(s)
y_pred = clf.predict(X_test)
a = metrics.accuracy_score(y_test, y_pred)
print(f"accuracy {a:.3f}")
print(metrics.f1_score(y_test, clf.predict(X_test), average="macro"))
print(json.dumps({"accuracy": a, **shown}))""",
    """%%track
scores = cross_val_score(LogisticRegression(max_iter=500), X, y, cv=4)
print(f"{scores.mean():.2f} accuracy with a standard deviation of {scores.std():.2f}")""",
    """%%track --search-top 2
grid_search = GridSearchCV(LogisticRegression(max_iter=500), {"C": [0.1, 1.0, 10.0]}, cv=3)
grid_search.fit(X_train, y_train)
grid_search.best_params_""",
    """%%track
Xb, labels_true = make_blobs(n_samples=200, centers=3, random_state=0)
km = KMeans(n_clusters=3, n_init=3, random_state=0)
labels = km.fit_predict(Xb)
print("Silhouette:", metrics.silhouette_score(Xb, labels))
print("ARI:", metrics.adjusted_rand_score(labels_true, labels))
print("inertia:", -km.score(Xb))""",
    """%%track
Xd, yd = load_diabetes(return_X_y=True)
reg = LinearRegression().fit(Xd[:300], yd[:300])
test_score = np.zeros(3)
for i, n in enumerate((100, 120, 142)):
    test_score[i] = metrics.mean_squared_error(yd[300:300 + n], reg.predict(Xd[300:300 + n]))""",
    """%%track
import optuna
optuna.logging.set_verbosity(optuna.logging.WARNING)
study = optuna.create_study(sampler=optuna.samplers.TPESampler(seed=0))
study.optimize(lambda t: (t.suggest_float("x", -2, 2) - 1) ** 2, n_trials=6)""",
    # untracked: what the test compares with
    """print(json.dumps({"value": study.best_value, "x": study.best_params["x"], "scores": scores.tolist(),
                  "test_score": test_score.tolist(), "best_score": grid_search.best_score_,
                  "C": grid_search.best_params_["C"], "sil": metrics.silhouette_score(Xb, labels),
                  "ari": metrics.adjusted_rand_score(labels_true, labels), "km": km.score(Xb),
                  "f1": metrics.f1_score(y_test, clf.predict(X_test), average="macro")}))""",
]


def test_gallery_style_notebook_records_the_scores_it_shows(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    store_dir = tmp_path / "store"
    monkeypatch.setenv("XTRACK_STORE", str(store_dir))
    nb = python_notebook(*CELLS)
    NotebookClient(
        nb, timeout=300, kernel_name="python3", resources={"metadata": {"path": str(tmp_path)}}
    ).execute()

    def printed(i: int) -> dict:
        text = "".join(o.get("text", "") for o in nb.cells[i].outputs)
        return json.loads(text.strip().splitlines()[-1])

    first, last = printed(2), printed(8)
    store = open_store(store_dir)
    table = store.query_runs(order_by="number")
    runs = [
        rid
        for rid, parent in zip(table.columns["id"], table.columns["parent_id"], strict=True)
        if parent is None
    ]
    assert len(runs) == 7  # one per tracked cell; the grid's candidates are children

    def metrics(i: int) -> dict[str, list[float]]:
        rid = runs[i - 1]
        return {k: store.metric_history(rid, k)["value"] for k in store.metric_keys(rid)}

    assert metrics(1) == {}
    assert metrics(2) == {
        "score_X_test": first["score"],
        "accuracy_score_X_test": [first["accuracy"]],
        "f1_score_X_test": [last["f1"]],  # clf.predict(X_test) written inside the call
    }
    cv = metrics(3)
    assert cv["scores"] == last["scores"] and set(cv) == {"scores", "scores_mean", "scores_std"}
    assert cv["scores_mean"] == [pytest.approx(sum(last["scores"]) / 4)]
    grid = store.get_run(runs[3])
    assert metrics(4) == {"grid_search.best_score_": [last["best_score"]]}  # no C=, gamma=
    assert grid["params"]["grid_search.best_params_.C"] == last["C"]
    assert len(store.query_runs(f"parent_id = '{runs[3]}'").columns["id"]) == 2  # --search-top
    assert metrics(5) == {
        "silhouette_score_Xb": [last["sil"]],
        "adjusted_rand_score_Xb": [last["ari"]],
        "neg_inertia_Xb": [last["km"]],  # KMeans.score is -inertia, not an accuracy
    }  # labels came from Xb
    assert metrics(6) == {"test_score": last["test_score"]}
    assert metrics(7) == {"study.best_value": [last["value"]]}
    assert store.get_run(runs[6])["params"]["study.best_params.x"] == last["x"]
