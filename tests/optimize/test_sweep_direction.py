"""A sweep given neither --minimize nor --maximize takes its direction from the metric's
name, says which it chose (header, result, tags), and keeps the default for a name that
says nothing, saying so. In a real shell and in a real kernel."""

from __future__ import annotations

import html
from pathlib import Path
from typing import Any

import nbformat
import pytest

import jupyter_xtrack as xt
from jupyter_xtrack.kernel.launch import direction_for
from jupyter_xtrack.optimize.scoring import get_metric, metric_direction, metric_names
from jupyter_xtrack.optimize.sweep import SweepError, SweepResult, sweep
from tests.conftest import run_cell

# (a - 3) ** 2 is an error: its best trial is a = 3, which a maximizing sweep would never pick.
RMSE_CELL = (
    '%%track --sweep "a=grid(1, 3, 6)" --trials 3 --metric val_rmse{flag}\n'
    "a = 0\nxt.log(val_rmse=(a - 3) ** 2)\n"
)


@pytest.mark.parametrize(
    ("name", "direction"),
    [
        ("val_rmse", "minimize"),
        ("log_loss", "minimize"),
        ("brier_score", "minimize"),
        ("valLoss", "minimize"),
        ("mean_absolute_percentage_error", "minimize"),
        ("davies_bouldin_score", "minimize"),
        ("neg_log_likelihood", "minimize"),
        ("val_acc", "maximize"),
        ("accuracy_score_X_test", "maximize"),
        ("f1", "maximize"),
        ("r2_score", "maximize"),
        ("silhouette_score", "maximize"),
        ("roc_auc", "maximize"),
        ("AUC", "maximize"),
        ("top1_acc", "maximize"),
        ("score", "maximize"),
        ("neg_mean_squared_error", "maximize"),
        ("objective", None),
        ("widgets", None),
        ("train_loss_acc", None),  # says both: no guess
        (None, None),
    ],
)
def test_a_metrics_name_says_which_way_is_better(name: str | None, direction: str | None) -> None:
    assert metric_direction(name) == direction


def test_the_automl_metrics_agree_with_the_one_table() -> None:
    for task in ("binary", "regression"):
        for name in metric_names(task):
            metric = get_metric(name, task)
            expected = "maximize" if metric.greater_is_better else "minimize"
            assert metric_direction(name) == expected, name
            assert direction_for(name) == expected  # the Launch form's suggestion


def test_an_error_metric_is_minimized_without_a_flag_and_says_so(shell: Any) -> None:
    result = run_cell(shell, RMSE_CELL.format(flag=""))
    assert result.error_in_exec is None, result.error_in_exec
    sweep_result = result.result
    assert sweep_result.direction == "minimize"
    assert sweep_result.best is not None and sweep_result.best.params == {"a": 3}
    note = "minimize val_rmse (inferred from the metric's name)"
    assert note in repr(sweep_result) and note in html.unescape(sweep_result._repr_html_())
    parent = xt.get_run(sweep_result.run_id)
    assert parent.tags["xtrack.sweep.direction"] == "minimize"
    assert parent.tags["xtrack.sweep.direction_source"] == "inferred"
    assert parent.tags["xtrack.sweep.best_trial"] == str(sweep_result.best.number)
    assert xt.best(sweep_result.name).value == 0  # read back from the study, same direction


def test_a_flag_wins_over_the_name(shell: Any) -> None:
    sweep_result = run_cell(shell, RMSE_CELL.format(flag=" --maximize")).result
    assert sweep_result.best.params == {"a": 6}
    parent = xt.get_run(sweep_result.run_id)
    assert parent.tags["xtrack.sweep.direction"] == "maximize"
    assert parent.tags["xtrack.sweep.direction_source"] == "explicit"
    assert "(inferred" not in repr(sweep_result)


def test_a_name_that_says_nothing_keeps_the_default_and_says_so(
    store_dir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    result = sweep(lambda x: x, "x=grid(1, 2)", trials=2, metric="widgets", show=False)
    assert isinstance(result, SweepResult) and result.best is not None
    assert result.direction == "maximize" and result.best.params == {"x": 2}
    assert "the default: the name does not say" in repr(result)
    assert "--minimize" in capsys.readouterr().err
    tags = xt.get_run(result.run_id).tags
    assert tags["xtrack.sweep.direction_source"] == "default"


def test_a_bad_direction_is_refused(store_dir: Path) -> None:
    with pytest.raises(SweepError, match="maximize or minimize"):
        sweep(lambda x: x, "x=grid(1, 2)", trials=2, metric="loss", direction="down", show=False)


@pytest.mark.slow
def test_a_sweep_in_a_real_kernel_says_its_inferred_direction(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from nbclient import NotebookClient

    nb = nbformat.v4.new_notebook()
    nb.cells = [
        nbformat.v4.new_code_cell("%load_ext jupyter_xtrack"),
        nbformat.v4.new_code_cell(RMSE_CELL.format(flag="")),
        nbformat.v4.new_code_cell(
            "print(_.best.params, xt.get_run(_.run_id).tags['xtrack.sweep.direction'])"
        ),
    ]
    monkeypatch.setenv("XTRACK_STORE", str(tmp_path / "store"))
    NotebookClient(
        nb, timeout=180, kernel_name="python3", resources={"metadata": {"path": str(tmp_path)}}
    ).execute()
    shown = html.unescape(
        " ".join(
            str(o.get("data", {}).get("text/html", ""))
            + str(o.get("data", {}).get("text/plain", ""))
            for o in nb.cells[1].outputs
        )
    )
    assert "minimize val_rmse (inferred from the metric's name)" in shown
    printed = "".join(o.get("text", "") for o in nb.cells[2].outputs)
    assert printed.strip() == "{'a': 3} minimize"
