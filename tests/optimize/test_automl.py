"""AutoML on scikit-learn's bundled datasets: the budget bound, baselines, candidates as
child runs, preprocessing inside the pipeline, task and metric defaults, the ensemble,
background jobs and their cancellation."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest

import jupyter_xtrack as xt
from jupyter_xtrack.optimize.automl import AutoMLResult, automl
from jupyter_xtrack.optimize.baselines import BASELINES
from jupyter_xtrack.optimize.jobs import Job
from jupyter_xtrack.optimize.scoring import detect_task, get_metric, parse_budget


def _cancer() -> pd.DataFrame:
    from sklearn.datasets import load_breast_cancer

    return load_breast_cancer(as_frame=True).frame


def test_budget_is_respected_and_every_candidate_is_a_child_run(store_dir: Path) -> None:
    budget = 6.0
    result = automl(_cancer(), target="target", time_budget=f"{budget:g}s", seed=1)
    assert isinstance(result, AutoMLResult)
    # The budget holds by behaviour, whatever the machine's speed (the wall-clock figure is in
    # bench/bench_automl.py): no candidate is launched after the deadline, and the search
    # reports the time it used, on the result and on its run.
    parent = xt.get_run(result.run_id)
    assert parent.started_at is not None
    deadline = parent.started_at.timestamp() + budget  # the search's clock starts before it
    launched = [xt.get_run(c.run_id).started_at for c in result.candidates if c.run_id]
    assert launched and all(t is not None and t.timestamp() <= deadline for t in launched)
    assert result.budget_s == budget and result.elapsed_s > 0
    assert parent.metrics["elapsed_s"] == pytest.approx(result.elapsed_s)
    assert result.task == "binary" and result.metric == "roc_auc"
    board = result.leaderboard
    assert set(BASELINES) <= set(board["candidate"])
    assert {"cv_score", "fit_time_s", "predict_time_s", "device", "run_id"} <= set(board.columns)
    models = board[(board["kind"] == "model") & (board["status"] == "complete")]
    assert len(models) >= 1
    # Baselines are on the board and the models beat them.
    zero = board.loc[board["candidate"] == "zero_rule", "cv_score"].iloc[0]
    assert zero == pytest.approx(0.5)
    assert models["cv_score"].max() > 0.95
    assert board.iloc[0]["status"] == "complete"
    xt.flush()
    runs = xt.runs()
    children = runs[runs["parent_id"] == result.run_id]
    assert set(children["id"]) == set(board["run_id"].dropna())
    assert set(children["kind"]) == {"trial"}
    one = xt.get_run(models.iloc[0]["run_id"])
    assert one.params["family"] == models.iloc[0]["family"]
    assert {"cv_score", "cv_std", "fit_time_s", "predict_time_s", "fold_score"} <= set(one.metrics)
    assert one.tags["xtrack.device"] == "cpu"
    parent = xt.get_run(result.run_id)
    assert parent.kind == "automl"
    assert parent.params["automl.metric"] == "roc_auc"
    assert "holdout_score" in parent.metrics
    assert [a["name"] for a in parent.artifacts] == ["model.pkl"]
    # The stored model is the returned one, and it predicts.
    import pickle

    stored = pickle.loads(parent.artifact_bytes("model.pkl"))
    X = _cancer().drop(columns="target").head(20)
    assert (stored.predict(X) == result.best_model.predict(X)).all()


def test_messy_frame_is_prepared_inside_the_pipeline(store_dir: Path) -> None:
    rng = np.random.default_rng(0)
    n = 400
    color = rng.choice(["red", "green", "blue", None], size=n)
    city = rng.choice([f"city{i}" for i in range(40)], size=n)
    when = pd.Timestamp("2024-01-01") + pd.to_timedelta(rng.integers(0, 365, n), unit="D")
    x = rng.normal(size=n)
    x[rng.random(n) < 0.1] = np.nan
    label = np.where((np.nan_to_num(x) > 0) ^ (color == "red"), "yes", "no")
    df = pd.DataFrame({"x": x, "color": color, "city": city, "when": when, "label": label})
    result = automl(df, target="label", time_budget=5, models=["linear", "hgb"], ensemble=False)
    assert result.task == "binary"
    model = result.best_model
    pred = model.predict(df.drop(columns="label").head(30))
    assert set(pred) <= {"yes", "no"}
    # A model fitted on the prepared columns, not a baseline, and well above chance. Which
    # family wins depends on what the time budget let finish on a busy machine: the linear
    # model alone scores about 0.80 here (the label is an XOR the trees catch).
    assert result.best.family in {"linear", "hgb"}
    assert result.best.cv_score > 0.75
    # Fold models are fitted on their training fold only: their imputers learnt different
    # medians, none of them the median of all rows.
    fitted = [c for c in result.candidates if c.family == "linear" and c.fold_models]
    medians = {
        float(m.named_steps["preprocess"].named_transformers_["num"].steps[0][1].statistics_[0])
        for m in fitted[0].fold_models
    }
    assert len(medians) > 1


TASKS = [
    (np.array([0, 1] * 10), "binary", "roc_auc"),
    (np.array(["a", "b", "c"] * 10), "multiclass", "log_loss"),
    (np.array([1, 2, 3, 4] * 10), "multiclass", "log_loss"),
    (np.linspace(0, 1, 40), "regression", "r2"),
    (np.arange(100), "regression", "r2"),
]


@pytest.mark.parametrize(("y", "task", "metric"), TASKS)
def test_task_detection_and_default_metric(y: Any, task: str, metric: str) -> None:
    assert detect_task(y) == task
    assert get_metric(None, task).name == metric


def test_metric_can_be_overridden_and_a_wrong_one_is_named(store_dir: Path) -> None:
    with pytest.raises(ValueError, match="metric 'r2' does not fit a binary task; use one of"):
        get_metric("r2", "binary")
    from sklearn.datasets import load_iris

    X, y = load_iris(return_X_y=True)
    result = automl(X, y, time_budget=3, metric="accuracy", models=["linear"], ensemble=False)
    assert result.metric == "accuracy" and result.task == "multiclass"
    assert 0.8 < result.best.cv_score <= 1.0


@pytest.mark.parametrize(("text", "seconds"), [(30, 30.0), (2.5, 2.5), ("30s", 30.0), ("5m", 300.0),
                                               ("1h", 3600.0), ("1h30m", 5400.0), ("90", 90.0)])
def test_time_budget_forms(text: Any, seconds: float) -> None:
    assert parse_budget(text) == seconds


@pytest.mark.parametrize("bad", ["5 minutes please", "m5", "", -1, 0])
def test_bad_time_budget_names_the_forms(bad: Any) -> None:
    with pytest.raises(ValueError, match="time_budget"):
        parse_budget(bad)


def test_a_missing_target_column_lists_the_columns() -> None:
    with pytest.raises(ValueError, match=r"no column 'churned' in the DataFrame \(columns: a, b\)"):
        automl(pd.DataFrame({"a": range(20), "b": range(20)}), target="churned")


def test_caruana_selection_mixes_complementary_models_and_keeps_a_lone_winner() -> None:
    from jupyter_xtrack.optimize.ensemble import caruana_weights

    y = np.array([0.0, 1.0, 0.0, 1.0])
    a = np.array([0.0, 2.0, 0.0, 2.0])   # too high on the ones
    b = np.array([0.0, 0.0, 0.0, 0.0])   # too low on the ones
    noise = np.array([5.0, -5.0, 5.0, -5.0])

    def score(pred: Any) -> float:
        return -float(np.mean((pred - y) ** 2))

    w = caruana_weights([a, b, noise], score)
    assert w[0] == pytest.approx(0.5) and w[1] == pytest.approx(0.5) and w[2] == 0
    w = caruana_weights([y, noise], score)
    assert w == [1.0, 0.0]


def test_torch_mlp_trains_on_cpu_with_early_stopping(store_dir: Path) -> None:
    torch = pytest.importorskip("torch")
    from sklearn.datasets import load_iris
    from sklearn.preprocessing import StandardScaler

    from jupyter_xtrack.optimize.models.torch_mlp import TorchMLPClassifier, TorchMLPRegressor

    X, y = load_iris(return_X_y=True)
    X = StandardScaler().fit_transform(X)
    clf = TorchMLPClassifier(max_epochs=300, patience=5, lr=1e-2, device="cpu").fit(X, y)
    assert clf.device_ == "cpu"  # an explicit device is honoured, GPU or not
    assert clf.n_epochs_ < 300  # early stopping ended it
    assert (clf.predict(X) == y).mean() > 0.9
    assert clf.predict_proba(X).shape == (150, 3)
    reg = TorchMLPRegressor(max_epochs=50).fit(X[:, :3], X[:, 3])
    assert np.corrcoef(reg.predict(X[:, :3]), X[:, 3])[0, 1] > 0.8
    result = automl(pd.DataFrame(X), y, time_budget=6, models=["mlp"], ensemble=False)
    mlp = [c for c in result.candidates if c.family == "mlp" and c.status == "complete"]
    assert mlp and mlp[0].device.startswith("cuda" if torch.cuda.is_available() else "cpu")


@pytest.mark.gpu
def test_torch_work_goes_to_the_gpu_and_is_recorded(store_dir: Path) -> None:
    torch = pytest.importorskip("torch")
    if not torch.cuda.is_available():
        pytest.skip("no CUDA GPU visible")
    from sklearn.datasets import load_iris

    from jupyter_xtrack.optimize.models.torch_mlp import TorchMLPClassifier

    X, y = load_iris(return_X_y=True)
    assert TorchMLPClassifier(max_epochs=5).fit(X, y).device_ == "cuda"
    result = automl(X, y, time_budget=10, models=["mlp"], ensemble=False)
    xt.flush()
    mlp = [c for c in result.candidates if c.family == "mlp" and c.status == "complete"]
    assert mlp and mlp[0].device.startswith("cuda")
    assert xt.get_run(mlp[0].run_id).tags["xtrack.device"].startswith("cuda")


def test_background_automl_reports_progress_and_cancels_keeping_finished_candidates(
    store_dir: Path,
) -> None:
    job = automl(_cancer(), target="target", time_budget=120, background=True)
    assert isinstance(job, Job)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline and (job.progress.get("candidates") or 0) < 6:
        time.sleep(0.1)
    assert job.status == "running"
    assert job.cancel(wait=15)  # stopped within the wait: the cancel is heard between folds
    assert job.status == "cancelled"
    result = job.result()
    assert result.state == "cancelled"
    complete = [c for c in result.candidates if c.status == "complete"]
    assert len(complete) >= 4  # the baselines and at least one model were kept
    xt.flush()
    parent = xt.get_run(result.run_id)
    assert parent.tags["xtrack.job.state"] == "cancelled"
    assert parent.tags["xtrack.job.kind"] == "automl"
    assert "job_progress" in parent.metrics


@pytest.mark.parametrize(
    ("name", "task", "reference"),
    [
        ("log_loss", "multiclass", "log_loss"),
        ("accuracy", "multiclass", "accuracy_score"),
        ("roc_auc", "binary", "roc_auc_score"),
        ("roc_auc", "multiclass", "roc_auc_score"),
        ("r2", "regression", "r2_score"),
        ("mae", "regression", "mean_absolute_error"),
    ],
)
def test_metrics_agree_with_scikit_learn(name: str, task: str, reference: str) -> None:
    from sklearn import metrics

    rng = np.random.default_rng(0)
    ref = getattr(metrics, reference)
    if task == "regression":
        y = rng.random(200)
        pred = y + rng.normal(0, 0.2, 200)
        assert get_metric(name, task).value(y, pred) == pytest.approx(ref(y, pred))
        return
    classes = np.array(["a", "b"] if task == "binary" else ["a", "b", "c"])
    y = rng.choice(classes, 200)
    p = rng.random((200, len(classes)))
    p[:20] = 0.5  # ties
    p /= p.sum(axis=1, keepdims=True)
    ours = get_metric(name, task).value(y, p, classes)
    if reference == "accuracy_score":
        expected = ref(y, classes[p.argmax(axis=1)])
    elif reference == "roc_auc_score" and task == "binary":
        expected = ref(y == "b", p[:, 1])
    elif reference == "roc_auc_score":
        expected = ref(y, p, multi_class="ovr", labels=list(classes))
    else:
        expected = ref(y, p, labels=list(classes))
    assert ours == pytest.approx(expected)


def test_the_final_refit_starts_only_when_it_fits_the_rest_of_the_budget() -> None:
    from jupyter_xtrack.optimize.automl import refit_fits

    assert refit_fits(1.0, left_s=2.0, budget_s=15, contended=False)
    # An abandoned fit still running beside the refit: the estimate (taken on an idle
    # core) is trusted only at half speed.
    assert not refit_fits(1.0, left_s=2.0, budget_s=15, contended=True)
    assert refit_fits(1.0, left_s=3.0, budget_s=15, contended=True)
    # The last 2 % of the budget is kept for pickling and recording the model.
    assert not refit_fits(1.0, left_s=1.3 + 0.2, budget_s=15, contended=False)
