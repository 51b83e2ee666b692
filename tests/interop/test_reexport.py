"""Exporting again into the same MLflow store: a run that changed in xtrack since (new metric
points, another status and end time, a new tag) is brought up to date in place, every point
there once; a third export writes nothing; each ends with the verified counts table."""

from __future__ import annotations

from pathlib import Path

import pytest

from jupyter_xtrack.cli import main
from jupyter_xtrack.interop import export_mlflow
from jupyter_xtrack.store import open_store

mlflow = pytest.importorskip("mlflow")


@pytest.fixture(autouse=True)
def _in_tmp(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """MLflow puts a SQLite store's artifacts under ./mlruns: keep them out of the checkout."""
    monkeypatch.chdir(tmp_path)


def test_a_changed_run_is_updated_and_a_third_export_writes_nothing(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    uri = f"sqlite:///{tmp_path / 'mlflow.db'}"
    with open_store(tmp_path / "xt") as store:
        rid, _ = store.create_run(name="fit", experiment="e", kind="script", started_at=1000.0)
        store.set_params(rid, {"lr": 0.1})
        store.log_metrics([(rid, "loss", 1.0, 0, 1001.0), (rid, "loss", 0.5, 1, 1002.0)])
        other, _ = store.create_run(name="other", experiment="e", kind="script")
        store.finish_run(other, status="finished")
        first = export_mlflow(store, uri, show_progress=False)
        assert first.ok and first.created == 2, first.summary()

        store.log_metrics([(rid, "loss", 0.25, 2, 1003.0), (rid, "acc", 0.9, 2, 1003.0)])
        store.set_params(rid, {"epochs": 3})
        store.set_tags(rid, {"stage": "done"})
        store.finish_run(rid, status="failed", ended_at=1004.0)
        second = export_mlflow(store, uri, show_progress=False)
        assert second.ok, second.summary()
        assert (second.created, second.updated, second.unchanged) == (0, 1, 1)

    client = mlflow.tracking.MlflowClient(uri)
    exp = client.get_experiment_by_name("e").experiment_id
    assert len(client.search_runs([exp])) == 2
    (run,) = client.search_runs([exp], "attributes.run_name = 'fit'")
    loss = client.get_metric_history(run.info.run_id, "loss")
    assert [(m.step, m.value, m.timestamp) for m in loss] == [
        (0, 1.0, 1001000),
        (1, 0.5, 1002000),
        (2, 0.25, 1003000),
    ]
    assert [m.value for m in client.get_metric_history(run.info.run_id, "acc")] == [0.9]
    assert (run.info.status, run.info.end_time) == ("FAILED", 1004000)
    assert run.data.tags["stage"] == "done"
    assert run.data.params == {"lr": "0.1", "epochs": "3"}

    args = ["export", "mlflow", uri, "--store", str(tmp_path / "xt"), "--no-progress"]
    assert main(args) == 0
    out = capsys.readouterr().out
    assert "0 new, 0 updated, 2 unchanged, 0 failed" in out and "metric points" in out
    assert len(client.get_metric_history(run.info.run_id, "loss")) == 3


def test_a_changed_param_is_a_clear_failure(tmp_path: Path) -> None:
    uri = f"sqlite:///{tmp_path / 'mlflow.db'}"
    with open_store(tmp_path / "xt") as store:
        rid, _ = store.create_run(name="fit", experiment="e", kind="script")
        store.set_params(rid, {"lr": 0.1})
        store.finish_run(rid, status="finished")
        assert export_mlflow(store, uri, show_progress=False).ok
        store.set_params(rid, {"lr": 0.2})
        again = export_mlflow(store, uri, show_progress=False)
    assert not again.ok
    assert "params ['lr'] changed since the last export" in again.summary()


def test_an_export_folder_is_updated_in_place(tmp_path: Path) -> None:
    from jupyter_xtrack.interop import import_mlflow

    out = str(tmp_path / "out")
    with open_store(tmp_path / "xt") as store:
        rid, _ = store.create_run(name="fit", experiment="e", kind="script", started_at=1000.0)
        store.log_metrics([(rid, "loss", 1.0, 0, 1001.0)])
        store.finish_run(rid, status="finished")
        other, _ = store.create_run(name="other", experiment="f", kind="script")
        store.finish_run(other, status="finished")
        assert export_mlflow(store, out, folder=True, show_progress=False).created == 2
        store.log_metrics([(rid, "loss", 0.5, 1, 1002.0)])
        store.set_tags(rid, {"stage": "done"})
        second = export_mlflow(store, out, folder=True, show_progress=False)
        assert second.ok, second.summary()
        assert (second.created, second.updated, second.unchanged) == (0, 1, 1)
        third = export_mlflow(store, out, folder=True, show_progress=False)
        assert (third.created, third.updated, third.unchanged) == (0, 0, 2)
    with open_store(tmp_path / "fresh") as fresh:
        back = import_mlflow(fresh, out, show_progress=False)
        assert back.ok and back.created == 2, back.summary()
        (row,) = fresh.query_runs("name = 'fit'").rows()
        assert fresh.metric_history(row["id"], "loss")["value"] == [1.0, 0.5]
        assert fresh.get_run(row["id"])["tags"]["stage"] == "done"


def test_exporting_back_to_the_source_updates_the_imported_runs_there(tmp_path: Path) -> None:
    """Runs imported from an MLflow store and exported back to it are its own runs: brought up
    to date in place (a point logged in xtrack since), never written a second time."""
    from jupyter_xtrack.interop import import_mlflow
    from jupyter_xtrack.interop.model import SOURCE_RUN_TAG

    from .conftest import make_source

    uri = f"sqlite:///{tmp_path / 'mlflow.db'}"
    source = make_source(uri, tmp_path / "artifacts")
    client = source.client
    before = {r.info.run_id for r in client.search_runs(["0", "1", "2"])}  # type: ignore[attr-defined]
    with open_store(tmp_path / "xt") as store:
        assert import_mlflow(store, uri, show_progress=False).ok
        (child,) = [
            r["id"]
            for r in store.query_runs(columns=[f"tags.{SOURCE_RUN_TAG}"]).rows()
            if r[f"tags.{SOURCE_RUN_TAG}"] == source.child
        ]
        store.log_metrics([(child, "loss", 0.125, 3, 1_700_000_001.0)])
        back = export_mlflow(store, uri, show_progress=False)
        assert back.ok, back.summary()
        assert back.created == 0 and back.updated == 3, back.summary()
        again = export_mlflow(store, uri, show_progress=False)
        assert again.ok and (again.created, again.updated, again.unchanged) == (0, 0, 3)
    after = {r.info.run_id for r in client.search_runs(["0", "1", "2"])}  # type: ignore[attr-defined]
    assert after == before  # no copies
    history = client.get_metric_history(source.child, "loss")  # type: ignore[attr-defined]
    assert [(m.step, m.value) for m in history] == [(0, 1.0), (1, 0.5), (2, 1 / 3), (3, 0.125)]
