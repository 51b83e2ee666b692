"""Sweeps over Python functions: every sampler and pruner on real (small) searches, failing
and interrupted trials, best(), and the records the store keeps."""

from __future__ import annotations

import math
from pathlib import Path

import pytest

import jupyter_xtrack as xt
from jupyter_xtrack.optimize.space import SpaceError
from jupyter_xtrack.optimize.sweep import SweepError, SweepResult, best, sweep


def _children(result: SweepResult):
    xt.flush()
    frame = xt.runs()
    return frame[frame["parent_id"] == result.run_id]


def _iris_objective(C: float, penalty_free: bool = False) -> float:  # noqa: N803 - sklearn's name
    from sklearn.datasets import load_iris
    from sklearn.linear_model import LogisticRegression
    from sklearn.model_selection import cross_val_score

    X, y = load_iris(return_X_y=True)
    return float(cross_val_score(LogisticRegression(C=C, max_iter=300), X, y, cv=3).mean())


@pytest.mark.parametrize("sampler", ["tpe", "random", "gp", "cmaes"])
def test_each_sampler_runs_a_real_search(store_dir: Path, sampler: str) -> None:
    result = sweep(_iris_objective, {"C": "loguniform(1e-3, 10)"}, trials=5, sampler=sampler,
                   metric="val_acc", seed=0, show=False)
    assert isinstance(result, SweepResult)
    assert result.state == "finished"
    assert [t.state for t in result.trials] == ["complete"] * 5
    assert 0.3 < result.best.value <= 1.0
    assert result.study().sampler.__class__.__name__.lower().startswith(
        {"tpe": "tpe", "random": "random", "gp": "gp", "cmaes": "cmaes"}[sampler]
    )
    children = _children(result)
    assert len(children) == 5
    assert set(children["kind"]) == {"trial"}
    assert set(children["tags.xtrack.trial.state"]) == {"complete"}
    assert set(children["tags.xtrack.device"]) == {"cpu"}
    # The objective's value is recorded on each trial under the metric's name.
    by_id = dict(zip(children["id"], children["metrics.val_acc"], strict=True))
    for t in result.trials:
        assert by_id[t.run_id] == pytest.approx(t.value)


def test_grid_sampler_tries_every_point_once(store_dir: Path) -> None:
    seen: list[tuple[int, str]] = []

    def objective(depth: int, model: str) -> float:
        seen.append((depth, model))
        return depth + (0.5 if model == "gb" else 0.0)

    # Asking for more trials than the grid has stops at the grid's size.
    result = sweep(objective, "depth=grid(1, 2, 3); model=grid('rf', 'gb')", trials=50, show=False)
    assert sorted(seen) == sorted((d, m) for d in (1, 2, 3) for m in ("rf", "gb"))
    assert result.sampler == "grid"
    assert best(result).params == {"depth": 3, "model": "gb"}


def test_grid_sampler_rejects_continuous_params_before_running() -> None:
    with pytest.raises(SpaceError, match="grid sampler needs a finite set"):
        sweep(lambda lr: lr, "lr=loguniform(1e-4, 1e-1)", sampler="grid", show=False)


def _curve(quality: float, steps: int = 8) -> float:
    value = 0.0
    for step in range(steps):
        value = quality * (1 - math.exp(-(step + 1) / 2))
        xt.log(val_acc=value, step=step)
    return value


@pytest.mark.parametrize("pruner", ["asha", "hyperband", "median"])
def test_each_pruner_stops_bad_trials_at_their_log_call(store_dir: Path, pruner: str) -> None:
    calls: list[int] = []

    def objective(q: float) -> float:
        calls.append(1)
        return _curve(q)

    result = sweep(objective, {"q": "uniform(0, 1)"}, trials=16, metric="val_acc",
                   pruner=pruner, sampler="random", seed=3, show=False)
    states = [t.state for t in result.trials]
    assert "pruned" in states and "complete" in states
    children = _children(result)
    pruned = children[children["tags.xtrack.trial.state"] == "pruned"]
    assert len(pruned) == states.count("pruned")
    # A pruned trial is a normal end of a run, and it stopped before its last step.
    assert set(pruned["status"]) == {"finished"}
    for run_id in pruned["id"]:
        assert len(xt.get_run(run_id).history("val_acc")) < 8


