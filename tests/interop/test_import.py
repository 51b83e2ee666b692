"""xtrack import mlflow against real MLflow stores: every object lands where it belongs,
a second import adds nothing, a changed source run is updated, and a source the import
cannot read completely ends in an error with the counts table."""

from __future__ import annotations

import getpass
import json
import os
from pathlib import Path

import pytest

from jupyter_xtrack.cli import main
from jupyter_xtrack.interop import import_mlflow
from jupyter_xtrack.interop.model import SOURCE_RUN_TAG
from jupyter_xtrack.records.run import Run
from jupyter_xtrack.store import open_store

from .conftest import COMMIT, T0, MlflowSource

MODEL_ROWS = ("registered models", "model versions", "aliases")


def _by_source_id(store: object) -> dict[str, Run]:
    runs = {}
    for row in store.query_runs().rows():  # type: ignore[attr-defined]
        rec = store.get_run(row["id"])  # type: ignore[attr-defined]
        runs[rec["tags"][SOURCE_RUN_TAG]] = Run(rec, store)  # type: ignore[arg-type]
    return runs


def test_import_maps_every_object(mlflow_source: MlflowSource, tmp_path: Path) -> None:
    with open_store(tmp_path / "xt") as store:
        result = import_mlflow(store, mlflow_source.uri, show_progress=False)
        assert result.ok, result.summary()
        assert (result.created, result.updated, result.unchanged) == (3, 0, 0)
        rows = {r.object: (r.source, r.destination) for r in result.table}
        assert {k: v for k, v in rows.items() if k not in MODEL_ROWS} == {
            "experiments": (2, 2),
            "runs": (3, 3),
            "params": (5, 5),
            "metric points": (5, 5),
            "tags": rows["tags"],
            "artifacts": (2, 2),
            "datasets": (1, 1),
        }
        runs = _by_source_id(store)
        parent, child = runs[mlflow_source.parent], runs[mlflow_source.child]
        assert child.parent_id == parent.id
        assert (parent.name, child.name, parent.experiment) == ("sweep", "trial-1", "training")
        # numbers that print as themselves become numbers; anything else stays text
        assert parent.params == {"lr": 0.01, "optimizer": "adam", "epochs": 3, "ratio": "1e-3"}
        history = store.metric_history(child.id, "loss")
        assert history["step"] == [0, 1, 2]
        assert history["value"] == [1.0, 0.5, 1 / 3]
        assert [round(t * 1000) for t in history["time"]] == [T0 + 100, T0 + 107, T0 + 114]
        assert (child.status, parent.status) == ("failed", "finished")
        assert child.record["started_at"] == (T0 + 10) / 1000
        assert child.record["ended_at"] == (T0 + 500) / 1000
        assert parent.record["git"]["commit"] == COMMIT
        assert parent.notebook_path == "train.ipynb"
        assert parent.record["user"] == getpass.getuser()  # from the mlflow.user tag
        assert parent.tags["team"] == "vision" and child.tags["note"] == "first"
        assert child.artifact_bytes("model.txt") == b"weights"
        assert child.artifact_bytes("plots/plot.csv") == b"a,b\n1,2\n"
        (ds,) = child.datasets
        assert (ds["name"], ds["context"], json.loads(ds["source"])) == (
            "train",
            "training",
            {"uri": "train.csv"},
        )
        assert rows["model versions"] == (0, 0)


def test_second_import_adds_nothing_and_a_changed_run_is_updated(
    mlflow_source: MlflowSource, tmp_path: Path
) -> None:
    with open_store(tmp_path / "xt") as store:
        import_mlflow(store, mlflow_source.uri, show_progress=False)
        again = import_mlflow(store, mlflow_source.uri, show_progress=False)
        assert (again.created, again.updated, again.unchanged) == (0, 0, 3), again.summary()
        assert len(store.query_runs().rows()) == 3

        client = mlflow_source.client
        client.log_metric(mlflow_source.parent, "loss", 0.1, timestamp=T0 + 950, step=5)
        client.set_terminated(mlflow_source.parent, "KILLED", end_time=T0 + 999)
        changed = import_mlflow(store, mlflow_source.uri, show_progress=False)
        assert (changed.created, changed.updated, changed.unchanged) == (0, 1, 2)
        assert changed.ok, changed.summary()
        parent = _by_source_id(store)[mlflow_source.parent]
        assert parent.status == "killed"
        assert parent.record["ended_at"] == (T0 + 999) / 1000
        assert store.metric_history(parent.id, "loss")["value"] == [0.1]
        assert len(store.query_runs().rows()) == 3


def test_experiment_filter(mlflow_source: MlflowSource, tmp_path: Path) -> None:
    with open_store(tmp_path / "xt") as store:
        result = import_mlflow(store, mlflow_source.uri, ["eval"], show_progress=False)
        assert result.ok and result.created == 1
        assert store.query_runs().rows()[0]["experiment"] == "eval"


