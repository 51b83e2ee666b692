"""`xt.evaluate` on real scikit-learn models, checked against scikit-learn's own metric
functions, recorded in a real store through the session's InteractiveShell."""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
import pytest
from sklearn import metrics as skm
from sklearn.linear_model import LinearRegression, LogisticRegression
from sklearn.svm import LinearSVC

import jupyter_xtrack as xt
from jupyter_xtrack.evaluation.curves import MAX_POINTS
from jupyter_xtrack.evaluation.slices import MIN_COUNT
from tests.conftest import run_cell

PNG = b"\x89PNG\r\n\x1a\n"
CLASSIFIER_PLOTS = {
    "confusion_matrix.png",
    "roc_curve_plot.png",
    "precision_recall_curve_plot.png",
    "calibration_curve_plot.png",
    "per_class_metrics.csv",
}


def _pr_auc(truth: Any, score: Any) -> float:
    precision, recall, _ = skm.precision_recall_curve(truth, score)
    return float(skm.auc(recall, precision))


def _evaluate_in_tracked_cell(shell: Any, call: str, **names: Any) -> xt.Run:
    shell.user_ns.update(names)
    run_cell(shell, f"%%track --name ev\nev = {call}")
    return xt.get_run(shell.user_ns["ev"].run_id)


def test_binary_with_string_labels_scores_the_positive_class(
    shell: Any, binary_yes_no: Any
) -> None:
    clf, X, y = binary_yes_no
    run = _evaluate_in_tracked_cell(
        shell, "xt.evaluate(clf, X_test, y_test, pos_label='yes')", clf=clf, X_test=X, y_test=y
    )
    proba = clf.predict_proba(X)[:, 1]  # classes_ == ["no", "yes"]
    pred = clf.predict(X)
    expected = {
        "accuracy_score": skm.accuracy_score(y, pred),
        "balanced_accuracy": skm.balanced_accuracy_score(y, pred),
        "precision_score": skm.precision_score(y, pred, pos_label="yes"),
        "recall_score": skm.recall_score(y, pred, pos_label="yes"),
        "f1_score": skm.f1_score(y, pred, pos_label="yes"),
        "roc_auc": skm.roc_auc_score(y == "yes", proba),
        "precision_recall_auc": _pr_auc(y == "yes", proba),
        "log_loss": skm.log_loss(y, clf.predict_proba(X)),
        "brier_score_loss": skm.brier_score_loss(y == "yes", proba),
    }
    assert run.name == "ev"  # recorded on the cell's own run
    for key, value in expected.items():
        assert run.metrics[key] == pytest.approx(value), key
    report = run.fact("evaluation")
    assert report["pos_label"] == "yes" and report["data"] == "X_test" and report["n"] == 300
    assert report["metrics"]["roc_auc"] == pytest.approx(expected["roc_auc"])
    per = skm.precision_recall_fscore_support(y, pred, labels=["no", "yes"])
    assert report["per_class"]["no"]["recall"] == pytest.approx(per[1][0])
    assert run.metrics["precision_no"] == pytest.approx(per[0][0])
    assert report["confusion"] == {
        "labels": ["no", "yes"],
        "matrix": skm.confusion_matrix(y, pred).tolist(),
    }
    roc = report["curves"]["roc"]
    assert [c["label"] for c in roc] == ["yes"] and len(roc[0]["x"]) <= MAX_POINTS
    assert roc[0]["area"] == pytest.approx(expected["roc_auc"])
    names = {a["name"] for a in run.artifacts}
    assert CLASSIFIER_PLOTS <= names
    assert run.artifact_bytes("roc_curve_plot.png").startswith(PNG)
    assert run.artifact_bytes("per_class_metrics.csv").decode().startswith("positive_class,")
    assert set(report["artifacts"].values()) == CLASSIFIER_PLOTS


def test_the_other_positive_label_gives_the_other_class_scores(
    shell: Any, binary_yes_no: Any
) -> None:
    clf, X, y = binary_yes_no
    ev = xt.evaluate(clf, X, y, pos_label="no", importance=False)
    proba_no = clf.predict_proba(X)[:, 0]
    assert ev.metrics["precision_score"] == pytest.approx(
        skm.precision_score(y, clf.predict(X), pos_label="no")
    )
    assert ev.metrics["brier_score_loss"] == pytest.approx(
        skm.brier_score_loss(y == "no", proba_no)
    )
    assert ev.metrics["precision_recall_auc"] == pytest.approx(_pr_auc(y == "no", proba_no))
    assert ev.report["curves"]["roc"][0]["label"] == "no"
    with pytest.raises(ValueError, match="pos_label='maybe' is not one of"):
        xt.evaluate(clf, X, y, pos_label="maybe")


