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
    DEFAULT_PARAM_MAX_CHARS,
    METRIC_NAME_PATTERN,
    analyze_cell,
    cell_params,
    estimator_params,
    is_plot_setting,
    jsonable,
    metric_like,
    metrics_from_namespace,
    normalise_repr,
    param_char_cap,
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
    assert isinstance(big, str) and flagged and big.startswith("<float64 array (5000,) xxh3:")
    json.dumps(jsonable({"t": Thing(), "x": [np.int8(1)]})[0])


def test_estimator_params_non_default_only() -> None:
    from sklearn.linear_model import LogisticRegression

    assert estimator_params("m", LogisticRegression()) == {}
    assert estimator_params("m", LogisticRegression(C=2.0, max_iter=500, class_weight={0: 1})) == {
        "m.C": 2.0,
        "m.class_weight": {0: 1},  # as the estimator holds it: log_params converts
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


# -- params that a loop changes -------------------------------------------------------------
GALLERY_LOOP = """
from sklearn.linear_model import LogisticRegression
Cs = [1, 10]
for i, (C, axes_row) in enumerate(zip((1, 0.1, 0.01), axes)):
    clf_l1_LR = LogisticRegression(C=C, penalty="l1", solver="saga").fit(X, y)
    clf_l2_LR = LogisticRegression(C=1 / C, max_iter=500)
for seed in Cs:
    pass
"""


def test_a_for_over_written_values_records_every_value() -> None:
    out = analyze_cell(GALLERY_LOOP)
    assert out["literal_params"] == {"Cs": [1, 10]}
    assert out["loop_params"] == {"C": {"values": [1, 0.1, 0.01]}, "seed": {"values": [1, 10]},
                                  "axes_row": {"iterates": "axes"}}
    assert out["loop_settings"] == {"clf_l1_LR.C": "C", "clf_l2_LR.C": None}
    json.dumps(out)


@pytest.mark.parametrize(
    ("source", "loop_params"),
    [
        # a literal param a loop rebinds otherwise is varying, never its first or last value
        ("lr = 0.1\nfor epoch in range(3):\n    lr = lr * 0.9", {"lr": {"varies": True}}),
        ("n = 3\nfor n in range(5):\n    pass", {"n": {"varies": True}}),
        # destructured literals, sets, nested loops (each value once)
        ("for name, k in [('a', 1), ('b', 2)]:\n    pass",
         {"name": {"values": ["a", "b"]}, "k": {"values": [1, 2]}}),
        ("for d in {3, 1}:\n    for e in (True,):\n        pass",
         {"d": {"values": [1, 3]}, "e": {"values": [True]}}),
        # two loops over written values: all of them, in order
        ("for g in [1]:\n    pass\nfor g in [2, 3]:\n    pass", {"g": {"values": [1, 2, 3]}}),
        # a break may skip values; a string iterates characters; a call is not written values
        ("for b in [1, 2]:\n    if b:\n        break", {}),
        ("for ch in 'abc':\n    pass", {}),
        ("for x in make():\n    pass", {}),
        # a name rebound after the loop is not what the loop iterated over
        ("for a in grid:\n    pass\ngrid = 3", {}),
        ("if fast:\n    for w in [1, 2]:\n        pass", {"w": {"values": [1, 2]}}),
        # plot settings in loops are not params either
        ("for color in ['navy', 'red']:\n    pass\nfor c in ['navy', 'red']:\n    pass", {}),
    ],
)
def test_loop_params(source: str, loop_params: dict) -> None:
    import matplotlib.colors  # noqa: F401 - colour names are read once a cell plots

    out = analyze_cell(source)
    assert out["loop_params"] == loop_params
    assert not set(loop_params) & set(out["literal_params"])


@pytest.mark.parametrize(
    ("source", "settings", "objects"),
    [
        ("for a in A:\n    m = Ridge(alpha=a, fit_intercept=False)", {"m.alpha": "a"}, ["a"]),
        ("for a in A:\n    m.set_params(alpha=a)\n    m.tol = a / 2",
         {"m.alpha": "a", "m.tol": None}, ["a"]),
        ("for a in A:\n    p = pipe.set_params(svc__C=a)", {"pipe.svc__C": "a", "p.svc__C": "a"},
         ["a"]),
        ("for g in G:\n    m.set_params(**g)", {}, ["g", "m"]),
        ("for a in A:\n    p = make_pipeline(Scaler(), SVC(C=a))", {}, ["a", "p"]),
        ("for i in range(3):\n    clf = models[i]", {}, ["clf", "i"]),
        ("for name, clf in models.items():\n    clf.fit(X, y)", {}, ["clf", "name"]),
    ],
)
def test_loop_settings_and_objects(source: str, settings: dict, objects: list) -> None:
    out = analyze_cell(source)
    assert (out["loop_settings"], out["loop_objects"]) == (settings, objects)


def test_cell_params_gives_estimators_fed_by_a_loop_every_value() -> None:
    from sklearn.linear_model import LogisticRegression

    source = (
        "for C in (1.0, 0.1, 0.01):\n"
        "    clf = LogisticRegression(C=C, penalty='l1', solver='saga')\n"
        "    other = LogisticRegression(C=2 * C)\n"
        "for a in alphas:\n"
        "    ridge.set_params(tol=a)\n"
    )
    from sklearn.linear_model import Ridge

    ns = {"clf": LogisticRegression(C=0.01, penalty="l1", solver="saga"),
          "other": LogisticRegression(C=0.02), "C": 0.01, "alphas": np.array([1e-3, 1e-2]),
          "ridge": Ridge(tol=1e-3), "a": 1e-2}
    params, varying = cell_params(analyze_cell(source), ns)
    assert params["C"] == [1.0, 0.1, 0.01] and varying["C"] == "values"
    assert params["clf.C"] == [1.0, 0.1, 0.01] and varying["clf.C"] == "values"
    assert params["clf.penalty"] == "l1" and "clf.penalty" not in varying  # the same each time
    assert params["other.C"] == 0.02 and varying["other.C"] == "varies"
    # read off the array the loop iterated over, for the setting and the name that feeds it
    assert params["ridge.tol"] == [1e-3, 1e-2] and varying["ridge.tol"] == "values"
    assert params["a"] == [1e-3, 1e-2] and "alphas" not in params


def test_cell_params_a_name_iterating_a_variable_is_a_param_only_when_it_feeds_one() -> None:
    ns = {"idx": [0, 1, 2], "objs": [object()], "i": 2}
    source = "for i in idx:\n    pass\nfor o in objs:\n    m = Ridge(alpha=o)"
    params, varying = cell_params(analyze_cell(source), ns)
    assert params == {} and varying == {}  # `o` feeds m, but its values are no plain values


def test_cell_params_a_fed_setting_that_ends_on_its_default_is_kept() -> None:
    from sklearn.linear_model import LogisticRegression

    source = "for C in [0.5, 1.0]:\n    clf = LogisticRegression(C=C)"
    params, varying = cell_params(analyze_cell(source), {"clf": LogisticRegression(C=1.0)})
    assert params["clf.C"] == [0.5, 1.0] and varying == {"C": "values", "clf.C": "values"}


def test_cell_params_an_object_a_loop_rebinds_varies_wholesale() -> None:
    from sklearn.svm import SVC

    source = "for name, clf in models.items():\n    clf.fit(X, y)\nn = 3"
    params, varying = cell_params(analyze_cell(source), {"clf": SVC(C=3.0), "n": 3})
    assert params == {"n": 3, "clf.C": 3.0} and varying == {"clf.C": "varies"}


def test_cell_params_excludes_names_and_takes_the_end_value_of_a_varying_one() -> None:
    source = "best_acc = 0\nlr = 0.1\nfor e in range(3):\n    lr = lr / 2\n    best_acc = e"
    ns = {"best_acc": 2, "lr": 0.0125}
    params, varying = cell_params(analyze_cell(source), ns, exclude=metric_like)
    assert params == {"lr": 0.0125} and varying == {"lr": "varies"}


# -- what is not a param ---------------------------------------------------------------------
def test_empty_containers_and_plot_settings_are_not_params() -> None:
    import matplotlib.colors  # noqa: F401 - a cell that plots has it imported

    source = (
        "clfs = []\ny_true = []\nopts = {}\ncolors = 'byr'\nplot_colors = 'ryb'\n"
        "markers = ['o', 's']\nfigsize = (8, 6)\nlw = 2\ncmap_light = 'viridis'\n"
        "target_palette = ['navy', 'turquoise', 'darkorange']\nedge = '#1f77b4'\n"
        "plot_step = 0.02\n"
        # params that stay: alpha is a regularisation strength, 'none' and 'r' are settings too
        "alpha = 0.5\npenalty = 'none'\nmode = 'r'\nkernel = 'linear'\nempty = ''\nzero = 0\n"
    )
    out = analyze_cell(source)
    assert out["literal_params"] == {"alpha": 0.5, "penalty": "none", "mode": "r",
                                     "kernel": "linear", "empty": "", "zero": 0}


@pytest.mark.parametrize(
    ("name", "value", "expected"),
    [
        ("colors", None, True), ("plot_colors", "ryb", True), ("CMAP", None, True),
        ("alpha", 0.5, False), ("c", "navy", True), ("c", ["r", "b"], True),
        ("c", "r", False), ("grey", "0.5", False), ("grey", ["0.5", "0.2"], True),
        ("colorless_value", None, False), ("kernel", "rbf", False), ("labels", ["a", "b"], False),
        ("hex", "#abc", True), ("x", [], False),
    ],
)
def test_is_plot_setting(name: str, value: object, expected: bool) -> None:
    import matplotlib.colors  # noqa: F401

    assert is_plot_setting(name, value) is expected


def test_colour_values_without_matplotlib_use_unambiguous_forms_only() -> None:
    code = (
        "import sys\nfrom jupyter_xtrack.capture.params import is_plot_setting as p\n"
        "print(p('a', 'navy'), p('a', '#1f77b4'), p('a', ['tab:blue', 'xkcd:sky']),"
        " 'matplotlib' in sys.modules)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.split() == ["False", "True", "True", "False"]


# -- long values, memory addresses, flags -----------------------------------------------------
def test_values_over_the_cap_are_stored_by_digest_with_a_preview() -> None:
    init = np.random.default_rng(0).random((30, 40))  # 1200 items: by its bytes
    stored, flagged = jsonable(init)
    assert flagged and stored.startswith("<float64 array (30, 40) xxh3:") and len(stored) < 256
    assert jsonable(init.copy())[0] == stored  # equal values, equal digests
    changed = init.copy()
    changed[29, 39] += 1e-9
    assert jsonable(changed)[0] != stored  # the digest sees what a summary repr would not
    small = np.arange(300).reshape(30, 10)  # converted to a list, then too long as JSON
    text = json.dumps(small.tolist())
    stored, flagged = jsonable(small)
    assert flagged and stored.startswith(f"<{len(text)} chars xxh3:") and "[[0, 1, 2," in stored
    assert jsonable("x" * DEFAULT_PARAM_MAX_CHARS) == ("x" * DEFAULT_PARAM_MAX_CHARS, False)
    assert jsonable("x" * 300, cap=400) == ("x" * 300, False)
    assert jsonable(list(range(10)), cap=16)[0].startswith("<30 chars xxh3:")


def test_a_digest_preview_never_shows_a_secret() -> None:
    token = "ghp_" + "A1b2C3d4E5f6G7h8I9j0K1l2M3n4O5p6Q7r8"
    stored, _ = jsonable(token + " " + "padding " * 60)
    assert token not in stored and token[:12] not in stored


def test_param_char_cap_is_configurable(monkeypatch: pytest.MonkeyPatch) -> None:
    assert param_char_cap({}) == DEFAULT_PARAM_MAX_CHARS
    assert param_char_cap({"XTRACK_PARAM_MAX_CHARS": "1000"}) == 1000
    for bad in ("abc", "3", "-1"):
        with pytest.raises(ValueError, match="XTRACK_PARAM_MAX_CHARS"):
            param_char_cap({"XTRACK_PARAM_MAX_CHARS": bad})
    monkeypatch.setenv("XTRACK_PARAM_MAX_CHARS", "1000")
    assert jsonable("y" * 900) == ("y" * 900, False)
    monkeypatch.setenv("XTRACK_PARAM_MAX_CHARS", "nonsense")  # the default, never an error here
    assert jsonable("y" * 900)[1] is True


def test_reprs_lose_their_memory_addresses() -> None:
    def refit_strategy(cv_results: object) -> int:
        return 0

    stored, flagged = jsonable(refit_strategy)
    assert flagged and stored.endswith("refit_strategy at 0x…>")
    assert jsonable(np.random.RandomState(0)) == ("RandomState(MT19937) at 0x…", True)
    assert jsonable(np.random.default_rng(1))[0] == jsonable(np.random.default_rng(2))[0]
    assert normalise_repr("<X id=0x7ffde4a0 at 0x10>") == "<X id=0x… at 0x10>"
    assert normalise_repr("0xff mask") == "0xff mask"  # a short hex number is data


def test_estimator_params_keep_non_json_values_for_log_params_to_flag() -> None:
    from sklearn.model_selection import GridSearchCV
    from sklearn.svm import SVC

    def refit_strategy(cv_results: object) -> int:
        return 0

    out = estimator_params("g", GridSearchCV(SVC(), {"C": [1, 10]}, refit=refit_strategy))
    assert out["g.refit"] is refit_strategy and out["g.estimator"] == "SVC"


def test_jsonable_while_another_thread_is_still_importing_numpy(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    import types

    # what a kernel's background import leaves in sys.modules for a moment: a bare module
    monkeypatch.setitem(sys.modules, "numpy", types.ModuleType("numpy"))
    assert jsonable(0.1) == (0.1, False) and jsonable([1, "a"]) == ([1, "a"], False)
    assert jsonable(object())[1] is True