def test_a_source_that_cannot_be_read_fully_is_an_error_with_the_table(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from jupyter_xtrack.interop.client import ClientSource
    from jupyter_xtrack.interop.copy import copy_runs
    from jupyter_xtrack.interop.folder import FolderSink

    from .conftest import make_source

    src = make_source(f"sqlite:///{tmp_path / 'mlflow.db'}", tmp_path / "artifacts")
    folder = tmp_path / "export"
    assert copy_runs(ClientSource(src.uri), FolderSink(str(folder)), show_progress=False).ok
    # corrupt the export: one artifact is a link to nowhere
    (victim,) = folder.glob(f"experiments/*/runs/{src.child}/artifacts/model.txt")
    victim.unlink()
    os.symlink(tmp_path / "gone", victim)

    code = main(["import", "mlflow", str(folder), "--store", str(tmp_path / "xt"), "--no-progress"])
    out = capsys.readouterr().out
    assert code == 1
    assert "verification FAILED" in out
    assert "MISMATCH" in out and "model.txt" in out
    runs_row = next(line for line in out.splitlines() if line.startswith("runs "))
    assert runs_row.split()[1:3] == ["3", "2"]


def test_missing_mlflow_is_a_clear_error(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    import sys

    monkeypatch.setitem(sys.modules, "mlflow", None)  # as if it were not installed
    (tmp_path / "m.db").touch()  # a file, but not a store this package reads without mlflow
    code = main(
        ["import", "mlflow", f"sqlite:///{tmp_path / 'm.db'}", "--store", str(tmp_path / "xt")]
    )
    assert code == 2
    assert "needs the mlflow package: pip install mlflow" in capsys.readouterr().err


def test_registered_models_come_with_versions_and_aliases(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import warnings

    import mlflow
    from sklearn.linear_model import LogisticRegression

    from jupyter_xtrack.registry import Registry

    uri = f"sqlite:///{tmp_path / 'mlflow.db'}"
    monkeypatch.chdir(tmp_path)
    client = mlflow.tracking.MlflowClient(uri)
    monkeypatch.setenv("MLFLOW_TRACKING_URI", uri)
    mlflow.set_experiment("models")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for c in (1.0, 0.5):
            with mlflow.start_run(run_name=f"fit-{c}"):
                model = LogisticRegression(C=c).fit([[0.0], [1.0]], [0, 1])
                info = mlflow.sklearn.log_model(model, name="model")
            mlflow.register_model(info.model_uri, "churn")
    client.set_registered_model_alias("churn", "champion", 1)
    client.set_model_version_tag("churn", 2, "stage", "candidate")
    client.set_registered_model_tag("churn", "team", "risk")
    client.update_registered_model("churn", description="who will leave next month")
    monkeypatch.delenv("MLFLOW_TRACKING_URI")  # the import must name the source itself

    with open_store(tmp_path / "xt") as store:
        result = import_mlflow(store, uri, show_progress=False)
        assert result.ok, result.summary()
        rows = {r.object: (r.source, r.destination) for r in result.table}
        assert [rows[k] for k in MODEL_ROWS] == [(1, 1), (2, 2), (1, 1)]
        champion = store.get_model_version("churn", alias="champion")
        assert champion["version"] == 1
        (churn,) = store.search_models("churn")
        assert (churn["description"], churn["tags"]) == (
            "who will leave next month",
            {"team": "risk"},
        )
        runs = _by_source_id(store)
        v2 = store.get_model_version("churn", 2)
        assert v2["tags"]["stage"] == "candidate"
        assert runs[client.get_model_version("churn", "2").run_id].id == v2["run_id"]
        # the version's blob is the model file MLflow saved, its folder kept with the run
        assert v2["artifact"].startswith("mlflow-models/churn/v2/")
        model_dir = Path(
            mlflow.artifacts.download_artifacts(
                artifact_uri=client.get_model_version("churn", "2").source,
                dst_path=str(tmp_path / "dl"),
                tracking_uri=uri,
            )
        )
        file_name = v2["artifact"].rsplit("/", 1)[1]
        assert Registry(store).get("churn/2").blob == v2["blob"]
        assert store.get_blob(v2["blob"]) == (model_dir / file_name).read_bytes()
        assert file_name != "MLmodel"
        assert "mlflow-models/churn/v2/MLmodel" in {
            a["name"] for a in store.artifacts(v2["run_id"])
        }

        again = import_mlflow(store, uri, show_progress=False)
        assert again.ok and again.created == 0
        assert len(store.search_model_versions("churn")) == 2
        client.set_registered_model_alias("churn", "champion", 2)
        moved = import_mlflow(store, uri, show_progress=False)
        assert moved.ok, moved.summary()
        assert store.get_model_version("churn", alias="champion")["version"] == 2


def test_a_source_path_that_does_not_exist_is_an_error(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    for source in (str(tmp_path / "nope"), f"sqlite:///{tmp_path / 'nope.db'}"):
        code = main(["import", "mlflow", source, "--store", str(tmp_path / "xt")])
        assert code == 2
        assert "no MLflow store at" in capsys.readouterr().err
    assert not (tmp_path / "nope").exists() and not (tmp_path / "nope.db").exists()