def test_labels_0_and_2_default_to_classes_1(shell: Any) -> None:
    rng = np.random.default_rng(1)
    X = rng.normal(size=(240, 3))
    y = np.where(X[:, 0] + rng.normal(scale=0.8, size=240) > 0, 0, 2)  # 0 is the common "yes"
    clf = LogisticRegression().fit(X, y)
    default = xt.evaluate(clf, X, y, importance=False)
    assert default.report["pos_label"] == "2"
    proba2 = clf.predict_proba(X)[:, 1]
    assert default.metrics["roc_auc"] == pytest.approx(skm.roc_auc_score(y == 2, proba2))
    assert default.metrics["recall_score"] == pytest.approx(
        skm.recall_score(y, clf.predict(X), pos_label=2)
    )
    zero = xt.evaluate(clf, X, y, pos_label=0, importance=False)
    assert zero.metrics["recall_score"] == pytest.approx(
        skm.recall_score(y, clf.predict(X), pos_label=0)
    )
    assert zero.metrics["brier_score_loss"] == pytest.approx(
        skm.brier_score_loss(y == 0, clf.predict_proba(X)[:, 0])
    )


def test_multiclass_one_vs_rest_per_class_and_macro(shell: Any) -> None:
    from sklearn.datasets import load_iris

    X, y = load_iris(return_X_y=True)
    clf = LogisticRegression(max_iter=200, C=0.05).fit(X, y)
    ev = xt.evaluate(clf, X, y, importance=False)
    pred, proba = clf.predict(X), clf.predict_proba(X)
    assert ev.report["pos_label"] is None and ev.report["labels"] == ["0", "1", "2"]
    assert ev.metrics["f1_score"] == pytest.approx(skm.f1_score(y, pred, average="macro"))
    assert ev.metrics["precision_score"] == pytest.approx(
        skm.precision_score(y, pred, average="macro")
    )
    assert ev.metrics["roc_auc"] == pytest.approx(
        skm.roc_auc_score(y, proba, multi_class="ovr", average="macro")
    )
    assert ev.metrics["log_loss"] == pytest.approx(skm.log_loss(y, proba))
    assert "brier_score_loss" not in ev.metrics
    roc = ev.report["curves"]["roc"]
    assert [c["label"] for c in roc] == ["0", "1", "2", "macro"]
    assert roc[1]["area"] == pytest.approx(skm.roc_auc_score(y == 1, proba[:, 1]))
    assert [c["label"] for c in ev.report["curves"]["pr"]][-1] == "macro"
    run = xt.get_run(ev.run_id)
    assert run.metrics["f1_2"] == pytest.approx(skm.f1_score(y, pred, average=None)[2])


def test_a_model_without_probabilities_uses_its_decision_function(shell: Any) -> None:
    rng = np.random.default_rng(2)
    X = rng.normal(size=(200, 4))
    y = np.where(X[:, 1] > 0, "b", "a")
    svc = LinearSVC().fit(X, y)
    ev = xt.evaluate(svc, X, y, importance=False)
    assert ev.metrics["roc_auc"] == pytest.approx(
        skm.roc_auc_score(y == "b", svc.decision_function(X))
    )
    assert "log_loss" not in ev.metrics and "calibration" not in ev.report["curves"]
    assert any("no probabilities" in n for n in ev.report["notes"])


def test_regressor(shell: Any) -> None:
    rng = np.random.default_rng(3)
    X = rng.normal(size=(500, 3))
    y = X @ [1.0, -2.0, 0.5] + 10 + rng.normal(scale=0.5, size=500)
    reg = LinearRegression().fit(X, y)
    ev = xt.evaluate(reg, X, y)
    p = reg.predict(X)
    expected = {
        "mean_absolute_error": skm.mean_absolute_error(y, p),
        "root_mean_squared_error": np.sqrt(skm.mean_squared_error(y, p)),
        "r2_score": skm.r2_score(y, p),
        "mean_absolute_percentage_error": skm.mean_absolute_percentage_error(y, p),
        "max_error": skm.max_error(y, p),
    }
    for key, value in expected.items():
        assert ev.metrics[key] == pytest.approx(value), key
    report = ev.report
    assert report["model_type"] == "regressor" and "per_class" not in report
    assert len(report["curves"]["residuals"][0]["x"]) == MAX_POINTS
    assert [i["feature"] for i in report["importance"]][0] == "x1"  # the -2.0 coefficient
    assert "repeat(s) on 500 of 500 rows" in report["importance_note"]
    run = xt.get_run(ev.run_id)
    assert run.name == "evaluate"  # no run active, none for this cell: a run of its own
    assert {a["name"] for a in run.artifacts} == {
        "residuals_plot.png",
        "predicted_vs_actual_plot.png",
    }
    assert run.artifact_bytes("predicted_vs_actual_plot.png").startswith(PNG)


