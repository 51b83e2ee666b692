"""analyze_cell, metric names, metrics, estimator parameters, jsonable."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from jupyter_xtrack.capture.params import (
    METRIC_NAME_PATTERN,
    analyze_cell,
    estimator_params,
    jsonable,
    metric_like,
    metrics_from_namespace,
    result_metrics,
)

LITERALS = [
    ("lr = 0.1", {"lr": 0.1}),
    ("n = -3\nm = +2\nf = -1.5e-3", {"n": -3, "m": 2, "f": -1.5e-3}),
    ("name = 'resnet'\nflag = True\nnothing = None", {"name": "resnet", "flag": True, "nothing": None}),
    ("sizes = (32, 64)\nlayers = [1, [2, -3]]", {"sizes": [32, 64], "layers": [1, [2, -3]]}),
    ("cfg = {'depth': 4, 1: 'one'}", {"cfg": {"depth": 4, "1": "one"}}),
    ("tags = {'b', 'a'}", {"tags": ["a", "b"]}),
    ("a = b = 1", {"a": 1, "b": 1}),
    ("x, y = 1, 'two'", {"x": 1, "y": "two"}),
    ("[p, q] = [True, None]", {"p": True, "q": None}),
    ("epochs: int = 10", {"epochs": 10}),
    ("lr = 0.1\nlr = 0.2", {"lr": 0.2}),
    # not literals: calls, names, arithmetic, bytes, complex, starred, conditional
    ("n = len(x)\nm = other\nk = 2 * 3\nb = b'x'\nc = 1j\nd = {**e}", {}),
    ("a, *b = 1, 2, 3", {}),
    ("if fast:\n    lr = 1.0", {}),
    ("obj.attr = 1\nd['k'] = 2", {}),
]


@pytest.mark.parametrize(("source", "expected"), LITERALS)
def test_literal_params(source: str, expected: dict) -> None:
    out = analyze_cell(source)
    assert out["literal_params"] == expected
    json.dumps(out)  # everything JSON-able


def test_assigned_and_referenced_names() -> None:
    source = """
lr = 0.1
epochs: int = 10
total += 1
for epoch, batch in enumerate(loader):
    loss = step(lr)
    if loss < best:
        best_loss = loss
with open(path) as fh:
    pass
try:
    pass
except ValueError as err:
    pass
if (k := 5) > k - 2:
    pass
def train(q):
    inner = q
class Model:
    attr = 1
