"""Real MLflow stores made in the test: a SQLite one and a ./mlruns file store, each with a
parent and a nested child run, a 3-step metric history with its own timestamps, artifacts
(one in a folder), a log_input dataset and git source tags."""

from __future__ import annotations

import warnings
from dataclasses import dataclass
from pathlib import Path

import pytest

mlflow = pytest.importorskip("mlflow")

T0 = 1_700_000_000_000  # ms: fixed timestamps, so a test can check them exactly
COMMIT = "0123456789abcdef0123456789abcdef01234567"


@dataclass
class MlflowSource:
    uri: str
    parent: str
    child: str
    client: object


def make_source(uri: str, artifacts: Path) -> MlflowSource:
    """Two experiments' worth of runs logged through MlflowClient with explicit times."""
    import pandas as pd
    from mlflow.entities import DatasetInput, InputTag, Metric, Param, RunTag

    client = mlflow.tracking.MlflowClient(uri)
    exp = client.create_experiment("training", artifact_location=artifacts.as_uri())
    parent = client.create_run(
        exp,
        start_time=T0,
        run_name="sweep",
        tags={
            "mlflow.source.git.commit": COMMIT,
            "mlflow.source.name": "train.ipynb",
            "team": "vision",
        },
    )
    pid = parent.info.run_id
    client.log_batch(
        pid,
        params=[
            Param("lr", "0.01"),
            Param("optimizer", "adam"),
            Param("epochs", "3"),
            Param("ratio", "1e-3"),
        ],
    )
    child = client.create_run(
        exp, start_time=T0 + 10, run_name="trial-1", tags={"mlflow.parentRunId": pid}
    )
    cid = child.info.run_id
    client.log_batch(
        cid,
        metrics=[Metric("loss", 1.0 / (s + 1), T0 + 100 + s * 7, s) for s in range(3)],
        params=[Param("depth", "4")],
        tags=[RunTag("note", "first")],
    )
    client.log_metric(cid, "acc", 0.5, timestamp=T0 + 150, step=2)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        ds = mlflow.data.from_pandas(
            pd.DataFrame({"x": [1, 2, 3]}), source="train.csv", name="train"
        )
    client.log_inputs(
        cid, [DatasetInput(ds._to_mlflow_entity(), [InputTag("mlflow.data.context", "training")])]
    )
    work = artifacts.parent / "files"
    work.mkdir(exist_ok=True)
    (work / "model.txt").write_text("weights")
    (work / "plot.csv").write_text("a,b\n1,2\n")
    client.log_artifact(cid, str(work / "model.txt"))
    client.log_artifact(cid, str(work / "plot.csv"), "plots")
    client.set_terminated(cid, "FAILED", end_time=T0 + 500)
    client.set_terminated(pid, "FINISHED", end_time=T0 + 900)
    other = client.create_experiment("eval", artifact_location=(artifacts / "eval").as_uri())
    run = client.create_run(other, start_time=T0 + 1000, run_name="eval-1")
    client.log_metric(run.info.run_id, "f1", 0.75, timestamp=T0 + 1001, step=0)
    client.set_terminated(run.info.run_id, "FINISHED", end_time=T0 + 1002)
    return MlflowSource(uri, pid, cid, client)


@pytest.fixture(params=["sqlite", "mlruns"])
def mlflow_source(
    request: pytest.FixtureRequest, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> MlflowSource:
    """The same runs in a SQLite store and in a ./mlruns file store."""
    monkeypatch.setenv("MLFLOW_ALLOW_FILE_STORE", "true")  # MLflow 3 asks for it
    if request.param == "sqlite":
        uri = f"sqlite:///{tmp_path / 'mlflow.db'}"
    else:
        uri = str(tmp_path / "mlruns")
    return make_source(uri, tmp_path / "artifacts")
