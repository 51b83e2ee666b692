"""Registered models out and back: `xtrack export mlflow` writes the registry's models into a
real MLflow SQLite store (versions under their own numbers, a deleted number kept deleted,
tags, descriptions, aliases, each version's source the exported run's artifact) and into an
mlflow-export-import folder's models/; importing either into a fresh store gives the same
versions, tags and aliases back, and the alias history travels as a model tag."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from jupyter_xtrack.cli import main
from jupyter_xtrack.interop import export_mlflow, import_mlflow
from jupyter_xtrack.interop.model import ALIAS_HISTORY_TAG, VERSION_BLOB_TAG
from jupyter_xtrack.interop.models import VERSION_TAG
from jupyter_xtrack.store import open_store

mlflow = pytest.importorskip("mlflow")


@pytest.fixture(autouse=True)
def _in_tmp(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """MLflow puts a SQLite store's artifacts under ./mlruns: keep them out of the checkout."""
    monkeypatch.chdir(tmp_path)


MODEL_ROWS = ("registered models", "model versions", "aliases")
NOT_COMPARED = {VERSION_TAG, VERSION_BLOB_TAG, "xtrack.mlflow.source"}


def _registry(root: Path, tmp: Path) -> None:
    """Three fits, each saving a model file; versions 1..3 of "churn" with 2 deleted, tags,
    descriptions, a model tag, and an alias moved once (so it has a history)."""
    with open_store(root) as store:
        for i in range(3):
            rid, _ = store.create_run(name=f"fit-{i}", experiment="models", kind="script")
            weights = tmp / f"weights-{i}.pkl"
            weights.write_bytes(f"weights {i}".encode())
            blob, size = store.put_blob_file(weights)
            store.add_artifact(rid, "model/weights.pkl", blob=blob, size=size)
            store.finish_run(rid, status="finished")
            store.register_model_version(
                "churn",
                {
                    "run_id": rid,
                    "artifact": "model/weights.pkl",
                    "blob": blob,
                    "size": size,
                    "format": "pickle",
                },
                user="ana",
                tags={"fold": str(i)},
                description=f"fit {i}",
            )
        store.delete_model_version("churn", 2, user="ana", reason="bad fit")
        store.set_model_tags("churn", {"team": "risk"})
        store.set_model_alias("churn", "champion", 1, user="ana", reason="first")
        store.set_model_alias("churn", "champion", 3, user="ana", reason="better")


def _versions(store: Any) -> list[dict[str, Any]]:
    return [
        {
            "version": v["version"],
            "blob": v["blob"],
            "description": v["description"],
            "aliases": v["aliases"],
            "tags": {k: t for k, t in v["tags"].items() if k not in NOT_COMPARED},
        }
        for v in sorted(store.search_model_versions("churn"), key=lambda v: v["version"])
    ]


def _rows(result: Any) -> dict[str, tuple[int, int]]:
    return {r.object: (r.source, r.destination) for r in result.table if r.object in MODEL_ROWS}


@pytest.mark.parametrize("folder", [False, True], ids=["sqlite", "export-import-folder"])
def test_a_registry_goes_out_and_back_unchanged(tmp_path: Path, folder: bool) -> None:
    _registry(tmp_path / "xt", tmp_path)
    dest = str(tmp_path / "out") if folder else f"sqlite:///{tmp_path / 'mlflow.db'}"
    with open_store(tmp_path / "xt") as store:
        exported = export_mlflow(store, dest, folder=folder, show_progress=False)
        assert exported.ok, exported.summary()
        assert _rows(exported) == {
            "registered models": (1, 1),
            "model versions": (2, 2),
            "aliases": (1, 1),
        }
        original = _versions(store)
        history = store.model_alias_history("churn")
    with open_store(tmp_path / "fresh") as fresh:
        imported = import_mlflow(fresh, dest, show_progress=False)
        assert imported.ok, imported.summary()
        assert _rows(imported) == _rows(exported)
        assert not imported.notes, imported.notes
        assert _versions(fresh) == original
        model = fresh.search_models("churn")[0]
        assert model["tags"]["team"] == "risk"
        assert [h["to_version"] for h in json.loads(model["tags"][ALIAS_HISTORY_TAG])] == [
            h["to_version"] for h in history
        ]


def test_mlflow_shows_the_exported_versions(tmp_path: Path) -> None:
    _registry(tmp_path / "xt", tmp_path)
    uri = f"sqlite:///{tmp_path / 'mlflow.db'}"
    args = ["export", "mlflow", uri, "--store", str(tmp_path / "xt"), "--no-progress"]
    assert main(args) == 0
    client = mlflow.tracking.MlflowClient(uri)
    model = client.get_registered_model("churn")
    assert model.aliases == {"champion": 3} and model.tags["team"] == "risk"
    versions = client.search_model_versions("name='churn'")
    assert sorted(int(v.version) for v in versions) == [1, 3]
    v3 = client.get_model_version("churn", "3")
    assert (v3.description, v3.tags["fold"]) == ("fit 2", "2")
    run = client.get_run(v3.run_id)
    assert run.info.run_name == "fit-2"
    assert v3.source == f"{run.info.artifact_uri}/model/weights.pkl"
    local = mlflow.artifacts.download_artifacts(
        artifact_uri=v3.source, dst_path=str(tmp_path / "dl"), tracking_uri=uri
    )
    assert Path(local).read_bytes() == b"weights 2"
    # exporting again leaves the versions as they are
    assert main(args) == 0
    assert len(client.search_model_versions("name='churn'")) == 2