squares = [i * i for i in range(3)]
"""
    out = analyze_cell(source)
    assert out["assigned_names"] == [
        "lr", "epochs", "total", "epoch", "batch", "loss", "best_loss", "fh", "err", "k", "squares"
    ]
    assert out["referenced_names"] == [
        "int", "total", "enumerate", "loader", "step", "lr", "loss", "best", "open", "path",
        "ValueError", "k", "q", "i", "range",
    ]
    assert "error" not in out


@pytest.mark.parametrize(
    ("source", "calls_log", "last_expr"),
    [
        ("xt.log(acc=1)", True, True),
        ("log(loss=l)", True, True),
        ("run.log_metrics({'a': 1})\nx = 1", True, False),
        ("math.log(3)\n", False, True),
        ("df.head();", False, False),
        ("df.head() ; # quiet", False, False),
        ("s = 'a;'\ns  # shows", False, True),
        ("print('é'); x", False, True),
        ("", False, False),
    ],
)
def test_calls_log_and_last_expr(source: str, calls_log: bool, last_expr: bool) -> None:
    out = analyze_cell(source)
    assert (out["calls_log"], out["last_expr"]) == (calls_log, last_expr)


def test_syntax_error_is_data_not_an_exception() -> None:
    out = analyze_cell("x = (1,\n")
    assert out["error"].startswith("SyntaxError") and "line 1" in out["error"]
    assert out["literal_params"] == {} and out["assigned_names"] == []
    assert "error" in analyze_cell("x = 'nul\x00'")


METRIC_YES = (
    "acc accuracy val_acc test_loss train_rmse loss f1 f1_score f1_score_macro roc_auc auc r2 "
    "r2_score error_rate err ndcg_at_10 valAcc testLoss best_val_loss mse map map50 acc5 top1 "
    "top5_acc logloss log_loss perplexity bleu rouge iou mean_iou score precision recall mape "
    "mae LOSS VAL_ACC loss_ acc_val loss_mean"
).split()
METRIC_NO = (
    "accumulate lossy_data LOSSY_DATA loss_fn loss_weight score_threshold accuracy_threshold "
    "learning_rate n_errors errors losses scores max_depth stderr mapping approx batch_size "
    "n_estimators model auction recall_fn"
).split()


@pytest.mark.parametrize("name", METRIC_YES)
def test_metric_like_positives(name: str) -> None:
    assert metric_like(name), name


@pytest.mark.parametrize("name", METRIC_NO)
def test_metric_like_negatives(name: str) -> None:
    assert not metric_like(name), name


def test_metric_pattern_is_configurable() -> None:
    assert isinstance(METRIC_NAME_PATTERN, str) and re.compile(METRIC_NAME_PATTERN)
    assert metric_like("Throughput", r"^throughput$")  # str patterns ignore case
    assert not metric_like("val_acc", r"^throughput$")
    assert not metric_like("Throughput", re.compile(r"^throughput$"))  # compiled: as given


def test_metrics_from_namespace_takes_real_numbers_only() -> None:
    torch = pytest.importorskip("torch")
    ns = {
        "val_acc": np.float32(0.5),
        "loss": torch.tensor(0.25),
        "test_rmse": 3,
        "auc": float("nan"),
        "lr": 0.1,  # not metric-like
        "flag_acc": True,  # bool is not a metric
        "vec_loss": torch.ones(3),  # not a scalar
        "name_score": "high",
        "arr_loss": np.array(1.5),
    }
    out = metrics_from_namespace([*ns, "missing_acc"], ns)
    assert set(out) == {"val_acc", "loss", "test_rmse", "auc", "arr_loss"}
    assert out["val_acc"] == 0.5 and out["loss"] == 0.25 and out["test_rmse"] == 3.0
    assert all(type(v) is float for v in out.values())
    assert metrics_from_namespace(list(ns), ns, pattern=r"^lr$") == {"lr": 0.1}


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (0.93, {"result": 0.93}),
        (np.int64(3), {"result": 3.0}),
        (True, {}),
        ("text", {}),
        (None, {}),
        ({"acc": 0.9, "model": "x", "f1": np.float64(0.5)}, {"acc": 0.9, "f1": 0.5}),
        (
            {"0": {"precision": 1.0}, "macro avg": {"f1-score": 0.5, "support": 10}},
            {"0.precision": 1.0, "macro avg.f1-score": 0.5},  # support: a count, not a score
        ),
    ],
)
def test_result_metrics(value, expected) -> None:
    assert result_metrics(value) == expected


def test_jsonable() -> None:
    class Thing:
        def __repr__(self) -> str:
            return "Thing()"

    assert jsonable(1) == (1, False) and jsonable("s") == ("s", False)
    v, replaced = jsonable({"a": np.float32(1.5), 2: (1, {3}), "p": Path("/x"), "n": None})
    assert v == {"a": 1.5, "2": [1, [3]], "p": "/x", "n": None} and replaced is False
    assert type(jsonable(np.float64(0.5))[0]) is float
    assert jsonable([1, Thing()]) == ([1, "Thing()"], True)
    nan, flagged = jsonable(float("nan"))
    assert nan != nan and flagged is False
    assert jsonable(np.arange(3)) == ([0, 1, 2], False)
    big, flagged = jsonable(np.zeros(5000))
    assert isinstance(big, str) and flagged and len(big) <= 1000
    json.dumps(jsonable({"t": Thing(), "x": [np.int8(1)]})[0])


def test_estimator_params_non_default_only() -> None:
    from sklearn.linear_model import LogisticRegression

    assert estimator_params("m", LogisticRegression()) == {}
    assert estimator_params("m", LogisticRegression(C=2.0, max_iter=500, class_weight={0: 1})) == {
        "m.C": 2.0,
        "m.class_weight": {"0": 1},
        "m.max_iter": 500,
    }


def test_estimator_params_pipeline_and_meta_estimators() -> None:
    from sklearn.ensemble import RandomForestClassifier
    from sklearn.linear_model import LogisticRegression
    from sklearn.model_selection import GridSearchCV
    from sklearn.pipeline import Pipeline
    from sklearn.preprocessing import StandardScaler

    pipe = Pipeline([("scale", StandardScaler(with_mean=False)), ("clf", LogisticRegression(C=0.5))])
    assert estimator_params("p", pipe) == {
        "p.steps": [["scale", "StandardScaler"], ["clf", "LogisticRegression"]],
        "p.scale__with_mean": False,
        "p.clf__C": 0.5,
    }
    search = GridSearchCV(RandomForestClassifier(n_estimators=50), {"max_depth": [2, 4]}, cv=3)
    out = estimator_params("g", search)
    assert out["g.estimator"] == "RandomForestClassifier"
    assert out["g.estimator__n_estimators"] == 50 and out["g.cv"] == 3
    assert out["g.param_grid"] == {"max_depth": [2, 4]}
    json.dumps(out)


@pytest.mark.parametrize("obj", [3, "x", None, object(), np.arange(3)])
def test_estimator_params_of_other_objects(obj) -> None:
    import sklearn.base  # noqa: F401

    assert estimator_params("x", obj) == {}


def test_estimator_params_never_imports_sklearn() -> None:
    code = (
        "import sys\nfrom jupyter_xtrack.capture.params import estimator_params\n"
        "print(estimator_params('x', object()), 'sklearn' in sys.modules)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "{} False"