def _country_data() -> tuple[pd.DataFrame, np.ndarray]:
    """Labels a model reads off x, except in country "fr", where they are noise; "lu" is tiny."""
    rng = np.random.default_rng(4)
    n = 600
    country = np.array(["de"] * 300 + ["fr"] * 290 + ["lu"] * 10)
    x = rng.normal(size=n)
    y = (x > 0).astype(int)
    noisy = country == "fr"
    y[noisy] = rng.integers(0, 2, noisy.sum())
    return pd.DataFrame({"x": x, "country": country}), y


def test_slices_flag_the_worse_slice_and_say_when_a_slice_is_too_small(shell: Any) -> None:
    frame, y = _country_data()
    clf = LogisticRegression().fit(frame[["x"]], y)
    model = _ColumnModel(clf, ["x"])
    band = pd.Series(np.where(frame["x"] > 1, "high", "low"), name="band")
    ev = xt.evaluate(model, frame, y, slices=["country", band])
    by = {(s["column"], s["value"]): s for s in ev.report["slices"]}
    assert {k for k in by} == {
        ("country", "de"),
        ("country", "fr"),
        ("country", "lu"),
        ("band", "high"),
        ("band", "low"),
    }
    fr, de = by[("country", "fr")], by[("country", "de")]
    mask = frame["country"].to_numpy() == "fr"
    assert fr["count"] == 290
    assert fr["metrics"]["accuracy_score"] == pytest.approx(
        skm.accuracy_score(y[mask], clf.predict(frame[["x"]])[mask])
    )
    assert "accuracy_score" in fr["worse"] and "log_loss" in fr["worse"]
    assert de["worse"] == []
    lu = by[("country", "lu")]
    assert lu["count"] == 10 and lu["metrics"] == {} and str(MIN_COUNT) in lu["note"]
    assert ("country", "fr", fr["worse"]) in ev.flagged
    # importance of a duck-typed model (scikit-learn's own wants a `fit`): only x matters
    assert ev.report["importance"][0]["feature"] == "x"
    assert {i["feature"] for i in ev.report["importance"]} == {"x", "country"}
    assert "slice country=fr worse on" in repr(ev)
    with pytest.raises(ValueError, match="not a column of X"):
        xt.evaluate(model, frame, y, slices=["city"])


class _ColumnModel:
    """A duck-typed model (not scikit-learn): predicts from some columns of a frame."""

    def __init__(self, clf: Any, columns: list[str]) -> None:
        self.clf, self.columns, self.classes_ = clf, columns, clf.classes_

    def predict(self, X: pd.DataFrame) -> Any:
        return self.clf.predict(X[self.columns])

    def predict_proba(self, X: pd.DataFrame) -> Any:
        return self.clf.predict_proba(X[self.columns])


def test_recorded_on_a_child_of_the_cells_last_run(shell: Any, binary_yes_no: Any) -> None:
    clf, X, y = binary_yes_no
    shell.user_ns.update(clf=clf, X=X, y=y)
    # one notebook cell ("c1") run tracked, then run again without %%track
    shell.run_cell("%%track --name fit\nfitted = True", store_history=True, cell_id="c1")
    xt.flush()
    tracked = xt.runs().iloc[0]["id"]
    shell.run_cell(
        "ev = xt.evaluate(clf, X, y, importance=False)", store_history=True, cell_id="c1"
    )
    xt.flush()
    child = xt.get_run(shell.user_ns["ev"].run_id)
    assert child.parent_id == tracked and child.name == "evaluate"
    assert child.fact("evaluation")["model"] == "LogisticRegression"
    assert child.status == "finished"


def test_bad_input_is_a_clear_error_and_records_nothing(shell: Any, binary_yes_no: Any) -> None:
    clf, X, y = binary_yes_no
    with pytest.raises(TypeError, match="has no predict"):
        xt.evaluate(object(), X, y)
    with pytest.raises(ValueError, match="y has shape"):
        xt.evaluate(clf, X, y[:10])
    xt.flush()
    assert len(xt.runs()) == 0


def test_figures_never_touch_pyplot(shell: Any, binary_yes_no: Any) -> None:
    import matplotlib.pyplot as plt

    clf, X, y = binary_yes_no
    current = plt.figure()
    before = plt.get_fignums()
    xt.evaluate(clf, X, y, importance=False)
    assert plt.get_fignums() == before and plt.gcf() is current
    plt.close(current)