def test_a_destination_with_other_versions_is_a_clear_error(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    _registry(tmp_path / "xt", tmp_path)
    uri = f"sqlite:///{tmp_path / 'mlflow.db'}"
    client = mlflow.tracking.MlflowClient(uri)
    client.create_registered_model("churn")
    client.create_model_version("churn", str(tmp_path), None)
    code = main(["export", "mlflow", uri, "--store", str(tmp_path / "xt"), "--no-progress"])
    out = capsys.readouterr().out
    assert code == 1
    assert "already has version 1 of churn" in out and "MISMATCH" in out
    assert len(client.search_model_versions("name='churn'")) == 1


def test_a_model_of_runs_left_out_by_the_filter_is_named(tmp_path: Path) -> None:
    _registry(tmp_path / "xt", tmp_path)
    with open_store(tmp_path / "xt") as store:
        result = export_mlflow(
            store, str(tmp_path / "out"), "name = 'fit-0'", folder=True, show_progress=False
        )
    assert result.ok, result.summary()
    assert any("model churn: not exported" in n for n in result.notes), result.notes
    assert _rows(result)["model versions"] == (0, 0)


def test_an_older_export_folders_model_is_read(tmp_path: Path) -> None:
    """The layout of mlflow-export-import's own samples: a run folder directly under its
    experiment, a model.json with `latest_versions`, tags as a list of {key, value}, and a
    version source that is a path ending in <run id>/artifacts/<model folder>."""
    rid = "939157dfaaf24244adafcb72acdfc4a6"
    exp = tmp_path / "exp" / "experiments" / "1"
    model_dir = exp / rid / "artifacts" / "sklearn-model"
    model_dir.mkdir(parents=True)
    (model_dir / "MLmodel").write_text("flavors: {}\n")
    (model_dir / "model.pkl").write_bytes(b"pickled")
    (exp / "experiment.json").write_text(
        json.dumps({"mlflow": {"experiment": {"name": "wine"}, "runs": [rid]}})
    )
    run = {"info": {"run_id": rid, "status": "FINISHED", "start_time": 1, "end_time": 2}}
    (exp / rid / "run.json").write_text(json.dumps({"mlflow": {**run, "params": {}}}))
    version = {
        "name": "sklearn_wine",
        "version": "1",
        "run_id": rid,
        "source": f"/opt/mlflow/server/mlruns/1/{rid}/artifacts/sklearn-model",
        "description": "v1 Production - wine",
        "tags": {"registered_version_info": "v1"},
        "current_stage": "Production",
    }
    body = {
        "name": "sklearn_wine",
        "latest_versions": [version],
        "tags": [{"key": "info", "value": "wine model"}],
    }
    models = tmp_path / "exp" / "models" / "sklearn_wine"
    models.mkdir(parents=True)
    (models / "model.json").write_text(json.dumps({"mlflow": {"registered_model": body}}))
    with open_store(tmp_path / "xt") as store:
        result = import_mlflow(store, str(tmp_path / "exp"), show_progress=False)
        assert result.ok, result.summary()
        assert _rows(result) == {
            "registered models": (1, 1),
            "model versions": (1, 1),
            "aliases": (0, 0),
        }
        v1 = store.get_model_version("sklearn_wine", 1)
        assert store.get_blob(v1["blob"]) == b"pickled"
        assert v1["tags"]["registered_version_info"] == "v1"
        assert v1["description"] == "v1 Production - wine"
        assert store.search_models("sklearn_wine")[0]["tags"]["info"] == "wine model"


def test_a_registry_larger_than_a_page_is_read_whole(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from jupyter_xtrack.interop import client as client_module

    uri = f"sqlite:///{tmp_path / 'mlflow.db'}"
    client = mlflow.tracking.MlflowClient(uri)
    for name in ("a", "b", "c"):
        client.create_registered_model(name)
    for _ in range(3):
        client.create_model_version("b", str(tmp_path), None)
    monkeypatch.setattr(client_module, "MODEL_PAGE", 2)
    models = list(client_module.ClientSource(uri).models())
    assert [m.name for m in models] == ["a", "b", "c"]
    assert [v.version for v in models[1].versions] == [1, 2, 3]


def test_exporting_again_moves_and_removes_aliases_and_keeps_a_long_history(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from jupyter_xtrack.interop import xtrack_side

    _registry(tmp_path / "xt", tmp_path)
    uri = f"sqlite:///{tmp_path / 'mlflow.db'}"
    with open_store(tmp_path / "xt") as store:
        assert export_mlflow(store, uri, show_progress=False).ok
        store.set_model_alias("churn", "staging", 1, user="ana")
        store.set_model_alias("churn", "champion", 1, user="ana")
        store.delete_model_alias("churn", "staging", user="ana")
        store.set_model_alias("churn", "canary", 3, user="ana")
        history = store.model_alias_history("churn")
        newest = len(json.dumps(history[-2:], default=str))
        monkeypatch.setattr(xtrack_side, "MAX_MODEL_TAG_CHARS", newest)
        again = export_mlflow(store, uri, show_progress=False)
    assert again.ok, again.summary()
    assert f"alias history cut to its newest 2 of {len(history)} changes" in again.summary()
    model = mlflow.tracking.MlflowClient(uri).get_registered_model("churn")
    assert model.aliases == {"champion": 1, "canary": 3}
    kept = json.loads(model.tags[ALIAS_HISTORY_TAG])
    assert [(h["alias"], h["to_version"]) for h in kept] == [("staging", None), ("canary", 3)]
