"""Real MLflow stores made in the test: a SQLite one, a ./mlruns file store and a real
`mlflow server` on 127.0.0.1 (tracking URI http://...), each with a parent and a nested child run, a 3-step metric history with its own timestamps, artifacts
(one in a folder), a log_input dataset and git source tags."""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
import warnings
from collections.abc import Iterator
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


@pytest.fixture(params=["sqlite", "mlruns", "http"])
def mlflow_source(
    request: pytest.FixtureRequest, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> Iterator[MlflowSource]:
    """The same runs in a SQLite store, a ./mlruns file store and behind a tracking server."""
    monkeypatch.setenv("MLFLOW_ALLOW_FILE_STORE", "true")  # MLflow 3 asks for it
    if request.param == "sqlite":
        yield make_source(f"sqlite:///{tmp_path / 'mlflow.db'}", tmp_path / "artifacts")
    elif request.param == "mlruns":
        yield make_source(str(tmp_path / "mlruns"), tmp_path / "artifacts")
    else:
        with mlflow_server(tmp_path / "server") as uri:
            yield make_source(uri, tmp_path / "artifacts")


@contextlib.contextmanager
def mlflow_server(work: Path) -> Iterator[str]:
    """A real `mlflow server` (SQLite backend, one worker, 127.0.0.1 only) for the test's
    duration; its process group is ended after."""
    work.mkdir()
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "mlflow",
            "server",
            "--host",
            "127.0.0.1",
            "--port",
            str(port),
            "--workers",
            "1",
            "--backend-store-uri",
            f"sqlite:///{work / 'mlflow.db'}",
            "--artifacts-destination",
            str(work / "mlartifacts"),
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        cwd=work,
        start_new_session=True,
        env={**os.environ, "MLFLOW_SERVER_ENABLE_JOB_EXECUTION": "false"},  # tracking only
    )
    uri = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 300  # a busy CI machine starts it slowly
        while True:
            assert proc.poll() is None, f"mlflow server exited with {proc.returncode}"
            try:
                with urllib.request.urlopen(f"{uri}/health", timeout=10):
                    break
            except OSError:
                assert time.monotonic() < deadline, "mlflow server did not answer in 300 s"
                time.sleep(0.5)
        yield uri
    finally:
        os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(30)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