def test_importance_over_budget_is_skipped_and_said(shell: Any, binary_yes_no: Any) -> None:
    clf, X, y = binary_yes_no
    ev = xt.evaluate(clf, X, y, importance_budget_s=1e-9)
    assert ev.report["importance"] == [] and ev.report["importance_note"].startswith("skipped")


def test_baseline_is_scored_on_the_same_data(shell: Any, binary_yes_no: Any) -> None:
    from sklearn.dummy import DummyClassifier

    clf, X, y = binary_yes_no
    dummy = DummyClassifier().fit(X, y)
    ev = xt.evaluate(clf, X, y, baseline=dummy, importance=False)
    assert ev.report["baseline"]["model"] == "DummyClassifier"
    assert ev.report["baseline"]["metrics"]["accuracy_score"] == pytest.approx(
        skm.accuracy_score(y, dummy.predict(X))
    )


@pytest.mark.filterwarnings("error:The y_prob values do not sum to one")
def test_a_torch_module_through_the_adapter(shell: Any) -> None:
    torch = pytest.importorskip("torch")
    torch.manual_seed(0)
    module = torch.nn.Sequential(torch.nn.Linear(4, 8), torch.nn.ReLU(), torch.nn.Linear(8, 3))
    X = np.random.default_rng(5).normal(size=(90, 4)).astype(np.float32)
    y = np.arange(90) % 3
    module.train()
    ev = xt.evaluate(module, X, y, importance=False)
    with torch.no_grad():
        logits = module(torch.from_numpy(X)).numpy()
    assert ev.report["model_type"] == "classifier" and ev.report["labels"] == ["0", "1", "2"]
    assert ev.metrics["accuracy_score"] == pytest.approx(
        skm.accuracy_score(y, logits.argmax(axis=1))
    )
    proba = torch.softmax(torch.from_numpy(logits), dim=1).numpy()
    assert ev.metrics["log_loss"] == pytest.approx(skm.log_loss(y, proba), rel=1e-5)
    assert module.training  # put back as it was
    regression = xt.evaluate(torch.nn.Linear(4, 1), X, X[:, 2])
    assert regression.report["model_type"] == "regressor"
    assert regression.report["importance"] and "repeat(s)" in regression.report["importance_note"]


@pytest.mark.gpu
def test_a_torch_module_on_the_gpu_is_evaluated_on_its_device(shell: Any) -> None:
    torch = pytest.importorskip("torch")
    if not torch.cuda.is_available():
        pytest.skip("no CUDA GPU here")
    torch.manual_seed(0)
    module = torch.nn.Sequential(torch.nn.Linear(4, 8), torch.nn.ReLU(), torch.nn.Linear(8, 3))
    module = module.to("cuda")
    X = np.random.default_rng(5).normal(size=(90, 4)).astype(np.float32)
    y = np.arange(90) % 3
    ev = xt.evaluate(module, X, y, importance=False)
    with torch.no_grad():
        logits = module(torch.from_numpy(X).to("cuda")).cpu().numpy()
    assert ev.metrics["accuracy_score"] == pytest.approx(
        skm.accuracy_score(y, logits.argmax(axis=1))
    )
    assert next(module.parameters()).device.type == "cuda"  # left where it was


def test_recorded_on_the_run_given_even_once_it_ended(shell: Any, binary_yes_no: Any) -> None:
    clf, X, y = binary_yes_no
    run_cell(shell, "%%track --name trained\nx = 1")
    ev = xt.evaluate(clf, X, y, run=1, importance=False)
    xt.flush()
    run = xt.get_run(1)
    assert ev.run_id == run.id and run.status == "finished"
    assert run.metrics["roc_auc"] == pytest.approx(ev.metrics["roc_auc"])
    assert "roc_curve_plot.png" in {a["name"] for a in run.artifacts}
    assert len(xt.runs()) == 1


def test_importance_stops_repeating_at_its_budget(shell: Any) -> None:
    import time

    class SlowsDown:
        """Fast for the cost estimate (its first call), then 0.2 s a prediction."""

        calls = 0

        def predict(self, X: Any) -> Any:
            SlowsDown.calls += 1
            if SlowsDown.calls > 2:  # the report's own prediction, then the estimate
                time.sleep(0.2)
            return np.asarray(X)[:, 0]

    X = np.random.default_rng(6).normal(size=(60, 2))
    ev = xt.evaluate(SlowsDown(), X, X[:, 0] * 2, importance_budget_s=0.5)
    # the estimate allowed 5 repeats; one repeat took longer than the whole budget
    assert "over 1 repeat(s) on 60 of 60 rows" in ev.report["importance_note"]