def test_a_failing_trial_is_recorded_with_its_traceback_and_the_sweep_goes_on(store_dir: Path) -> None:
    def objective(x: int) -> float:
        if x % 2:
            raise ValueError(f"odd x={x}")
        return float(x)

    result = sweep(objective, "x=grid(0, 1, 2, 3, 4)", trials=5, max_failures=5, show=False)
    assert result.state == "finished"
    assert [t.state for t in sorted(result.trials, key=lambda t: t.params["x"])] == [
        "complete", "failed", "complete", "failed", "complete"
    ]
    failed = next(t for t in result.trials if t.state == "failed")
    run = xt.get_run(failed.run_id)
    assert run.status == "failed"
    assert run.error["type"] == "ValueError"
    assert "odd x=" in run.error["traceback"] and "Traceback" in run.error["traceback"]
    assert best(result).params == {"x": 4}


def test_too_many_failures_stop_the_sweep(store_dir: Path) -> None:
    def objective(x: float) -> float:
        raise RuntimeError("broken objective")

    result = sweep(objective, "x=uniform(0, 1)", trials=20, max_failures=3, show=False)
    assert result.state == "failed"
    assert len(result.trials) == 3
    xt.flush()
    assert xt.get_run(result.run_id).tags["xtrack.sweep.state"] == "failed"
    with pytest.raises(SweepError, match="no complete trial"):
        best(result)


def test_ctrl_c_stops_the_sweep_cleanly_keeping_finished_trials(store_dir: Path) -> None:
    count = {"n": 0}

    def objective(x: float) -> float:
        count["n"] += 1
        if count["n"] == 4:
            raise KeyboardInterrupt
        return x

    result = sweep(objective, "x=uniform(0, 1)", trials=10, show=False)
    assert result.state == "interrupted"
    assert [t.state for t in result.trials] == ["complete"] * 3 + ["interrupted"]
    xt.flush()
    assert xt.get_run(result.trials[-1].run_id).status == "interrupted"
    assert xt.get_run(result.run_id).status == "interrupted"
    assert len(_children(result)) == 4


def test_value_comes_from_the_return_value_or_a_returned_dict(store_dir: Path) -> None:
    result = sweep(lambda x: {"loss": (x - 2) ** 2}, "x=int(0, 4)", trials=6, metric="loss",
                   direction="minimize", sampler="grid", show=False)
    assert best(result).params == {"x": 2}
    assert best(result).value == 0.0
    # A params dict is passed when the objective takes one argument.
    result = sweep(lambda p: p["x"] * 1.0, "x=int(0, 3)", trials=3, show=False)
    assert result.best.value >= 0


def test_a_trial_with_no_value_fails_with_a_message_naming_the_fix(store_dir: Path) -> None:
    result = sweep(lambda x: None, "x=uniform(0, 1)", trials=1, metric="acc", show=False)
    run = xt.get_run(result.trials[0].run_id)
    assert "never logged 'acc'" in run.error["message"]


def test_objective_without_the_swept_names_is_an_error() -> None:
    def objective(a: float, b: float) -> float:
        return a

    with pytest.raises(SweepError, match=r"does not take the swept names \['c'\]"):
        sweep(objective, "a=uniform(0, 1); c=uniform(0, 1)", show=False)


def test_best_by_run_number_and_by_name(store_dir: Path) -> None:
    result = sweep(lambda x: -abs(x - 3), "x=grid(1, 3, 5)", trials=3, name="pick", show=False)
    assert result.name == "pick"
    xt.flush()
    number = xt.get_run(result.run_id).number
    assert best(number).params == {"x": 3}
    assert best("pick").params == {"x": 3}
    assert best(result.run_id).run_id == result.best.run_id
    board = result.leaderboard
    assert list(board["params.x"])[0] == 3 and list(board["state"]) == ["complete"] * 3
    with pytest.raises(SweepError, match="not a sweep name"):
        best("nothing-like-this")


def test_a_rerun_without_resume_starts_a_new_study(store_dir: Path) -> None:
    first = sweep(lambda x: x, "x=uniform(0, 1)", trials=2, name="again", show=False)
    second = sweep(lambda x: x, "x=uniform(0, 1)", trials=2, name="again", show=False)
    assert (first.name, second.name) == ("again", "again-2")
    assert len(second.trials) == 2
